"""Checkpoints: save → load gives identical actions; bad checkpoints fail with one-line CheckpointError."""
import json
import os

import numpy as np
import pytest
import torch
from policy_helpers import KIND_IDS, KINDS, tiny_config, toy_demos
from safetensors.torch import load_file

from parapolicy.policies import (ChunkDataset, CheckpointError, load_policy, load_training_state, make_policy,
                                 read_checkpoint_config, save_checkpoint, save_training_state)


def trained_like(cfg):
    """A policy with non-trivial normalizer and weights (no training needed)."""
    obs, act = toy_demos(obs_dim=cfg.obs_dim, action_dim=cfg.action_dim)
    ds = ChunkDataset(obs, act, obs_horizon=cfg.obs_horizon, pred_horizon=cfg.pred_horizon,
                      action_horizon=cfg.action_horizon)
    torch.manual_seed(0)
    p = make_policy(cfg, ds.normalizer)
    with torch.no_grad():  # make the EMA differ from the live weights
        for q in p.ema.parameters():
            q.add_(0.01 * torch.randn_like(q))
    return p.eval(), obs[0][:2]


@pytest.mark.parametrize("kind,denoiser,objective", KINDS, ids=KIND_IDS)
def test_save_load_gives_identical_actions(tmp_path, kind, denoiser, objective):
    cfg = tiny_config(kind, denoiser, objective, env_id="parapolicy/Fork-v0")
    p, hist = trained_like(cfg)
    path = save_checkpoint(p, tmp_path / "ckpt", extra={"note": "unit test"})
    assert sorted(os.listdir(path)) == ["config.json", "model.safetensors", "normalizer.json"]
    q = load_policy(path, expect_env_id="parapolicy/Fork-v0", expect_obs_dim=3, expect_action_dim=2)
    assert type(q) is type(p) and q.config == p.config
    for sampler in ([None, "ddpm"] if objective == "ddpm" and kind == "diffusion" else [None]):
        a = p.predict_chunk(hist, sampler=sampler, generator=torch.Generator().manual_seed(7))
        b = q.predict_chunk(hist, sampler=sampler, generator=torch.Generator().manual_seed(7))
        np.testing.assert_array_equal(a, b)
        assert a.shape == (8, 2) and a.dtype == np.float32
    weights = load_file(str(path / "model.safetensors"))
    assert any(k.startswith("model.") for k in weights) and any(k.startswith("ema.") for k in weights)
    meta = json.loads((path / "config.json").read_text())
    assert meta["env_id"] == "parapolicy/Fork-v0" and meta["extra"] == {"note": "unit test"}
    assert meta["parapolicy_version"] and meta["params"] == p.num_parameters()


def test_student_timesteps_and_teacher_roundtrip(tmp_path):
    cfg = tiny_config(timesteps=[99, 60, 20, -1], teacher="runs/teacher/checkpoint")
    p, hist = trained_like(cfg)
    assert p.timesteps.tolist() == [99, 60, 20, -1]
    save_checkpoint(p, tmp_path / "student")
    cfg2, meta = read_checkpoint_config(tmp_path / "student")
    assert cfg2.timesteps == [99, 60, 20, -1] and meta["teacher"] == "runs/teacher/checkpoint"
    q = load_policy(tmp_path / "student")
    assert q.timesteps.tolist() == [99, 60, 20, -1]


def test_save_refuses_to_clobber_and_is_atomic(tmp_path):
    p, _ = trained_like(tiny_config())
    path = save_checkpoint(p, tmp_path / "ckpt")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_checkpoint(p, path)
    save_checkpoint(p, path, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]  # no temp or old directories left behind

    class Boom(Exception):
        pass

    # a failure while writing leaves the old checkpoint untouched and no partial directory
    before = (path / "model.safetensors").read_bytes()
    orig = p.normalizer.state_dict
    p.normalizer.state_dict = lambda: (_ for _ in ()).throw(Boom())
    with pytest.raises(Boom):
        save_checkpoint(p, path, overwrite=True)
    p.normalizer.state_dict = orig
    assert (path / "model.safetensors").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]


