"""Training: loss goes down for every policy kind, exact resumption, EMA and LR schedules, data order."""
import json
import math

import pytest
import torch
from policy_helpers import KIND_IDS, KINDS, tiny_config, toy_demos

from parapolicy.policies import EMA, ChunkDataset, TrainConfig, load_policy, make_policy, train
from parapolicy.policies.trainer import epoch_batches, warmup_cosine


def dataset_for(cfg, **kw):
    obs, act = toy_demos(**kw)
    return ChunkDataset(obs, act, obs_horizon=cfg.obs_horizon, pred_horizon=cfg.pred_horizon,
                        action_horizon=cfg.action_horizon)


@pytest.mark.parametrize("kind,denoiser,objective", KINDS, ids=KIND_IDS)
def test_loss_decreases(tmp_path, kind, denoiser, objective):
    cfg = tiny_config(kind, denoiser, objective)
    ds = dataset_for(cfg)
    torch.manual_seed(0)
    policy = make_policy(cfg, ds.normalizer)
    tc = TrainConfig(steps=80, batch_size=32, lr=3e-3, warmup_steps=5, log_every=1, ckpt_every=0)
    summary = train(policy, ds, tc, tmp_path, progress=False)
    losses = [v for _, v in summary["losses"]]
    assert len(losses) == 80 and all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:5]) / 5, sum(losses[-10:]) / 10
    assert last < 0.7 * first, (first, last)
    assert (tmp_path / "checkpoint" / "model.safetensors").is_file()
    assert list((tmp_path / "tb").iterdir())  # TensorBoard events were written
    saved = json.loads((tmp_path / "train_summary.json").read_text())
    assert saved["step"] == 80 and saved["final_loss"] == pytest.approx(summary["final_loss"])


def state_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return [k for k in sa if not torch.equal(sa[k], sb[k])]


class Killed(Exception):
    pass


@pytest.mark.parametrize("denoiser,objective", [("unet", "ddpm"), ("transformer", "flow")])
def test_resume_after_kill_is_bit_identical(tmp_path, denoiser, objective):
    """N steps straight == k steps, killed between checkpoints, resumed to N (weights, EMA, losses)."""
    cfg = tiny_config("diffusion", denoiser, objective)  # the transformer uses dropout: RNG must resume too
    ds = dataset_for(cfg)
    tc = TrainConfig(steps=12, batch_size=16, lr=1e-3, warmup_steps=3, log_every=1, ckpt_every=4)

    def fresh():
        torch.manual_seed(123)
        return make_policy(cfg, ds.normalizer)

    straight = fresh()
    s_straight = train(straight, ds, tc, tmp_path / "straight", progress=False)

    def killer(policy, step):
        if step == 6:  # dies two steps after the checkpoint at step 4
            raise Killed()
        return {}

    victim = fresh()
    with pytest.raises(Killed):
        train(victim, ds, TrainConfig(**{**tc.to_dict(), "eval_every": 6}), tmp_path / "resumed",
              eval_fn=killer, progress=False)
    assert not (tmp_path / "resumed" / "checkpoint").exists()
    resumed = fresh()  # a new process: fresh weights, the checkpoint supplies the rest
    s_resumed = train(resumed, ds, tc, tmp_path / "resumed", progress=False)
    assert s_resumed["resumed_from"] == 4
    assert s_resumed["resumed_config_changes"] == ["eval_every"]  # the killed run evaluated every 6 steps
    assert s_resumed["total_wall_s"] > s_resumed["wall_s"] > 0  # the killed run's time up to step 4 counts
    assert s_straight["resumed_config_changes"] == [] and s_straight["total_wall_s"] == s_straight["wall_s"]
    assert state_equal(straight, resumed) == []
    assert [v for _, v in s_resumed["losses"]] == [v for _, v in s_straight["losses"]][4:]
    # a resumed finished run does nothing more
    again = train(fresh(), ds, tc, tmp_path / "resumed", progress=False)
    assert again["step"] == 12 and again["resumed_from"] == 12


