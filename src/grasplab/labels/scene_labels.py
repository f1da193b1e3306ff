"""Scene collision labels: object labels projected into a scene and checked against the rest.

GraspNet-1Billion keeps, per scene, one boolean mask per object over its label grid
(``collision_label/scene_%04d/collision_labels.npz``, arrays ``arr_0 … arr_{n-1}`` in
``object_id_list.txt`` order, reference protocol §8.2); graspnetAPI's ``loadGrasp`` keeps the label
entries with ``0 < μ ≤ thresh`` that are *not* flagged there.

Each object's labels are posed in the scene (e.g. the camera of frame 0) and every entry with a
positive score is tested with the reference gripper boxes of :class:`GripperModel` (left and
right finger, palm; strict inequalities; the entry's own width and depth, widths clipped to
``max_width``; reference protocol §3) against:

- surface points of the **other** objects (``object_points``, e.g. 3 mm apart) and any other
  obstacle points (``environment_points``, e.g. the tray walls), exactly as
  :meth:`GripperModel.collision_and_empty` flags a collision;
- support planes (``floors``: the table top, the tray floor) analytically: a box whose lowest
  corner is strictly below the plane collides — the limit of infinitely dense floor points.

The work is grouped by grasp point: one ball query finds the obstacle points within the
gripper's reach, and all the point's rotations are tested at once in the thin slab
``|z| < height / 2`` that holds every box. Grasp points with nothing in reach are skipped.

Entries with a score ≤ 0 are not evaluated and stay False: graspnetAPI masks them by score
anyway, and the generation code of the original masks is not public. With
``include_self_collision`` (default) the object's own label ``collision`` flags are OR-ed in,
because ``loadGrasp`` reads only the scene masks, never the labels' self-collision field.

Frames: the scene frame of ``T_scene_obj``; metres. Dataset jobs (files, resumable CLI) live in
:mod:`grasplab.labels.scene_label_jobs`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core.gripper import GraspPoses, GripperModel
from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.core.validation import as_array, check_positive_scalar, check_transform
from grasplab.labels.object_labels import ObjectLabels

__all__ = ["SceneCollisionConfig", "floor_collisions", "scene_collision_labels"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneCollisionConfig:
    """Settings of the scene collision check (metres).

    Attributes:
        point_spacing: spacing of the surface points sampled on each object mesh.
        tray_spacing: spacing of the points sampled on the tray walls.
        include_table: test the table top plane.
        include_tray: test the tray (floor plane and wall points) when its pose is known.
        include_self_collision: OR in the labels' own self-collision flags.
    """

    point_spacing: float = 0.003
    tray_spacing: float = 0.004
    include_table: bool = True
    include_tray: bool = True
    include_self_collision: bool = True

    def __post_init__(self) -> None:
        check_positive_scalar(self.point_spacing, "SceneCollisionConfig.point_spacing")
        check_positive_scalar(self.tray_spacing, "SceneCollisionConfig.tray_spacing")


def _reach(gripper: GripperModel, max_depth: float) -> float:
    """Radius around a grasp point that contains every finger and palm box of the gripper."""
    back = gripper.depth_base + gripper.palm_thickness
    return float(np.linalg.norm([max(back, max_depth), gripper.max_width / 2
                                 + gripper.finger_width, gripper.height / 2])) * (1 + 1e-6)


def _box_geometry(gripper: GripperModel, widths: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """(N, 3, 2, 3) gripper-frame bounds of the left, right and palm boxes.

    The bounds are affine in the clipped width and the depth, so three probes of
    :meth:`GripperModel.box_bounds` give them exactly without building N grasps.
    """
    probe_w, probe_d = 0.5 * gripper.max_width, 0.01
    probes = gripper.box_bounds(GraspPoses(np.broadcast_to(np.eye(3), (3, 3, 3)), np.zeros((3, 3)),
                                           np.array([0.0, probe_w, 0.0]),
                                           np.array([0.0, 0.0, probe_d])))
    per_width, per_depth = (probes[1] - probes[0]) / probe_w, (probes[2] - probes[0]) / probe_d
    clipped = gripper.clip_widths(widths)
    return (probes[0] + clipped[:, None, None, None] * per_width
            + np.asarray(depths, dtype=np.float64)[:, None, None, None] * per_depth)


def floor_collisions(
    bounds: np.ndarray, rotations: np.ndarray, translations: np.ndarray, floor: np.ndarray
) -> np.ndarray:
    """Whether a finger or palm box reaches strictly below a floor plane.

    The lowest point of a box with gripper-frame centre ``c`` and half extents ``e`` is
    ``n · t + o + (R^T n) · c - |R^T n| · e`` above the plane ``n · p + o = 0``.

    Args:
        bounds: (N, 3, 2, 3) gripper-frame box bounds (:meth:`GripperModel.box_bounds`).
        rotations: (N, 3, 3) grasp rotations in the frame of ``floor``.
        translations: (N, 3) grasp points in that frame.
        floor: (4,) plane ``[n, o]`` with unit normal n pointing into free space.

    Returns:
        (N,) bool.
    """
    centre, half = bounds.mean(axis=2), (bounds[:, :, 1] - bounds[:, :, 0]) / 2
    up = np.einsum("j,njk->nk", floor[:3], rotations)  # plane normal in gripper axes
    height = translations @ floor[:3] + floor[3]
    lowest = height[:, None] + np.einsum("nk,nbk->nb", up, centre) - np.einsum(
        "nk,nbk->nb", np.abs(up), half)
    return np.asarray((lowest < 0).any(axis=1))


def _points_in_boxes(
    delta: np.ndarray, rotations: np.ndarray, bounds: np.ndarray, gripper: GripperModel
) -> np.ndarray:
    """(n, D) whether any offset point lies strictly inside a finger or palm box.

    Args:
        delta: (M, 3) obstacle points minus the grasp point.
        rotations: (n, 3, 3) grasp rotations (same frame as ``delta``).
        bounds: (n, D, 3, 2, 3) box bounds (left, right, palm) per rotation and depth.
        gripper: the gripper (its height gives the z slab shared by all boxes).
    """
    left, palm = bounds[:, :, 0], bounds[:, :, 2]
    base, back = left[0, 0, 0, 0], palm[0, 0, 0, 0]  # finger base and palm back (x)
    inner, outer, tip = -left[:, :, 1, 1], -left[:, :, 0, 1], left[:, :, 1, 0]  # (n, D)
    local = np.matmul(delta, rotations)  # (n, M, 3) gripper-frame coordinates
    x, y, z = local[..., 0], np.abs(local[..., 1]), np.abs(local[..., 2])
    near = (z < gripper.height / 2) & (x > back) & (x < tip.max(axis=1)[:, None])
    near &= y < outer.max(axis=1)[:, None]
    r_idx, m_idx = np.nonzero(near)
    hit = np.zeros(tip.shape, dtype=bool)
    if len(r_idx) == 0:
        return hit
    x, y = x[r_idx, m_idx, None], y[r_idx, m_idx, None]
    finger = (x > base) & (x < tip[r_idx]) & (y > inner[r_idx])
    inside = (y < outer[r_idx]) & (finger | (x < base))
    rows, depth = np.nonzero(inside)
    hit[r_idx[rows], depth] = True
    return hit


def _point_mask(
    point: np.ndarray, offsets: np.ndarray, todo: np.ndarray, views: np.ndarray,
    near: np.ndarray, floors: list[np.ndarray], gripper: GripperModel,
) -> np.ndarray:
    """(V, A, D) collisions of one grasp point's entries ``todo`` (object frame)."""
    num_v, num_a, num_d = todo.shape
    va = np.flatnonzero(todo.any(axis=2).ravel())
    v, a = np.divmod(va, num_a)
    rot = rotation_from_view(-views[v], offsets[v, a, 0, 0].astype(np.float64))
    entry = offsets[v, a].astype(np.float64)  # (n, D, 3)
    bounds = _box_geometry(gripper, entry[..., 2].ravel(), entry[..., 1].ravel())
    bounds = bounds.reshape(len(va), num_d, 3, 2, 3)
    hit = np.zeros((len(va), num_d), dtype=bool)
    if len(near):
        hit |= _points_in_boxes(near - point, rot, bounds, gripper)
    for floor in floors:
        flat = floor_collisions(bounds.reshape(-1, 3, 2, 3), np.repeat(rot, num_d, axis=0),
                                np.broadcast_to(point, (len(va) * num_d, 3)), floor)
        hit |= flat.reshape(len(va), num_d)
    out = np.zeros((num_v * num_a, num_d), dtype=bool)
    out[va] = hit
    return out.reshape(todo.shape) & todo


