"""ChunkedPolicy: the control-loop contract over every policy class and the queue/history mechanics."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from policy_helpers import KIND_IDS, KINDS, tiny_config

from parapolicy.policies import ChunkedPolicy, PolicyConfig, make_policy


class FakePredictor:
    """Records the histories it is asked about; chunk value = 100·call + 10·row + chunk index."""

    def __init__(self, To=2, H=8, Ta=4, Do=3, Da=2):
        self.config = SimpleNamespace(obs_dim=Do, action_dim=Da, obs_horizon=To, pred_horizon=H, action_horizon=Ta)
        self.calls = []

    def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None):
        self.calls.append(np.array(obs_history))
        B = obs_history.shape[0]
        H, Da = self.config.pred_horizon, self.config.action_dim
        k = len(self.calls)
        idx = np.arange(H)[None, :, None] + 10 * np.arange(B)[:, None, None] + 100 * k
        return np.broadcast_to(idx, (B, H, Da)).astype(np.float64)


def test_queue_executes_ta_actions_from_index_to_minus_1():
    fake = FakePredictor()
    pol = ChunkedPolicy(fake)
    actions = [pol.act(np.full(3, float(t)))[0] for t in range(9)]
    # chunk 1 (call 1) at t = 0: indices 1..4; chunk 2 at t = 4; chunk 3 at t = 8
    assert actions == [101, 102, 103, 104, 201, 202, 203, 204, 301]
    assert len(fake.calls) == 3 and len(pol.chunk_latencies) == 3
    # histories: first obs repeated after reset, then the last To observations
    np.testing.assert_array_equal(fake.calls[0][0, :, 0], [0, 0])
    np.testing.assert_array_equal(fake.calls[1][0, :, 0], [3, 4])
    np.testing.assert_array_equal(fake.calls[2][0, :, 0], [7, 8])


def test_batched_rows_and_partial_reset():
    fake = FakePredictor()
    pol = ChunkedPolicy(fake)
    out = pol.act(np.zeros((3, 3), np.float32))
    assert out.shape == (3, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0], [101, 111, 121])  # one batched call for all rows
    pol.act(np.ones((3, 3)))
    pol.reset(indices=[1])
    out = pol.act(np.full((3, 3), 5.0))
    # only row 1 re-plans (a 1-row call); rows 0 and 2 keep executing their queue
    assert fake.calls[-1].shape == (1, 2, 3)
    np.testing.assert_array_equal(fake.calls[-1][0, :, 0], [5, 5])  # padded with its new first obs
    np.testing.assert_array_equal(out[:, 0], [103, 201, 123])
    pol.act(np.full((3, 3), 6.0))
    out = pol.act(np.full((3, 3), 7.0))  # rows 0 and 2 run out together: one 2-row call
    assert fake.calls[-1].shape == (2, 2, 3)
    np.testing.assert_array_equal(fake.calls[-1][:, :, 0], [[6, 7], [6, 7]])
    np.testing.assert_array_equal(out[:, 0], [301, 203, 311])
    with pytest.raises(ValueError, match=r"reset indices must be in \[0, 2\]"):
        pol.reset(indices=[3])
    pol.reset()
    pol.act(np.zeros(3))  # a new batch size starts afresh
    assert fake.calls[-1].shape == (1, 2, 3)


@pytest.mark.parametrize("bad,match", [
    (np.zeros(4), r"expected|shape \(3,\) or \(B, 3\), got \(4,\)"),
    (np.zeros((2, 2, 3)), r"shape \(3,\) or \(B, 3\), got \(2, 2, 3\)"),
    (np.array([0.0, np.nan, 1.0]), "NaN"),
    (np.array(["a", "b", "c"]), "expected float dtype"),
])
def test_bad_observations_raise_one_line_value_error(bad, match):
    pol = ChunkedPolicy(FakePredictor())
    with pytest.raises(ValueError, match=match) as e:
        pol.act(bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("kind,denoiser,objective", KINDS, ids=KIND_IDS)
def test_contract_over_every_policy_class(kind, denoiser, objective):
    policy = make_policy(tiny_config(kind, denoiser, objective)).eval()
    pol = ChunkedPolicy(policy, seed=0)
    pol.reset(seed=3)
    a = pol.act(np.zeros(3))
    assert a.shape == (2,) and a.dtype == np.float32 and np.isfinite(a).all()
    for _ in range(4):
        pol.act(np.zeros(3))
    assert len(pol.chunk_latencies) == 2  # Ta = 4 actions between predictions
    b = pol.act(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    assert b.shape == (4, 2) and b.dtype == np.float32
    # same seed → same actions (sampling noise comes from the seeded generator)
    pol.reset(seed=11)
    x = [pol.act(np.ones(3)) for _ in range(5)]
    pol.reset(seed=11)
    y = [pol.act(np.ones(3)) for _ in range(5)]
    np.testing.assert_array_equal(np.stack(x), np.stack(y))
    with pytest.raises(ValueError):
        pol.act(np.zeros(5))


@pytest.mark.parametrize("kind,denoiser", [("diffusion", "unet"), ("diffusion", "transformer"), ("mse", "unet")])
def test_builds_from_default_config(kind, denoiser):
    """The shipped defaults (network size, horizons, sampler) work end to end."""
    torch.manual_seed(0)
    policy = make_policy(PolicyConfig(obs_dim=6, action_dim=2, kind=kind, denoiser=denoiser)).eval()
    pol = ChunkedPolicy(policy, seed=0)
    a = pol.act(np.zeros(6, np.float32))
    assert a.shape == (2,) and a.dtype == np.float32
    chunk = policy.predict_chunk(np.zeros((2, 2, 6)), generator=torch.Generator().manual_seed(0))
    assert chunk.shape == (2, 16, 2)


def test_temperature_scales_only_the_initial_noise():
    """``predict_chunk(temperature=s)`` is the same chain started from s·x_T (flow: deterministic)."""
    from parapolicy.policies.sampling import denoise

    torch.manual_seed(0)
    policy = make_policy(tiny_config("diffusion", "unet", "flow")).eval()
    hist = np.random.default_rng(1).normal(size=(3, 2, 3)).astype(np.float32)  # (B, To, Do)
    got = policy.predict_chunk(hist, temperature=0.5, generator=torch.Generator().manual_seed(7))
    obs, _ = policy.prepare_obs_history(hist)
    x_T = torch.randn((3, 8, 2), generator=torch.Generator().manual_seed(7))  # (B, H, Da)
    with torch.no_grad():
        out = denoise(policy.denoiser, policy.get_schedule("flow"), 0.5 * x_T, policy.encode_obs(obs),
                      policy.timesteps)
    np.testing.assert_allclose(got, policy._finish(out.x0, False), atol=1e-5)
    full = policy.predict_chunk(hist, generator=torch.Generator().manual_seed(7))
    assert not np.allclose(got, full, atol=1e-3)  # the scale reaches the chain
    np.testing.assert_array_equal(full, policy.predict_chunk(hist, temperature=1.0,
                                                             generator=torch.Generator().manual_seed(7)))
    for bad in (0.0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="temperature must be a number > 0"):
            policy.predict_chunk(hist, temperature=bad)


def test_chunked_policy_passes_temperature_and_refuses_it_without_noise():
    class Tempered(FakePredictor):
        def predict_chunk(self, obs_history, *, sampler=None, steps=None, generator=None, temperature=1.0):
            self.temperatures = [*getattr(self, "temperatures", []), temperature]
            return super().predict_chunk(obs_history, sampler=sampler, steps=steps, generator=generator)

    fake = Tempered()
    ChunkedPolicy(fake, temperature=0.7).act(np.zeros(3))
    assert fake.temperatures == [0.7]
    ChunkedPolicy(FakePredictor(), temperature=1.0).act(np.zeros(3))  # the default passes nothing
    mse = make_policy(tiny_config("mse", "unet")).eval()
    with pytest.raises(ValueError, match="temperature applies to sampling policies; MseBcPolicy"):
        ChunkedPolicy(mse, temperature=0.5)
