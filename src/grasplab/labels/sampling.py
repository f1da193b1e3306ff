"""Surface point sampling for labels: dense area-weighted samples, then one point per voxel.

GraspNet-1Billion (§3.3) downsamples the mesh "such that the sampled points (called grasp
points) are uniformly distributed in voxel space". Here a dense, area-uniform sample of the
surface is reduced to one point per occupied voxel of edge ``spacing``: the sample nearest to the
centroid of its voxel's samples, so that every grasp point lies exactly on the surface (a voxel
centroid of a curved patch would not). Frames: the mesh frame, metres.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grasplab.core.validation import RngLike, as_array, as_rng, check_positive_scalar

__all__ = ["sample_surface_dense", "sample_surface_voxels", "voxel_downsample_on_surface"]

#: Hard cap on the dense sample so that a huge mesh at a fine spacing cannot exhaust memory.
MAX_DENSE_SAMPLES = 2_000_000


def sample_surface_dense(mesh: Any, count: int, rng: RngLike = None) -> np.ndarray:
    """Draw ``count`` points uniformly by area on a triangle mesh's surface.

    Args:
        mesh: ``trimesh.Trimesh`` with positive surface area.
        count: number of samples (≥ 1).
        rng: random generator or seed.

    Returns:
        (count, 3) float64 surface points, mesh frame.

    Raises:
        ValueError: ``count`` < 1 or the mesh has no area.
    """
    if int(count) != count or count < 1:
        raise ValueError(f"count: expected a positive integer, got {count!r}")
    generator = as_rng(rng)
    triangles = np.asarray(mesh.triangles, dtype=np.float64)
    areas = np.asarray(mesh.area_faces, dtype=np.float64)
    total = float(areas.sum())
    if not total > 0:
        raise ValueError("mesh: the surface area is zero; expected a mesh with non-degenerate faces")
    faces = generator.choice(len(areas), size=int(count), p=areas / total)
    u, v = generator.random((2, int(count)))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    tri = triangles[faces]
    return np.asarray(tri[:, 0] + u[:, None] * (tri[:, 1] - tri[:, 0])
                      + v[:, None] * (tri[:, 2] - tri[:, 0]))


def voxel_downsample_on_surface(points: np.ndarray, spacing: float) -> np.ndarray:
    """Keep one input point per occupied voxel: the one nearest to its voxel's centroid.

    Args:
        points: (N, 3) points (e.g. a dense surface sample), metres.
        spacing: voxel edge length, metres.

    Returns:
        (K, 3) float64 points, a subset of ``points``, ordered by voxel index (deterministic).

    >>> pts = np.array([[0.0, 0, 0], [0.001, 0, 0], [0.05, 0, 0]])
    >>> voxel_downsample_on_surface(pts, 0.01).shape
    (2, 3)
    """
    pts = as_array(points, "points", (None, 3))
    size = check_positive_scalar(spacing, "spacing")
    if len(pts) == 0:
        return pts
    keys = np.floor((pts - pts.min(axis=0)) / size).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    centroids = np.stack(
        [np.bincount(inverse, weights=pts[:, k]) for k in range(3)], axis=1
    ) / counts[:, None]
    dist = np.linalg.norm(pts - centroids[inverse], axis=1)
    order = np.lexsort((dist, inverse))
    first = np.ones(len(order), dtype=bool)
    first[1:] = inverse[order[1:]] != inverse[order[:-1]]
    return pts[order[first]]


def sample_surface_voxels(
    mesh: Any, spacing: float, rng: RngLike = None, samples_per_voxel: float = 8.0
) -> np.ndarray:
    """Points spread uniformly over a mesh's surface, about one per ``spacing``-sized voxel.

    Args:
        mesh: ``trimesh.Trimesh`` in metres.
        spacing: voxel edge length, metres (the typical distance between output points).
        rng: random generator or seed.
        samples_per_voxel: dense samples per ``spacing²`` of surface before downsampling.

    Returns:
        (K, 3) float64 surface points, mesh frame.
    """
    size = check_positive_scalar(spacing, "spacing")
    density = check_positive_scalar(samples_per_voxel, "samples_per_voxel")
    count = int(np.ceil(density * float(mesh.area) / size**2))
    count = int(np.clip(count, 1, MAX_DENSE_SAMPLES))
    dense = sample_surface_dense(mesh, count, rng)
    return voxel_downsample_on_surface(dense, size)
