"""``parapolicy/Fork-v0``: the smallest multimodal task.

A point mass on a plane starts near ``y = -0.8`` and must reach a goal near ``y = +0.8``. A round
obstacle (a cylinder of radius 0.3) stands at the origin, between the two, so the agent has to go
around it: passing on the left (``x < 0``) and passing on the right (``x > 0``) are equally correct.
A policy trained by regressing the mean action averages the two routes and drives into the obstacle;
a generative policy has to commit to one. That is what this task is for.

Dynamics (MJCF in ``assets/fork.xml``): two slide joints (x, y) driven by MuJoCo velocity actuators
(force = kv * (v_desired - v), kv = 20, mass 1 kg, i.e. a 0.05 s velocity time constant). The physics
runs at 100 Hz; one control step is 10 physics steps (10 Hz). The arena is bounded by joint limits at
``|x|, |y| <= 1.2``.

Spaces:

* action ``(2,)`` float32 in ``[-1, 1]^2``: the desired planar velocity, scaled by
  :data:`MAX_SPEED` (0.6 m/s). Out-of-box actions are clipped; NaN/inf actions raise ``ValueError``.
* observation ``(6,)`` float32: ``[x, y, vx, vy, goal_x, goal_y]``. Positions stay within about
  ``[-1.2, 1.2]`` and speeds within about ``[-0.6, 0.6]``; the declared box is ``[-1.5, 1.5]^6``.

Episode rules:

* reset: start ``(U(-0.1, 0.1), -0.8 + U(-0.05, 0.05))``, goal ``(U(-0.1, 0.1), 0.8 + U(-0.05, 0.05))``,
  zero velocity; everything drawn from the seeded ``np_random``.
* success: the agent's centre within :data:`SUCCESS_RADIUS` (0.1) of the goal without having touched the
  obstacle -> ``terminated=True``, ``info["is_success"]=True``.
* collision: any MuJoCo contact between the agent and the obstacle during any physics sub-step ->
  ``terminated=True``, ``info["is_success"]=False``, ``info["collided"]=True`` (the episode fails).
* time limit: 80 control steps (8 s), applied by the gymnasium ``TimeLimit`` wrapper (``truncated``).
* reward: progress toward the goal (previous distance - current distance, in metres) per step,
  ``+1`` on success, ``-1`` on collision.

``info`` also reports ``distance`` (to the goal) and ``route``: ``"left"``/``"right"`` from the side of
the obstacle the agent was on when it first entered the obstacle's y-band, ``None`` before that.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

#: MJCF model of the task.
ASSET_PATH = Path(__file__).parent / "assets" / "fork.xml"
#: Desired speed (m/s) that an action component of 1.0 asks for.
MAX_SPEED = 0.6
#: Radius (m) of the round obstacle at the origin.
OBSTACLE_RADIUS = 0.3
#: Radius (m) of the agent sphere.
AGENT_RADIUS = 0.05
#: Success when the agent's centre is this close (m) to the goal.
SUCCESS_RADIUS = 0.1
#: Physics steps per control step (100 Hz physics, 10 Hz control).
FRAME_SKIP = 10
#: Nominal start and goal positions and their uniform jitter half-widths (x, y).
START_XY = (0.0, -0.8)
GOAL_XY = (0.0, 0.8)
JITTER_XY = (0.1, 0.05)
#: Every observation component lies in [-OBS_BOUND, OBS_BOUND] (positions are limited to 1.2 by the
#: joints, speeds to about 0.6 by the actuators; the observation is clipped to the box as a guarantee).
OBS_BOUND = 1.5
SUCCESS_BONUS = 1.0
COLLISION_PENALTY = -1.0


class ForkEnv(gym.Env):
    """Point mass that must pass a round obstacle on either side to reach a goal (see module doc)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, width: int = 256, height: int = 256) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        if int(width) <= 0 or int(height) <= 0:
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        self.render_mode = render_mode
        self.width, self.height = int(width), int(height)
        self.model = mujoco.MjModel.from_xml_path(str(ASSET_PATH))
        self.model.vis.global_.offwidth = max(self.width, self.model.vis.global_.offwidth)
        self.model.vis.global_.offheight = max(self.height, self.model.vis.global_.offheight)
        self.data = mujoco.MjData(self.model)
        self._agent_geom = self.model.geom("agent").id
        self._obstacle_geom = self.model.geom("obstacle").id
        self._goal_mocap = self.model.body_mocapid[self.model.body("goal").id]
        self._renderer: mujoco.Renderer | None = None

        self.obstacle_radius = OBSTACLE_RADIUS
        self.agent_radius = AGENT_RADIUS
        self.success_radius = SUCCESS_RADIUS
        self.max_speed = MAX_SPEED
        self.dt = self.model.opt.timestep * FRAME_SKIP  # control period, s

        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = spaces.Box(-OBS_BOUND, OBS_BOUND, shape=(6,), dtype=np.float32)

        self.goal = np.array(GOAL_XY, dtype=np.float64)  # (2,)
        self._prev_distance = 0.0
        self.route: str | None = None

    # ----------------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode: jittered start and goal drawn from the seeded RNG, zero velocity."""
        super().reset(seed=seed)
        mujoco.mj_resetData(self.model, self.data)
        start = self._jittered(START_XY)  # (2,)
        self.goal = self._jittered(GOAL_XY)  # (2,)
        self.data.qpos[:] = start
        self.data.qvel[:] = 0.0
        self.data.mocap_pos[self._goal_mocap, :2] = self.goal
        mujoco.mj_forward(self.model, self.data)
        self._prev_distance = self._distance()
        self.route = None
        return self._obs(), self._info(collided=False, success=False)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply one 10 Hz velocity command (10 physics steps); see the module doc for the rules."""
        command = self._checked_action(action)  # (2,) in [-1, 1]
        self.data.ctrl[:] = command * self.max_speed
        collided = False
        for _ in range(FRAME_SKIP):
            mujoco.mj_step(self.model, self.data)
            collided = collided or self._touching_obstacle()
        self._update_route()
        distance = self._distance()
        success = (not collided) and distance <= self.success_radius
        reward = self._prev_distance - distance
        reward += SUCCESS_BONUS if success else 0.0
        reward += COLLISION_PENALTY if collided else 0.0
        self._prev_distance = distance
        return self._obs(), float(reward), bool(success or collided), False, self._info(collided, success)

    def render(self) -> np.ndarray | None:
        """Top-down ``(height, width, 3)`` uint8 image in ``rgb_array`` mode; ``None`` without a mode."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=self.height, width=self.width)
        self._renderer.update_scene(self.data, camera="top")
        return self._renderer.render().copy()

    def close(self) -> None:
        """Release the offscreen renderer (if one was created)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ----------------------------------------------------------------------------------- helpers
    def _jittered(self, nominal: tuple[float, float]) -> np.ndarray:
        """Nominal (x, y) plus uniform jitter of :data:`JITTER_XY` half-widths; shape (2,)."""
        half = np.asarray(JITTER_XY)
        return np.asarray(nominal, dtype=np.float64) + self.np_random.uniform(-half, half)

    def _checked_action(self, action: np.ndarray) -> np.ndarray:
        """The action as a clipped float64 ``(2,)`` array; ``ValueError`` for NaN/inf or a bad shape."""
        arr = np.asarray(action, dtype=np.float64)
        if arr.shape != (2,):
            raise ValueError(f"Fork-v0 action must have shape (2,), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"Fork-v0 action must be finite, got {arr.tolist()} (NaN/inf)")
        return np.clip(arr, -1.0, 1.0)

    def _touching_obstacle(self) -> bool:
        """True when MuJoCo reports a contact between the agent and the obstacle."""
        pair = {self._agent_geom, self._obstacle_geom}
        for i in range(self.data.ncon):
            contact = self.data.contact[i]
            if {int(contact.geom1), int(contact.geom2)} == pair:
                return True
        return False

    def _update_route(self) -> None:
        """Record the side of the obstacle the agent took, the first time it is level with it."""
        x, y = self.data.qpos[0], self.data.qpos[1]
        if self.route is None and abs(y) < self.obstacle_radius:
            self.route = "left" if x < 0.0 else "right"

    def _distance(self) -> float:
        """Distance (m) from the agent's centre to the goal."""
        return float(np.linalg.norm(self.data.qpos[:2] - self.goal))

    def _obs(self) -> np.ndarray:
        """Observation ``[x, y, vx, vy, goal_x, goal_y]``; shape (6,), float32."""
        obs = np.concatenate([self.data.qpos[:2], self.data.qvel[:2], self.goal])  # (6,)
        return np.clip(obs, -OBS_BOUND, OBS_BOUND).astype(np.float32)

    def _info(self, collided: bool, success: bool) -> dict[str, Any]:
        """Per-step diagnostics (success flag, collision flag, distance to goal, route taken)."""
        return {
            "is_success": bool(success),
            "collided": bool(collided),
            "distance": self._distance(),
            "route": self.route,
        }
