"""Graspness labels of GSNet / AnyGrasp (anygrasp.txt §IV): what a graspness network learns from.

Everything is derived from the labels grasplab already writes: each object's dense labels
(:class:`~grasplab.labels.object_labels.ObjectLabels`, object frame) and the scene's collision
masks (:mod:`grasplab.labels.scene_labels`, one (Np, V, A, D) mask per object). A label entry
``(point, view, angle, depth)`` is a **free grasp** when its minimal force-closure μ is positive,
it collides neither with the scene nor with its own object, and its width fits the gripper
(``width <= max_width``).

Two levels, because the object-frame part is the same in every frame of a scene:

**Per scene** (:class:`SceneGraspLabels`, object frame, label points of the scene's objects
concatenated in ``object_id_list.txt`` order, P points in all):

- ``point_graspness`` (P,) float32: the share of the V·A·D entries of the point that are free
  with ``μ <= point_mu_max`` (0.8), in [0, 1], not normalised;
- ``view_graspness`` (P, V) float16: per view the share of the A·D entries that are free with
  ``μ <= view_mu_max`` (0.6), min-max normalised over the V views of the point (all 0 when
  the point has no such grasp);
- ``mu_centi`` (P, V, A, D) uint8: ``round(100 μ)`` of the free grasps, 0 elsewhere (the μ
  grid of the labels, 0.1 … 1.0, is kept exactly); :func:`grasp_scores_from_mu` gives the
  network's score target ``log(μ_max / μ) / log(μ_max / μ_min)``;
- ``width_mm`` (P, V, A, D) uint8: the width of the free grasps in millimetres, 0 elsewhere;
- ``stable`` (P, V, A) uint8 or None: AnyGrasp's stable score × 255 (distance from the centre
  of mass to the gripper plane, normalised per object; lower is more stable);
- ``angles`` (A,) rad and ``depths`` (D,) m of the label grid, ``object_ids`` (K,) and
  ``point_offsets`` (K + 1,): object k owns rows ``point_offsets[k]:point_offsets[k + 1]``.

**Per frame** (:class:`~grasplab.labels.graspness_frame.FrameGraspness`, the frame's camera
frame, OpenCV axes, metres): the observed cloud as the detector sees it (the valid pixels of the
depth image back-projected, optionally one point per ``voxel_size`` voxel, the first in
row-major pixel order) with per point its pixel ``(u, v)``, ``instance`` (the mask value,
``object_id + 1``, 0 = background; objectness = ``instance > 0``), ``label_index`` (the nearest
label point of the point's own object within ``max_distance`` after posing the labels with the
frame's ``T_cam_obj``, a row of the scene labels, -1 for none) and ``graspness``: that label
point's point graspness (0 for background and unmatched points), min-max normalised over the
frame's points. A seed ``i`` of the network looks its view graspness, μ, width and stable score
up at ``label_index[i]``; the views are in the object frame:
:func:`~grasplab.labels.graspness_frame.camera_view_index` re-indexes them for a camera-frame
view head.

Files: :mod:`grasplab.labels.graspness_io`; the dataset job: :mod:`grasplab.labels.graspness_jobs`;
format notes: ``docs/graspness_labels.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.validation import as_array
from grasplab.labels.object_labels import ObjectLabels, candidate_rotations
from grasplab.labels.stable import gripper_plane_distances, normalize_stable_scores

__all__ = [
    "GraspnessConfig",
    "LabelPoints",
    "SceneGraspLabels",
    "concatenate_scene_labels",
    "free_grasps",
    "grasp_scores_from_mu",
    "minmax_normalize",
    "point_graspness",
    "scene_grasp_labels",
    "view_graspness",
]


_SCENE_SETTINGS = ("point_mu_max", "view_mu_max", "max_width")


@dataclass(frozen=True)
class GraspnessConfig:
    """Settings of the graspness labels (metres).

    Attributes:
        point_mu_max: point graspness counts free grasps with ``0 < μ <= point_mu_max``.
        view_mu_max: view graspness counts free grasps with ``0 < μ <= view_mu_max``.
        max_width: grasps wider than this are not free (the gripper's largest opening).
        max_distance: an observed point takes a label point of its object within this distance.
        voxel_size: keep one observed point per voxel of this edge; 0 keeps every valid pixel.
        depth_folder: the depth image of a frame to back-project (``depth``: the sensor depth
            the detector sees; ``depth_clean``: noise-free).
    """

    point_mu_max: float = 0.8
    view_mu_max: float = 0.6
    max_width: float = 0.1
    max_distance: float = 0.01
    voxel_size: float = 0.005
    depth_folder: str = "depth"

    def __post_init__(self) -> None:
        for name in ("point_mu_max", "view_mu_max", "max_width", "max_distance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    np.isfinite(value) and value > 0):
                raise ValueError(f"GraspnessConfig.{name}: expected a positive number, "
                                 f"got {value!r}")
        if not isinstance(self.voxel_size, int | float) or not (
                np.isfinite(self.voxel_size) and self.voxel_size >= 0):
            raise ValueError(f"GraspnessConfig.voxel_size: expected >= 0 m, got {self.voxel_size!r}")
        if self.depth_folder not in ("depth", "depth_clean"):
            raise ValueError(f"GraspnessConfig.depth_folder: expected 'depth' or 'depth_clean', "
                             f"got {self.depth_folder!r}")

    def to_dict(self) -> dict[str, float | str]:
        """Plain JSON-serialisable dict of the settings."""
        return dict(asdict(self))

    def scene_dict(self) -> dict[str, float | str]:
        """The settings the object-frame scene labels depend on (thresholds and max width)."""
        return {k: v for k, v in self.to_dict().items() if k in _SCENE_SETTINGS}


def minmax_normalize(values: ArrayLike, axis: int | None = None) -> np.ndarray:
    """``(x - min) / (max - min)`` along ``axis`` (all axes for None); 0 where max == min.

    >>> minmax_normalize([2.0, 4.0, 3.0]).tolist()
    [0.0, 1.0, 0.5]
    >>> minmax_normalize([[1.0, 1.0], [0.0, 2.0]], axis=1).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    x = as_array(values, "values")
    if x.size == 0:
        return x
    low = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - low
    return np.where(span > 0, (x - low) / np.where(span > 0, span, 1.0), 0.0)


def free_grasps(
    labels: ObjectLabels, collision: ArrayLike | None, max_width: float = 0.1
) -> np.ndarray:
    """(Np, V, A, D) bool: μ > 0, no scene or self collision, width <= ``max_width``.

    Args:
        labels: one object's labels.
        collision: (Np, V, A, D) bool scene collision mask of the object; None = self only.
        max_width: largest width of a free grasp, metres.

    Raises:
        ValueError: a mask of another shape than the labels.
    """
    free = (labels.scores > 0) & ~labels.collision & (labels.offsets[..., 2] <= max_width)
    if collision is not None:
        mask = np.asarray(collision, dtype=bool)
        if mask.shape != labels.grid_shape:
            raise ValueError(f"collision: expected shape {labels.grid_shape} (the labels' grid), "
                             f"got {mask.shape}")
        free &= ~mask
    return np.asarray(free)


def point_graspness(scores: ArrayLike, free: ArrayLike, mu_max: float = 0.8) -> np.ndarray:
    """Share of each point's (view, angle, depth) entries that are free with ``0 < μ <= mu_max``.

    Args:
        scores: (Np, V, A, D) minimal μ (-1 or 0 = no grasp).
        free: (Np, V, A, D) bool free-grasp mask (:func:`free_grasps`).
        mu_max: largest μ counted.

    Returns:
        (Np,) float64 in [0, 1].

    >>> point_graspness([[[[0.2, 0.9]], [[-1.0, 0.5]]]], [[[[True, True]], [[True, False]]]]).tolist()
    [0.25]
    """
    mu, ok = _grid_pair(scores, free)
    good = ok & (mu > 0) & (mu <= mu_max)
    return np.asarray(good.reshape(len(good), -1).mean(axis=1), dtype=np.float64)


def view_graspness(scores: ArrayLike, free: ArrayLike, mu_max: float = 0.6) -> np.ndarray:
    """Per view the share of free (angle, depth) grasps with ``0 < μ <= mu_max``, min-max over views.

    Args:
        scores: (Np, V, A, D) minimal μ.
        free: (Np, V, A, D) bool free-grasp mask.
        mu_max: largest μ counted.

    Returns:
        (Np, V) float64 in [0, 1]; a point without such grasps is all 0.

    >>> view_graspness([[[[0.2, 0.3]], [[0.2, 0.9]], [[-1.0, -1.0]]]], np.ones((1, 3, 1, 2), bool)).tolist()
    [[1.0, 0.5, 0.0]]
    """
    mu, ok = _grid_pair(scores, free)
    good = ok & (mu > 0) & (mu <= mu_max)
    share = good.reshape(*good.shape[:2], -1).mean(axis=2)
    return minmax_normalize(share, axis=1)


def _grid_pair(scores: ArrayLike, free: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    mu = as_array(scores, "scores", (None, None, None, None), dtype=np.float32)
    ok = as_array(free, "free", mu.shape, dtype=bool)
    return mu, ok


def grasp_scores_from_mu(mu: ArrayLike, mu_min: float = 0.1, mu_max: float = 1.0) -> np.ndarray:
    """Score targets ``log(mu_max / μ) / log(mu_max / mu_min)`` (1 at mu_min), 0 where μ <= 0.

    >>> grasp_scores_from_mu([0.1, 1.0, 0.0]).tolist()
    [1.0, 0.0, 0.0]
    """
    if not 0 < mu_min < mu_max:
        raise ValueError(f"expected 0 < mu_min < mu_max, got {mu_min}, {mu_max}")
    x = as_array(mu, "mu")
    safe = np.where(x > 0, x, mu_max)
    return np.where(x > 0, np.log(mu_max / safe) / np.log(mu_max / mu_min), 0.0)


@dataclass(frozen=True, eq=False)
class LabelPoints:
    """The label points of a scene's objects and their point graspness (what a frame needs).

    Attributes:
        object_ids: (K,) int32 object ids (``object_id_list.txt`` order).
        point_offsets: (K + 1,) int64; object k owns rows ``point_offsets[k]:point_offsets[k+1]``.
        points: (P, 3) float32 label points, each in its object's frame, metres.
        point_graspness: (P,) float32 raw point graspness in [0, 1].
    """

    object_ids: np.ndarray
    point_offsets: np.ndarray
    points: np.ndarray
    point_graspness: np.ndarray

    def __post_init__(self) -> None:
        num = len(self.points)
        if self.point_offsets.shape != (len(self.object_ids) + 1,) or int(
                self.point_offsets[-1]) != num or int(self.point_offsets[0]) != 0 or np.any(
                np.diff(self.point_offsets) < 0):
            raise ValueError(f"point_offsets: expected {len(self.object_ids) + 1} ascending "
                             f"offsets from 0 to {num}, got {self.point_offsets.tolist()}")
        if self.points.shape != (num, 3) or self.point_graspness.shape != (num,):
            raise ValueError(f"points {self.points.shape} and point_graspness "
                             f"{self.point_graspness.shape}: expected (P, 3) and (P,)")

    def object_rows(self, k: int) -> slice:
        """Rows of the k-th object."""
        return slice(int(self.point_offsets[k]), int(self.point_offsets[k + 1]))


@dataclass(frozen=True, eq=False)
class SceneGraspLabels:
    """Object-frame graspness labels of one scene's K objects, P label points in all.

    Attributes:
        object_ids: (K,) int32 object ids.
        point_offsets: (K + 1,) int64 row ranges of the objects.
        points: (P, 3) float32 label points, metres, each in its object's frame.
        point_graspness: (P,) float32 raw point graspness in [0, 1].
        view_graspness: (P, V) float16 view graspness, min-max normalised per point.
        mu_centi: (P, V, A, D) uint8 ``round(100 μ)`` of free grasps, 0 elsewhere.
        width_mm: (P, V, A, D) uint8 width of free grasps in millimetres, 0 elsewhere.
        stable: (P, V, A) uint8 stable score × 255, or None.
        angles: (A,) float32 in-plane angles, radians.
        depths: (D,) float32 grasp depths, metres.
    """

    object_ids: np.ndarray
    point_offsets: np.ndarray
    points: np.ndarray
    point_graspness: np.ndarray
    view_graspness: np.ndarray
    mu_centi: np.ndarray
    width_mm: np.ndarray
    stable: np.ndarray | None
    angles: np.ndarray
    depths: np.ndarray

    def __post_init__(self) -> None:
        num = len(self.label_points.points)
        grid = (num, self.view_graspness.shape[1], len(self.angles), len(self.depths))
        for name, shape in (("point_graspness", grid[:1]), ("view_graspness", grid[:2]),
                            ("mu_centi", grid), ("width_mm", grid)):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {getattr(self, name).shape}")
        if self.stable is not None and self.stable.shape != grid[:3]:
            raise ValueError(f"stable: expected shape {grid[:3]}, got {self.stable.shape}")

    @property
    def label_points(self) -> LabelPoints:
        """The label points and their point graspness (validated)."""
        return LabelPoints(self.object_ids, self.point_offsets, self.points, self.point_graspness)


def _stable_of(labels: ObjectLabels, com: np.ndarray | None) -> np.ndarray | None:
    """(Np, V, A) stable score: the labels' own, else from a centre of mass, else None."""
    if labels.stable is not None:
        return labels.stable
    if com is None:
        return None
    _, num_v, num_a, _ = labels.grid_shape
    axes = candidate_rotations(num_v, num_a)[..., 2].reshape(-1, 3)
    distances = gripper_plane_distances(labels.points, axes, com)
    return normalize_stable_scores(distances).reshape(len(labels.points), num_v, num_a)


def scene_grasp_labels(
    labels: Sequence[ObjectLabels],
    collisions: Sequence[ArrayLike],
    object_ids: Sequence[int],
    config: GraspnessConfig | None = None,
    centers_of_mass: Sequence[ArrayLike | None] | None = None,
) -> SceneGraspLabels:
    """Object-frame graspness labels of a scene's K objects (module docstring).

    Args:
        labels: K objects' labels (same V, A, D).
        collisions: K scene collision masks, each (Np_k, V, A, D) bool.
        object_ids: K object ids.
        config: thresholds (``point_mu_max``, ``view_mu_max``, ``max_width``).
        centers_of_mass: K (3,) object-frame centres of mass, used for the stable score of
            labels without one (e.g. GraspNet-1Billion's); None = no stable score for them.

    Returns:
        :class:`SceneGraspLabels`; ``stable`` is None unless every object has one.

    Raises:
        ValueError: no objects, inconsistent counts, grids or mask shapes.
    """
    cfg = config or GraspnessConfig()
    count = len(labels)
    coms = list(centers_of_mass) if centers_of_mass is not None else [None] * count
    if count == 0 or len(collisions) != count or len(object_ids) != count or len(coms) != count:
        raise ValueError(f"expected as many labels, collision masks, ids and centres of mass "
                         f"(at least one), got {count}, {len(collisions)}, {len(object_ids)}, "
                         f"{len(coms)}")
    grids = {x.grid_shape[1:] for x in labels}
    if len(grids) != 1:
        raise ValueError(f"labels: expected one (V, A, D) grid for all objects, got {sorted(grids)}")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("pg", "vg", "mu", "w", "st")}
    for item, mask, com in zip(labels, collisions, coms, strict=True):
        free = free_grasps(item, mask, cfg.max_width)
        parts["pg"].append(point_graspness(item.scores, free, cfg.point_mu_max).astype(np.float32))
        parts["vg"].append(view_graspness(item.scores, free, cfg.view_mu_max).astype(np.float16))
        parts["mu"].append(np.where(free, np.rint(item.scores * 100), 0).astype(np.uint8))
        width = np.clip(np.rint(item.offsets[..., 2] * 1000), 0, 255)
        parts["w"].append(np.where(free, width, 0).astype(np.uint8))
        stable = _stable_of(item, None if com is None else as_array(com, "center_of_mass", (3,)))
        if stable is not None:
            parts["st"].append(np.rint(np.clip(stable, 0, 1) * 255).astype(np.uint8))
    sizes = [len(x.points) for x in labels]
    angles, depths = _grid_axes(labels)
    return SceneGraspLabels(
        object_ids=np.asarray(object_ids, dtype=np.int32),
        point_offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        points=np.concatenate([x.points for x in labels]).astype(np.float32),
        point_graspness=np.concatenate(parts["pg"]), view_graspness=np.concatenate(parts["vg"]),
        mu_centi=np.concatenate(parts["mu"]), width_mm=np.concatenate(parts["w"]),
        stable=np.concatenate(parts["st"]) if len(parts["st"]) == count else None,
        angles=angles, depths=depths,
    )


def concatenate_scene_labels(parts: Sequence[SceneGraspLabels]) -> SceneGraspLabels:
    """Join labels of disjoint object sets (e.g. one object at a time, to bound memory), in order.

    Raises:
        ValueError: no parts or parts of different (V, A, D) grids.
    """
    grids = {(p.view_graspness.shape[1], len(p.angles), len(p.depths)) for p in parts}
    if len(grids) != 1:
        raise ValueError(f"parts: expected at least one and a single (V, A, D) grid, got "
                         f"{sorted(grids)}")
    axes = next((p for p in parts if len(p.points)), parts[0])
    sizes = np.concatenate([np.diff(p.point_offsets) for p in parts])
    stables = [p.stable for p in parts]
    return SceneGraspLabels(
        object_ids=np.concatenate([p.object_ids for p in parts]).astype(np.int32),
        point_offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        **{name: np.concatenate([getattr(p, name) for p in parts])
           for name in ("points", "point_graspness", "view_graspness", "mu_centi", "width_mm")},
        stable=None if any(s is None for s in stables) else np.concatenate(stables),  # type: ignore[arg-type]
        angles=axes.angles, depths=axes.depths,
    )


def _grid_axes(labels: Sequence[ObjectLabels]) -> tuple[np.ndarray, np.ndarray]:
    """(A,) angles (rad) and (D,) depths (m) of the label grid, read from the first offsets."""
    for item in labels:
        if len(item.points):
            return (np.asarray(item.offsets[0, 0, :, 0, 0], dtype=np.float32),
                    np.asarray(item.offsets[0, 0, 0, :, 1], dtype=np.float32))
    _, _, num_a, num_d = labels[0].grid_shape
    return np.arange(num_a, dtype=np.float32) * np.float32(np.pi / num_a), np.zeros(num_d, np.float32)
