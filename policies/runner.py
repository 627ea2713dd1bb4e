"""``ChunkedPolicy``: the control-loop adapter that turns a chunk predictor into a ``Policy``.

Wraps any object with ``predict_chunk(obs_history (B, To, Do), *, sampler, steps, generator) ->
(B, H, Da)`` (``DiffusionPolicy``, ``MseBcPolicy``) and keeps, per batch row, the last To
observations (padded with the first observation after a reset) and a queue of pending actions. When
a row's queue is empty it predicts a chunk (all such rows in one batched call) and queues the Ta
actions starting at chunk index To − 1 (the chunk starts at the first observation frame; receding
horizon as in Diffusion Policy). Rows of a vector env can be reset individually
(``reset(indices=...)``) so autoreset episodes stay independent.
"""
from __future__ import annotations

import inspect
import time
from typing import Any, Sequence

import numpy as np
import torch


class ChunkedPolicy:
    """``Policy`` over a chunk predictor: ``reset(*, seed=None, indices=None)`` and ``act(obs)``.

    ``predictor``: has ``predict_chunk`` and a ``config`` with ``obs_dim``, ``action_dim``,
    ``obs_horizon``, ``pred_horizon`` and ``action_horizon`` (or pass the horizons here).
    ``action_horizon``: Ta override; ``sampler`` / ``steps``: passed to ``predict_chunk``;
    ``seed``: seeds the sampling noise generator (``reset(seed=...)`` reseeds it).
    ``temperature``: scale of the initial noise, passed to ``predict_chunk`` when it is not 1 (so a
    predictor without noise, such as ``MseBcPolicy``, is refused at construction instead).
    ``chunk_latencies``: seconds of each ``predict_chunk`` call, in order.
    """

    def __init__(self, predictor: Any, *, action_horizon: int | None = None, sampler: str | None = None,
                 steps: int | None = None, seed: int | None = None, temperature: float = 1.0) -> None:
        if not callable(getattr(predictor, "predict_chunk", None)):
            raise ValueError(f"{type(predictor).__name__} has no predict_chunk method")
        self._sample_kwargs: dict[str, Any] = {}
        if temperature != 1.0:
            if "temperature" not in inspect.signature(predictor.predict_chunk).parameters:
                raise ValueError(f"temperature applies to sampling policies; {type(predictor).__name__} "
                                 f"samples no noise (got temperature={temperature})")
            self._sample_kwargs["temperature"] = temperature
        cfg = predictor.config
        self.predictor = predictor
        self.obs_dim, self.action_dim = int(cfg.obs_dim), int(cfg.action_dim)
        self.obs_horizon, self.pred_horizon = int(cfg.obs_horizon), int(cfg.pred_horizon)
        self.action_horizon = int(action_horizon if action_horizon is not None else cfg.action_horizon)
        self.offset = self.obs_horizon - 1
        if not 1 <= self.action_horizon <= self.pred_horizon - self.offset:
            raise ValueError(f"action_horizon must be in [1, {self.pred_horizon - self.offset}] (H - To + 1), "
                             f"got {self.action_horizon}")
        self.sampler, self.steps = sampler, steps
        self.generator = torch.Generator()
        self.generator.manual_seed(0 if seed is None else int(seed))
        self.chunk_latencies: list[float] = []
        self.num_chunks = 0
        self._rows = 0
        self._hist = np.zeros((0, self.obs_horizon, self.obs_dim), np.float32)  # (B, To, Do)
        self._fresh = np.zeros(0, bool)  # (B,) row has no observation since reset
        self._queue = np.zeros((0, self.action_horizon, self.action_dim), np.float32)  # (B, Ta, Da)
        self._left = np.zeros(0, np.int64)  # (B,) queued actions not yet executed

    def reset(self, *, seed: int | None = None, indices: Sequence[int] | None = None) -> None:
        """Forget observation history and queued actions of all rows (or only ``indices``);
        ``seed`` reseeds the sampling noise generator."""
        if seed is not None:
            self.generator.manual_seed(int(seed))
        if indices is None:
            self._allocate(0)
            return
        if self._rows == 0:
            return  # nothing remembered yet
        idx = np.asarray(list(indices), dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self._rows):
            raise ValueError(f"reset indices must be in [0, {self._rows - 1}], got {idx.tolist()}")
        self._fresh[idx] = True
        self._left[idx] = 0

    def _allocate(self, rows: int) -> None:
        self._rows = rows
        self._hist = np.zeros((rows, self.obs_horizon, self.obs_dim), np.float32)  # (B, To, Do)
        self._fresh = np.ones(rows, bool)  # (B,)
        self._queue = np.zeros((rows, self.action_horizon, self.action_dim), np.float32)  # (B, Ta, Da)
        self._left = np.zeros(rows, np.int64)  # (B,)

    def _check_obs(self, obs: Any) -> np.ndarray:
        arr = np.asarray(obs)
        if arr.dtype.kind not in "fiu":
            raise ValueError(f"obs must be a real-valued array, expected float dtype, got {arr.dtype}")
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.obs_dim:
            raise ValueError(f"obs must have shape ({self.obs_dim},) or (B, {self.obs_dim}), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"obs contains NaN or inf (expected finite values), got {arr.tolist()}"
                             if arr.size <= 16 else "obs contains NaN or inf (expected finite values)")
        return arr.astype(np.float32, copy=False)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Next action: ``(Do,)`` → ``(Da,)`` or ``(B, Do)`` → ``(B, Da)``, float32.

        A different batch size than the previous call starts every row afresh."""
        arr = self._check_obs(obs)
        single = arr.ndim == 1
        batch = arr[None] if single else arr  # (B, Do)
        if batch.shape[0] != self._rows:
            self._allocate(batch.shape[0])
        fresh = self._fresh
        self._hist[fresh] = batch[fresh][:, None, :]  # pad a new episode with its first observation
        stale = ~fresh
        self._hist[stale] = np.concatenate([self._hist[stale, 1:], batch[stale][:, None, :]], axis=1)
        self._fresh[:] = False
        need = np.flatnonzero(self._left == 0)
        if need.size:
            self._predict(need)
        pos = self.action_horizon - self._left  # (B,) next queue slot per row
        out = self._queue[np.arange(self._rows), pos].copy()  # (B, Da)
        self._left -= 1
        return out[0] if single else out

    def _predict(self, rows: np.ndarray) -> None:
        t0 = time.perf_counter()
        chunk = self.predictor.predict_chunk(self._hist[rows].copy(), sampler=self.sampler, steps=self.steps,
                                             generator=self.generator, **self._sample_kwargs)  # (m, H, Da)
        self.chunk_latencies.append(time.perf_counter() - t0)
        self.num_chunks += 1
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.shape != (rows.size, self.pred_horizon, self.action_dim):
            raise ValueError(f"predict_chunk returned shape {chunk.shape}, expected "
                             f"{(rows.size, self.pred_horizon, self.action_dim)}")
        self._queue[rows] = chunk[:, self.offset:self.offset + self.action_horizon]
        self._left[rows] = self.action_horizon
