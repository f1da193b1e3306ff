"""Post-processing usable after any detector (AnyGrasp §IV-D and workspace limits).

Each step is a pure function ``GraspGroup -> GraspGroup`` (never mutating its input):

- :func:`collision_filter`: drop the best ``top_n`` grasps' colliding ones against the
  partial-view cloud, with the gripper simplified into three boxes (two fingers, palm;
  ``GripperModel.collision_and_empty``, reference §3 semantics);
- :func:`center_grasps`: gripper centring — shift each grasp along its jaw axis so that both
  fingertips travel the same distance to their contact points, the outermost cloud points
  between the jaws;
- :func:`workspace_filter`: keep grasps whose grasp point lies in an axis-aligned box and whose
  approach is within a maximal angle of a given vertical;
- :func:`nms` (the reference pose NMS) and :func:`top_k`.

:func:`postprocess` chains them for an :class:`~grasplab.detection.observation.Observation`
under a :class:`PostProcessConfig`. Grasps and points share one frame (the camera frame for
detector output), metres and radians.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core import GraspGroup, GripperModel, as_array, check_transform, depth_to_points
from grasplab.detection.cloud import voxel_downsample
from grasplab.detection.observation import Observation

#: Most padded (grasp, point) pairs held in memory at once by :func:`center_grasps`.
_PAIR_BUDGET = 1_000_000


def _check_grasps(grasps: GraspGroup) -> GraspGroup:
    if not isinstance(grasps, GraspGroup):
        raise ValueError(f"grasps: expected a GraspGroup, got {type(grasps).__name__}")
    return grasps


def top_k(grasps: GraspGroup, k: int) -> GraspGroup:
    """The ``k`` best grasps by score, sorted descending (stable for ties).

    >>> g = GraspGroup.from_components(np.zeros((3, 3)), np.stack([np.eye(3)] * 3), 0.05, 0.02,
    ...                                scores=[0.1, 0.9, 0.5])
    >>> top_k(g, 2).scores.tolist()
    [0.9, 0.5]
    """
    _check_grasps(grasps)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(f"k: expected an integer >= 0, got {k!r}")
    return grasps.sort_by_score()[: int(k)]


def nms(
    grasps: GraspGroup, translation_thresh: float = 0.03, rotation_thresh: float = np.pi / 6
) -> GraspGroup:
    """Reference pose NMS (``GraspGroup.nms``): 3 cm and 30° by default; sorted output."""
    return _check_grasps(grasps).nms(translation_thresh, rotation_thresh)


def collision_filter(
    grasps: GraspGroup,
    points: ArrayLike,
    gripper: GripperModel | None = None,
    top_n: int | None = 100,
    reject_empty: bool = False,
) -> GraspGroup:
    """Check the best ``top_n`` grasps against a point cloud and drop the colliding ones.

    AnyGrasp (§IV-D) checks the top-100 predictions against the partial-view cloud with the
    gripper simplified to boxes; grasps ranked below ``top_n`` are not checked and are dropped.

    Args:
        grasps: grasps in the points' frame.
        points: (M, 3) scene cloud, metres.
        gripper: gripper geometry (default: the reference gripper).
        top_n: number of best-scored grasps to check and keep; None checks all.
        reject_empty: also drop grasps with fewer than ``gripper.empty_thresh`` points
            between the jaws.

    Returns:
        The surviving grasps, sorted by score descending.
    """
    _check_grasps(grasps)
    pts = as_array(points, "points", (None, 3))
    gripper = GripperModel() if gripper is None else gripper
    ranked = grasps.sort_by_score()
    if top_n is not None:
        if isinstance(top_n, bool) or not isinstance(top_n, int | np.integer) or top_n < 0:
            raise ValueError(f"top_n: expected an integer >= 0 or None, got {top_n!r}")
        ranked = ranked[: int(top_n)]
    if len(ranked) == 0 or len(pts) == 0:
        return ranked
    collision, empty = gripper.collision_and_empty(ranked, pts)
    bad = collision | empty if reject_empty else collision
    return ranked[~bad]


def _inner_neighbors(
    points: np.ndarray, grasps: GraspGroup, gripper: GripperModel
) -> tuple[np.ndarray, np.ndarray]:
    """Per grasp, the cloud points within reach of its closing region, padded.

    Returns:
        ``(index (N, L) int64, real (N, L) bool)``: point indices (padding repeats index 0 and
        has ``real`` False); a superset of each grasp's inner points.
    """
    half = np.clip(grasps.widths, 0.0, gripper.max_width) / 2
    extent = np.maximum(np.abs(grasps.depths), gripper.depth_base)
    radius = np.sqrt(half**2 + extent**2 + (gripper.height / 2) ** 2) * (1 + 1e-9) + 1e-9
    # an unbalanced tree builds about 2x faster and answers the same sets (order is irrelevant here)
    lists = cKDTree(points, balanced_tree=False, compact_nodes=False).query_ball_point(
        grasps.translations, r=radius)
    counts = np.fromiter((len(c) for c in lists), dtype=np.int64, count=len(lists))
    real = np.arange(max(int(counts.max()), 1))[None, :] < counts[:, None]
    index = np.zeros(real.shape, dtype=np.int64)
    index[real] = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64,
                              count=int(counts.sum()))
    return index, real


def center_grasps(
    grasps: GraspGroup, points: ArrayLike, gripper: GripperModel | None = None
) -> GraspGroup:
    """Gripper centring (AnyGrasp §IV-D): equalize both fingertips' travel to their contacts.

    For each grasp, the contact points are the outermost cloud points inside the closing
    region (reference inner box: ``-depth_base < x < depth``, ``|y| <= width / 2``,
    ``|z| < height / 2``). With ``y_min`` and ``y_max`` their jaw coordinates, the grasp moves by
    ``(y_min + y_max) / 2`` along its jaw axis, after which each jaw travels
    ``width / 2 - (y_max - y_min) / 2``. Width, depth, rotation and score are unchanged;
    grasps with no point between the jaws are returned unchanged.

    Args:
        grasps: grasps in the points' frame.
        points: (M, 3) scene cloud, metres.
        gripper: gripper geometry (height, depth base and max width are used).

    Returns:
        The centred grasps, in the input order.
    """
    _check_grasps(grasps)
    pts = as_array(points, "points", (None, 3))
    gripper = GripperModel() if gripper is None else gripper
    if len(grasps) == 0 or len(pts) == 0:
        return grasps
    index, real = _inner_neighbors(pts, grasps, gripper)
    rot, trans = grasps.rotations, grasps.translations
    half = np.clip(grasps.widths, 0.0, gripper.max_width) / 2
    shift = np.zeros(len(grasps))
    chunk = max(1, _PAIR_BUDGET // index.shape[1])
    for first in range(0, len(grasps), chunk):
        sl = slice(first, first + chunk)
        q = np.matmul(pts[index[sl]] - trans[sl, None], rot[sl])  # (n, L, 3) gripper frame
        x, y, z = q[..., 0], q[..., 1], q[..., 2]
        inner = (
            real[sl] & (x > -gripper.depth_base) & (x < grasps.depths[sl, None])
            & (np.abs(z) < gripper.height / 2) & (np.abs(y) <= half[sl, None])
        )
        found = inner.any(axis=1)  # grasps with no inner point keep shift 0
        y_min = np.where(found, np.where(inner, y, np.inf).min(axis=1), 0.0)
        y_max = np.where(found, np.where(inner, y, -np.inf).max(axis=1), 0.0)
        shift[sl] = (y_min + y_max) / 2
    return grasps.with_columns(translations=trans + shift[:, None] * rot[:, :, 1])


def workspace_filter(
    grasps: GraspGroup,
    box_min: ArrayLike | None = None,
    box_max: ArrayLike | None = None,
    T_world_cam: ArrayLike | None = None,
    vertical: ArrayLike = (0.0, 0.0, -1.0),
    max_angle: float | None = float(np.deg2rad(25.0)),
) -> GraspGroup:
    """Keep grasps inside a workspace box whose approach is near a given vertical.

    Args:
        grasps: grasps in the camera frame (or already in the world frame if ``T_world_cam``
            is None).
        box_min: (3,) lower corner of the box for grasp points, metres, world frame (camera
            frame without ``T_world_cam``); None = unbounded.
        box_max: (3,) upper corner, same frame; None = unbounded.
        T_world_cam: (4, 4) camera pose; grasps are mapped to the world frame with it.
        vertical: (3,) reference approach direction in the box's frame; default straight down
            along world -z (a top-down grasp with z up).
        max_angle: largest angle between a grasp's approach and ``vertical``, radians
            (inclusive); None = no angle limit.

    Returns:
        The kept grasps (original frame, input order).
    """
    _check_grasps(grasps)
    frame = grasps if T_world_cam is None else grasps.transform(check_transform(T_world_cam,
                                                                               "T_world_cam"))
    keep = np.ones(len(grasps), dtype=bool)
    t = frame.translations
    if box_min is not None:
        keep &= np.all(t >= as_array(box_min, "box_min", (3,)), axis=1)
    if box_max is not None:
        keep &= np.all(t <= as_array(box_max, "box_max", (3,)), axis=1)
    if max_angle is not None:
        if not np.isfinite(max_angle) or not 0 <= max_angle <= np.pi:
            raise ValueError(f"max_angle: expected radians in [0, pi], got {max_angle!r}")
        up = as_array(vertical, "vertical", (3,))
        norm = float(np.linalg.norm(up))
        if norm == 0:
            raise ValueError("vertical: expected a non-zero direction")
        cos = np.clip(frame.rotations[:, :, 0] @ (up / norm), -1.0, 1.0)
        keep &= np.arccos(cos) <= max_angle + 1e-12
    return grasps[keep]


def _observation_cloud(observation: Observation, stride: int) -> np.ndarray:
    """(N, 3) camera-frame cloud of every ``stride``-th pixel of the observation."""
    if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or stride < 1:
        raise ValueError(f"cloud_pixel_stride: expected an integer >= 1, got {stride!r}")
    if stride == 1:
        return observation.points()
    select = np.zeros(observation.shape, dtype=bool)
    select[::stride, ::stride] = True
    points, _ = depth_to_points(observation.depth, observation.intrinsics,
                                select & observation.valid)
    return np.asarray(points, dtype=np.float64)


@dataclass(frozen=True)
class PostProcessConfig:
    """Settings of :func:`postprocess`; a None or False field skips its step.

    Attributes:
        gripper: gripper geometry for collision and centring.
        box_min: workspace box lower corner (world frame when the observation has a pose).
        box_max: workspace box upper corner.
        vertical: reference approach direction for the angle limit.
        max_angle: largest approach angle from ``vertical``, radians; None = no limit.
        nms_translation: pose-NMS distance, metres; None skips NMS.
        nms_rotation: pose-NMS angle, radians.
        top_n: grasps (best first) that are centred and collision-checked; the rest are dropped.
        center: apply gripper centring.
        collision: apply the collision filter.
        reject_empty: the collision filter also drops empty grasps.
        cloud_pixel_stride: use every n-th pixel (in u and v) of the observation's cloud for
            centring and collision.
        cloud_voxel_size: voxel size of that cloud, metres; None skips the downsampling.
        top_k: grasps returned; None returns all survivors.
    """

    gripper: GripperModel = field(default_factory=GripperModel)
    box_min: tuple[float, float, float] | None = None
    box_max: tuple[float, float, float] | None = None
    vertical: tuple[float, float, float] = (0.0, 0.0, -1.0)
    max_angle: float | None = None
    nms_translation: float | None = 0.03
    nms_rotation: float = float(np.pi / 6)
    top_n: int | None = 100
    center: bool = True
    collision: bool = True
    reject_empty: bool = False
    cloud_pixel_stride: int = 1
    cloud_voxel_size: float | None = 0.003
    top_k: int | None = None


def postprocess(
    grasps: GraspGroup, observation: Observation, config: PostProcessConfig | None = None
) -> GraspGroup:
    """Workspace filter → pose NMS → best ``top_n`` → centring → collision filter → top-k.

    Centring runs before the collision check (AnyGrasp runs it after) so that the grasps
    returned are collision-free where they will actually be executed.

    Args:
        grasps: detector output in the observation's camera frame.
        observation: the frame the grasps were detected in (its whole cloud is the obstacle
            set; its ``T_world_cam`` places the workspace box).
        config: settings; default :class:`PostProcessConfig`.

    Returns:
        The processed grasps in the camera frame, sorted by score descending.
    """
    cfg = PostProcessConfig() if config is None else config
    _check_grasps(grasps)
    out = grasps
    if cfg.box_min is not None or cfg.box_max is not None or cfg.max_angle is not None:
        out = workspace_filter(out, cfg.box_min, cfg.box_max, observation.T_world_cam,
                               cfg.vertical, cfg.max_angle)
    if cfg.nms_translation is not None:
        out = nms(out, cfg.nms_translation, cfg.nms_rotation)
    out = out.sort_by_score() if cfg.top_n is None else top_k(out, cfg.top_n)
    if (cfg.center or cfg.collision) and len(out):
        points = _observation_cloud(observation, cfg.cloud_pixel_stride)
        if cfg.cloud_voxel_size is not None:
            points, _ = voxel_downsample(points, cfg.cloud_voxel_size)
        if cfg.center:
            out = center_grasps(out, points, cfg.gripper)
        if cfg.collision:
            out = collision_filter(out, points, cfg.gripper, None, cfg.reject_empty)
    return out if cfg.top_k is None else top_k(out, cfg.top_k)
