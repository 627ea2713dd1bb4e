"""Probe (run from the repository root with .venv/bin/python <this file> STUDENT SEED K LAM [EPISODES]):
does temporal ensembling (ACT, Zhao et al. 2023) lift a cheap student? The student replans at every
control step; the action executed at step t is the weighted mean, over the last K chunks, of each
chunk's prediction for step t (weight exp(-LAM · age), age 0 = the newest chunk). K = 0 is the plain
baseline: Ta = 3 receding horizon, as the bench's student row runs it. Temperature 0.8 throughout.
"""
import sys

import numpy as np
import torch

from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies import load_policy
from parapolicy.policies.runner import ChunkedPolicy
from parapolicy.scripts.distill import onpolicy_env_fn


class EnsembledPolicy(ChunkedPolicy):
    """Replans every step and executes the age-weighted mean of the last ``k`` chunks' actions."""

    def __init__(self, predictor, *, k: int, lam: float, **kw) -> None:
        super().__init__(predictor, action_horizon=1, **kw)
        self.k, self.lam = k, lam

    def _allocate(self, rows: int) -> None:
        super()._allocate(rows)
        self._chunks = np.zeros((rows, self.k, self.pred_horizon, self.action_dim), np.float32)  # (B, K, H, Da)
        self._age = np.full((rows, self.k), -1, np.int64)  # (B, K) steps since each chunk was made; -1 empty

    def reset(self, *, seed=None, indices=None) -> None:
        super().reset(seed=seed, indices=indices)
        if indices is not None and self._rows:
            self._age[np.asarray(list(indices))] = -1

    def _predict(self, rows: np.ndarray) -> None:
        chunk = self.predictor.predict_chunk(self._hist[rows].copy(), sampler=self.sampler, steps=self.steps,
                                             generator=self.generator, **self._sample_kwargs)  # (m, H, Da)
        self.num_chunks += 1
        age = self._age[rows]
        age[age >= 0] += 1
        self._chunks[rows] = np.roll(self._chunks[rows], 1, axis=1)
        age = np.roll(age, 1, axis=1)
        self._chunks[rows, 0] = chunk
        age[:, 0] = 0
        age[self.offset + age >= self.pred_horizon] = -1  # chunk has no action for this step any more
        self._age[rows] = age
        pos = np.clip(self.offset + age, 0, self.pred_horizon - 1)  # (m, K)
        acts = np.take_along_axis(self._chunks[rows], pos[:, :, None, None], axis=2)[:, :, 0]  # (m, K, Da)
        w = np.where(age >= 0, np.exp(-self.lam * np.maximum(age, 0)), 0.0)  # (m, K)
        self._queue[rows, 0] = (w[:, :, None] * acts).sum(1) / w.sum(1, keepdims=True)
        self._left[rows] = 1


def main() -> None:
    name, seed, k, lam = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    episodes = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    torch.set_num_threads(1)
    path = name if "/" in name else f"runs/pusht_kp400/{name}"
    pol = load_policy(path, device="cpu")
    if k == 0:
        runner = ChunkedPolicy(pol, action_horizon=3, temperature=0.8, seed=seed)
    else:
        runner = EnsembledPolicy(pol, k=k, lam=lam, temperature=0.8, seed=seed)
    res = evaluate_vector(onpolicy_env_fn(pol.config.env_id), runner, episodes=episodes, num_envs=8, seed=seed)
    s = summarize_results(res)
    print(f"{name} seed={seed} K={k} lam={lam}: success {s['success_rate']:.2f} "
          f"({s['successes']}/{s['episodes']}), mean coverage {s.get('mean_max_coverage', float('nan')):.3f}, "
          f"chunks {runner.num_chunks}")


if __name__ == "__main__":
    main()