def test_resume_with_more_steps_says_the_schedule_changed(tmp_path):
    """Extending a finished run continues from its weights under the longer LR schedule, and the
    summary records that and the wall time of both invocations."""
    cfg = tiny_config("mse", "unet")
    ds = dataset_for(cfg)
    tc = TrainConfig(steps=4, batch_size=16, lr=1e-3, warmup_steps=1, log_every=1, ckpt_every=0)
    torch.manual_seed(0)
    first = train(make_policy(cfg, ds.normalizer), ds, tc, tmp_path / "run", progress=False)
    longer = TrainConfig(**{**tc.to_dict(), "steps": 8})
    more = train(make_policy(cfg, ds.normalizer), ds, longer, tmp_path / "run", progress=False)
    assert more["resumed_from"] == 4 and more["step"] == 8
    assert more["resumed_config_changes"] == ["steps"]
    # the first invocation's time up to its last saved state (it still wrote the final checkpoint after)
    assert more["wall_s"] < more["total_wall_s"] <= first["wall_s"] + more["wall_s"]


def test_stop_at_then_resume_and_eval_do_not_perturb_training(tmp_path):
    cfg = tiny_config("mse", "transformer")
    ds = dataset_for(cfg)
    tc = TrainConfig(steps=9, batch_size=16, lr=1e-3, warmup_steps=2, log_every=1, ckpt_every=0, eval_every=3)
    calls = []

    def eval_fn(policy, step):
        assert policy.use_ema and not policy.model.training
        torch.rand(100)  # consumes RNG: must not change training
        calls.append(step)
        return {"score": float(step), "note": "text is not logged"}

    torch.manual_seed(5)
    a = make_policy(cfg, ds.normalizer)
    sa = train(a, ds, tc, tmp_path / "a", eval_fn=eval_fn, progress=False)
    assert calls == [3, 6, 9] and sa["eval"]["score"] == 9.0
    torch.manual_seed(5)
    b = make_policy(cfg, ds.normalizer)
    sb = train(b, ds, tc, tmp_path / "b", progress=False, stop_at=5)
    assert sb["stopped_early"] and sb["checkpoint"] is None and not (tmp_path / "b" / "checkpoint").exists()
    torch.manual_seed(5)
    b = make_policy(cfg, ds.normalizer)
    train(b, ds, tc, tmp_path / "b", progress=False)
    assert state_equal(a, b) == []
    loaded = load_policy(tmp_path / "a" / "checkpoint")
    assert state_equal(loaded, a) == []
    meta = json.loads((tmp_path / "a" / "checkpoint" / "config.json").read_text())
    assert meta["extra"]["eval"] == {"score": 9.0} and meta["extra"]["step"] == 9


def test_resume_refuses_a_different_model(tmp_path):
    cfg = tiny_config()
    ds = dataset_for(cfg)
    tc = TrainConfig(steps=4, batch_size=8, log_every=1, ckpt_every=2)
    train(make_policy(cfg, ds.normalizer), ds, tc, tmp_path, progress=False, stop_at=2)
    other = make_policy(tiny_config(down_dims=(8, 16)), ds.normalizer)
    with pytest.raises(ValueError, match="differs in down_dims"):
        train(other, ds, tc, tmp_path, progress=False)


def test_ema_schedule_matches_reference():
    ema = EMA()
    assert ema.decay(0) == 0.0 and ema.decay(1) == 0.0
    assert ema.decay(2) == pytest.approx(1 - 2 ** -0.75)
    assert ema.decay(501) == pytest.approx(1 - 501 ** -0.75)
    assert ema.decay(10**9) == 0.9999
    a, b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    ema.update(a, b)  # first update copies
    torch.testing.assert_close(b.weight, a.weight)
    with torch.no_grad():
        a.weight.add_(1.0)
    ema.optimization_step = 100
    d = ema.update(a, b)
    torch.testing.assert_close(b.weight, a.weight - d)


def test_warmup_cosine_and_epoch_batches():
    f = warmup_cosine(10, 110)
    assert f(0) == 0.0 and f(5) == 0.5 and f(10) == 1.0
    assert f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0) and f(500) == 0.0
    e0 = epoch_batches(100, 32, seed=1, epoch=0)
    assert e0 == epoch_batches(100, 32, seed=1, epoch=0)  # a function of (seed, epoch)
    assert e0 != epoch_batches(100, 32, seed=1, epoch=1)
    assert len(e0) == 3 and all(len(b) == 32 for b in e0)
    r0 = epoch_batches(100, 32, seed=1, epoch=0, rank=0, world_size=2)
    r1 = epoch_batches(100, 32, seed=1, epoch=0, rank=1, world_size=2)
    assert len(r0) == len(r1) == 3 and all(len(b) == 16 for b in r0)
    assert not set(sum(r0, [])) & set(sum(r1, []))  # ranks read disjoint shards
    assert epoch_batches(5, 256, seed=0, epoch=0) != []  # batch larger than the data: one batch
