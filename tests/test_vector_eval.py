"""Vectorized evaluation: seeded episodes, per-row resets, and agreement with the single-env loop."""
import numpy as np
import pytest

from parapolicy.envs import make_env
from parapolicy.envs.fork_expert import ForkExpert
from parapolicy.planners.rollout import run_episode, summarize
from parapolicy.planners.stats import wilson_interval
from parapolicy.planners.vector_eval import evaluate_vector, summarize_results


class BatchedGoalSeeker:
    """A memoryless batched policy that heads straight for the goal (it may hit the obstacle)."""

    def __init__(self):
        self.resets = []

    def reset(self, *, seed=None, indices=None):
        self.resets.append(indices)

    def act(self, obs):
        d = obs[..., 4:6] - obs[..., 0:2]
        return np.clip(d * 3, -1, 1).astype(np.float32)


def test_wilson_interval_properties():
    lo, hi = wilson_interval(95, 100)
    assert 0.88 < lo < 0.95 < hi < 0.99
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@pytest.mark.parametrize("use_async", [False, True])
def test_vector_eval_matches_single_env(use_async):
    policy = BatchedGoalSeeker()
    results = evaluate_vector(lambda: make_env("parapolicy/Fork-v0"), policy, episodes=5, num_envs=3,
                              seed=40, use_async=use_async)
    assert [r.episode for r in results] == list(range(5))
    assert [r.seed for r in results] == list(range(40, 45))
    assert any(idx for idx in policy.resets if idx)  # finished rows were reset individually
    env = make_env("parapolicy/Fork-v0")
    for r in results:  # a deterministic policy gives the same episode in either loop
        single = run_episode(env, BatchedGoalSeeker(), seed=r.seed)
        assert single.steps == r.steps and single.success == r.success
        assert single.ret == pytest.approx(r.ret, rel=1e-5)
    summary = summarize_results(results)
    assert summary["episodes"] == 5 and 0.0 <= summary["success_rate"] <= 1.0


def test_expert_summary_has_interval():
    env = make_env("parapolicy/Fork-v0")
    expert = ForkExpert(env, seed=0)
    stats = summarize([run_episode(env, expert, seed=s) for s in range(5)])
    assert stats["successes"] == 5 and stats["success_ci95"][1] == 1.0
