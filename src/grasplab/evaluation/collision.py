"""Collision and empty flags of the reference evaluation, for all grasps of a frame at once.

Reference rule (graspnetAPI ``collision_detection``, protocol §3): for a grasp assigned to object
k, the scene points (every object's 8 mm voxel points and the table grid, camera frame) are
cropped to object k's axis-aligned bounding box ± 5 cm (strict), and the grasp collides when a
cropped point lies in a finger or the palm, and is empty when fewer than 10 cropped points lie
between the jaws. The gripper boxes are those of :class:`grasplab.core.gripper.GripperModel`.

:func:`collision_and_empty` (fast) gathers, per grasp, only candidate points near the gripper:
object points by testing each object's points against the search boxes of the grasps whose box
overlaps the object's bbox (or, above ``DENSE_PAIR_LIMIT`` tests, from the object's cached
model-frame KD-tree: a ball around the search box), and table points from the regular grid's
index range covering the gripper box (no transform of the whole 93,750-point grid). The search
box of a grasp is the intersection of its gripper's bounding box with the crop box; only the
(grasp, point) pairs inside it go through the region tests. The gripper box and the region
tests are those of :mod:`grasplab.core.gripper_regions`
(``gripper_extent``, ``region_flags``), the engine behind ``GripperModel.region_masks``.
:func:`collision_and_empty_dense` is the direct per-object transcription using
``GripperModel.collision_and_empty``; both give identical flags (tested).
"""

from __future__ import annotations

import itertools

import numpy as np

from grasplab.core.grasp_group import GraspGroup
from grasplab.core.gripper import GripperModel
from grasplab.core.gripper_regions import gripper_extent, region_flags
from grasplab.evaluation.geometry import FrameScene

__all__ = ["collision_and_empty", "collision_and_empty_dense", "crop_boxes"]


