"""Traced inference (``trace_inference``): same chunks as the eager network, refused when the trace
cannot follow the network, dropped in training mode, and priced as another program by the cost model."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from parapolicy.planners.cost_model import model_fingerprint
from parapolicy.policies.factory import make_policy
from parapolicy.policies.traced import TraceMismatchError, trace_network
from policy_helpers import KIND_IDS, KINDS, tiny_config

torch.set_num_threads(1)


def _chunk(policy, obs: np.ndarray) -> np.ndarray:
    if policy.config.kind == "mse":
        return policy.predict_chunk(obs)
    return policy.predict_chunk(obs, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("kind,denoiser,objective", KINDS, ids=KIND_IDS)
def test_traced_policy_predicts_the_eager_chunks(kind: str, denoiser: str, objective: str) -> None:
    torch.manual_seed(0)
    policy = make_policy(tiny_config(kind, denoiser, objective))
    with torch.no_grad():  # move the weights off their initialisation so every layer matters
        for p in policy.ema.parameters():
            p.add_(0.1 * torch.randn_like(p))
    policy.eval()
    obs = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)  # (B, To, Do)
    eager = _chunk(policy, obs)
    assert not policy.traced
    assert policy.trace_inference() is policy and policy.traced
    np.testing.assert_allclose(_chunk(policy, obs), eager, atol=1e-5)
    assert np.abs(eager).max() > 0.1
    assert "traced" not in "".join(policy.state_dict())  # the snapshot is not saved with the weights
    policy.train()
    assert not policy.traced  # training would make the snapshot stale
    policy.eval()
    assert not policy.traced


class _BatchBaked(nn.Module):
    """Scales by the batch size through a Python number: a trace freezes it as a constant."""

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x * float(x.shape[0])


def test_a_trace_that_bakes_in_the_batch_is_refused() -> None:
    example = (torch.ones(1, 4, 2), torch.zeros(1), torch.zeros(1, 3))
    with pytest.raises(TraceMismatchError, match="differs from the eager one by 2 at batch 3; run it untraced"):
        trace_network(_BatchBaked(), example)


def test_the_cost_model_times_a_traced_policy_separately() -> None:
    policy = make_policy(tiny_config()).eval()
    eager = model_fingerprint(policy.denoiser, (8, 2), 6)
    policy.trace_inference()
    assert model_fingerprint(policy.denoiser, (8, 2), 6) != eager


def test_the_device_follows_moves_and_reloads_and_a_move_drops_the_trace() -> None:
    policy = make_policy(tiny_config()).eval().trace_inference()
    assert policy.device == torch.device("cpu") and policy.traced
    policy.to("meta")  # the cached first weight must not answer for the old device
    assert policy.device == torch.device("meta")
    assert not policy.traced  # the snapshot was traced on the cpu
    cpu_state = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in policy.state_dict().items()}
    policy.load_state_dict(cpu_state, assign=True)  # assign=True puts new parameter objects in place
    assert policy.device == torch.device("cpu")
    assert next(policy.model.parameters()).device == torch.device("cpu")
    other = make_policy(tiny_config()).eval().trace_inference()
    other.load_state_dict(cpu_state)  # new weights: a trace of the old ones would answer with them
    assert not other.traced


def test_eval_jit_auto_traces_for_the_planners_and_falls_back_to_eager_on_a_mismatch(monkeypatch, capsys) -> None:
    from parapolicy.scripts.eval import apply_jit

    policy = make_policy(tiny_config()).eval()
    assert apply_jit(policy, "auto", planner="chunked") is False and not policy.traced
    assert apply_jit(policy, False, planner="realtime") is False and not policy.traced
    assert apply_jit(policy, "auto", planner="realtime") is True and policy.traced

    def mismatch(self):
        raise TraceMismatchError("the traced network differs from the eager one by 2 at batch 3; run it untraced")

    other = make_policy(tiny_config()).eval()
    monkeypatch.setattr(type(other), "trace_inference", mismatch)
    assert apply_jit(other, "auto", planner="async") is False and not other.traced
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: jit=auto runs the network eager: the traced network")
    with pytest.raises(TraceMismatchError):  # asked for explicitly, a mismatch is an error
        apply_jit(other, True, planner="realtime")
