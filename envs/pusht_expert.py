"""Scripted expert for ``parapolicy/PushT-v0``: push primitives chosen by simulating them in MuJoCo.

The expert alternates two behaviours:

* **Decide.** Every candidate *push* is simulated from the current full physics state with
  ``mujoco.rollout``. A push is a contact point on the T's outline (fixed in the T's frame, about 30 of
  them), the pusher starting just outside it, and a straight target ramp along the inward normal for a
  depth of 2 to 120 px (slow for short pushes, fast for long ones), followed by a few settling steps.
  Each candidate is scored by its *progress rate*: the drop of the pose error
  ``E = sqrt(|com - com_goal|^2 + r_g^2 (theta - theta_goal)^2)`` (the RMS distance between matching
  points of the block and the goal T) per control step, the steps counting the travel to the contact.
  A push that the simulation shows reaching coverage > 0.95 beats every other one (earliest first):
  this is the precise final phase, exact because it is checked on the same simulator.
* **Travel.** Until the pusher reaches the chosen contact it follows the shortest collision-free path
  around the T (a visibility graph on the T dilated by the pusher radius plus a margin), with a
  pure-pursuit target a fixed distance ahead on the path, so the actions are smooth. On arrival it
  decides again from the real state and, usually, pushes.

Multimodality: the goal angle is reached by the short rotation unless the block starts more than
``long_way_above`` radians from it, in which case the direction is drawn at random; and the first push
prefers, by a random per-episode bias, the left or the right half of the T. ``mode`` reads
``"<ccw|cw>-<left|right>"``: the rotation direction (ccw = increasing theta) and the half of the T
(in its own frame, left = local -x) that the first push touched (until that push, ``mode`` shows the
drawn preference followed by ``?``).

:func:`evaluate_expert` measures success rate, coverage, modes and speed over seeded episodes
(``python -m parapolicy.envs.pusht_expert --episodes 100``).
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
import shapely
from mujoco import rollout

from parapolicy.envs import pusht_geometry as geom
from parapolicy.envs.pusht import METERS_PER_PIXEL, PushTEnv

_R = geom.PUSHER_RADIUS
_W = geom.WORKSPACE


@dataclass(frozen=True)
class ExpertOptions:
    """Tunable knobs of :class:`PushTExpert` (pixels, control steps, radians)."""

    margin: float = 8.0  # travel clearance beyond touching
    gap: float = 3.0  # free distance between pusher and block before a push
    lead: float = 30.0  # pure-pursuit lead along the travel path
    lead_growth: float = 10.0  # the lead grows by this much per step when a travel starts (smooth start)
    contact_spacing: float = 15.0  # spacing of candidate contacts along the outline
    contact_inset: float = 6.0  # keep contacts this far from the outline's corners
    depths: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 120.0)
    min_speed: float = 2.0  # px per step for the shortest pushes
    max_speed: float = 16.0  # px per step for the longest pushes
    push_accel: float = 8.0  # px per step^2: pushes speed up gradually
    settle_steps: int = 4  # simulated steps after a push before scoring it
    hold_steps: int = 1  # executed steps after a push before deciding again
    arrive_tol: float = 4.0  # the pusher has reached a contact within this distance
    arrive_overhead: float = 3.0  # steps charged for stopping at a contact
    coverage_check_error: float = 15.0  # compute exact coverage for states with E below this
    side_bias: float = 0.25  # relative bonus of the preferred half for the first push
    long_way_above: float = 3 * np.pi / 4  # random rotation direction beyond this angle error
    max_idle_arrivals: int = 2  # arrivals without pushing before forcing a push
    stall_steps: int = 5  # travel steps without getting closer before choosing another contact

    def __post_init__(self) -> None:
        positive = (
            "margin", "lead", "lead_growth", "contact_spacing", "min_speed", "max_speed", "push_accel",
            "arrive_tol",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"ExpertOptions.{name} must be > 0, got {getattr(self, name)!r}")
        if self.margin <= 3.0:
            raise ValueError(f"ExpertOptions.margin must be > 3 px, got {self.margin!r}")
        if not self.depths or min(self.depths) <= 0:
            raise ValueError(f"ExpertOptions.depths must be positive numbers, got {self.depths!r}")
        if self.settle_steps < self.hold_steps or self.hold_steps < 0:
            raise ValueError("ExpertOptions needs 0 <= hold_steps <= settle_steps")
        if not 0 <= self.long_way_above <= np.pi:
            raise ValueError(f"ExpertOptions.long_way_above must be in [0, pi], got {self.long_way_above!r}")


def _candidate_contacts(opts: ExpertOptions) -> tuple[np.ndarray, np.ndarray]:
    """Contact points and outward normals ``(C, 2)`` in the T's frame that a pusher can reach."""
    t_local = geom.t_polygon((0.0, 0.0, 0.0))
    verts = geom.T_LOCAL_VERTICES
    points, normals = [], []
    for a, b in zip(verts, np.roll(verts, -1, axis=0)):
        edge = b - a
        length = float(np.linalg.norm(edge))
        tangent = edge / length
        normal = np.array([tangent[1], -tangent[0]])  # outward for a counter-clockwise outline
        usable = length - 2 * opts.contact_inset
        n = max(1, int(round(usable / opts.contact_spacing)) + 1)
        for s in np.linspace(opts.contact_inset, length - opts.contact_inset, n):
            p = a + s * tangent
            approach = p + normal * (_R + opts.margin + 1.0)
            if t_local.distance(shapely.Point(*approach)) >= _R + opts.margin + 0.5:
                points.append(p)
                normals.append(normal)
    return np.array(points), np.array(normals)


