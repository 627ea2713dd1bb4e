"""Vectorized evaluation: many seeded episodes of one batched policy over gymnasium vector envs.

Episode ``j`` always starts from seed ``seed + j``; finished sub-environments are reset (with the
next pending seed) through gymnasium's ``reset_mask`` and the policy forgets only those rows
(``policy.reset(indices=[...])``), so every row of the batch stays in step with the others.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from parapolicy.planners.stats import wilson_interval


@dataclass
class EpisodeResult:
    """One evaluation episode's outcome."""

    episode: int
    seed: int
    steps: int
    ret: float
    success: bool | None
    max_coverage: float | None
    route: str | None


def _info_at(info: dict[str, Any], key: str, i: int) -> Any:
    """Sub-env ``i``'s value of ``key`` in a vector env's info dict (None when absent)."""
    if key not in info:
        return None
    mask = info.get(f"_{key}")
    if mask is not None and not mask[i]:
        return None
    return info[key][i]


def make_vector_env(env_fns: Sequence[Callable[[], gym.Env]], *, use_async: bool) -> gym.vector.VectorEnv:
    """Sync or async vector env with auto-reset disabled (we reset finished envs ourselves)."""
    cls = gym.vector.AsyncVectorEnv if use_async and len(env_fns) > 1 else gym.vector.SyncVectorEnv
    return cls(list(env_fns), autoreset_mode=AutoresetMode.DISABLED)


def evaluate_vector(env_fn: Callable[[], gym.Env], policy: Any, *, episodes: int, num_envs: int = 1,
                    seed: int = 0, use_async: bool = True,
                    progress: Callable[[int], None] | None = None) -> list[EpisodeResult]:
    """Run ``episodes`` seeded episodes of ``policy`` on ``num_envs`` parallel envs.

    ``policy`` must accept a batch of observations ``(M, Do)`` in ``act`` and support
    ``reset(seed=…, indices=…)`` (``parapolicy.policies.ChunkedPolicy`` and the planners do).
    """
    if episodes < 1 or num_envs < 1:
        raise ValueError(f"episodes and num_envs must be >= 1, got {episodes} and {num_envs}")
    m = min(num_envs, episodes)
    envs = make_vector_env([env_fn] * m, use_async=use_async)
    try:
        return _run(envs, policy, episodes=episodes, m=m, seed=seed, progress=progress)
    finally:
        envs.close()


def _run(envs: gym.vector.VectorEnv, policy: Any, *, episodes: int, m: int, seed: int,
         progress: Callable[[int], None] | None) -> list[EpisodeResult]:
    obs, info = envs.reset(seed=[seed + i for i in range(m)])
    policy.reset(seed=seed)
    current = list(range(m))  # episode index running in each sub-env (-1: idle)
    next_episode = m
    ret = np.zeros(m)
    steps = np.zeros(m, dtype=int)
    success: list[bool | None] = [None] * m
    cover: list[float | None] = [None] * m
    results: list[EpisodeResult] = []
    while len(results) < episodes:
        actions = np.asarray(policy.act(obs.astype(np.float32)))
        obs, reward, term, trunc, info = envs.step(actions)
        done_rows = []
        for i in range(m):
            if current[i] < 0:  # idle row: only keep it resettable
                if term[i] or trunc[i]:
                    done_rows.append(i)
                continue
            ret[i] += float(reward[i])
            steps[i] += 1
            ok = _info_at(info, "is_success", i)
            if ok is not None:
                success[i] = bool(success[i]) or bool(ok)
            cov = _info_at(info, "coverage", i)
            if cov is not None:
                cover[i] = max(cover[i] or 0.0, float(cov))
            if term[i] or trunc[i]:
                route = _info_at(info, "route", i)
                results.append(EpisodeResult(episode=current[i], seed=seed + current[i], steps=int(steps[i]),
                                             ret=float(ret[i]), success=success[i], max_coverage=cover[i],
                                             route=str(route) if route is not None else None))
                if progress:
                    progress(len(results))
                done_rows.append(i)
        if done_rows and len(results) < episodes:
            seeds: list[int | None] = [None] * m
            for i in done_rows:
                if current[i] >= 0 and next_episode < episodes:
                    current[i] = next_episode
                    next_episode += 1
                else:
                    current[i] = -1  # idle: keep it running on a throwaway episode
                seeds[i] = seed + current[i] if current[i] >= 0 else seed + 10_000_000 + i
                ret[i], steps[i], success[i], cover[i] = 0.0, 0, None, None
            mask = np.zeros(m, dtype=bool)
            mask[done_rows] = True
            obs, _ = envs.reset(seed=seeds, options={"reset_mask": mask})
            policy.reset(indices=done_rows)
    return sorted(results, key=lambda r: r.episode)


def summarize_results(results: Sequence[EpisodeResult]) -> dict[str, Any]:
    """Success rate with its Wilson 95% interval, mean return and coverage, route split."""
    n = len(results)
    out: dict[str, Any] = {"episodes": n, "mean_return": float(np.mean([r.ret for r in results])),
                           "mean_steps": float(np.mean([r.steps for r in results]))}
    flags = [r.success for r in results if r.success is not None]
    if flags:
        k = int(sum(flags))
        out.update(successes=k, success_rate=k / len(flags), success_ci95=list(wilson_interval(k, len(flags))))
    covs = [r.max_coverage for r in results if r.max_coverage is not None]
    if covs:
        out["mean_max_coverage"] = float(np.mean(covs))
    routes = [r.route for r in results if r.route and r.success]
    if routes:
        out["routes_of_successes"] = {k: routes.count(k) for k in sorted(set(routes))}
    return out


def results_to_dicts(results: Sequence[EpisodeResult]) -> list[dict[str, Any]]:
    """Per-episode records as JSON-ready dicts."""
    return [asdict(r) for r in results]