def crop_boxes(scene: FrameScene, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(K, 3) lower and upper crop bounds of each object (camera frame bbox ± margin)."""
    lower, upper = scene.object_bounds
    return lower - margin, upper + margin


def _corners(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(N, 8, 3) corners of boxes given by (N, 3) lower / upper corners."""
    bits = np.array(list(itertools.product((0, 1), repeat=3)), dtype=bool)
    corners: np.ndarray = np.where(bits[None], upper[:, None, :], lower[:, None, :])
    return corners


def _search_boxes(
    grasps: np.ndarray, owner: np.ndarray, scene: FrameScene, gripper: GripperModel, margin: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per grasp, where a point can both pass the crop and touch the gripper (camera frame).

    Returns:
        ``(lower (N, 3), upper (N, 3), centres (N, 3), radii (N,), corners (N, 8, 3))``: the
        intersection of the gripper box's AABB (padded by 1 nm against rounding) with the
        owner's crop box (empty where ``lower >= upper``); the smaller of the gripper box's
        bounding ball and that box's bounding ball; the gripper box's corners.
    """
    rotations = grasps[:, 4:13].reshape(-1, 3, 3)
    inverse_rt = np.linalg.inv(rotations).transpose(0, 2, 1)
    low, high = gripper_extent(gripper, grasps[:, 1], grasps[:, 3])
    # p = t + R^-T q maps the gripper-frame box onto a parallelepiped in the camera frame.
    corners = grasps[:, None, 13:16] + np.einsum("nij,nkj->nki", inverse_rt, _corners(low, high))
    centres = corners.mean(axis=1)
    radii = np.linalg.norm(corners - centres[:, None], axis=2).max(axis=1)
    crop_low, crop_high = crop_boxes(scene, margin)
    lower = np.maximum(corners.min(axis=1) - 1e-9, crop_low[owner])
    upper = np.minimum(corners.max(axis=1) + 1e-9, crop_high[owner])
    box_radii = np.linalg.norm(upper - lower, axis=1) / 2
    smaller = box_radii < radii
    centres[smaller] = (lower[smaller] + upper[smaller]) / 2
    radii = np.minimum(radii, box_radii) * (1 + 1e-6) + 1e-9
    return lower, upper, centres, radii, corners


#: Above this many (grasp, point) tests per object, candidates come from the KD-tree instead.
DENSE_PAIR_LIMIT = 200_000


def _object_pairs(
    scene: FrameScene, lower: np.ndarray, upper: np.ndarray, centres: np.ndarray,
    radii: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Object points that may matter: grasp index (Q,), camera point (Q, 3), inside (Q,) bool.

    Per object, the grasps whose search box overlaps its bbox either test all its points against
    their search boxes at once (``inside`` all True; small objects, the usual case) or take the
    points of the KD-tree ball around the box (``inside`` still to be tested). Both give the same
    set of points inside the search boxes.
    """
    obj_low, obj_high = scene.object_bounds
    valid = np.all(lower < upper, axis=1)
    overlap = valid[:, None] & np.all(
        (obj_low[None] < upper[:, None]) & (obj_high[None] > lower[:, None]), axis=2
    )  # (N, K): the object's points can fall in the grasp's search box
    grasp_parts, point_parts, inside_parts = [], [], []
    touched = np.flatnonzero(overlap.any(axis=0))
    inverses = np.linalg.inv(scene.T_cam_obj[touched])  # one batched call
    for k, inverse in zip(touched, inverses, strict=True):
        rows = np.flatnonzero(overlap[:, k])
        points = scene.camera_points[k]
        if len(rows) * len(points) <= DENSE_PAIR_LIMIT:
            hit = _inside(points[None], lower[rows, None], upper[rows, None])
            which, index = np.nonzero(hit)
            grasp_parts.append(rows[which])
            point_parts.append(points[index])
            inside_parts.append(np.ones(len(index), dtype=bool))
            continue
        local = centres[rows] @ inverse[:3, :3].T + inverse[:3, 3]
        lists = scene.models[k].tree.query_ball_point(local, r=radii[rows], return_sorted=False)
        counts = np.fromiter((len(c) for c in lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter(
            itertools.chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum())
        )
        grasp_parts.append(np.repeat(rows, counts))
        point_parts.append(points[flat])
        inside_parts.append(np.zeros(len(flat), dtype=bool))
    if not grasp_parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3)), np.zeros(0, dtype=bool)
    return np.concatenate(grasp_parts), np.concatenate(point_parts), np.concatenate(inside_parts)


def _inside(points: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Strictly inside the boxes ``(lo, hi)`` (broadcast over leading axes; last axis xyz)."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    keep: np.ndarray = (x > lo[..., 0]) & (x < hi[..., 0]) & (y > lo[..., 1]) & (y < hi[..., 1])
    keep &= (z > lo[..., 2]) & (z < hi[..., 2])
    return keep


def _table_pairs(
    scene: FrameScene, lower: np.ndarray, upper: np.ndarray, corners: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(grasp index (Q,), camera-frame point (Q, 3)) of table grid points that may matter.

    The grid index range of a grasp covers both the table-frame AABB of its gripper box and
    that of its search box (``lower``, ``upper``), so it holds every grid point in both.
    """
    rows = np.flatnonzero(np.all(lower < upper, axis=1))
    if scene.T_cam_table is None or len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    T_cam_table = scene.T_cam_table  # noqa: N806
    T_table_cam = np.linalg.inv(T_cam_table)  # noqa: N806
    boxes = _corners(lower[rows], upper[rows]) @ T_table_cam[:3, :3].T + T_table_cam[:3, 3]
    grippers = corners[rows] @ T_table_cam[:3, :3].T + T_table_cam[:3, 3]
    low = np.maximum(boxes.min(axis=1), grippers.min(axis=1))
    high = np.minimum(boxes.max(axis=1), grippers.max(axis=1))
    axes = (scene.table.xs, scene.table.ys, scene.table.zs)
    first = np.stack(
        [np.searchsorted(a, low[:, i]) - 1 for i, a in enumerate(axes)], axis=1
    ).clip(0)
    last = np.stack(
        [np.searchsorted(a, high[:, i]) + 1 for i, a in enumerate(axes)], axis=1
    ).clip(None, [len(a) for a in axes])
    sizes = np.maximum(last - first, 0)
    counts = sizes.prod(axis=1)
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3))
    which = np.repeat(np.arange(len(rows)), counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    sy, sz = sizes[which, 1], sizes[which, 2]
    grid = np.stack(
        [
            axes[0][first[which, 0] + offset // (sy * sz)],
            axes[1][first[which, 1] + (offset // sz) % sy],
            axes[2][first[which, 2] + offset % sz],
        ],
        axis=1,
    )
    return rows[which], grid @ T_cam_table[:3, :3].T + T_cam_table[:3, 3]


def collision_and_empty(
    grasps: np.ndarray,
    owner: np.ndarray,
    scene: FrameScene,
    gripper: GripperModel,
    margin: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference collision / empty flags of a frame's selected grasps (fast path).

    Args:
        grasps: (N, 17) grasp rows, widths already clipped, camera frame.
        owner: (N,) index of each grasp's assigned object in ``scene.models``.
        scene: the frame geometry.
        gripper: gripper dimensions and empty threshold.
        margin: crop margin around the assigned object's bbox (m).

    Returns:
        ``(collision (N,) bool, empty (N,) bool)``.
    """
    n = len(grasps)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    lower, upper, centres, radii, corners = _search_boxes(grasps, owner, scene, gripper, margin)
    g_obj, p_obj, inside = _object_pairs(scene, lower, upper, centres, radii)
    g_tab, p_tab = _table_pairs(scene, lower, upper, corners)
    if not inside.all():  # KD-tree candidates: test them with the table's
        g_tab = np.concatenate([g_obj[~inside], g_tab])
        p_tab = np.concatenate([p_obj[~inside], p_tab])
        g_obj, p_obj = g_obj[inside], p_obj[inside]
    keep = _inside(p_tab, lower[g_tab], upper[g_tab])
    grasp = np.concatenate([g_obj, g_tab[keep]])
    points = np.concatenate([p_obj, p_tab[keep]])
    rotations = grasps[:, 4:13].reshape(-1, 3, 3)
    q = np.einsum("qj,qjk->qk", points - grasps[grasp, 13:16], rotations[grasp])
    left, right, palm, inner_flags = region_flags(gripper, q, grasps[grasp, 1], grasps[grasp, 3])
    collision = np.bincount(grasp[left | right | palm], minlength=n) > 0
    inner = np.bincount(grasp[inner_flags], minlength=n)
    return collision, inner < gripper.empty_thresh


def collision_and_empty_dense(
    grasps: np.ndarray,
    owner: np.ndarray,
    scene: FrameScene,
    gripper: GripperModel,
    margin: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """The same flags by direct transcription: per object, crop the full scene, test densely.

    Slower (it transforms the whole table grid); kept as the executable statement of the rule
    that the fast path is tested against, and as the benchmark baseline.
    """
    n = len(grasps)
    collision, empty = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if n == 0:
        return collision, empty
    parts = list(scene.camera_points)
    if scene.T_cam_table is not None:
        T = scene.T_cam_table  # noqa: N806
        parts.append(scene.table.points @ T[:3, :3].T + T[:3, 3])
    everything = np.concatenate(parts)
    lows, highs = crop_boxes(scene, margin)
    for k in np.unique(owner):
        rows = np.flatnonzero(owner == k)
        crop = everything[np.all((everything > lows[k]) & (everything < highs[k]), axis=1)]
        group = GraspGroup(grasps[rows], validate=False)
        collision[rows], empty[rows] = gripper.collision_and_empty(group, crop)
    return collision, empty
