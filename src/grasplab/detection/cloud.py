"""Point-cloud processing for detection: voxel downsampling, PCA normals and a RANSAC plane.

All points are (N, 3) arrays in metres in one frame (the camera frame in the detectors). Normals
are unit vectors oriented towards a viewpoint (the camera centre by default), i.e. they point
out of the observed surfaces. Everything is vectorized numpy/scipy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core import as_array, as_rng, check_positive_scalar
from grasplab.core.validation import RngLike
from grasplab.core.voxels import voxel_keys, voxel_ranks


def voxel_downsample(points: ArrayLike, voxel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Average the points of each occupied voxel of a regular grid.

    Args:
        points: (N, 3) points in metres.
        voxel_size: voxel edge length in metres.

    Returns:
        ``(centroids (V, 3) float64, voxel_of_point (N,) int64)``: the mean of the points in each
        occupied voxel, ordered by voxel key, and the index of each input point's voxel.

    >>> c, idx = voxel_downsample([[0.001, 0, 0], [0.002, 0, 0], [0.02, 0, 0]], 0.01)
    >>> c.round(4).tolist(), idx.tolist()
    ([[0.0015, 0.0, 0.0], [0.02, 0.0, 0.0]], [0, 0, 1])
    """
    pts = as_array(points, "points", (None, 3))
    size = check_positive_scalar(voxel_size, "voxel_size")
    if len(pts) == 0:
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    inverse = voxel_ranks(*voxel_keys(pts, size))
    counts = np.bincount(inverse).astype(np.float64)
    sums = np.stack([np.bincount(inverse, weights=pts[:, i]) for i in range(3)], axis=1)
    return sums / counts[:, None], inverse


def estimate_normals(
    points: ArrayLike,
    num_neighbors: int = 12,
    viewpoint: ArrayLike = (0.0, 0.0, 0.0),
    query: np.ndarray | None = None,
    tree: cKDTree | None = None,
) -> np.ndarray:
    """Unit normals by PCA over the k nearest neighbours, oriented towards ``viewpoint``.

    The normal of a point is the eigenvector of the smallest eigenvalue of the covariance of its
    ``num_neighbors`` nearest points (itself included); covariances are built in one batched
    ``einsum`` and decomposed with one batched ``np.linalg.eigh``.

    Args:
        points: (N, 3) cloud in metres.
        num_neighbors: k ≥ 3.
        viewpoint: (3,) the sensor position in the points' frame (the camera centre is the
            origin of the camera frame); normals satisfy ``n · (viewpoint - p) >= 0``.
        query: optional (Q,) int indices of the points whose normals are wanted (default all).
        tree: optional prebuilt ``cKDTree(points)``.

    Returns:
        (Q, 3) float64 unit normals (Q = N without ``query``).

    >>> plane = np.stack(np.meshgrid(np.arange(5.0), np.arange(5.0), [1.0]), -1).reshape(-1, 3)
    >>> np.abs(estimate_normals(plane, 8)[:, 2]).min() > 0.999
    np.True_
    """
    pts = as_array(points, "points", (None, 3))
    k = int(num_neighbors)
    if k < 3:
        raise ValueError(f"num_neighbors: expected an integer >= 3, got {num_neighbors}")
    view = as_array(viewpoint, "viewpoint", (3,))
    idx = np.arange(len(pts)) if query is None else np.asarray(query, dtype=np.int64)
    if len(idx) == 0:
        return np.zeros((0, 3))
    if len(pts) < 3:
        raise ValueError(f"points: need at least 3 points to estimate normals, got {len(pts)}")
    k = min(k, len(pts))
    tree = cKDTree(pts) if tree is None else tree
    _, neighbors = tree.query(pts[idx], k=k)
    local = pts[neighbors]
    local -= local.mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", local, local)
    _, vectors = np.linalg.eigh(cov)
    normals = vectors[:, :, 0]
    flip = np.einsum("ni,ni->n", normals, view - pts[idx]) < 0
    normals[flip] *= -1.0
    return np.asarray(normals)


def fit_plane(
    points: ArrayLike,
    threshold: float = 0.008,
    num_hypotheses: int = 64,
    rng: RngLike = None,
    max_points: int = 4000,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Fit the dominant plane of a cloud by RANSAC, refined by least squares on its inliers.

    All hypotheses (planes through three random points) are scored in one vectorized pass.

    Args:
        points: (N, 3) cloud in metres, N ≥ 3.
        threshold: inlier distance in metres.
        num_hypotheses: number of random three-point planes.
        rng: random generator or seed.
        max_points: hypotheses are scored on at most this many random points.

    Returns:
        ``(normal (3,), offset, inliers (N,) bool)`` with the plane ``normal · p + offset = 0``
        and ``|normal| = 1``.
    """
    pts = as_array(points, "points", (None, 3))
    thresh = check_positive_scalar(threshold, "threshold")
    if len(pts) < 3:
        raise ValueError(f"points: need at least 3 points to fit a plane, got {len(pts)}")
    gen = as_rng(rng)
    triples = gen.integers(0, len(pts), size=(int(num_hypotheses), 3))
    a, b, c = pts[triples[:, 0]], pts[triples[:, 1]], pts[triples[:, 2]]
    normals = np.cross(b - a, c - a)
    norms = np.linalg.norm(normals, axis=1)
    good = norms > 1e-12
    if not np.any(good):
        raise ValueError("points: degenerate cloud (collinear), no plane can be fitted")
    normals = normals[good] / norms[good, None]
    offsets = -np.einsum("hi,hi->h", normals, a[good])
    subset = pts if len(pts) <= max_points else pts[gen.choice(len(pts), max_points, replace=False)]
    counts = (np.abs(subset @ normals.T + offsets) < thresh).sum(axis=0)
    best = int(np.argmax(counts))
    inliers = np.abs(pts @ normals[best] + offsets[best]) < thresh
    centre = pts[inliers].mean(axis=0)
    _, _, vt = np.linalg.svd(pts[inliers] - centre, full_matrices=False)
    normal = vt[-1]
    offset = -float(normal @ centre)
    return normal, offset, np.abs(pts @ normal + offset) < thresh
