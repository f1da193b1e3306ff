"""Evaluate the grasps predicted for one frame with the GraspNet-1Billion AP protocol.

The steps are those of the reference evaluation (graspnetAPI 1.2.11 ``eval_scene`` /
``eval_grasp``, reference protocol §4):

1. rows with NaN/inf values or a rotation that is not orthonormal with det +1 are reported and
   dropped (the reference would crash on them); widths are clipped to ``[0, 0.1]``;
2. pose NMS (3 cm / 30°) over all grasps;
3. each grasp goes to the object owning the nearest 8 mm-voxel model point to its translation;
4. at most 10 grasps per object, then those reaching the 50th-highest pooled confidence;
5. collision and empty checks against the voxel model points of all objects plus the table grid,
   cropped to the assigned object's bounding box ± 5 cm;
6. force closure, by the backend ``APConfig.fc_backend``: ``"reference"`` (the default of
   ``grasplab eval ap``; the library default stays ``"exact"``) closes the
   jaws on the object's signed distance field as graspnetAPI's Dex-Net code does
   (:mod:`grasplab.evaluation.reference_fc`); ``"exact"`` ray-casts the exact object mesh. Both
   put the jaw line at the fingertips, ``c = P^-1 (t + depth R[:, 0])``, axis
   ``P_R^T R[:, 1]``; the score is the smallest passing mu in {0.2, ..., 1.2}, else -1, and -1
   for colliding or empty grasps;
7. the scored grasps sorted by confidence give the (50, 6) Precision@k matrix.

Ties: the reference sorts with unstable sorts (C++ ``std::sort`` in NMS, numpy quicksort), so
the order of equal confidences is undefined there; here every sort is stable (input row order).

Frames: grasps and poses are in the frame's camera frame (OpenCV), object points in model frames.
Units: metres, radians.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grasplab.core.grasp_group import GRASP_ARRAY_LEN, ROTATION_ATOL, GraspGroup
from grasplab.core.gripper import GripperModel
from grasplab.evaluation.assign import (
    MAX_PER_OBJECT,
    TOP_RANK_INDEX,
    assign_to_objects,
    select_top_grasps,
)
from grasplab.evaluation.collision import collision_and_empty, collision_and_empty_dense
from grasplab.evaluation.geometry import FrameScene
from grasplab.evaluation.precision import MU_GRID, TOP_K, precision_at_k

logger = logging.getLogger(__name__)

__all__ = [
    "FC_BACKENDS",
    "APConfig",
    "FrameResult",
    "evaluate_frame",
    "evaluate_sanitized",
    "sanitize_grasp_array",
]

#: Force-closure backends: graspnetAPI's SDF contact search, or ray casting on the exact mesh.
FC_BACKENDS = ("reference", "exact")


@dataclass(frozen=True)
class APConfig:
    """Parameters of the AP protocol; the defaults are the reference's.

    Attributes:
        max_width: widths are clipped to ``[0, max_width]`` (m).
        nms_translation: pose-NMS distance threshold (m, strict).
        nms_rotation: pose-NMS angle threshold (rad, strict).
        crop_margin: scene points are cropped to the object's bbox ± this margin (m).
        max_per_object: at most this many grasps per object are evaluated.
        rank_index: pooled confidence threshold rank (49 = the 50th best).
        top_k: Precision@k is computed for k = 1..top_k.
        mu_grid: friction coefficients.
        gripper: the collision/empty gripper (the reference one by default).
        rotation_atol: tolerance of the rotation validity check.
        fast_collision: gather candidate points per gripper (True) or crop and test the whole
            scene per object (False, the direct transcription; same flags, slower).
        fc_backend: force closure ``"reference"`` (graspnetAPI's contact search on each
            object's SDF) or ``"exact"`` (ray casting on the exact mesh).
    """

    max_width: float = 0.1
    nms_translation: float = 0.03
    nms_rotation: float = float(np.pi / 6)
    crop_margin: float = 0.05
    max_per_object: int = MAX_PER_OBJECT
    rank_index: int = TOP_RANK_INDEX
    top_k: int = TOP_K
    mu_grid: tuple[float, ...] = MU_GRID
    gripper: GripperModel = field(default_factory=GripperModel)
    rotation_atol: float = ROTATION_ATOL
    fast_collision: bool = True
    fc_backend: str = "exact"

    def __post_init__(self) -> None:
        if self.fc_backend not in FC_BACKENDS:
            raise ValueError(
                f"unknown force-closure backend {self.fc_backend!r}; expected one of {FC_BACKENDS}"
            )


@dataclass(frozen=True)
class FrameResult:
    """The evaluation of one frame.

    Attributes:
        accuracy: (top_k, len(mu_grid)) Precision@k matrix (zeros when nothing is evaluated).
        grasps: (M, 17) evaluated grasps (widths clipped), sorted by confidence, descending.
        scores: (M,) min passing mu, -1 for failure, collision or emptiness.
        collision: (M,) bool, a finger or the palm hits a scene point.
        empty: (M,) bool, fewer than 10 scene points between the jaws.
        object_ids: (M,) int64 dataset id of the assigned object.
        num_input: rows in the input.
        num_valid: rows kept after dropping invalid ones.
        num_after_nms: rows after pose NMS.
        issues: human-readable problems found (dropped rows, wrong shapes).
    """

    accuracy: np.ndarray
    grasps: np.ndarray
    scores: np.ndarray
    collision: np.ndarray
    empty: np.ndarray
    object_ids: np.ndarray
    num_input: int
    num_valid: int
    num_after_nms: int
    issues: tuple[str, ...] = ()

    @property
    def ap(self) -> float:
        """Mean of the accuracy matrix (fraction)."""
        return float(self.accuracy.mean())


def sanitize_grasp_array(
    data: Any, rotation_atol: float = ROTATION_ATOL
) -> tuple[np.ndarray, tuple[str, ...], str | None]:
    """Turn user input into a clean (N, 17) float64 array, reporting what was dropped.

    Args:
        data: a ``GraspGroup``, an (N, 17) or (17,) numeric array, or anything else.
        rotation_atol: tolerance on ``|R^T R - I|`` and ``|det R - 1|``.

    Returns:
        ``(array, issues, fatal)``: the valid rows; one message per dropped row; and a message
        when the whole input is unusable (wrong shape or type; the frame then scores 0), else
        None. An input with no elements is an empty frame, not an error.
    """
    try:
        arr = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return _empty_rows(), (), f"not a numeric array: {exc}"
    if arr.size == 0:
        return _empty_rows(), (), None
    if arr.ndim == 1 and arr.shape[0] == GRASP_ARRAY_LEN:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != GRASP_ARRAY_LEN:
        return _empty_rows(), (), f"expected an (N, {GRASP_ARRAY_LEN}) array, got {arr.shape}"
    finite = np.asarray(np.isfinite(arr).all(axis=1))
    rot = np.where(finite[:, None], arr[:, 4:13], 0.0).reshape(-1, 3, 3)
    gram_err = np.abs(np.matmul(rot.transpose(0, 2, 1), rot) - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(rot)
    bad_rot = finite & ((gram_err > rotation_atol) | (np.abs(det - 1.0) > rotation_atol))
    issues = [f"row {i}: non-finite value (NaN/inf), dropped" for i in np.flatnonzero(~finite)]
    issues += [
        f"row {i}: rotation not orthonormal with det +1 (|RᵀR - I| = {gram_err[i]:.2e}, "
        f"det = {det[i]:.4f}), dropped"
        for i in np.flatnonzero(bad_rot)
    ]
    keep = finite & ~bad_rot
    return arr[keep], tuple(sorted(issues, key=_row_of)), None


def _row_of(message: str) -> int:
    return int(message.split(":", 1)[0].split()[1])


def _empty_rows() -> np.ndarray:
    return np.zeros((0, GRASP_ARRAY_LEN))


def evaluate_frame(
    grasps: Any, scene: FrameScene, config: APConfig | None = None
) -> FrameResult:
    """Evaluate one frame's predicted grasps with the reference AP rules.

    Never raises on bad grasp input: unusable input scores 0 and is reported in ``issues``.

    Args:
        grasps: a ``GraspGroup`` or an (N, 17) array in the graspnetAPI layout, camera frame.
        scene: the frame's objects, poses and table.
        config: protocol parameters (the reference's by default).

    Returns:
        The frame result: Precision@k matrix and per-grasp outcomes.
    """
    cfg = config if config is not None else APConfig()
    return evaluate_sanitized(grasps, sanitize_grasp_array(grasps, cfg.rotation_atol), scene, cfg)


def evaluate_sanitized(
    grasps: Any,
    sanitized: tuple[np.ndarray, tuple[str, ...], str | None],
    scene: FrameScene,
    cfg: APConfig,
) -> FrameResult:
    """:func:`evaluate_frame` given ``sanitize_grasp_array(grasps, cfg.rotation_atol)``.

    For callers that also use the sanitised rows (they are read once). The sanitised array's
    widths are clipped in place.
    """
    arr, issues, fatal = sanitized
    num_input = _num_rows(grasps, len(arr))
    if fatal is not None:
        issues = (*issues, f"frame scored 0: {fatal}")
    if issues:
        logger.info("frame input problems: %s", "; ".join(issues))
    arr[:, 1] = np.clip(arr[:, 1], 0.0, cfg.max_width)
    kept = GraspGroup(arr, validate=False).nms(cfg.nms_translation, cfg.nms_rotation)
    after_nms = np.asarray(kept)
    num_objects = len(scene.models)
    owner = assign_to_objects(
        after_nms[:, 13:16], [m.tree for m in scene.models], scene.T_cam_obj
    )
    chosen = select_top_grasps(
        after_nms[:, 0], owner, num_objects, cfg.max_per_object, cfg.rank_index
    )
    selected, owner = after_nms[chosen], owner[chosen]
    flags = collision_and_empty if cfg.fast_collision else collision_and_empty_dense
    collision, empty = flags(selected, owner, scene, cfg.gripper, cfg.crop_margin)
    scores = np.full(len(selected), -1.0)
    usable = ~(collision | empty)
    fc_scores = _reference_scores if cfg.fc_backend == "reference" else _force_closure_scores
    scores[usable] = fc_scores(selected[usable], owner[usable], scene, cfg)
    order = np.argsort(-selected[:, 0], kind="stable")
    object_ids = np.array([m.object_id for m in scene.models], dtype=np.int64)
    return FrameResult(
        accuracy=precision_at_k(scores[order], cfg.top_k, cfg.mu_grid),
        grasps=selected[order],
        scores=scores[order],
        collision=collision[order],
        empty=empty[order],
        object_ids=object_ids[owner[order]] if len(order) else np.zeros(0, dtype=np.int64),
        num_input=num_input,
        num_valid=len(arr),
        num_after_nms=len(after_nms),
        issues=issues,
    )


def _num_rows(grasps: Any, fallback: int) -> int:
    """Rows of the input as given (before dropping invalid ones)."""
    try:
        shape = np.shape(grasps) if not isinstance(grasps, GraspGroup) else (len(grasps),)
    except (TypeError, ValueError):
        return fallback
    if len(shape) == 2:
        return int(shape[0])
    if len(shape) == 1:
        return int(shape[0] == GRASP_ARRAY_LEN)
    return fallback


def _reference_scores(
    grasps: np.ndarray, owner: np.ndarray, scene: FrameScene, cfg: APConfig
) -> np.ndarray:
    """Smallest force-closure mu of each grasp by graspnetAPI's SDF contact search, -1 if none."""
    from grasplab.evaluation.reference_fc import reference_scores

    if len(grasps) == 0:
        return np.full(0, -1.0)
    fields = [m.signed_distance for m in scene.models]
    return reference_scores(
        grasps, owner, scene.T_cam_obj, fields, np.asarray(cfg.mu_grid, dtype=np.float64)
    )


def _force_closure_scores(
    grasps: np.ndarray, owner: np.ndarray, scene: FrameScene, cfg: APConfig
) -> np.ndarray:
    """Smallest force-closure mu of each grasp on its object's exact mesh, -1 if none.

    All grasps go through one batched query on the scene's combined caster: each jaw centre is
    mapped into its object's model frame (``c = P^-1 (t + depth R[:, 0])``, axis
    ``P_R^T R[:, 1]``) and shifted by that object's offset in the combined mesh. A centre farther
    than ``radius + width / 2`` from its object's centre cannot reach the mesh and scores -1
    without a query (this also keeps every ray away from the other objects' copies).
    """
    from grasplab.labels.force_closure import force_closure

    scores = np.full(len(grasps), -1.0)
    if len(grasps) == 0:
        return scores
    objects = scene.objects
    rotations = grasps[:, 4:13].reshape(-1, 3, 3)
    tips = grasps[:, 13:16] + grasps[:, 3:4] * rotations[:, :, 0]
    inverse = np.linalg.inv(scene.T_cam_obj[owner])
    centers = np.einsum("nij,nj->ni", inverse[:, :3, :3], tips) + inverse[:, :3, 3]
    axes = np.einsum("nji,nj->ni", scene.T_cam_obj[owner, :3, :3], rotations[:, :, 1])
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    widths = grasps[:, 1]
    reach = np.linalg.norm(centers - objects.centers[owner], axis=1)
    near = reach <= objects.radii[owner] + widths / 2 + 1e-6
    if not near.any():
        return scores
    result = force_closure(
        objects.caster,
        centers[near] + objects.offsets[owner[near]],
        axes[near],
        widths[near],
        np.asarray(cfg.mu_grid, dtype=np.float64),
    )
    scores[near] = np.asarray(result.min_mu, dtype=np.float64)
    return scores
