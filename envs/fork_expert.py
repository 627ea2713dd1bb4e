"""Scripted expert for ``parapolicy/Fork-v0``: a smooth path around a randomly chosen side.

At every :meth:`ForkExpert.reset` the expert draws a route, ``"left"`` or ``"right"`` with equal
probability, from its own RNG. On the first :meth:`ForkExpert.act` of an episode it builds a quadratic
Bézier curve from the observed start to the observed goal whose midpoint is the via-point
``(±clearance, 0)`` beside the obstacle (``clearance`` = obstacle radius + agent radius + margin, with
the margin drawn per episode for a little variety). It then follows the curve by pure pursuit: the
desired velocity points at the curve point ``lookahead`` metres of arc ahead of the closest point,
at ``cruise`` speed, slowing down in the last few centimetres before the goal. Gaussian noise of std
``noise`` is added to each action, which is then clipped to the action box.

The expert reads only the observation (position and goal); the obstacle's and agent's sizes come from
``env.unwrapped`` when it has them (the module constants of :mod:`parapolicy.envs.fork` otherwise).
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .fork import AGENT_RADIUS, MAX_SPEED, OBSTACLE_RADIUS

#: Route names, index 0 passes at x < 0, index 1 at x > 0.
ROUTES = ("left", "right")
#: Mixed into the expert's seed so that, for the same integer seed, its random stream differs from the
#: environment's (gymnasium seeds ``np_random`` with ``SeedSequence(seed)``); otherwise the route or the
#: margin could be a function of the start/goal jitter.
SEED_SALT = 0x5F0C


def _expert_rng(seed: int | None) -> np.random.Generator:
    """The expert's generator: seeded from ``(seed, SEED_SALT)``, or fresh entropy without a seed."""
    return np.random.default_rng(None if seed is None else [int(seed), SEED_SALT])


class ForkExpert:
    """Scripted Fork-v0 demonstrator; a ``Policy`` (``reset`` + ``act``) with a ``mode`` attribute.

    Options (keyword arguments):
        noise: std of the Gaussian noise added to each normalised action (default 0.05).
        cruise: travel speed as a fraction of the maximum speed (default 0.8).
        margin: ``(low, high)`` range of the extra clearance (m) beyond contact distance at the
            via-point, drawn uniformly per episode (default ``(0.1, 0.2)``).
        lookahead: pure-pursuit lookahead along the path, in metres (default 0.15).
        mode: force a route (``"left"``/``"right"``) instead of drawing one (default ``None``).
    """

    def __init__(self, env: gym.Env, seed: int | None = None, **options: Any) -> None:
        unknown = set(options) - {"noise", "cruise", "margin", "lookahead", "mode"}
        if unknown:
            raise ValueError(
                f"unknown ForkExpert option(s) {sorted(unknown)}; allowed: noise, cruise, margin, "
                "lookahead, mode"
            )
        base = env.unwrapped
        self.action_space = env.action_space
        self.obstacle_radius = float(getattr(base, "obstacle_radius", OBSTACLE_RADIUS))
        self.agent_radius = float(getattr(base, "agent_radius", AGENT_RADIUS))
        self.max_speed = float(getattr(base, "max_speed", MAX_SPEED))
        self.noise = float(options.get("noise", 0.05))
        self.cruise = float(options.get("cruise", 0.8))
        self.margin = tuple(float(m) for m in options.get("margin", (0.1, 0.2)))
        self.lookahead = float(options.get("lookahead", 0.15))
        self.forced_mode = options.get("mode")
        self._validate()
        self.rng = _expert_rng(seed)
        self.mode = ROUTES[0]
        self._path: np.ndarray | None = None  # (N, 2) points along the chosen curve
        self._arc: np.ndarray | None = None  # (N,) cumulative arc length
        self._index = 0
        self._clearance = self.obstacle_radius + self.agent_radius + self.margin[0]

    def _validate(self) -> None:
        """Reject option values that cannot produce a sensible path."""
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if not 0 < self.cruise <= 1:
            raise ValueError(f"cruise must be in (0, 1], got {self.cruise}")
        if len(self.margin) != 2 or not 0 <= self.margin[0] <= self.margin[1]:
            raise ValueError(f"margin must be (low, high) with 0 <= low <= high, got {self.margin}")
        if self.lookahead <= 0:
            raise ValueError(f"lookahead must be > 0, got {self.lookahead}")
        if self.forced_mode not in (None, *ROUTES):
            raise ValueError(f"mode must be one of {ROUTES} or None, got {self.forced_mode!r}")

    def reset(self, *, seed: int | None = None) -> None:
        """Start a new episode: reseed (if a seed is given) and draw the route and the margin."""
        if seed is not None:
            self.rng = _expert_rng(seed)
        drawn = ROUTES[int(self.rng.integers(2))]
        self.mode = self.forced_mode or drawn
        margin = self.rng.uniform(self.margin[0], self.margin[1])
        self._clearance = self.obstacle_radius + self.agent_radius + margin
        self._path, self._arc, self._index = None, None, 0

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Normalised velocity command, shape (2,) float32 in the action box, for observation ``obs``."""
        obs = np.asarray(obs, dtype=np.float64)  # (6,): x, y, vx, vy, goal_x, goal_y
        pos, goal = obs[:2], obs[4:6]
        if self._path is None:
            self._build_path(pos, goal)
        velocity = self._pursuit_velocity(pos, goal)  # (2,) m/s
        action = velocity / self.max_speed + self.noise * self.rng.standard_normal(2)
        low, high = self.action_space.low, self.action_space.high
        return np.clip(action, low, high).astype(np.float32)

    def _build_path(self, start: np.ndarray, goal: np.ndarray, n: int = 200) -> None:
        """Sample the Bézier curve start -> via-point -> goal into ``n`` points and their arc lengths."""
        side = -1.0 if self.mode == "left" else 1.0
        via = np.array([side * self._clearance, 0.0])  # (2,) point on the curve at t = 0.5
        control = 2.0 * via - 0.5 * (start + goal)  # (2,) Bézier control point through `via`
        t = np.linspace(0.0, 1.0, n)[:, None]  # (n, 1)
        self._path = (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * goal  # (n, 2)
        steps = np.linalg.norm(np.diff(self._path, axis=0), axis=1)  # (n-1,)
        self._arc = np.concatenate([[0.0], np.cumsum(steps)])  # (n,)
        self._index = 0

    def _pursuit_velocity(self, pos: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Desired velocity (m/s) toward the lookahead point; never moves backward along the path."""
        assert self._path is not None and self._arc is not None
        window = self._path[self._index :]  # (M, 2) the path still ahead
        self._index += int(np.argmin(np.linalg.norm(window - pos, axis=1)))
        target_arc = self._arc[self._index] + self.lookahead
        target = self._path[min(int(np.searchsorted(self._arc, target_arc)), len(self._path) - 1)]
        offset = target - pos  # (2,)
        distance = float(np.linalg.norm(offset))
        if distance < 1e-9:
            return np.zeros(2)
        remaining = float(np.linalg.norm(goal - pos))
        speed = min(self.cruise * self.max_speed, 2.0 * remaining)
        return offset / distance * speed
