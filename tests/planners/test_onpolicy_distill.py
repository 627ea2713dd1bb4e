"""On-policy distillation: the student's own rollouts on Fork-v0 (real physics) grow the teacher-labelled bank."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from parapolicy.envs import make_env
from parapolicy.planners.onpolicy_distill import RecordingPredictor, distill_on_policy, visited_histories
from parapolicy.planners.student import StudentFit, deterministic_schedule, teacher_trajectories
from parapolicy.policies import ChunkedPolicy
from parapolicy.policies.config import PolicyConfig
from parapolicy.policies.ema import EMA
from parapolicy.policies.factory import make_policy
from parapolicy.policies.normalizer import Normalizer

torch.set_num_threads(1)


def _fork_teacher() -> torch.nn.Module:
    """A tiny flow U-Net on Fork-v0's shapes (obs 6, action 2), trained briefly toward a smooth map
    of the observation so that it is a non-trivial, deterministic teacher."""
    cfg = PolicyConfig(obs_dim=6, action_dim=2, pred_horizon=8, action_horizon=4, down_dims=(8, 16),
                       objective="flow", num_train_steps=100, inference_steps=20, step_embed_dim=8, kernel_size=3,
                       env_id="parapolicy/Fork-v0")
    torch.manual_seed(0)  # the network's initial weights too: the teacher must not depend on earlier tests
    pol = make_policy(cfg, Normalizer.identity(obs=6, action=2))
    opt = torch.optim.AdamW(pol.model.parameters(), lr=1e-2)
    ema = EMA(max_decay=0.9)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        obs = torch.rand(64, 2, 6, generator=g) * 2.4 - 1.2  # (B, To, Do), identity-normalized
        act = torch.tanh(obs[:, -1:, :2]).expand(64, 8, 2) * 0.8  # (B, H, Da)
        loss = pol.compute_loss(obs, act)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update(pol.model, pol.ema)
    return pol.eval()


@pytest.fixture(scope="module")
def teacher() -> torch.nn.Module:
    return _fork_teacher()


class _Predictor:
    """Returns zeros; records the temperature it was asked for."""

    def __init__(self, cfg) -> None:
        self.config = cfg
        self.temperatures: list[float] = []

    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
        self.temperatures.append(temperature)
        return np.zeros((len(obs_history), self.config.pred_horizon, self.config.action_dim), np.float32)


def test_recording_predictor_keeps_every_replanning_history(teacher) -> None:
    inner = _Predictor(teacher.config)
    rec = RecordingPredictor(inner)
    runner = ChunkedPolicy(rec, action_horizon=3, temperature=0.8)
    obs = np.arange(12, dtype=np.float32).reshape(2, 6)  # (B, Do)
    for k in range(7):  # replans at steps 0, 3, 6 for both rows
        runner.act(obs + k)
    hist = rec.recorded()  # (M, To, Do)
    assert hist.shape == (6, 2, 6) and inner.temperatures == [0.8, 0.8, 0.8]
    assert torch.equal(hist[0, 0], hist[0, 1]) and torch.equal(hist[0, 1], torch.from_numpy(obs[0]))  # padded start
    assert torch.equal(hist[2], torch.from_numpy(np.stack([obs[0] + 2, obs[0] + 3])))  # the history at step 3


def test_visited_histories_are_the_envs_own_observations(teacher) -> None:
    hist, results = visited_histories(teacher, lambda: make_env("Fork-v0"), episodes=2, num_envs=2, seed=321,
                                      use_async=False)
    assert len(results) == 2 and hist.shape[1:] == (2, 6)
    first, _ = make_env("Fork-v0").reset(seed=321)
    assert np.allclose(hist[0, 0].numpy(), first) and np.allclose(hist[0, 1].numpy(), first)
    steps = sum(r.steps for r in results)
    assert hist.shape[0] >= steps / teacher.config.action_horizon  # at least one history per Ta steps


def test_student_fit_starts_from_init_and_checks_levels(teacher) -> None:
    fit = StudentFit(teacher, 2, teacher_steps=20, seed=0)
    other = StudentFit(teacher, 2, teacher_steps=20, init=fit.student, seed=1).student
    for a, b in zip(fit.student.inference_net.parameters(), other.inference_net.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="levels"):
        StudentFit(teacher, 1, init=fit.student)
    with pytest.raises(ValueError, match="empty"):
        fit.train(1)


def test_a_saved_bank_round_trips_and_must_fit(teacher) -> None:
    fit = StudentFit(teacher, 2, teacher_steps=20, temperature=0.8, seed=0)
    fit.label(torch.rand(5, 2, 6))
    tensors, meta = fit.bank_tensors()
    other = StudentFit(teacher, 2, teacher_steps=20, temperature=0.8, seed=3)
    assert other.load_bank(tensors, meta) == 5
    assert torch.equal(other.targets, fit.targets) and torch.equal(other.obs, fit.obs)
    with pytest.raises(ValueError, match="temperature"):
        StudentFit(teacher, 2, teacher_steps=20, temperature=1.0).load_bank(tensors, meta)
    with pytest.raises(ValueError, match="teacher steps"):
        StudentFit(teacher, 2, teacher_steps=10, temperature=0.8).load_bank(tensors, meta)
    with pytest.raises(ValueError, match="levels"):
        StudentFit(teacher, 1, teacher_steps=20, temperature=0.8).load_bank(tensors, meta)
    with pytest.raises(ValueError, match="shapes"):
        other.load_bank({**tensors, "targets": tensors["targets"][:, :3]}, meta)


def test_on_policy_rounds_add_the_students_states_and_fit_them(teacher) -> None:
    fit = StudentFit(teacher, 2, teacher_steps=20, batch_size=64, lr=3e-3, seed=0)
    fit.fill([torch.rand(32, 2, 6) * 2.4 - 1.2], bank_size=32)
    assert fit.bank_size == 32
    seen: list = []
    before = {k: v.clone() for k, v in fit.student.inference_net.state_dict().items()}
    recs = distill_on_policy(fit, lambda: make_env("Fork-v0"), rounds=2, episodes=2, steps=40, num_envs=2,
                             seed=500, use_async=False, on_round=seen.append)
    assert [r.round for r in recs] == [1, 2] and [r.seed for r in recs] == [500, 502] and seen == recs
    assert recs[1].bank_size == 32 + recs[0].new_histories + recs[1].new_histories == fit.bank_size
    assert all(r.new_histories > 0 and r.success_rate is not None for r in recs)
    assert len(fit.losses) == 80
    after = fit.student.inference_net.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # the new bank rows hold the visited histories and the teacher's labels for them
    obs = fit.obs[32:32 + recs[0].new_histories]  # (m, To, Do)
    assert np.allclose(obs[0, 0].numpy(), make_env("Fork-v0").reset(seed=500)[0])
    # and the student now lands closer to the teacher there than the teacher's own 2 steps do
    det = deterministic_schedule(teacher.train_schedule)
    x = torch.randn(obs.shape[0], 8, 2, generator=torch.Generator().manual_seed(9))  # (m, H, Da)
    with torch.no_grad():
        _, ref = teacher_trajectories(teacher, obs, x, det.timesteps(20), fit.student_ts)

        def two_steps(pol) -> torch.Tensor:
            cond, y = pol.encode_obs(obs), x
            for t, tp in zip(fit.student_ts[:-1], fit.student_ts[1:]):
                t_b, tp_b = t.expand(obs.shape[0]), tp.expand(obs.shape[0])
                y = det.step(pol.denoiser(y, t_b, cond), t_b, tp_b, y).prev
            return y

        student_err = (two_steps(fit.student) - ref).pow(2).mean()
        teacher_err = (two_steps(teacher) - ref).pow(2).mean()
    assert student_err < 0.8 * teacher_err


def test_repeated_labels_draw_fresh_noise_per_copy(teacher) -> None:
    fit = StudentFit(teacher, 2, teacher_steps=20, batch_size=64, seed=0)
    fit.fill([torch.rand(8, 2, 6) * 2.4 - 1.2], bank_size=20, chunk=6)  # the loader is cycled: 20 rows
    assert fit.bank_size == 20 and torch.equal(fit.obs[8:16], fit.obs[:8])
    assert not torch.allclose(fit.states[0, 8:16], fit.states[0, :8])  # same history, new noise
    recs = distill_on_policy(fit, lambda: make_env("Fork-v0"), rounds=1, episodes=1, steps=2, num_envs=1,
                             seed=700, use_async=False, repeats=3, label_chunk=5)
    m = recs[0].new_histories
    assert fit.bank_size == 20 + 3 * m
    new_obs, new_x = fit.obs[20:], fit.states[0, 20:]  # (3m, To, Do), (3m, H, Da)
    assert torch.equal(new_obs[:m], new_obs[m:2 * m]) and torch.equal(new_obs[:m], new_obs[2 * m:])
    assert not torch.allclose(new_x[:m], new_x[m:2 * m])
    with pytest.raises(ValueError, match="repeats"):
        distill_on_policy(fit, lambda: make_env("Fork-v0"), rounds=1, episodes=1, steps=1, repeats=0)
