"""Noise injection while collecting demonstrations (DART, Laskey et al. 2017).

A behaviour-cloned policy drifts a little off the demonstrator's states and then meets situations no
demonstration shows, such as a Push-T block two degrees off its goal with the pusher on the wrong side.
DART perturbs the actions the *environment executes* while the demonstrator keeps choosing its actions
from the states it actually reaches, and the dataset records the demonstrator's clean choices. The
demonstrations then cover the neighbourhood of the expert's path and show how to get back onto it.

:class:`ActionNoise` is the gymnasium wrapper that does the perturbing: the control loop hands it the
expert's action (and records that one), the wrapped env steps with a noisy copy.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class ActionNoise(gym.ActionWrapper):
    """Add Gaussian noise to every executed action, clipped to the action space.

    ``scale`` is the noise standard deviation as a fraction of each action dimension's half-range
    (``(high - low) / 2``), so one number means the same on every task: 0.02 on Push-T (targets in
    [0, 512] px) is 5.1 px. The noise stream is reseeded by ``reset(seed=...)``, so a seeded episode
    is reproducible.
    """

    def __init__(self, env: gym.Env, scale: float) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"action noise needs a Box action space, got {type(space).__name__}")
        if not np.all(np.isfinite(space.low)) or not np.all(np.isfinite(space.high)):
            raise ValueError("action noise needs a bounded action space (finite low and high)")
        if not (np.isfinite(scale) and 0.0 <= scale <= 1.0):
            raise ValueError(f"action noise scale must be in [0, 1], got {scale}")
        self.scale = float(scale)
        self._sigma = self.scale * (space.high - space.low) / 2.0  # (Da,)
        self._rng = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env; a ``seed`` also reseeds the noise (offset so it differs from the env's stream)."""
        if seed is not None:
            self._rng = np.random.default_rng([int(seed), 0xDA27])
        return self.env.reset(seed=seed, options=options)

    def action(self, action: np.ndarray) -> np.ndarray:
        """The executed action: ``action`` plus noise, clipped to the space."""
        space = self.env.action_space
        noisy = np.asarray(action, dtype=np.float64) + self._rng.normal(size=space.shape) * self._sigma
        return np.clip(noisy, space.low, space.high).astype(space.dtype)
