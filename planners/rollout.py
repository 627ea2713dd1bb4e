"""The control loop: any gymnasium environment × any ``Policy`` (``reset(seed=…)`` / ``act(obs)``).

It needs gymnasium only, not our tasks. Optionally it renders a frame per step and paces itself to
the wall clock at a control rate, so the same loop serves data collection, videos and real-time runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np


class Policy(Protocol):
    """All a control loop ever sees of a policy, an expert or a planner."""

    def reset(self, *, seed: int | None = None) -> None: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...


@dataclass
class EpisodeRecord:
    """What happened in one episode (arrays aligned per control step)."""

    seed: int | None
    obs: np.ndarray  # (T, Do) observation each action was taken at
    actions: np.ndarray  # (T, Da)
    rewards: np.ndarray  # (T,)
    dones: np.ndarray  # (T,) 1 at the last step
    terminated: bool
    truncated: bool
    success: bool | None  # None when the task reports no ``is_success``
    max_coverage: float | None  # Push-T style tasks report ``coverage``
    frames: list[np.ndarray] = field(default_factory=list)  # (h, w, 3) uint8 each, if rendered
    notes: list[str] = field(default_factory=list)  # per-step policy status text, if any
    wall_s: float = 0.0
    late_ticks: int = 0  # paced runs: control ticks that started after their deadline

    @property
    def steps(self) -> int:
        """Number of control steps taken."""
        return int(len(self.actions))

    @property
    def ret(self) -> float:
        """Undiscounted return."""
        return float(self.rewards.sum())


def run_episode(env: gym.Env, policy: Policy, *, seed: int | None = None, render: bool = False,
                max_steps: int | None = None, pace_hz: float | None = None) -> EpisodeRecord:
    """Run one episode of ``policy`` in ``env`` and return its record.

    ``pace_hz`` sleeps between control ticks so the loop runs at that wall-clock rate; a tick whose
    action came back after its deadline is counted in ``late_ticks``.
    """
    obs, info = env.reset(seed=seed)
    policy.reset(seed=seed)
    obs_list, act_list, rew_list, frames, notes = [], [], [], [], []
    terminated = truncated = False
    success: bool | None = info.get("is_success") if "is_success" in info else None
    max_cov = float(info["coverage"]) if "coverage" in info else None
    period = 1.0 / pace_hz if pace_hz else None
    late = 0
    t0 = time.perf_counter()
    next_tick = t0
    if render:
        frames.append(np.asarray(env.render()))
    while not (terminated or truncated):
        if max_steps is not None and len(act_list) >= max_steps:
            break
        action = np.asarray(policy.act(obs))
        if period is not None:
            next_tick += period
            now = time.perf_counter()
            if now > next_tick:
                late += 1
                next_tick = now
            else:
                time.sleep(next_tick - now)
        obs_list.append(np.asarray(obs))
        act_list.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        rew_list.append(float(reward))
        if "is_success" in info:
            success = bool(success) or bool(info["is_success"])
        if "coverage" in info:
            max_cov = max(max_cov or 0.0, float(info["coverage"]))
        if render:
            frames.append(np.asarray(env.render()))
        status = getattr(policy, "status", None)
        notes.append(str(status) if status else "")
    n = len(act_list)
    dones = np.zeros(n, dtype=bool)
    if n:
        dones[-1] = True
    return EpisodeRecord(
        seed=seed,
        obs=np.asarray(obs_list, dtype=np.float32).reshape(n, -1),
        actions=np.asarray(act_list, dtype=np.float32).reshape(n, -1),
        rewards=np.asarray(rew_list, dtype=np.float32),
        dones=dones,
        terminated=bool(terminated),
        truncated=bool(truncated),
        success=success,
        max_coverage=max_cov,
        frames=frames,
        notes=notes,
        wall_s=time.perf_counter() - t0,
        late_ticks=late,
    )


def summarize(records: list[EpisodeRecord]) -> dict[str, Any]:
    """Success rate (with 95% Wilson interval), mean return and coverage over single-env episodes."""
    from parapolicy.planners.vector_eval import EpisodeResult, summarize_results

    return summarize_results([
        EpisodeResult(episode=i, seed=r.seed if r.seed is not None else -1, steps=r.steps, ret=r.ret,
                      success=r.success, max_coverage=r.max_coverage, route=None)
        for i, r in enumerate(records)
    ])
