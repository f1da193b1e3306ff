"""Grasp tolerance labels: the grasp affinity fields of GraspNet-1Billion (§4.4).

"Given a ground truth grasp pose, we search its neighbors in the sphere space to see the farthest
distance that the grasp is still robust with grasp score s > 0.5." Here:

- the **score** is the paper's ``s = 1.1 - μ`` (eq. 2) of a label with minimal friction
  coefficient μ; bad labels (μ = -1) have no score. ``s > 0.5`` ⇔ ``0 < μ < 0.6``, i.e. μ ≤ 0.5 on
  the 0.1 label grid;
- a grasp's **neighbours at radius r** are the label grasps with the same view, in-plane angle and
  depth at the grasp points within distance r of its own point (itself included): a
  translational perturbation of the grasp;
- the **tolerance** is the largest radius of the grid ``0, step, 2·step, …, max_radius`` such
  that at every grid radius up to it at least ``pos_ratio`` of the neighbours keep s > 0.5. With
  the default ``pos_ratio = 1`` all of them must; graspnet-baseline's generator uses 0.8, a
  1 mm step and 5 cm. A grasp that is not itself good has tolerance 0, as has a good grasp whose
  nearest neighbours fail at the first step.

Units: metres; grasp points in the object frame.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core.validation import as_array, check_positive_scalar

__all__ = ["GOOD_SCORE", "good_label_mask", "grasp_tolerance"]

#: Score threshold of the paper (s = 1.1 - μ must exceed it).
GOOD_SCORE = 0.5


def good_label_mask(min_mu: ArrayLike, score_thresh: float = GOOD_SCORE) -> np.ndarray:
    """Labels whose score ``s = 1.1 - μ`` exceeds ``score_thresh`` (bad labels, μ ≤ 0, never).

    A 1e-6 slack absorbs float rounding of the μ grid (1.1 - 0.6 is 0.5000000000000001).

    >>> good_label_mask([-1.0, 0.1, 0.5, 0.6]).tolist()
    [False, True, True, False]
    """
    mu = np.asarray(min_mu, dtype=np.float64)
    return np.asarray((mu > 0) & (1.1 - mu > score_thresh + 1e-6))


def grasp_tolerance(
    points: ArrayLike,
    min_mu: ArrayLike,
    max_radius: float = 0.05,
    step: float = 0.001,
    pos_ratio: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Tolerance of every label grasp to translational perturbation (module docstring).

    Args:
        points: (P, 3) grasp points, metres.
        min_mu: (P, ...) minimal friction coefficients (-1 bad), e.g. (P, V, A, D).
        max_radius: largest radius searched, metres.
        step: radius grid step, metres.
        pos_ratio: fraction of neighbours that must stay good, in (0, 1].
        progress: optional callback, called with the number of points just finished.

    Returns:
        Array shaped like ``min_mu``, float32 radii in metres.

    Raises:
        ValueError: mismatched shapes or invalid parameters.
    """
    pts = as_array(points, "points", (None, 3))
    mu = np.asarray(min_mu)
    if mu.ndim < 1 or mu.shape[0] != len(pts):
        raise ValueError(f"min_mu: expected shape ({len(pts)}, ...), got {mu.shape}")
    radii = _radius_grid(max_radius, step)
    if not 0 < pos_ratio <= 1:
        raise ValueError(f"pos_ratio: expected a fraction in (0, 1], got {pos_ratio}")
    good = good_label_mask(mu).reshape(len(pts), -1)
    out = np.zeros(good.shape, dtype=np.float32)
    tree = cKDTree(pts)
    for i in range(len(pts)):
        out[i] = _point_tolerance(tree, pts, good, i, radii, pos_ratio)
        if progress is not None:
            progress(1)
    return out.reshape(mu.shape)


def _radius_grid(max_radius: float, step: float) -> np.ndarray:
    top = check_positive_scalar(max_radius, "max_radius")
    size = check_positive_scalar(step, "step")
    count = int(np.floor(top / size + 1e-9))
    return np.arange(count + 1) * size


def _point_tolerance(
    tree: cKDTree, pts: np.ndarray, good: np.ndarray, i: int, radii: np.ndarray,
    pos_ratio: float,
) -> np.ndarray:
    """Tolerance of all grasps of point i: grow the ball ring by ring, stop when all failed."""
    neighbours = np.asarray(tree.query_ball_point(pts[i], r=radii[-1] * (1 + 1e-9)), dtype=int)
    dist = np.linalg.norm(pts[neighbours] - pts[i], axis=1)
    order = np.argsort(dist, kind="stable")
    neighbours, dist = neighbours[order], dist[order]
    ring_end = np.searchsorted(dist, radii * (1 + 1e-9), side="right")
    tol = np.zeros(good.shape[1], dtype=np.float32)
    cols = np.flatnonzero(good[i])  # grasps still robust (only good grasps start alive)
    positives = np.zeros(len(cols), dtype=np.int64)
    start = 0
    for radius, end in zip(radii, ring_end, strict=True):
        if end > start:
            positives += good[np.ix_(neighbours[start:end], cols)].sum(axis=0)
            start = end
        keep = positives >= pos_ratio * end - 1e-9
        cols, positives = cols[keep], positives[keep]
        if len(cols) == 0:
            break
        tol[cols] = radius
    return tol
