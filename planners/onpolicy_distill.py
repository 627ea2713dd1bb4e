"""On-policy distillation: label the states the *student* visits, not only the demonstrators'.

A student distilled on demonstration histories is trained where the teacher's policy would be; once
it acts, its small errors take the system to histories that no demonstration holds, where its fit
to the teacher is untested, and the errors compound (the covariate shift that DAgger, Ross et al.
2011, answers for behaviour cloning). Here the "expert" is the teacher's deterministic sampler, so
relabelling is free of any human: each round rolls the current student out in the task for a few
seeded episodes, records every observation history at which it replanned, has the teacher label
those histories (``StudentFit.label``, the same noise → trajectory targets as the demonstration
bank), adds them to the bank and trains the student on the union. The demonstration histories stay
in the bank, so the student does not forget the states a good policy passes through.

``planner_histories`` records the same kind of histories from the *teacher's* rollouts, with any
planner menu sampler: on a task whose demonstrations start from few initial states, the teacher's
own episodes from fresh seeds add states a good policy passes through that no demonstration holds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from .student import StudentFit
from .vector_eval import EpisodeResult, evaluate_vector, summarize_results


class RecordingPredictor:
    """A chunk predictor that keeps a copy of every raw observation history ``(m, To, Do)`` it is
    asked to act on, then delegates to ``predictor``."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.config = predictor.config
        self.histories: list[np.ndarray] = []

    def predict_chunk(self, obs_history: np.ndarray | Tensor, *, sampler: str | None = None,
                      steps: int | None = None, generator: torch.Generator | None = None,
                      temperature: float = 1.0) -> np.ndarray:
        """Record ``obs_history`` ``(m, To, Do)`` and return the predictor's chunks ``(m, H, Da)``."""
        hist = np.asarray(obs_history, dtype=np.float32)
        self.histories.append(hist.reshape((-1,) + hist.shape[-2:]).copy())
        kwargs = {"temperature": temperature} if temperature != 1.0 else {}
        return self.predictor.predict_chunk(obs_history, sampler=sampler, steps=steps, generator=generator,
                                            **kwargs)

    def recorded(self) -> Tensor:
        """All recorded histories, ``(M, To, Do)`` float32 (M = 0 before any call)."""
        cfg = self.config
        if not self.histories:
            return torch.zeros((0, int(cfg.obs_horizon), int(cfg.obs_dim)))
        return torch.from_numpy(np.concatenate(self.histories))


def visited_histories(policy: Any, env_fn: Callable[[], gym.Env], *, episodes: int, num_envs: int, seed: int,
                      action_horizon: int | None = None, temperature: float = 1.0, use_async: bool = True
                      ) -> tuple[Tensor, list[EpisodeResult]]:
    """Roll ``policy`` (a chunk predictor, e.g. the student) out for ``episodes`` seeded episodes
    (episode j from seed ``seed + j``) and return the raw histories it replanned at
    ``(M, To, Do)`` and the episodes' results."""
    from parapolicy.policies import ChunkedPolicy

    rec = RecordingPredictor(policy)
    runner = ChunkedPolicy(rec, action_horizon=action_horizon, seed=seed, temperature=temperature)
    results = evaluate_vector(env_fn, runner, episodes=episodes, num_envs=num_envs, seed=seed, use_async=use_async)
    return rec.recorded(), results


def planner_histories(planner: Any, env_fn: Callable[[], gym.Env], *, episodes: int, num_envs: int, seed: int,
                      use_async: bool = True) -> tuple[Tensor, list[EpisodeResult]]:
    """Roll ``planner`` (a ``RealtimePlanner``, e.g. ``build_planner(teacher, planner="chunked",
    menu=["flow4-rho2-ab2-t0.8"])``) out for ``episodes`` seeded episodes (episode j from seed
    ``seed + j``); return the raw histories it replanned at ``(M, To, Do)`` and the episodes' results.
    Rows left idle near the end run throwaway episodes (``evaluate_vector``); their histories are in M too."""
    seen: list[np.ndarray] = []
    planner.on_replan = lambda hist: seen.append(np.array(hist, dtype=np.float32))  # (m, To, Do)
    try:
        results = evaluate_vector(env_fn, planner, episodes=episodes, num_envs=num_envs, seed=seed,
                                  use_async=use_async)
    finally:
        planner.on_replan = None
    return torch.from_numpy(np.concatenate(seen)), results  # every episode replans at least once


@dataclass
class RoundRecord:
    """One on-policy round: how the student did in its own rollouts, what was added, what it cost."""

    round: int
    seed: int
    episodes: int
    success_rate: float | None
    mean_return: float
    new_histories: int
    bank_size: int
    loss_first: float
    loss_last_mean: float
    seconds: float


def distill_on_policy(fit: StudentFit, env_fn: Callable[[], gym.Env], *, rounds: int, episodes: int, steps: int,
                      num_envs: int = 8, seed: int = 200_000, action_horizon: int | None = None,
                      use_async: bool = True, repeats: int = 1, label_chunk: int = 1024,
                      log: Callable[[int, float], None] | None = None,
                      on_round: Callable[[RoundRecord], None] | None = None) -> list[RoundRecord]:
    """``rounds`` rounds of: roll the current student out (at ``fit.temperature``) for ``episodes``
    episodes from seeds ``seed + r·episodes …``, label its replanning histories with the teacher,
    add them to ``fit``'s bank (each history ``repeats`` times, with independent noise: more of the
    teacher's noise → chunk map per visited state), train ``steps`` iterations on the whole bank.
    Returns one record per round (``on_round`` also receives each as it finishes)."""
    if rounds < 1 or episodes < 1 or steps < 1 or num_envs < 1 or repeats < 1:
        raise ValueError(f"rounds, episodes, steps, num_envs and repeats must be >= 1, got {rounds}, {episodes}, "
                         f"{steps}, {num_envs}, {repeats}")
    out: list[RoundRecord] = []
    for r in range(rounds):
        t0 = time.perf_counter()
        round_seed = seed + r * episodes
        obs, results = visited_histories(fit.student, env_fn, episodes=episodes, num_envs=num_envs, seed=round_seed,
                                         action_horizon=action_horizon, temperature=fit.temperature,
                                         use_async=use_async)  # (M, To, Do)
        fit.label(obs.repeat(repeats, 1, 1), chunk=label_chunk)  # (repeats·M, To, Do)
        losses = fit.train(steps, log=log)
        summary = summarize_results(results)
        rec = RoundRecord(round=r + 1, seed=round_seed, episodes=episodes, success_rate=summary.get("success_rate"),
                          mean_return=summary["mean_return"], new_histories=int(obs.shape[0]),
                          bank_size=fit.bank_size, loss_first=losses[0],
                          loss_last_mean=float(np.mean(losses[-50:])), seconds=time.perf_counter() - t0)
        out.append(rec)
        if on_round is not None:
            on_round(rec)
    return out
