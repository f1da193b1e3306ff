"""Per-frame graspness labels: the observed cloud with objectness, point graspness and label rows.

A frame's labels (:class:`FrameGraspness`) are built from its depth image, its instance mask,
its object poses and the scene's object-frame labels
(:class:`~grasplab.labels.graspness.SceneGraspLabels`); see :mod:`grasplab.labels.graspness`
for the rules. Frames: the camera of the frame (OpenCV axes), metres; pixels ``(u, v)`` =
(column, row).

The seed side of a network uses ``label_index``: a seed on observed point ``i`` takes the label
row ``r = label_index[i]`` (-1: none) of the scene labels, whose views are in the object frame;
:func:`camera_view_index` maps them to the camera frame's template views (the object's rotation
re-indexes the Fibonacci sphere; the in-plane angle index is kept, as in the public GSNet
labels), and :func:`view_targets` gives the score, width and stable maps of chosen views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core.camera import CameraIntrinsics, depth_to_points
from grasplab.core.rotations import approach_views
from grasplab.core.validation import as_array, check_rotations, check_transform
from grasplab.core.voxels import first_point_per_voxel, voxel_keys
from grasplab.labels.graspness import (
    GraspnessConfig,
    LabelPoints,
    SceneGraspLabels,
    grasp_scores_from_mu,
    minmax_normalize,
)

__all__ = [
    "FrameGraspness",
    "camera_view_index",
    "frame_graspness",
    "view_targets",
    "voxel_downsample",
]


@dataclass(frozen=True, eq=False)
class FrameGraspness:
    """Graspness labels of one frame's observed cloud (camera frame, metres).

    Attributes:
        points: (N, 3) float32 observed points.
        pixels: (N, 2) uint16 their pixels ``(u, v)``.
        instance: (N,) uint16 instance mask value (``object_id + 1``, 0 = background).
        label_index: (N,) int32 row of the nearest label point of the point's object within
            ``max_distance`` in the scene labels, -1 for none.
        graspness: (N,) float32 point graspness min-max normalised over the N points.
        graspness_range: (2,) float32 min and max of the raw point graspness over the N points
            (``raw = graspness * (max - min) + min``).
        object_ids: (K,) int32 the scene's object ids (``object_id_list.txt`` order).
        T_cam_obj: (K, 4, 4) float64 their poses in this frame's camera.
    """

    points: np.ndarray
    pixels: np.ndarray
    instance: np.ndarray
    label_index: np.ndarray
    graspness: np.ndarray
    graspness_range: np.ndarray
    object_ids: np.ndarray
    T_cam_obj: np.ndarray

    def __post_init__(self) -> None:
        num = len(self.points)
        for name, shape in (("points", (num, 3)), ("pixels", (num, 2)), ("instance", (num,)),
                            ("label_index", (num,)), ("graspness", (num,)),
                            ("graspness_range", (2,)),
                            ("T_cam_obj", (len(self.object_ids), 4, 4))):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {getattr(self, name).shape}")

    @property
    def objectness(self) -> np.ndarray:
        """(N,) bool: the point is on an object (``instance > 0``)."""
        return np.asarray(self.instance > 0)


def voxel_downsample(points: ArrayLike, voxel_size: float) -> np.ndarray:
    """Indices of one point per occupied voxel: the first one in input order, ascending.

    Args:
        points: (N, 3) metres.
        voxel_size: voxel edge in metres; 0 keeps every point.

    Returns:
        (M,) int64 ascending indices into ``points``.

    >>> voxel_downsample([[0.0, 0, 0], [0.001, 0, 0], [0.02, 0, 0]], 0.005).tolist()
    [0, 2]
    """
    if not np.isfinite(voxel_size) or voxel_size < 0:
        raise ValueError(f"voxel_size: expected >= 0 m, got {voxel_size!r}")
    if voxel_size == 0:
        return np.arange(len(as_array(points, "points", (None, 3))), dtype=np.int64)
    return first_point_per_voxel(*voxel_keys(points, voxel_size))  # voxel_keys checks the points


def _match_label_points(
    points: np.ndarray, instance: np.ndarray, poses: np.ndarray, scene: LabelPoints,
    max_distance: float,
) -> np.ndarray:
    """(N,) int32 nearest label row of each point's own object within ``max_distance``, else -1."""
    out = np.full(len(points), -1, dtype=np.int32)
    for k, object_id in enumerate(scene.object_ids):
        chosen = np.flatnonzero(instance == int(object_id) + 1)
        rows = scene.object_rows(k)
        if len(chosen) == 0 or rows.stop == rows.start:
            continue
        pose = poses[k]
        posed = scene.points[rows].astype(np.float64) @ pose[:3, :3].T + pose[:3, 3]
        distance, nearest = cKDTree(posed).query(points[chosen], distance_upper_bound=max_distance)
        found = np.isfinite(distance)
        out[chosen[found]] = rows.start + nearest[found]
    return out


