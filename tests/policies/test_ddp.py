"""DDP smoke test: two gloo processes under torchrun train a few steps in lockstep."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from parapolicy.policies import load_policy, load_training_state

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_torchrun_two_processes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
           str(WORKER), str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-4000:])
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0.keys() == r1.keys()
    assert [k for k in r0 if not torch.equal(r0[k], r1[k])] == []  # model and EMA equal on both ranks
    assert (tmp_path / "checkpoint" / "model.safetensors").is_file()  # rank 0 wrote the checkpoints
    state = load_training_state(tmp_path / "checkpoints" / "latest")
    assert state["step"] == 4 and state["world_size"] == 2 and len(state["rng"]) == 2
    loaded = load_policy(tmp_path / "checkpoint")
    assert all(torch.equal(v, r0[k]) for k, v in loaded.state_dict().items())
    assert len(list((tmp_path / "tb").iterdir())) == 1  # one writer (rank 0)
