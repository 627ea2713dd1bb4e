"""Probe (run from the repository root with .venv/bin/python <this file> STUDENT SEED K [EPISODES]):
does picking among K student samples by coherence with the previous plan lift a cheap student? At
each replan the student draws K chunks per environment (one batched call per step); the chunk whose
first H - To + 1 - Ta positions lie closest (mean squared distance, raw action units) to what the
previous chunk had planned for those same control steps is executed. This is the backward-coherence
half of bidirectional decoding (Liu et al. 2024): it keeps consecutive chunks on one mode instead of
switching between modes at every replan. K = 1 is the plain student. Ta = 3, T = 0.8.
"""
import sys

import numpy as np
import torch

from parapolicy.planners.vector_eval import evaluate_vector, summarize_results
from parapolicy.policies import load_policy
from parapolicy.policies.runner import ChunkedPolicy
from parapolicy.scripts.distill import onpolicy_env_fn


class CoherentPick(ChunkedPolicy):
    """Samples ``k`` chunks per row and keeps the one most coherent with the row's previous chunk."""

    def __init__(self, predictor, *, k: int, **kw) -> None:
        super().__init__(predictor, **kw)
        self.k = k

    def _allocate(self, rows: int) -> None:
        super()._allocate(rows)
        self._prev = np.zeros((rows, self.pred_horizon, self.action_dim), np.float32)  # (B, H, Da) last chunk
        self._has_prev = np.zeros(rows, bool)  # (B,)

    def reset(self, *, seed=None, indices=None) -> None:
        super().reset(seed=seed, indices=indices)
        if indices is not None and self._rows:
            self._has_prev[np.asarray(list(indices))] = False

    def _predict(self, rows: np.ndarray) -> None:
        hist = np.repeat(self._hist[rows], self.k, axis=0)  # (m·K, To, Do)
        chunks = np.asarray(self.predictor.predict_chunk(hist, generator=self.generator, **self._sample_kwargs))
        chunks = chunks.reshape(rows.size, self.k, self.pred_horizon, self.action_dim)  # (m, K, H, Da)
        self.num_chunks += 1
        ta, lo = self.action_horizon, self.offset
        overlap = self.pred_horizon - lo - ta  # control steps both chunks plan for
        old = self._prev[rows][:, None, lo + ta:lo + ta + overlap]  # (m, 1, overlap, Da)
        new = chunks[:, :, lo:lo + overlap]  # (m, K, overlap, Da)
        dist = ((new - old) ** 2).mean(axis=(2, 3))  # (m, K)
        dist[~self._has_prev[rows]] = 0.0  # no previous plan: take the first draw
        pick = chunks[np.arange(rows.size), dist.argmin(axis=1)]  # (m, H, Da)
        self._prev[rows] = pick
        self._has_prev[rows] = True
        self._queue[rows] = pick[:, lo:lo + ta]
        self._left[rows] = ta


def main() -> None:
    name, seed, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    episodes = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    torch.set_num_threads(2)
    pol = load_policy(name if "/" in name else f"runs/pusht_kp400/{name}", device="cpu")
    runner = CoherentPick(pol, k=k, action_horizon=3, temperature=0.8, seed=seed)
    res = evaluate_vector(onpolicy_env_fn(pol.config.env_id), runner, episodes=episodes, num_envs=8, seed=seed)
    s = summarize_results(res)
    print(f"{name} seed={seed} K={k}: success {s['success_rate']:.2f} ({s['successes']}/{s['episodes']}), "
          f"mean coverage {s.get('mean_max_coverage', float('nan')):.3f}")


if __name__ == "__main__":
    main()