def frame_graspness(
    depth: ArrayLike,
    mask: ArrayLike,
    intrinsics: CameraIntrinsics,
    T_cam_obj: ArrayLike,  # noqa: N803
    scene: LabelPoints | SceneGraspLabels,
    config: GraspnessConfig | None = None,
) -> FrameGraspness:
    """Graspness labels of one frame (module docstring).

    Args:
        depth: (H, W) depth in metres (0 = invalid), the image the detector sees.
        mask: (H, W) int instance mask, ``object_id + 1``, 0 = background.
        intrinsics: the camera (size (W, H)).
        T_cam_obj: (K, 4, 4) poses of ``scene.object_ids`` in this frame's camera.
        scene: the scene's label points (or its full labels).
        config: ``voxel_size`` and ``max_distance``.

    Returns:
        :class:`FrameGraspness`.

    Raises:
        ValueError: shapes that do not match, bad poses, a depth image without valid pixels.
    """
    cfg = config or GraspnessConfig()
    if isinstance(scene, SceneGraspLabels):
        scene = scene.label_points
    poses = as_array(T_cam_obj, "T_cam_obj", (len(scene.object_ids), 4, 4))
    for k, pose in enumerate(poses):
        check_transform(pose, f"T_cam_obj[{k}]")
    points, pixels = depth_to_points(depth, intrinsics)
    labels = as_array(mask, "mask", (intrinsics.height, intrinsics.width), dtype=np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) > np.iinfo(np.uint16).max:
        raise ValueError("mask: expected values in [0, 65535] (object_id + 1, 0 = background)")
    keep = voxel_downsample(points, cfg.voxel_size)
    points, pixels = points[keep], pixels[keep]
    instance = labels[pixels[:, 1], pixels[:, 0]]
    rows = _match_label_points(points, instance, poses, scene, cfg.max_distance)
    raw = np.where(rows >= 0, scene.point_graspness[np.maximum(rows, 0)], 0.0)
    span = [float(raw.min(initial=0.0)), float(raw.max(initial=0.0))]
    return FrameGraspness(
        points=points.astype(np.float32), pixels=pixels.astype(np.uint16),
        instance=instance.astype(np.uint16), label_index=rows,
        graspness=minmax_normalize(raw).astype(np.float32),
        graspness_range=np.asarray(span, dtype=np.float32),
        object_ids=np.asarray(scene.object_ids, dtype=np.int32), T_cam_obj=poses,
    )


def camera_view_index(R_cam_obj: ArrayLike, num_views: int = 300) -> np.ndarray:  # noqa: N803
    """For each template view in the camera frame, the nearest object-frame view once rotated.

    The labels index views of the Fibonacci sphere in the object frame; a view head predicts
    them in the camera frame. ``index[j] = argmax_i (R v_i) · v_j``, so a label row's view
    graspness in camera-frame order is ``view_graspness[row][index]``.

    Args:
        R_cam_obj: (3, 3) rotation of the object in the camera frame.
        num_views: V views of the reference sphere.

    Returns:
        (V,) int64 object-frame view index per camera-frame view.

    >>> camera_view_index(np.eye(3), 5).tolist()
    [0, 1, 2, 3, 4]
    """
    rotation = check_rotations(np.asarray(R_cam_obj, dtype=np.float64)[None], "R_cam_obj")[0]
    views = approach_views(num_views)
    return np.asarray(np.argmax(views @ (views @ rotation.T).T, axis=1), dtype=np.int64)


def view_targets(
    scene: SceneGraspLabels, rows: ArrayLike, views: ArrayLike, mu_min: float = 0.1,
    mu_max: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Score, width and stable maps of chosen (object-frame) views of label rows.

    Args:
        scene: the scene's object-frame labels.
        rows: (n,) label rows (``FrameGraspness.label_index`` values >= 0).
        views: (n,) object-frame view index per row.
        mu_min: μ of score 1 (:func:`~grasplab.labels.graspness.grasp_scores_from_mu`).
        mu_max: μ of score 0.

    Returns:
        ``scores`` (n, A, D) float32 in [0, 1] (0 = no free grasp), ``widths`` (n, A, D) float32
        metres (0 = no free grasp) and ``stable`` (n, A) float32 in [0, 1] or None.

    Raises:
        ValueError: rows or views out of range or of different lengths.
    """
    r = np.asarray(rows, dtype=np.int64).reshape(-1)
    v = np.asarray(views, dtype=np.int64).reshape(-1)
    num_p, num_v = scene.view_graspness.shape
    if len(r) != len(v) or (len(r) and (r.min() < 0 or r.max() >= num_p or v.min() < 0
                                        or v.max() >= num_v)):
        raise ValueError(f"rows and views: expected equal lengths with rows in [0, {num_p}) and "
                         f"views in [0, {num_v}), got {len(r)} rows and {len(v)} views")
    mu = scene.mu_centi[r, v].astype(np.float64) / 100.0
    scores = grasp_scores_from_mu(mu, mu_min, mu_max).astype(np.float32)
    widths = (scene.width_mm[r, v].astype(np.float32) / np.float32(1000.0))
    stable = None if scene.stable is None else scene.stable[r, v].astype(np.float32) / 255.0
    return scores, widths, stable
