"""``parapolicy/PushT-v0``: push a T-shaped block onto a goal pose with a disc, in MuJoCo.

A MuJoCo re-implementation of the gym-pusht rules (see ``envs/assets/pusht.xml`` for the scene and
``envs/pusht_geometry.py`` for the T and the exact coverage). All task quantities are in *pixels* of
the 512 x 512 workspace; the scene uses 1 px = 1 mm.

Spaces
------
* Action: ``Box(0, 512, (2,), float32)``, the pusher's target position in pixels. Each 10 Hz step the
  pusher follows the target with the PD law ``acc = 100 (target - pos) - 20 vel`` (applied as the
  force ``mass * acc``) for 10 physics steps of 10 ms. Actions outside the box are clipped; a NaN action
  raises :class:`ValueError`.
* Observation: ``float32 [agent_x, agent_y, block_x, block_y, block_theta]``. Positions are pixels in
  ``[0, 512]`` (the block position is the T's local origin, the centre of the bar's outer edge, as in
  gym-pusht). ``block_theta`` is wrapped into ``[pi/4 - pi, pi/4 + pi)``, i.e. centred on the goal angle:
  the wrap-around seam sits at the orientation farthest from the goal, so a policy rotating the block
  toward the goal by the short way never sees the angle jump (gym-pusht's ``[0, 2 pi)`` puts its seam
  only 45 degrees from the goal).
* ``obs_mode="keypoints"`` (the ``parapolicy/PushTKeypoints-v0`` id) replaces the block pose by the
  pixel positions of the T's 8 outline corners: ``float32 [agent_x, agent_y, k0_x, k0_y, …, k7_x,
  k7_y]`` (18 values, :func:`keypoint_observation`). Every keypoint is a linear function of
  ``(x, y, cos theta, sin theta)``, so a network conditioned on it needs no trigonometry and never sees
  an angle seam (the Diffusion Policy low-dimensional Push-T task observes keypoints for that reason).
  The keypoint observation is a pure function of the state observation, so state demonstrations
  convert exactly.
* Reward ``clip(coverage / 0.95, 0, 1)``; ``terminated`` when coverage > 0.95; ``info`` holds
  ``coverage`` (float) and ``is_success`` (bool).

The rendered image (``rgb_array``) is a top-down orthographic view of the whole workspace whose rows
grow with pixel y, so observation pixel ``(x, y)`` is image pixel ``(col, row) = (x, y) * width / 512``
and the picture looks like gym-pusht's. The goal T is drawn in translucent green on the floor.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from parapolicy.envs import pusht_geometry as geom

#: MJCF scene of the task.
ASSET_PATH: Path = Path(__file__).parent / "assets" / "pusht.xml"
#: Metres per pixel in the MuJoCo scene.
METERS_PER_PIXEL: float = 1e-3
#: Control frequency in Hz.
CONTROL_HZ: int = 10
#: Full physics state used for branching and restoring.
STATE_SPEC: int = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)
#: The observation's angle is wrapped into [GOAL_THETA - pi, GOAL_THETA + pi).
THETA_CENTER: float = geom.GOAL_POSE[2]
#: Observation modes: the 5-value state or the agent plus the 8 T corners (18 values).
OBS_MODES: tuple[str, ...] = ("state", "keypoints")
#: Number of observation values per mode.
OBS_DIMS: dict[str, int] = {"state": 5, "keypoints": 2 + 2 * len(geom.T_LOCAL_VERTICES)}


def keypoint_observation(state_obs: np.ndarray) -> np.ndarray:
    """Keypoint observations ``(..., 18)`` from state observations ``(..., 5)``.

    ``[agent_x, agent_y, block_x, block_y, theta]`` → ``[agent_x, agent_y, k0_x, k0_y, …, k7_x, k7_y]``
    where ``k_i`` is corner i of ``geom.T_LOCAL_VERTICES`` placed at the block pose (float32).
    """
    obs = np.asarray(state_obs, dtype=np.float64)
    if obs.shape[-1:] != (OBS_DIMS["state"],):
        raise ValueError(f"state observations must end in {OBS_DIMS['state']} values, got shape {obs.shape}")
    c, s = np.cos(obs[..., 4:5]), np.sin(obs[..., 4:5])  # (..., 1)
    lx, ly = geom.T_LOCAL_VERTICES[:, 0], geom.T_LOCAL_VERTICES[:, 1]  # (8,)
    kx = obs[..., 2:3] + c * lx - s * ly  # (..., 8)
    ky = obs[..., 3:4] + s * lx + c * ly  # (..., 8)
    kp = np.stack([kx, ky], axis=-1).reshape(*obs.shape[:-1], -1)  # (..., 16)
    return np.concatenate([obs[..., :2], kp], axis=-1).astype(np.float32)


def block_qpos_from_pose(pose: np.ndarray) -> np.ndarray:
    """Block joint positions ``(com_x, com_y, theta)`` in metres/radians for a pixel pose."""
    com = geom.com_from_pose(pose)
    return np.array([com[0] * METERS_PER_PIXEL, com[1] * METERS_PER_PIXEL, float(pose[2])])


def block_pose_from_qpos(qpos: np.ndarray) -> np.ndarray:
    """Vectorised inverse of :func:`block_qpos_from_pose`: ``(..., 3)`` joint values -> pixel poses.

    The angle is returned unwrapped (the raw hinge angle).
    """
    qpos = np.asarray(qpos, dtype=float)
    theta = qpos[..., 2]
    c, s = np.cos(theta), np.sin(theta)
    cx, cy = geom.T_COM_LOCAL
    x = qpos[..., 0] / METERS_PER_PIXEL - (c * cx - s * cy)
    y = qpos[..., 1] / METERS_PER_PIXEL - (s * cx + c * cy)
    return np.stack([x, y, theta], axis=-1)


def _check_even_size(name: str, value: int) -> int:
    if not isinstance(value, (int, np.integer)) or value <= 0 or value % 2:
        raise ValueError(f"PushTEnv: {name} must be a positive even integer, got {value!r}")
    return int(value)


class PushTEnv(gym.Env):
    """Push the grey T onto the green goal T with the blue disc (MuJoCo, gym-pusht rules)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}

    def __init__(self, render_mode: str | None = None, width: int = 256, height: int = 256,
                 obs_mode: str = "state") -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"PushTEnv: render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if obs_mode not in OBS_MODES:
            raise ValueError(f"PushTEnv: obs_mode must be one of {', '.join(OBS_MODES)}, got {obs_mode!r}")
        self.render_mode = render_mode
        self.obs_mode = obs_mode
        self.width = _check_even_size("width", width)
        self.height = _check_even_size("height", height)

        self.model = mujoco.MjModel.from_xml_path(str(ASSET_PATH))
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, self.width)
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, self.height)
        self.data = mujoco.MjData(self.model)
        self.n_substeps = int(round(1.0 / (CONTROL_HZ * self.model.opt.timestep)))
        self._block_qadr = self.model.jnt_qposadr[self.model.joint("block_x").id]
        self._agent_qadr = self.model.jnt_qposadr[self.model.joint("pusher_x").id]
        #: Offset of qpos inside a full-physics state vector (after the time).
        self.state_qpos_offset = mujoco.mj_stateSize(self.model, mujoco.mjtState.mjSTATE_TIME)
        self._renderer: mujoco.Renderer | None = None

        w = geom.WORKSPACE
        self.action_space = spaces.Box(0.0, w, shape=(2,), dtype=np.float32)
        self.state_space = spaces.Box(
            low=np.array([0, 0, 0, 0, THETA_CENTER - np.pi], dtype=np.float32),
            high=np.array([w, w, w, w, THETA_CENTER + np.pi], dtype=np.float32),
            dtype=np.float32,
        )
        if obs_mode == "state":
            self.observation_space = self.state_space
        else:  # corners stay inside the walls; the box leaves room for contact penetration
            n = OBS_DIMS["keypoints"]
            self.observation_space = spaces.Box(-0.25 * w, 1.25 * w, shape=(n,), dtype=np.float32)

    # ----------------------------------------------------------------------------------------- state
    def agent_position(self) -> np.ndarray:
        """Pusher centre in pixels."""
        q = self.data.qpos[self._agent_qadr : self._agent_qadr + 2]
        return np.asarray(q, dtype=float) / METERS_PER_PIXEL

    def block_pose(self) -> np.ndarray:
        """Block pose ``(x, y, theta)`` of the T's local origin in pixels; theta is the raw hinge angle."""
        return block_pose_from_qpos(self.data.qpos[self._block_qadr : self._block_qadr + 3])

    def coverage(self) -> float:
        """Exact fraction of the block inside the goal T."""
        return geom.coverage(self.block_pose())

    def get_state(self) -> np.ndarray:
        """Full physics state (``mj_getState`` with ``mjSTATE_FULLPHYSICS``)."""
        state = np.empty(mujoco.mj_stateSize(self.model, STATE_SPEC))
        mujoco.mj_getState(self.model, self.data, state, STATE_SPEC)
        return state

    def set_state(self, state: np.ndarray) -> None:
        """Restore a state from :meth:`get_state` (and recompute derived quantities)."""
        mujoco.mj_setState(self.model, self.data, np.asarray(state, dtype=float), STATE_SPEC)
        mujoco.mj_forward(self.model, self.data)

    def block_poses_from_states(self, states: np.ndarray) -> np.ndarray:
        """Block pixel poses ``(..., 3)`` from full-physics states ``(..., nstate)``."""
        a = self.state_qpos_offset + self._block_qadr
        return block_pose_from_qpos(np.asarray(states)[..., a : a + 3])

    def agent_positions_from_states(self, states: np.ndarray) -> np.ndarray:
        """Pusher pixel positions ``(..., 2)`` from full-physics states ``(..., nstate)``."""
        a = self.state_qpos_offset + self._agent_qadr
        return np.asarray(states)[..., a : a + 2] / METERS_PER_PIXEL

    def _place(self, agent_xy: np.ndarray, block_pose: np.ndarray) -> None:
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._agent_qadr : self._agent_qadr + 2] = np.asarray(agent_xy) * METERS_PER_PIXEL
        self.data.qpos[self._block_qadr : self._block_qadr + 3] = block_qpos_from_pose(block_pose)
        self.data.ctrl[:] = np.asarray(agent_xy) * METERS_PER_PIXEL
        mujoco.mj_forward(self.model, self.data)

    # ------------------------------------------------------------------------------------- gym API
    def _sample_start(self) -> tuple[np.ndarray, np.ndarray]:
        """Random pusher position and block pose that do not overlap and lie inside the walls."""
        rng = self.np_random
        while True:
            agent = rng.uniform(50.0, 450.0, size=2)
            block = np.array([*rng.uniform(100.0, 400.0, size=2), rng.uniform(-np.pi, np.pi)])
            if not geom.inside_workspace(block, margin=1.0):
                continue
            if geom.disc_clearance(block, agent) < geom.PUSHER_RADIUS + 5.0:
                continue
            if geom.coverage(block) > geom.SUCCESS_COVERAGE:
                continue
            return agent, block

    @staticmethod
    def _parse_reset_state(value: Any) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(value, dtype=float).reshape(-1)
        if arr.shape != (5,) or not np.all(np.isfinite(arr)):
            raise ValueError(
                "PushTEnv: options['reset_to_state'] must be 5 finite numbers "
                f"[agent_x, agent_y, block_x, block_y, block_theta], got {value!r}"
            )
        return arr[:2], arr[2:]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode from a random (seeded) start, or from ``options['reset_to_state']``."""
        super().reset(seed=seed)
        if options and options.get("reset_to_state") is not None:
            agent, block = self._parse_reset_state(options["reset_to_state"])
        else:
            agent, block = self._sample_start()
        self._place(agent, block)
        return self._observation(), self._info(self.coverage())

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the pusher's PD target to ``action`` (pixels) for one 10 Hz control step."""
        target = np.asarray(action, dtype=float).reshape(-1)
        if target.shape != (2,):
            raise ValueError(f"PushTEnv: action must have 2 values (pixel x, y), got shape {np.shape(action)}")
        if np.any(np.isnan(target)):
            raise ValueError(f"PushTEnv: action contains NaN: {np.asarray(action).tolist()}")
        target = np.clip(target, self.action_space.low, self.action_space.high)
        self.data.ctrl[:] = target * METERS_PER_PIXEL
        mujoco.mj_step(self.model, self.data, nstep=self.n_substeps)
        cov = self.coverage()
        reward = float(np.clip(cov / geom.SUCCESS_COVERAGE, 0.0, 1.0))
        return self._observation(), reward, cov > geom.SUCCESS_COVERAGE, False, self._info(cov)

    def state_observation(self) -> np.ndarray:
        """The 5-value state observation ``[agent_x, agent_y, block_x, block_y, theta]`` in any mode."""
        pose = self.block_pose()
        theta = geom.wrap_angle(pose[2], center=THETA_CENTER)
        obs = np.array([*self.agent_position(), pose[0], pose[1], theta], dtype=np.float32)
        return np.clip(obs, self.state_space.low, self.state_space.high)

    def _observation(self) -> np.ndarray:
        obs = self.state_observation()
        if self.obs_mode == "keypoints":
            obs = np.clip(keypoint_observation(obs), self.observation_space.low, self.observation_space.high)
        return obs

    @staticmethod
    def _info(cov: float) -> dict[str, Any]:
        return {"coverage": float(cov), "is_success": bool(cov > geom.SUCCESS_COVERAGE)}

    # ------------------------------------------------------------------------------------ rendering
    def render(self) -> np.ndarray | None:
        """Top-down RGB image ``(height, width, 3)`` uint8 (rows grow with pixel y)."""
        if self.render_mode != "rgb_array":
            gym.logger.warn("PushTEnv.render() called without render_mode='rgb_array'; returning None")
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=self.height, width=self.width)
        self._renderer.update_scene(self.data, camera="top")
        return np.ascontiguousarray(np.flipud(self._renderer.render()))

    def close(self) -> None:
        """Release the offscreen renderer."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


__all__ = [
    "ASSET_PATH",
    "CONTROL_HZ",
    "METERS_PER_PIXEL",
    "PushTEnv",
    "STATE_SPEC",
    "THETA_CENTER",
    "block_pose_from_qpos",
    "block_qpos_from_pose",
]
