"""Targets of the GraspNet-1Billion baseline that GSNet does not use: view scores and tolerance.

graspnet-1billion.txt §4.2 and §4.4, derived from the object-frame scene labels
(:class:`~grasplab.labels.graspness.SceneGraspLabels`, ``mu_centi`` 0 where no free grasp):

- **view score** (ApproachNet's regression target): per view, the best grasp score over its
  angle × depth grasps (:func:`~grasplab.labels.graspness.grasp_scores_from_mu`, 0 without a
  free grasp), returned in camera-view order as :func:`~grasplab.data.grasp_targets.seed_view_targets`.
- **tolerance** (ToleranceNet's target, "grasp affinity fields"): for a grasp (label point p,
  view, angle, depth) that is robust — free with score s = 1.1 − μ > 0.5, i.e. μ ≤ 0.5 on the
  0.1 grid — the farthest distance from p over which the same grasp at the neighbouring label
  points of the object stays robust: the distance to the nearest neighbour where it is not,
  else the neighbourhood's reach. The neighbourhood is the ``neighbors`` nearest label points
  within ``radius`` (5 cm, the gripper's reach across an object: grasplab's choice, the paper
  gives none); its reach is ``radius``, or the distance of the farthest neighbour kept when all
  ``neighbors`` lie inside. Non-robust grasps have tolerance 0.

Neighbourhoods are computed once per scene (:func:`label_neighbors`, one k-d tree per object);
targets of seeds are gathers of ``(M, K, A, D)`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.labels.graspness import SceneGraspLabels, grasp_scores_from_mu

__all__ = [
    "ROBUST_MU_CENTI",
    "TOLERANCE_NEIGHBORS",
    "TOLERANCE_RADIUS",
    "TOLERANCE_SCALE",
    "LabelNeighbors",
    "label_neighbors",
    "seed_tolerance_targets",
    "seed_view_score_targets",
]

#: Reach of the tolerance neighbourhood, metres.
TOLERANCE_RADIUS = 0.05
#: Label points kept per neighbourhood (8 mm label spacing: ~a 4-5 cm disc on a flat face).
TOLERANCE_NEIGHBORS = 64
#: ToleranceNet predicts centimetres: targets in metres × this.
TOLERANCE_SCALE = 100.0
#: Largest ``round(100 μ)`` of a robust grasp (GraspNet score 1.1 − μ > 0.5).
ROBUST_MU_CENTI = 50


@dataclass(frozen=True)
class LabelNeighbors:
    """Nearest label points of the same object, self excluded, nearest first.

    Attributes:
        index: (P, K) int64 label rows, -1 = none.
        distance: (P, K) float32 metres, inf where ``index`` is -1.
        reach: (P,) float32 the neighbourhood's reach (``radius``, or the K-th distance when all
            K neighbours lie inside it).
    """

    index: np.ndarray
    distance: np.ndarray
    reach: np.ndarray


def label_neighbors(
    labels: SceneGraspLabels, radius: float = TOLERANCE_RADIUS, neighbors: int = TOLERANCE_NEIGHBORS
) -> LabelNeighbors:
    """The :class:`LabelNeighbors` of every label point of a scene (within its own object).

    >>> from grasplab.labels.graspness import SceneGraspLabels
    >>> pts = np.array([[0, 0, 0], [0.01, 0, 0], [0.2, 0, 0]], np.float32)
    >>> z = np.zeros((3, 1, 1, 1), np.uint8)
    >>> s = SceneGraspLabels(np.array([1], np.int32), np.array([0, 3]), pts, np.zeros(3, np.float32),
    ...     np.zeros((3, 1), np.float16), z, z, None, np.zeros(1, np.float32), np.ones(1, np.float32))
    >>> n = label_neighbors(s, 0.05, 2)
    >>> n.index[0].tolist(), n.index[2].tolist(), n.reach.tolist()
    ([1, -1], [-1, -1], [0.05000000074505806, 0.05000000074505806, 0.05000000074505806])
    """
    if radius <= 0 or neighbors < 1:
        raise ValueError(f"expected radius > 0 and neighbors >= 1, got {radius}, {neighbors}")
    num = len(labels.points)
    index = np.full((num, neighbors), -1, dtype=np.int64)
    distance = np.full((num, neighbors), np.inf, dtype=np.float32)
    offsets = np.asarray(labels.point_offsets, dtype=np.int64)
    for start, stop in zip(offsets[:-1], offsets[1:], strict=True):
        if stop - start < 2:
            continue
        pts = np.asarray(labels.points[start:stop], dtype=np.float64)
        dist, idx = cKDTree(pts).query(pts, k=neighbors + 1, distance_upper_bound=radius)
        dist, idx = dist[:, 1:], idx[:, 1:]  # self first (distance 0)
        found = np.isfinite(dist)
        index[start:stop] = np.where(found, idx + start, -1)
        distance[start:stop] = dist
    full = index[:, -1] >= 0
    reach = np.where(full, distance[:, -1], radius).astype(np.float32)
    return LabelNeighbors(index, distance, reach)


def _robust(mu_centi: np.ndarray) -> np.ndarray:
    return (mu_centi > 0) & (mu_centi <= ROBUST_MU_CENTI)


def seed_tolerance_targets(
    labels: SceneGraspLabels,
    neighbors: LabelNeighbors,
    rows: ArrayLike,
    object_views: ArrayLike,
    angle_maps: ArrayLike,
) -> np.ndarray:
    """Tolerance of the seeds' grasps along their chosen views (see the module docstring).

    Args:
        labels: the scene's object-frame labels.
        neighbors: their :func:`label_neighbors`.
        rows: (M,) label rows (-1 = no label: zeros).
        object_views: (M,) object-frame view of each seed's chosen camera view.
        angle_maps: (M, A) object-frame angle per camera angle bin (as ``seed_grasp_targets``).

    Returns:
        (M, A, D) float32 metres, angle axis in camera order.
    """
    r = np.asarray(rows, dtype=np.int64)
    v = np.asarray(object_views, dtype=np.int64)
    amap = np.asarray(angle_maps, dtype=np.int64)
    safe = np.maximum(r, 0)
    robust_self = _robust(labels.mu_centi[safe, v])  # (M, A, D)
    near = neighbors.index[safe]  # (M, K)
    broken = ~_robust(labels.mu_centi[np.maximum(near, 0), v[:, None]]) & (near >= 0)[..., None, None]
    reach = neighbors.reach[safe][:, None, None, None]
    dist = np.where(broken, neighbors.distance[safe][..., None, None], reach).min(axis=1)
    tol = np.where(robust_self, np.minimum(dist, reach[:, 0]), 0.0).astype(np.float32)
    tol[r < 0] = 0.0
    return tol[np.arange(len(r))[:, None], amap]


def seed_view_score_targets(labels: SceneGraspLabels, rows: ArrayLike, view_maps: ArrayLike) -> np.ndarray:
    """Best grasp score of every camera view of the seeds (ApproachNet's regression target).

    Args:
        labels: the scene's object-frame labels.
        rows: (M,) label rows (-1 = no label: zeros).
        view_maps: (M, V) object-frame view per camera view.

    Returns:
        (M, V) float32 in [0, 1].
    """
    r = np.asarray(rows, dtype=np.int64)
    maps = np.asarray(view_maps, dtype=np.int64)
    mu = labels.mu_centi[np.maximum(r, 0)[:, None], maps]  # (M, V, A, D)
    free = mu > 0
    best = np.where(free, mu, 255).reshape(*mu.shape[:2], -1).min(axis=-1)
    out = grasp_scores_from_mu(np.where(best < 255, best / 100.0, 0.0)).astype(np.float32)
    out[r < 0] = 0.0
    return out