def _object_mask(
    labels: ObjectLabels, T_scene_obj: np.ndarray, obstacles: np.ndarray,  # noqa: N803
    floors: list[np.ndarray], gripper: GripperModel, config: SceneCollisionConfig,
) -> np.ndarray:
    """(Np, V, A, D) collision mask of one posed object against obstacles and floors."""
    mask = np.zeros(labels.grid_shape, dtype=bool)
    todo = labels.scores > 0
    if config.include_self_collision:
        mask |= labels.collision & todo
        todo &= ~labels.collision
    T_obj_scene = np.linalg.inv(T_scene_obj)  # noqa: N806
    local = obstacles @ T_obj_scene[:3, :3].T + T_obj_scene[:3, 3]
    # Floors as planes [n, o] in the object frame.
    planes = [np.append(T_obj_scene[:3, :3] @ f[:3, 2], -f[:3, 2] @ f[:3, 3]
                        - (T_obj_scene[:3, :3] @ f[:3, 2]) @ T_obj_scene[:3, 3]) for f in floors]
    reach = _reach(gripper, float(labels.offsets[..., 1].max(initial=0.0)))
    points = labels.points.astype(np.float64)
    tree = cKDTree(local) if len(local) else None
    views = approach_views(labels.grid_shape[1])
    for i in np.flatnonzero(todo.any(axis=(1, 2, 3))):
        near = local[tree.query_ball_point(points[i], reach)] if tree is not None else local
        close = [p for p in planes if points[i] @ p[:3] + p[3] < reach]
        if len(near) or close:
            mask[i] |= _point_mask(points[i], labels.offsets[i], todo[i], views, near, close,
                                   gripper)
    return mask


