"""Geometry of the Push-T task: the T polygon, poses, and exact goal coverage.

Everything here is in *pixels* of the 512 x 512 workspace (the MuJoCo scene uses 1 px = 1 mm).
The T is described in its local frame: a bar ``x in [-60, 60], y in [0, 30]`` and a stem
``x in [-15, 15], y in [30, 120]``. A pose ``(x, y, theta)`` places the local origin (the centre of the
bar's outer edge) at ``(x, y)`` and rotates the local frame by ``theta`` radians (counter-clockwise for a
y-up frame; in the rendered image, whose rows grow with y, it looks clockwise as in gym-pusht).

Coverage is exact: ``area(block T ∩ goal T) / area(T)`` computed with shapely polygon intersection.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

#: Workspace side in pixels.
WORKSPACE: float = 512.0
#: Pusher disc radius in pixels.
PUSHER_RADIUS: float = 15.0
#: Goal pose (x, y, theta) of the T.
GOAL_POSE: tuple[float, float, float] = (256.0, 256.0, np.pi / 4)
#: Coverage above which an episode is a success.
SUCCESS_COVERAGE: float = 0.95

#: Bar and stem as axis-aligned boxes in the local frame: (x_min, x_max, y_min, y_max).
BAR_BOX: tuple[float, float, float, float] = (-60.0, 60.0, 0.0, 30.0)
STEM_BOX: tuple[float, float, float, float] = (-15.0, 15.0, 30.0, 120.0)

#: The T outline in its local frame, counter-clockwise (8 vertices).
T_LOCAL_VERTICES: np.ndarray = np.array(
    [
        [-60.0, 0.0],
        [60.0, 0.0],
        [60.0, 30.0],
        [15.0, 30.0],
        [15.0, 120.0],
        [-15.0, 120.0],
        [-15.0, 30.0],
        [-60.0, 30.0],
    ]
)


def _box_area(box: tuple[float, float, float, float]) -> float:
    return (box[1] - box[0]) * (box[3] - box[2])


def _box_centroid(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(box[0] + box[1]) / 2.0, (box[2] + box[3]) / 2.0])


#: Area of the T in square pixels (6300).
T_AREA: float = _box_area(BAR_BOX) + _box_area(STEM_BOX)
#: Centre of mass of the uniform T in its local frame: (0, 40.714...).
T_COM_LOCAL: np.ndarray = (
    _box_area(BAR_BOX) * _box_centroid(BAR_BOX) + _box_area(STEM_BOX) * _box_centroid(STEM_BOX)
) / T_AREA


def _box_second_moment(box: tuple[float, float, float, float], about: np.ndarray) -> float:
    """Integral of |p - about|^2 over the box, divided by nothing (area-weighted)."""
    w, h = box[1] - box[0], box[3] - box[2]
    offset = _box_centroid(box) - about
    return w * h * ((w * w + h * h) / 12.0 + float(offset @ offset))


#: Radius of gyration of the T about its centre of mass, in pixels (about 43.9).
T_RADIUS_OF_GYRATION: float = float(
    np.sqrt((_box_second_moment(BAR_BOX, T_COM_LOCAL) + _box_second_moment(STEM_BOX, T_COM_LOCAL)) / T_AREA)
)


def rotation(theta: float) -> np.ndarray:
    """2x2 rotation matrix for an angle in radians."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def local_to_world(pose: Sequence[float], points: np.ndarray) -> np.ndarray:
    """Map points ``(..., 2)`` from the T's local frame to the world under ``pose = (x, y, theta)``."""
    x, y, theta = float(pose[0]), float(pose[1]), float(pose[2])
    return np.asarray(points, dtype=float) @ rotation(theta).T + np.array([x, y])