def test_extra_tensor_files_ride_in_the_same_atomic_swap(tmp_path):
    p, _ = trained_like(tiny_config())
    bank = {"obs": torch.arange(6.0).reshape(3, 2)}
    path = save_checkpoint(p, tmp_path / "ckpt", extra_tensors={"bank.safetensors": (bank, {"note": "x"})})
    assert torch.equal(load_file(str(path / "bank.safetensors"))["obs"], bank["obs"])
    load_policy(path)  # the extra file does not disturb loading
    for bad in ("model.safetensors", "../bank.safetensors"):
        with pytest.raises(ValueError, match="plain name"):
            save_checkpoint(p, tmp_path / "other", extra_tensors={bad: (bank, {})})
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]


def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg
    return msg


def test_bad_checkpoints_raise_checkpoint_error(tmp_path):
    p, _ = trained_like(tiny_config(env_id="parapolicy/Fork-v0"))
    good = save_checkpoint(p, tmp_path / "good")

    with pytest.raises(CheckpointError) as e:
        load_policy(tmp_path / "nope")
    assert "not found" in one_line(e)

    def variant(name, mutate):
        d = tmp_path / name
        save_checkpoint(p, d)
        mutate(d)
        return d

    trunc = variant("trunc", lambda d: (d / "model.safetensors").write_bytes(
        (d / "model.safetensors").read_bytes()[:1000]))
    with pytest.raises(CheckpointError) as e:
        load_policy(trunc)
    assert "corrupt or truncated" in one_line(e)

    def garble(d):
        b = bytearray((d / "model.safetensors").read_bytes())
        b[:8] = b"\xff" * 8  # header length nonsense
        (d / "model.safetensors").write_bytes(bytes(b))

    with pytest.raises(CheckpointError) as e:
        load_policy(variant("garbled", garble))
    assert "corrupt or truncated" in one_line(e)

    for missing in ("model.safetensors", "config.json", "normalizer.json"):
        d = variant(f"missing-{missing}", lambda d, m=missing: (d / m).unlink())
        with pytest.raises(CheckpointError) as e:
            load_policy(d)
        assert "missing" in one_line(e) and missing in str(e.value)

    bad_json = variant("badjson", lambda d: (d / "config.json").write_text("{not json"))
    with pytest.raises(CheckpointError) as e:
        load_policy(bad_json)
    assert "not valid JSON" in one_line(e)

    with pytest.raises(CheckpointError) as e:
        load_policy(good, expect_env_id="parapolicy/PushT-v0")
    assert "trained on 'parapolicy/Fork-v0', not 'parapolicy/PushT-v0'" in one_line(e)
    with pytest.raises(CheckpointError) as e:
        load_policy(good, expect_obs_dim=5)
    assert "observations of dim 3" in one_line(e)
    with pytest.raises(CheckpointError) as e:
        load_policy(good, expect_action_dim=7)
    assert "actions of dim 2" in one_line(e)

    def other_shape(d):  # config says a wider network than the weights hold
        meta = json.loads((d / "config.json").read_text())
        meta["policy"]["down_dims"] = [8, 16]
        (d / "config.json").write_text(json.dumps(meta))

    with pytest.raises(CheckpointError) as e:
        load_policy(variant("shape", other_shape))
    assert "has shape" in one_line(e)
    assert isinstance(e.value, ValueError)


def test_training_state_roundtrip(tmp_path):
    state = {"step": 3, "t": torch.arange(4), "nested": {"x": [1, 2.5, "a"]}}
    path = save_training_state(tmp_path / "s" / "training_state.pt", state)
    got = load_training_state(path.parent)
    assert got["step"] == 3 and torch.equal(got["t"], state["t"]) and got["nested"] == state["nested"]
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_training_state(path)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_published_files_follow_the_umask_not_tempfiles_0600(tmp_path, umask_022):
    p, _ = trained_like(tiny_config())
    path = save_checkpoint(p, tmp_path / "ckpt")
    assert path.stat().st_mode & 0o777 == 0o755  # mkdtemp alone would leave 0700
    state = save_training_state(tmp_path / "s" / "training_state.pt", {"step": 1})
    assert state.stat().st_mode & 0o777 == 0o644

    os.umask(0o077)
    private = save_checkpoint(p, tmp_path / "private")
    assert private.stat().st_mode & 0o777 == 0o700