@dataclass
class _Roadmap:
    """Visibility graph around the T for one block pose and one start point."""

    nodes: np.ndarray  # (V, 2); node 0 is the start (or the exit point when starting too close)
    dist: np.ndarray  # (V,) shortest path length from the pusher to each node
    pred: np.ndarray  # (V,) predecessor on the shortest path (-1 for the start)
    blocker: Any  # shapely geometry that straight moves must not cross
    prefix: list[np.ndarray] = field(default_factory=list)  # the pusher itself when it had to exit

    def visible(self, points: np.ndarray) -> np.ndarray:
        """``(P, V)`` whether the segment from each point to each node is free."""
        p = np.repeat(points[:, None, :], len(self.nodes), axis=1)
        q = np.repeat(self.nodes[None, :, :], len(points), axis=0)
        lines = shapely.linestrings(np.stack([p, q], axis=-2).reshape(-1, 2, 2))
        return ~shapely.intersects(lines, self.blocker).reshape(len(points), len(self.nodes))

    def lengths(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Path length to each point (inf when unreachable) and the last node before it."""
        vis = self.visible(points)
        total = self.dist[None, :] + np.linalg.norm(points[:, None, :] - self.nodes[None, :, :], axis=-1)
        total = np.where(vis, total, np.inf)
        last = np.argmin(total, axis=1)
        return total[np.arange(len(points)), last], last

    def path(self, point: np.ndarray) -> list[np.ndarray] | None:
        """Waypoints from the pusher to ``point`` (the pusher first), or None when unreachable."""
        length, last = self.lengths(point[None, :])
        if not np.isfinite(length[0]):
            return None
        chain, node = [], int(last[0])
        while node >= 0:
            chain.append(self.nodes[node])
            node = int(self.pred[node])
        return self.prefix + chain[::-1] + [point]


def _in_bounds(points: np.ndarray, pad: float) -> np.ndarray:
    return np.all((points >= _R + pad) & (points <= _W - _R - pad), axis=-1)


def build_roadmap(pose: np.ndarray, start: np.ndarray, margin: float) -> _Roadmap:
    """Shortest paths from ``start`` around the T at ``pose`` for a disc of the pusher's radius."""
    block = geom.t_polygon(pose)
    nav = block.buffer(_R + margin, quad_segs=2)
    blocker = block.buffer(_R + margin - 3.0, quad_segs=2)
    shapely.prepare(blocker)
    prefix: list[np.ndarray] = []
    start = np.asarray(start, dtype=float)
    if nav.contains(shapely.Point(*start)):
        ring = nav.exterior
        exit_point = np.array(ring.interpolate(ring.project(shapely.Point(*start))).coords[0])
        prefix, start = [start], np.clip(exit_point, _R + 0.5, _W - _R - 0.5)
    corners = np.array(nav.exterior.coords[:-1])
    corners = corners[_in_bounds(corners, 0.5)]
    nodes = np.vstack([start[None, :], corners])
    n = len(nodes)
    roadmap = _Roadmap(nodes, np.full(n, np.inf), np.full(n, -1), blocker, prefix)
    vis = roadmap.visible(nodes)
    np.fill_diagonal(vis, False)
    edge = np.where(vis, np.linalg.norm(nodes[:, None] - nodes[None, :], axis=-1), np.inf)
    dist, pred, done = roadmap.dist, roadmap.pred, np.zeros(n, dtype=bool)
    dist[0] = np.linalg.norm(prefix[0] - start) if prefix else 0.0
    for _ in range(n):  # Dijkstra on a dense graph of about 20 nodes
        u = int(np.argmin(np.where(done, np.inf, dist)))
        if not np.isfinite(dist[u]):
            break
        done[u] = True
        better = dist[u] + edge[u] < dist
        dist[better], pred[better] = dist[u] + edge[u][better], u
    return roadmap


def _polyline_point(points: list[np.ndarray], distance: float) -> np.ndarray:
    """The point ``distance`` along a polyline (its end when it is shorter)."""
    for a, b in zip(points[:-1], points[1:]):
        seg = float(np.linalg.norm(b - a))
        if distance <= seg and seg > 0:
            return a + (b - a) * (distance / seg)
        distance -= seg
    return points[-1]


@dataclass
class _Push:
    """One evaluated push: its targets (px) and the predicted outcome."""

    contact: int
    targets: np.ndarray  # (steps, 2) pixel targets, the push then the settle hold
    push_steps: int
    error_after: float
    success_step: int | None


class PushTExpert:
    """Scripted Push-T expert with the ``Policy`` interface (``reset``, ``act``).

    It reads the privileged MuJoCo state of ``env.unwrapped`` (the observation passed to :meth:`act` is
    not needed) and simulates candidate pushes on a private ``MjData``, so the env is never disturbed.
    A new episode is detected from :meth:`reset` or from the simulation clock going back.
    """

    def __init__(self, env: gym.Env, seed: int | None = None, **options: Any) -> None:
        base = env.unwrapped
        if not isinstance(base, PushTEnv):
            raise TypeError(f"PushTExpert needs a PushTEnv (possibly wrapped), got {type(base).__name__}")
        self.env = base
        self.opts = ExpertOptions(**options)
        self._contacts, self._normals = _candidate_contacts(self.opts)
        self._rollout_data = mujoco.MjData(base.model)
        self._rng = np.random.default_rng(seed)
        self.mode: str = "unstarted"
        self._new_episode()

    # ------------------------------------------------------------------------------- episode state
    def reset(self, *, seed: int | None = None) -> None:
        """Forget the current episode; reseed the expert's own tie-breaking when ``seed`` is given."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._new_episode()

    def _new_episode(self) -> None:
        self._started = False
        self._last_time = -1.0
        self._queue: list[np.ndarray] = []
        self._contact: int | None = None
        self._lead = self.opts.lead_growth
        self._travel_left, self._stalled_steps, self._banned = np.inf, 0, -1
        self._idle_arrivals = 0
        self._first_side: str | None = None
        self._theta_goal = geom.GOAL_POSE[2]
        self._rotation = "ccw"
        self._side_pref = 1.0
        self.mode = "unstarted"

    def _start_episode(self) -> None:
        """Draw this episode's rotation direction and side preference from the current block pose."""
        theta = float(self.env.block_pose()[2])
        delta = float(geom.wrap_angle(geom.GOAL_POSE[2] - theta))
        if abs(delta) > self.opts.long_way_above and self._rng.random() < 0.5:
            delta -= np.sign(delta) * 2 * np.pi
        self._theta_goal = theta + delta
        self._rotation = "ccw" if delta >= 0 else "cw"
        self._side_pref = 1.0 if self._rng.random() < 0.5 else -1.0
        self._started = True
        self.mode = f"{self._rotation}-{'right' if self._side_pref > 0 else 'left'}?"

    # --------------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Next pusher target (float32 pixels) for the env's current state."""
        now = float(self.env.data.time)
        if not self._started or now < self._last_time:
            if self._started:
                self._new_episode()
            self._start_episode()
        self._last_time = now
        if not self._queue:
            agent, pose = self.env.agent_position(), self.env.block_pose()
            if self._contact is None or self._arrived(agent, pose) or self._travel_blocked(pose):
                self._decide(agent, pose)
        if self._queue:
            target = self._queue.pop(0)
        else:
            target = self._travel_target(self.env.agent_position(), self.env.block_pose())
        return np.clip(target, 0.0, _W).astype(np.float32)

    def _pre_contact(self, pose: np.ndarray, extra: float) -> np.ndarray:
        """World points ``(C, 2)`` at ``R + extra`` outside every candidate contact."""
        return geom.local_to_world(pose, self._contacts + self._normals * (_R + extra))

    def _arrived(self, agent: np.ndarray, pose: np.ndarray) -> bool:
        assert self._contact is not None
        pre = self._pre_contact(pose, self.opts.gap)[self._contact]
        return bool(np.linalg.norm(agent - pre) < self.opts.arrive_tol)

    def _travel_blocked(self, pose: np.ndarray) -> bool:
        """The chosen contact went out of reach (against a wall) or travel stopped making progress."""
        assert self._contact is not None
        pre = self._pre_contact(pose, self.opts.gap)[self._contact]
        if _in_bounds(pre, 0.0) and self._stalled_steps < self.opts.stall_steps:
            return False
        self._banned = self._contact
        return True

    def _travel_target(self, agent: np.ndarray, pose: np.ndarray) -> np.ndarray:
        assert self._contact is not None
        roadmap = build_roadmap(pose, agent, self.opts.margin)
        app = self._pre_contact(pose, self.opts.margin + 1.0)[self._contact]
        pre = self._pre_contact(pose, self.opts.gap)[self._contact]
        path = roadmap.path(app)
        if path is None:  # boxed in: head straight for the contact and let the next decision fix it
            self._contact = None
            return pre
        waypoints = [agent] + path[1:] + [pre]
        left = float(sum(np.linalg.norm(b - a) for a, b in zip(waypoints[:-1], waypoints[1:])))
        if left < self._travel_left - 1.0:
            self._travel_left, self._stalled_steps = left, 0
        else:
            self._stalled_steps += 1
        lead, self._lead = self._lead, min(self.opts.lead, self._lead + self.opts.lead_growth)
        return _polyline_point(waypoints, lead)

    # ------------------------------------------------------------------------------------- deciding
    def _decide(self, agent: np.ndarray, pose: np.ndarray) -> None:
        """Simulate every push, pick the best progress rate, then push now or travel to its contact."""
        opts = self.opts
        self._travel_left, self._stalled_steps = np.inf, 0
        pre = self._pre_contact(pose, opts.gap)
        app = self._pre_contact(pose, opts.margin + 1.0)
        here = np.linalg.norm(pre - agent, axis=1) < opts.arrive_tol
        feasible = _in_bounds(pre, 0.0) & _in_bounds(app, -opts.margin)
        if self._banned >= 0:  # the contact that travel just failed to reach
            feasible[self._banned], self._banned = False, -1
        travel_px, _ = build_roadmap(pose, agent, opts.margin).lengths(app)
        travel_px = np.where(here, 0.0, travel_px + opts.margin - opts.gap)
        feasible &= np.isfinite(travel_px)
        travel_steps = np.where(here, 0.0, travel_px / (opts.lead / 2.0) + opts.arrive_overhead)

        contacts = np.flatnonzero(feasible)
        if len(contacts) == 0:
            self._contact = None
            self._queue = [agent.copy()]
            return
        pushes = self._simulate(contacts, pre, here, pose)
        best = self._choose(pushes, travel_steps, here, float(self._pose_error(pose[None, :])[0]))
        if here[best.contact]:
            self._start_push(best)
        else:
            self._idle_arrivals += self._contact is not None and bool(here.any())
            self._contact = best.contact
            self._lead = opts.lead_growth

    def _choose(self, pushes: list[_Push], travel_steps: np.ndarray, here: np.ndarray, error_now: float) -> _Push:
        """The push that succeeds soonest, else the best progress rate (with the first-push side bias)."""
        opts = self.opts
        best, best_key = pushes[0], (-np.inf, -np.inf)
        for push in pushes:
            if push.success_step is not None:
                key = (1.0, -(travel_steps[push.contact] + push.success_step))
            else:
                steps = travel_steps[push.contact] + push.push_steps + opts.settle_steps
                rate = (error_now - push.error_after) / steps
                if self._first_side is None and rate > 0:
                    rate *= 1.0 + opts.side_bias * (self._side(push.contact) == self._side_pref)
                key = (0.0, rate)
            if key > best_key:
                best, best_key = push, key
        if best_key[0] == 0.0 and best_key[1] <= 0.0:
            best = min(pushes, key=lambda p: p.error_after)  # nothing helps: the least harmful push
        if self._idle_arrivals >= opts.max_idle_arrivals and self._contact is not None:
            own = [p for p in pushes if p.contact == self._contact and here[p.contact]]
            if own:  # dithered between contacts: push from where we are
                best = min(own, key=lambda p: p.error_after)
        return best

    def _side(self, contact: int) -> float:
        return 1.0 if self._contacts[contact, 0] > 0 else -1.0

    def _start_push(self, push: _Push) -> None:
        if self._first_side is None:
            self._first_side = "right" if self._side(push.contact) > 0 else "left"
            self.mode = f"{self._rotation}-{self._first_side}"
        self._queue = [t for t in push.targets[: push.push_steps + self.opts.hold_steps]]
        self._contact = push.contact
        self._idle_arrivals = 0

    def _pose_error(self, poses: np.ndarray) -> np.ndarray:
        """RMS distance between matching points of the block and the goal T, ``(...)`` from ``(..., 3)``."""
        com = geom.T_COM_LOCAL
        c, s = np.cos(poses[..., 2]), np.sin(poses[..., 2])
        cx = poses[..., 0] + c * com[0] - s * com[1]
        cy = poses[..., 1] + s * com[0] + c * com[1]
        goal_com = geom.com_from_pose(geom.GOAL_POSE)
        d_theta = poses[..., 2] - self._theta_goal
        sq = (cx - goal_com[0]) ** 2 + (cy - goal_com[1]) ** 2 + (geom.T_RADIUS_OF_GYRATION * d_theta) ** 2
        return np.sqrt(sq)

    def _push_plan(self, start: np.ndarray, inward: np.ndarray, depth: float) -> tuple[np.ndarray, int]:
        """Pixel targets of one push: a ramp of ``gap + depth`` along ``inward``, then a hold."""
        opts = self.opts
        speed = float(np.clip(depth / 2.0, opts.min_speed, opts.max_speed))
        travel = opts.gap + depth
        speeds = np.minimum(speed, opts.push_accel * np.arange(1, 64))
        n = int(np.searchsorted(np.cumsum(speeds), travel - 1e-9) + 1)
        ramp = np.minimum(np.cumsum(speeds[:n]), travel)
        ramp = np.concatenate([ramp, np.full(opts.settle_steps, travel)])
        targets = start[None, :] + ramp[:, None] * inward[None, :]
        # the env sees float32 actions: simulate exactly those
        return np.clip(targets, 0.0, _W).astype(np.float32).astype(np.float64), n

    def _simulate(self, contacts: np.ndarray, pre: np.ndarray, here: np.ndarray, pose: np.ndarray) -> list[_Push]:
        """Roll every (contact, depth) push out from the current state."""
        env, opts = self.env, self.opts
        state = env.get_state()
        qadr = env.state_qpos_offset + env.model.jnt_qposadr[env.model.joint("pusher_x").id]
        vadr = env.state_qpos_offset + env.model.nq + env.model.jnt_dofadr[env.model.joint("pusher_x").id]
        inward = -geom.local_to_world((0.0, 0.0, pose[2]), self._normals)
        plans, starts = [], []
        for c in contacts:
            start = state.copy()
            if not here[c]:  # teleport the pusher to the contact, at rest
                start[qadr : qadr + 2] = pre[c] * METERS_PER_PIXEL
                start[vadr : vadr + 2] = 0.0
            for depth in opts.depths:
                targets, n = self._push_plan(pre[c], inward[c], depth)
                plans.append((int(c), targets, n))
                starts.append(start)
        pushes: list[_Push | None] = [None] * len(plans)
        lengths = np.array([len(t) for _, t, _ in plans])
        for length in np.unique(lengths):  # one rollout call per horizon: no padded steps
            rows = np.flatnonzero(lengths == length)
            control = np.stack([plans[i][1] for i in rows]) * METERS_PER_PIXEL  # (n, length, nu)
            poses = self._rollout_poses(np.array([starts[i] for i in rows]), control)  # (n, length, 3)
            errors = self._pose_error(poses)  # (n, length)
            success = self._success_steps(poses, errors)
            for k, i in enumerate(rows):
                c, targets, n = plans[i]
                pushes[i] = _Push(c, targets, n, float(errors[k, -1]), success[k])
        return [p for p in pushes if p is not None]

    def _rollout_poses(self, starts: np.ndarray, control: np.ndarray) -> np.ndarray:
        """Block poses ``(n, steps, 3)`` after each control step of open-loop rollouts."""
        sub = self.env.n_substeps
        per_physics_step = np.repeat(control, sub, axis=1)  # (n, steps * sub, nu)
        states, _ = rollout.rollout(self.env.model, self._rollout_data, starts, per_physics_step)
        return self.env.block_poses_from_states(states[:, sub - 1 :: sub])

    def _success_steps(self, poses: np.ndarray, errors: np.ndarray) -> list[int | None]:
        """First control step (1-based) at which each rollout reaches coverage > 0.95, or None."""
        close = errors < self.opts.coverage_check_error
        result: list[int | None] = [None] * len(errors)
        if not close.any():
            return result
        rows, cols = np.nonzero(close)
        cov = geom.coverages(poses[rows, cols])
        for r, c, value in zip(rows, cols, cov):
            if value > geom.SUCCESS_COVERAGE and (result[r] is None or c + 1 < result[r]):
                result[r] = int(c) + 1
        return result


def evaluate_expert(n_episodes: int, seed0: int = 0, **options: Any) -> dict[str, Any]:
    """Run the expert on seeds ``seed0 .. seed0 + n_episodes - 1`` and summarise the outcome."""
    env = gym.make("parapolicy/PushT-v0")
    expert = PushTExpert(env, seed=seed0, **options)
    episodes = []
    for seed in range(seed0, seed0 + n_episodes):
        obs, info = env.reset(seed=seed)
        expert.reset(seed=seed)
        start, steps, done = time.perf_counter(), 0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
            steps += 1
            done = terminated or truncated
        episodes.append(
            {
                "seed": seed,
                "success": bool(info["is_success"]),
                "coverage": float(info["coverage"]),
                "steps": steps,
                "mode": expert.mode,
                "seconds": time.perf_counter() - start,
            }
        )
    env.close()
    successes = sum(e["success"] for e in episodes)
    return {
        "episodes": n_episodes,
        "seed0": seed0,
        "success_rate": successes / n_episodes,
        "success_ci95": _wilson(successes, n_episodes),
        "mean_final_coverage": float(np.mean([e["coverage"] for e in episodes])),
        "mean_steps": float(np.mean([e["steps"] for e in episodes])),
        "seconds_per_episode": float(np.mean([e["seconds"] for e in episodes])),
        "modes": dict(Counter(e["mode"] for e in episodes)),
        "per_episode": episodes,
    }


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success rate."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def main() -> None:
    """Command line: print :func:`evaluate_expert`'s summary as JSON."""
    parser = argparse.ArgumentParser(description="Measure the scripted Push-T expert.")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed0", type=int, default=0)
    parser.add_argument("--per-episode", action="store_true", help="also print every episode")
    args = parser.parse_args()
    result = evaluate_expert(args.episodes, args.seed0)
    if not args.per_episode:
        result.pop("per_episode")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

__all__ = ["ExpertOptions", "PushTExpert", "build_roadmap", "evaluate_expert"]