def world_to_local(pose: Sequence[float], points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`local_to_world`."""
    x, y, theta = float(pose[0]), float(pose[1]), float(pose[2])
    return (np.asarray(points, dtype=float) - np.array([x, y])) @ rotation(theta)


def t_vertices(pose: Sequence[float]) -> np.ndarray:
    """World coordinates ``(8, 2)`` of the T's outline at ``pose``."""
    return local_to_world(pose, T_LOCAL_VERTICES)


def t_polygon(pose: Sequence[float]) -> Polygon:
    """The T at ``pose`` as a shapely polygon (world pixels)."""
    return Polygon(t_vertices(pose))


def t_polygons(poses: np.ndarray) -> np.ndarray:
    """Vectorised :func:`t_polygon`: ``poses (N, 3)`` -> array of N shapely polygons."""
    poses = np.asarray(poses, dtype=float).reshape(-1, 3)
    c, s = np.cos(poses[:, 2]), np.sin(poses[:, 2])
    lx, ly = T_LOCAL_VERTICES[:, 0], T_LOCAL_VERTICES[:, 1]
    wx = poses[:, :1] + c[:, None] * lx - s[:, None] * ly  # (N, 8)
    wy = poses[:, 1:2] + s[:, None] * lx + c[:, None] * ly  # (N, 8)
    return shapely.polygons(np.stack([wx, wy], axis=-1))


_GOAL_POLYGON: Polygon = t_polygon(GOAL_POSE)
shapely.prepare(_GOAL_POLYGON)


def coverage(pose: Sequence[float], goal_pose: Sequence[float] = GOAL_POSE) -> float:
    """Exact fraction of the T at ``pose`` that lies inside the T at ``goal_pose`` (in [0, 1])."""
    goal = _GOAL_POLYGON if tuple(goal_pose) == GOAL_POSE else t_polygon(goal_pose)
    return float(min(1.0, max(0.0, t_polygon(pose).intersection(goal).area / T_AREA)))


def coverages(poses: np.ndarray, goal_pose: Sequence[float] = GOAL_POSE) -> np.ndarray:
    """Vectorised :func:`coverage` for ``poses (N, 3)`` -> ``(N,)``."""
    goal = _GOAL_POLYGON if tuple(goal_pose) == GOAL_POSE else t_polygon(goal_pose)
    areas = shapely.area(shapely.intersection(t_polygons(poses), goal))
    return np.clip(areas / T_AREA, 0.0, 1.0)


def com_from_pose(pose: Sequence[float]) -> np.ndarray:
    """World position of the T's centre of mass for a pose of its local origin."""
    return local_to_world(pose, T_COM_LOCAL)


def pose_from_com(com_x: float, com_y: float, theta: float) -> np.ndarray:
    """Pose ``(x, y, theta)`` of the local origin given the centre-of-mass position and the angle."""
    origin = np.array([com_x, com_y]) - rotation(theta) @ T_COM_LOCAL
    return np.array([origin[0], origin[1], theta])


def wrap_angle(theta: float | np.ndarray, center: float = 0.0) -> float | np.ndarray:
    """Wrap an angle into ``[center - pi, center + pi)``."""
    return (np.asarray(theta) - center + np.pi) % (2 * np.pi) - np.pi + center


def disc_clearance(pose: Sequence[float], point: Sequence[float]) -> float:
    """Distance from ``point`` to the T at ``pose`` (0 when inside)."""
    return float(t_polygon(pose).distance(shapely.Point(float(point[0]), float(point[1]))))


def inside_workspace(pose: Sequence[float], margin: float = 0.0) -> bool:
    """Whether every vertex of the T at ``pose`` lies at least ``margin`` inside the walls."""
    v = t_vertices(pose)
    return bool(np.all(v >= margin) and np.all(v <= WORKSPACE - margin))


__all__ = [
    "BAR_BOX",
    "GOAL_POSE",
    "PUSHER_RADIUS",
    "STEM_BOX",
    "SUCCESS_COVERAGE",
    "T_AREA",
    "T_COM_LOCAL",
    "T_LOCAL_VERTICES",
    "T_RADIUS_OF_GYRATION",
    "WORKSPACE",
    "com_from_pose",
    "coverage",
    "coverages",
    "disc_clearance",
    "inside_workspace",
    "local_to_world",
    "pose_from_com",
    "rotation",
    "t_polygon",
    "t_polygons",
    "t_vertices",
    "wrap_angle",
    "world_to_local",
]
