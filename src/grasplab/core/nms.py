"""Pose non-maximum suppression of 6-DoF grasps, exactly the reference rule.

graspnetAPI suppresses a lower-ranked grasp when, relative to a kept one, both the translation
distance and the relative rotation angle are below their thresholds (reference protocol §4 step 1;
3 cm and 30° in evaluation). This module computes the same selection without the reference's
O(N²) loop: candidate pairs come from a KD-tree, angles are computed for those pairs only.
Units: metres and radians.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core.validation import as_array

_MAX_PAIRS = 5_000_000
"""Above this many candidate pairs, NMS switches to the memory-light per-grasp queries."""

_RADIUS_SLACK = 1.0 + 1e-9
"""KD-tree radii are widened by this factor so that no pair whose distance, computed as the
rule computes it, is below the threshold can be lost to rounding; the rule is then applied."""

_PAIR_CHUNK = 1 << 20  # pairs whose rotation angles are computed at once (~150 MB peak)


def _rotation_angles(rot: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Angles acos((trace(R_i R_j^T) - 1) / 2) for index pairs, trace clamped to [-1, 3]."""
    flat = rot.reshape(-1, 9)
    trace = np.einsum("pk,pk->p", np.take(flat, i, axis=0), np.take(flat, j, axis=0))
    np.minimum(trace, 3.0, out=trace)
    np.maximum(trace, -1.0, out=trace)
    return np.arccos((trace - 1.0) / 2.0)


def _pair_distances(t: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Euclidean distances between t[i] and t[j]."""
    diff = np.take(t, i, axis=0) - np.take(t, j, axis=0)
    return np.sqrt(np.einsum("pk,pk->p", diff, diff))


def _suppresses(
    t: np.ndarray, rot: np.ndarray, i: np.ndarray, j: np.ndarray, dist: float, angle: float
) -> np.ndarray:
    """(P,) bool: the reference rule, both strict thresholds, for pairs (i[p], j[p])."""
    out = np.empty(len(i), dtype=bool)
    for a in range(0, len(i), _PAIR_CHUNK):
        ii, jj = i[a : a + _PAIR_CHUNK], j[a : a + _PAIR_CHUNK]
        out[a : a + _PAIR_CHUNK] = (_pair_distances(t, ii, jj) < dist) & (
            _rotation_angles(rot, ii, jj) < angle
        )
    return out


def pose_nms_indices(
    translations: np.ndarray,
    rotations: np.ndarray,
    scores: np.ndarray,
    translation_thresh: float = 0.03,
    rotation_thresh: float = np.pi / 6,
    *,
    max_pairs: int = _MAX_PAIRS,
) -> np.ndarray:
    """Indices of the grasps kept by the reference pose NMS, in score-descending order.

    Candidate pairs within ``translation_thresh`` come from a KD-tree; rotation angles
    are computed for those pairs only; the greedy pass then walks the sparse neighbour
    lists, touching only grasps that have neighbours. When there are more than
    ``max_pairs`` candidate pairs (very dense inputs), it queries the tree once per kept
    grasp instead, which needs memory for one neighbourhood only.

    Args:
        translations: (N, 3) grasp points in metres.
        rotations: (N, 3, 3) rotations.
        scores: (N,) confidences; higher ranks first, ties by index.
        translation_thresh: strict distance threshold in metres, >= 0.
        rotation_thresh: strict angle threshold in radians, >= 0.
        max_pairs: candidate-pair budget of the all-pairs path.

    Returns:
        (K,) int64 indices into the inputs, sorted by score descending.

    Raises:
        ValueError: on negative or non-finite thresholds, mismatched shapes or
            non-finite inputs.
    """
    for name, value in (("translation_thresh", translation_thresh),
                        ("rotation_thresh", rotation_thresh)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name}: expected a finite value >= 0, got {value}")
    score = as_array(scores, "scores", (None,))
    num = len(score)
    t_all = as_array(translations, "translations", (num, 3))
    rot_all = as_array(rotations, "rotations", (num, 3, 3))
    if num == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-score, kind="stable")
    t, rot = t_all[order], rot_all[order]
    tree = cKDTree(t)
    dense = _estimate_close_pairs(t, translation_thresh) > max_pairs and (
        (tree.count_neighbors(tree, translation_thresh) - num) // 2 > max_pairs
    )
    greedy = _greedy_ball_queries if dense else _greedy_all_pairs
    removed = greedy(tree, t, rot, translation_thresh, rotation_thresh)
    return order[~removed].astype(np.int64)


def _estimate_close_pairs(t: np.ndarray, dist_thresh: float) -> float:
    """Cheap over-estimate of the number of point pairs closer than ``dist_thresh``.

    Pairs sharing a grid cell of that size, times 27 (the neighbouring cells); the true
    count is usually several times lower. Used to skip an exact count on sparse inputs.
    """
    if dist_thresh <= 0:
        return 0.0
    cells = np.floor(t / dist_thresh)
    if not np.isfinite(cells).all():
        return float("inf")
    _, counts = np.unique(cells.astype(np.int64), axis=0, return_counts=True)
    return float(27 * np.sum(counts.astype(np.float64) * (counts - 1) / 2))


def _greedy_all_pairs(
    tree: cKDTree, t: np.ndarray, rot: np.ndarray, dist_thresh: float, angle_thresh: float
) -> np.ndarray:
    """Greedy suppression over all close pairs; grasps are in rank order. Returns removed mask."""
    num = len(t)
    removed = np.zeros(num, dtype=bool)
    pairs = tree.query_pairs(dist_thresh * _RADIUS_SLACK, output_type="ndarray")
    if len(pairs) == 0:
        return removed
    hi, lo = pairs[:, 0], pairs[:, 1]  # scipy returns i < j: hi ranks above lo
    close = _suppresses(t, rot, hi, lo, dist_thresh, angle_thresh)
    hi, lo = hi[close], lo[close]
    by_hi = np.argsort(hi)
    lo = lo[by_hi]
    starts = np.searchsorted(hi[by_hi], np.arange(num + 1))
    for i in np.flatnonzero(starts[1:] > starts[:-1]).tolist():
        if not removed[i]:
            removed[lo[starts[i] : starts[i + 1]]] = True
    return removed


def _greedy_ball_queries(
    tree: cKDTree, t: np.ndarray, rot: np.ndarray, dist_thresh: float, angle_thresh: float
) -> np.ndarray:
    """Greedy suppression querying the tree per kept grasp. Returns removed mask."""
    num = len(t)
    removed = np.zeros(num, dtype=bool)
    for i in range(num):
        if removed[i]:
            continue
        nb = np.asarray(tree.query_ball_point(t[i], dist_thresh * _RADIUS_SLACK), dtype=np.int64)
        nb = nb[(nb > i)]
        nb = nb[~removed[nb]]
        if nb.size == 0:
            continue
        me = np.full(nb.size, i, dtype=np.int64)
        removed[nb[_suppresses(t, rot, me, nb, dist_thresh, angle_thresh)]] = True
    return removed
