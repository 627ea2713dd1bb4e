"""Worker for the DDP smoke test, run under ``torchrun --nproc_per_node=2``: trains a tiny policy a
few steps (each rank starts from *different* weights; DDP must make them equal) and dumps its final
state dict to ``<out>/rank<r>.pt``."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(1)

from policy_helpers import tiny_config, toy_demos  # noqa: E402

from parapolicy.policies import ChunkDataset, TrainConfig, make_policy, train  # noqa: E402


def main() -> None:
    out = sys.argv[1]
    rank = int(os.environ["RANK"])
    cfg = tiny_config("diffusion", "unet", "ddpm")
    obs, act = toy_demos()
    ds = ChunkDataset(obs, act, obs_horizon=cfg.obs_horizon, pred_horizon=cfg.pred_horizon,
                      action_horizon=cfg.action_horizon)
    torch.manual_seed(100 + rank)  # different initial weights per rank
    policy = make_policy(cfg, ds.normalizer)
    tc = TrainConfig(steps=4, batch_size=16, lr=1e-3, warmup_steps=1, log_every=1, ckpt_every=2, device="cpu")
    summary = train(policy, ds, tc, out, progress=False)
    assert summary["world_size"] == 2, summary
    assert not torch.distributed.is_initialized()  # the process group was cleaned up
    torch.save(policy.state_dict(), os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main()
