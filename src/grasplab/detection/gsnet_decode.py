"""GSNet / AnyGrasp network outputs -> grasps in the camera frame (graspnetAPI rows).

Per seed: the grasp point is the seed, the approach is minus the chosen view vector of the
reference Fibonacci sphere (:func:`grasplab.core.rotations.approach_views`), the in-plane angle
and depth are the (angle, depth) cell of highest AnyGrasp score ``score × (1 − stable)``, the
rotation is the reference construction (:func:`grasplab.core.rotations.rotation_from_view`), the
width is ``width_scale × prediction / 10`` clamped to ``[0, max_width]`` (GSNet widens by 1.2 for
clearance) and the height 0.02 m. The decoded rows are exactly what a label of the same
(point, view, angle, depth) gives, so a label decoded here returns the labelled grasp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grasplab.core.grasp_group import GraspGroup
from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.data.tolerance_targets import TOLERANCE_RADIUS, TOLERANCE_SCALE

__all__ = ["GSNetDecodeConfig", "baseline_decodable", "decode_config_for", "decode_gsnet"]


@dataclass(frozen=True)
class GSNetDecodeConfig:
    """How network outputs become grasps (metres).

    Attributes:
        depths: the D grasp depths of the score maps.
        num_angles: A in-plane angles (i·π/A).
        num_views: V reference views.
        width_scale: factor on the predicted width (GSNet: 1.2).
        max_width: widths are clamped to ``[0, max_width]``.
        height: finger height of the rows.
        use_stable: rank by ``score × (1 − stable)`` (AnyGrasp) when stable scores are present.
        min_score: drop seeds whose best score is not above this; None keeps every seed.
    """

    depths: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.04)
    num_angles: int = 12
    num_views: int = 300
    width_scale: float = 1.2
    max_width: float = 0.1
    height: float = 0.02
    use_stable: bool = True
    min_score: float | None = None


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _pick(outputs: Mapping[str, Any], name: str, index: int, ndim: int) -> np.ndarray:
    arr = _array(outputs[name])
    if arr.ndim == ndim + 1:
        arr = arr[index]
    if arr.ndim != ndim:
        raise ValueError(
            f"outputs[{name!r}]: expected {ndim} dimensions (or a batch of them), got {arr.shape}"
        )
    return arr


def decode_gsnet(
    outputs: Mapping[str, Any], config: GSNetDecodeConfig | None = None, index: int = 0
) -> GraspGroup:
    """Grasps of one cloud from GSNet outputs (tensors or arrays, batched or not).

    Args:
        outputs: ``seed_xyz`` (M, 3) metres (camera frame), ``view_index`` (M,), ``score`` and
            ``width`` (M, A, D) (width in metres × 10), optionally ``stable`` (M, A); each may
            carry a leading batch dimension, of which ``index`` is decoded.
        config: decoding settings (default :class:`GSNetDecodeConfig`).
        index: batch element.

    Returns:
        M grasps (fewer with ``min_score``), one per seed, ``object_id`` -1, seed order.

    Raises:
        ValueError: inconsistent shapes or a view index out of range.
    """
    cfg = config or GSNetDecodeConfig()
    xyz = _pick(outputs, "seed_xyz", index, 2)
    views = _pick(outputs, "view_index", index, 1).astype(np.int64)
    score = _pick(outputs, "score", index, 3)
    width = _pick(outputs, "width", index, 3)
    num = len(xyz)
    grid = (num, cfg.num_angles, len(cfg.depths))
    if views.shape != (num,) or score.shape != grid or width.shape != grid:
        raise ValueError(
            f"outputs: expected seed_xyz (M, 3), view_index (M,), score/width {grid}; got "
            f"{xyz.shape}, {views.shape}, {score.shape}, {width.shape}"
        )
    if num and (views.min() < 0 or views.max() >= cfg.num_views):
        raise ValueError(f"view_index: expected values in [0, {cfg.num_views})")
    ranked = np.clip(score, 0.0, 1.0)
    if cfg.use_stable and "stable" in outputs:
        stable = _pick(outputs, "stable", index, 2)
        ranked = ranked * (1.0 - np.clip(stable, 0.0, 1.0))[..., None]
    best = ranked.reshape(num, -1).argmax(axis=1)
    angle_idx, depth_idx = np.divmod(best, len(cfg.depths))
    rows = np.arange(num)
    angles = angle_idx * np.pi / cfg.num_angles
    rotations = rotation_from_view(-approach_views(cfg.num_views)[views], angles)
    widths = np.clip(cfg.width_scale * width[rows, angle_idx, depth_idx] / 10.0, 0.0, cfg.max_width)
    scores = ranked[rows, angle_idx, depth_idx]
    group = GraspGroup.from_components(
        xyz, rotations, widths, np.asarray(cfg.depths, dtype=np.float64)[depth_idx], scores, cfg.height
    )
    if cfg.min_score is not None:
        group = group[scores > cfg.min_score]
    return group


def decode_config_for(
    depths: Sequence[float], num_angles: int, num_views: int, **options: Any
) -> GSNetDecodeConfig:
    """A :class:`GSNetDecodeConfig` matching a network's grid (``GSNetSpec`` fields)."""
    return GSNetDecodeConfig(tuple(float(d) for d in depths), int(num_angles), int(num_views), **options)


def baseline_decodable(
    outputs: Mapping[str, Any], index: int = 0, graspable_only: bool = True
) -> dict[str, np.ndarray]:
    """GraspNet-1Billion baseline outputs -> inputs of :func:`decode_gsnet` (one batch element).

    graspnet-1billion.txt §4: per depth the angle is OperationNet's class argmax; the grasp of a
    seed is its best (angle, depth) by predicted score; seeds ApproachNet calls not graspable
    are dropped (``graspable_only``); §4.5's refinement ranks grasps in 10 score bins and by the
    predicted tolerance inside a bin, which here is the returned score:
    ``floor(10 s) / 10 + 0.099 · min(tolerance / reach, 1)`` (s clipped to [0, 1), so < 1).

    Args:
        outputs: ``GraspNetBaseline.forward`` outputs (tensors or arrays, batched or not).
        index: batch element.
        graspable_only: drop the seeds classified not graspable.

    Returns:
        ``seed_xyz`` (M', 3), ``view_index`` (M',), ``score`` (the rank above) and ``width``
        (M', A, D), ``keep`` (M',) int64: the kept seed slots.
    """
    score = _pick(outputs, "score", index, 3)
    logits = _pick(outputs, "angle_logits", index, 3)
    tolerance = _pick(outputs, "tolerance", index, 3)
    num, num_a, _ = score.shape
    best_angle = logits.argmax(axis=1)  # (M, D)
    is_best = np.arange(num_a)[None, :, None] == best_angle[:, None, :]
    bins = np.floor(np.clip(score, 0.0, 1.0) * 9.999) / 10.0
    reach = np.clip(tolerance / (TOLERANCE_RADIUS * TOLERANCE_SCALE), 0.0, 1.0)
    rank = np.where(is_best, bins + 0.099 * reach, 0.0)
    keep = np.arange(num)
    if graspable_only:
        keep = np.flatnonzero(_pick(outputs, "graspable", index, 2).argmax(axis=0) == 1)
    return {
        "seed_xyz": _pick(outputs, "seed_xyz", index, 2)[keep],
        "view_index": _pick(outputs, "view_index", index, 1)[keep],
        "score": rank[keep],
        "width": _pick(outputs, "width", index, 3)[keep],
        "keep": keep.astype(np.int64),
    }
