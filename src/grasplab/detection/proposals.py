"""Grasp proposals around sampled surface points: approach views, rotations, local frames.

GPD-style sampling (GraspNet-1Billion §2 and Fig. 3: a grasp point, then views, in-plane
rotations and depths): each sampled point gets approach directions near its inward normal (the
normal itself plus views tilted by a fixed angle on a cone around it), each view ``num_angles``
in-plane rotations ``i π / A`` built with the reference ``rotation_from_view``. Frames are the
camera frame in metres; rotation columns are approach, jaw axis and height (reference §1).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core import rotation_from_view

#: Coordinate given to padding neighbours: far outside every gripper region.
PAD_COORD = 1.0e3


def approach_directions(
    normals: np.ndarray, num_tilted: int, tilt: float, phase: np.ndarray
) -> np.ndarray:
    """Approach directions: the inward normal and ``num_tilted`` views on a cone around it.

    Args:
        normals: (S, 3) outward unit normals of the sampled points.
        num_tilted: number of tilted views per point (0 keeps the normal view only).
        tilt: cone half-angle in radians.
        phase: (S,) azimuth of the first tilted view, radians (randomizes the cone).

    Returns:
        (S, 1 + num_tilted, 3) unit approach vectors (pointing into the surface).

    >>> approach_directions(np.array([[0.0, 0.0, -1.0]]), 2, 0.5, np.zeros(1)).shape
    (1, 3, 3)
    """
    inward = -normals
    helper = np.where(np.abs(inward[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    e1 = np.cross(inward, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(inward, e1)
    azimuth = phase[:, None] + 2 * np.pi * np.arange(num_tilted) / max(num_tilted, 1)
    ring = np.cos(azimuth)[..., None] * e1[:, None] + np.sin(azimuth)[..., None] * e2[:, None]
    tilted = np.cos(tilt) * inward[:, None] + np.sin(tilt) * ring
    return np.concatenate([inward[:, None], tilted], axis=1)


def candidate_rotations(approaches: np.ndarray, num_angles: int) -> np.ndarray:
    """Rotations for every (view, in-plane angle ``i π / A``) of every point.

    Args:
        approaches: (S, V, 3) unit approach vectors.
        num_angles: A in-plane angles over [0, π) (the jaw flip makes π redundant).

    Returns:
        (S, V * A, 3, 3) float64 rotations, view-major.
    """
    num, views, _ = approaches.shape
    angles = np.arange(num_angles) * np.pi / num_angles
    flat = np.repeat(approaches.reshape(-1, 3), num_angles, axis=0)
    rot = rotation_from_view(flat, np.tile(angles, num * views))
    return rot.reshape(num, views * num_angles, 3, 3)


def neighborhoods(
    tree: cKDTree, centres: np.ndarray, radius: float, max_neighbors: int
) -> np.ndarray:
    """Indices of up to ``max_neighbors`` nearest cloud points within ``radius`` of each centre.

    Args:
        tree: KD-tree over the M cloud points.
        centres: (S, 3) query points.
        radius: search radius in metres.
        max_neighbors: cap K on the neighbours kept per centre (nearest first).

    Returns:
        (S, K) int64 indices, padded with M (one past the last point) where fewer exist.
    """
    k = int(min(max_neighbors, tree.n))
    _, index = tree.query(centres, k=k, distance_upper_bound=radius)
    return np.asarray(index, dtype=np.int64).reshape(len(centres), k)


def local_frames(
    points: np.ndarray,
    normals: np.ndarray,
    neighbors: np.ndarray,
    centres: np.ndarray,
    rotations: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour points in each candidate's gripper frame and their normals' jaw component.

    Args:
        points: (M, 3) cloud, metres.
        normals: (M, 3) outward unit normals (rows not needed may be zero).
        neighbors: (S, K) indices into the cloud, M marks padding.
        centres: (S, 3) grasp points.
        rotations: (S, R, 3, 3) candidate rotations per grasp point.

    Returns:
        ``(local (S, K, R, 3) float32, normal_y (S, K, R) float32)``: ``(p - t) @ R`` and
        ``n · R[:, 1]`` for neighbour k of point s under rotation r; padding points sit at
        :data:`PAD_COORD`.
    """
    num, num_rot = rotations.shape[:2]
    k = neighbors.shape[1]
    pad_points = np.concatenate([points, np.full((1, 3), PAD_COORD)]).astype(np.float32)
    pad_normals = np.concatenate([normals, np.zeros((1, 3))]).astype(np.float32)
    rel = pad_points[neighbors] - centres[:, None, :].astype(np.float32)  # (S, K, 3)
    rel[neighbors == len(points)] = PAD_COORD
    rot = rotations.astype(np.float32)
    axes = rot.transpose(0, 2, 1, 3).reshape(num, 3, num_rot * 3)  # every R's columns
    local = np.matmul(rel, axes).reshape(num, k, num_rot, 3)
    normal_y = np.matmul(pad_normals[neighbors], rot[:, :, :, 1].transpose(0, 2, 1))
    return local, normal_y
