"""Grasp-to-object assignment and the reference's top-grasp selection rule.

After pose NMS the reference evaluation (graspnetAPI ``eval_grasp``) gives every grasp to the
object owning the nearest 8 mm-sampled model point to the grasp **translation**, keeps at most 10
grasps per object by confidence, and then keeps only those whose confidence reaches the
50th-highest confidence of the pooled kept grasps (index ``min(49, n - 1)``), so ties can admit
more than 50 grasps.

The nearest-point search uses one KD-tree per object in its model frame (built once per scene):
the grasp translations are mapped into each object's frame with the inverse pose, and the object
with the smallest distance wins (the first object on exact ties, as the reference's argmin over
the concatenated points). Rigid poses preserve distances, so this equals the reference's dense
search in the camera frame, without its N x M matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["MAX_PER_OBJECT", "TOP_RANK_INDEX", "assign_to_objects", "select_top_grasps"]

#: At most this many grasps per object are evaluated (reference: ``grasp_i[:10]``).
MAX_PER_OBJECT = 10
#: Index of the pooled confidence threshold (reference: ``min(49, n - 1)``).
TOP_RANK_INDEX = 49


def assign_to_objects(
    translations: np.ndarray, trees: Sequence[cKDTree], poses: np.ndarray
) -> np.ndarray:
    """Assign each grasp to the object owning the nearest model point to its translation.

    Args:
        translations: (N, 3) grasp translations, camera frame, metres.
        trees: K KD-trees over each object's sampled points in its model frame.
        poses: (K, 4, 4) ``T_cam_obj`` of the K objects in this frame.

    Returns:
        (N,) int64 object index in ``0..K-1``; all -1 when K = 0.
    """
    t = np.asarray(translations, dtype=np.float64).reshape(-1, 3)
    if len(trees) != len(poses):
        raise ValueError(f"got {len(trees)} KD-trees but {len(poses)} object poses")
    if len(trees) == 0 or len(t) == 0:
        return np.full(len(t), -1, dtype=np.int64)
    distances = np.empty((len(trees), len(t)))
    inverses = np.linalg.inv(np.asarray(poses, dtype=np.float64))  # one batched call
    for k, (tree, inverse) in enumerate(zip(trees, inverses, strict=True)):
        local = t @ inverse[:3, :3].T + inverse[:3, 3]
        distances[k], _ = tree.query(local)
    assignment: np.ndarray = np.argmin(distances, axis=0).astype(np.int64)
    return assignment


def select_top_grasps(
    confidences: np.ndarray,
    assignment: np.ndarray,
    num_objects: int,
    max_per_object: int = MAX_PER_OBJECT,
    rank_index: int = TOP_RANK_INDEX,
) -> np.ndarray:
    """Indices of the grasps the reference evaluates (at most 10 per object, then a threshold).

    Per object the grasps are sorted by confidence (descending, stable) and the first
    ``max_per_object`` kept; the pooled kept grasps' confidence at rank
    ``min(rank_index, n - 1)`` is the threshold, and kept grasps with confidence >= it survive.

    Args:
        confidences: (N,) predicted confidences (grasp column 0).
        assignment: (N,) object index of each grasp, in ``0..num_objects-1`` (others ignored).
        num_objects: K.
        max_per_object: per-object cap (10 in the reference).
        rank_index: threshold rank (49 in the reference).

    Returns:
        (M,) int64 indices into the inputs, grouped by object (object order) and sorted by
        confidence within each object; empty when nothing is assigned.

    Example:
        >>> select_top_grasps(np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), 2, 1).tolist()
        [0, 2]
    """
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    owner = np.asarray(assignment, dtype=np.int64).reshape(-1)
    if conf.shape != owner.shape:
        raise ValueError(f"confidences {conf.shape} and assignment {owner.shape} differ in shape")
    kept: list[np.ndarray] = []
    for k in range(num_objects):
        members = np.flatnonzero(owner == k)
        order = np.argsort(-conf[members], kind="stable")
        kept.append(members[order[:max_per_object]])
    pooled = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    if len(pooled) == 0:
        return pooled.astype(np.int64)
    ranked = np.sort(conf[pooled])[::-1]
    threshold = ranked[min(rank_index, len(ranked) - 1)]
    selected: np.ndarray = pooled[conf[pooled] >= threshold].astype(np.int64)
    return selected