def scene_collision_labels(
    labels: Sequence[ObjectLabels],
    T_scene_obj: ArrayLike,  # noqa: N803
    object_points: Sequence[ArrayLike],
    gripper: GripperModel | None = None,
    *,
    environment_points: ArrayLike | None = None,
    floors: Sequence[ArrayLike] = (),
    include_self_collision: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Scene collision masks of K objects' labels (module docstring).

    Args:
        labels: K objects' labels, each in its model frame.
        T_scene_obj: (K, 4, 4) object poses in the scene frame.
        object_points: K arrays (P_k, 3) of surface points of each object, its model frame.
        gripper: gripper geometry (default: the reference gripper).
        environment_points: (M, 3) other obstacle points in the scene frame (e.g. tray walls).
        floors: (4, 4) poses in the scene frame of support planes: each frame's z = 0 plane is
            a floor with free space toward +z (the table top, the tray floor).
        include_self_collision: OR in each object's own label ``collision`` flags.
        progress: optional callback, called with 1 after each object.

    Returns:
        K bool arrays of shape (Np_k, V, A, D): True where the entry collides.

    Raises:
        ValueError: inconsistent numbers of labels, poses and point sets, or bad arrays.
    """
    grip = gripper or GripperModel()
    config = SceneCollisionConfig(include_self_collision=include_self_collision)
    poses = as_array(T_scene_obj, "T_scene_obj", (len(labels), 4, 4))
    if len(object_points) != len(labels):
        raise ValueError(f"object_points: expected {len(labels)} point sets (one per object), "
                         f"got {len(object_points)}")
    for k, pose in enumerate(poses):
        check_transform(pose, f"T_scene_obj[{k}]")
    posed = [as_array(p, f"object_points[{k}]", (None, 3)) @ poses[k, :3, :3].T + poses[k, :3, 3]
             for k, p in enumerate(object_points)]
    env = np.zeros((0, 3)) if environment_points is None else as_array(
        environment_points, "environment_points", (None, 3))
    planes = [check_transform(f, f"floors[{j}]") for j, f in enumerate(floors)]
    masks = []
    for k, item in enumerate(labels):
        obstacles = np.concatenate([*(p for j, p in enumerate(posed) if j != k), env])
        masks.append(_object_mask(item, poses[k], obstacles, planes, grip, config))
        logger.debug("object %d: %d of %d entries collide", k, masks[-1].sum(), masks[-1].size)
        if progress is not None:
            progress(1)
    return masks
