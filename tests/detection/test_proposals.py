from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core import check_rotations
from grasplab.detection.proposals import (
    PAD_COORD,
    approach_directions,
    candidate_rotations,
    local_frames,
    neighborhoods,
)


def test_approach_directions_cone(rng: np.random.Generator) -> None:
    normals = rng.normal(size=(20, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    tilt = np.deg2rad(25.0)
    views = approach_directions(normals, 3, tilt, rng.uniform(0, 2 * np.pi, 20))
    assert views.shape == (20, 4, 3)
    np.testing.assert_allclose(np.linalg.norm(views, axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(views[:, 0], -normals)  # first view: straight into the surface
    cos = np.einsum("svi,si->sv", views[:, 1:], -normals)
    np.testing.assert_allclose(cos, np.cos(tilt), atol=1e-12)
    # the tilted views are evenly spread around the cone (120 degrees apart)
    ring = views[:, 1:] - np.cos(tilt) * -normals[:, None]
    pair = np.einsum("si,si->s", ring[:, 0], ring[:, 1]) / np.sin(tilt) ** 2
    np.testing.assert_allclose(pair, np.cos(2 * np.pi / 3), atol=1e-9)


def test_candidate_rotations_span_half_a_turn() -> None:
    views = np.array([[[0.0, 0.0, 1.0], [0.0, 0.6, 0.8]]])
    rot = candidate_rotations(views, 6)
    assert rot.shape == (1, 12, 3, 3)
    check_rotations(rot.reshape(-1, 3, 3))
    np.testing.assert_allclose(rot[0, :6, :, 0], np.tile([0.0, 0.0, 1.0], (6, 1)), atol=1e-12)
    jaws = rot[0, :6, :, 1]
    angles = np.degrees(np.arccos(np.clip(jaws @ jaws[0], -1, 1)))
    np.testing.assert_allclose(angles, [0, 30, 60, 90, 120, 150], atol=1e-9)


def test_local_frames_match_direct_products(rng: np.random.Generator) -> None:
    points = rng.uniform(-0.1, 0.1, (200, 3))
    normals = rng.normal(size=(200, 3))
    tree = cKDTree(points)
    centres = points[:3]
    neighbors = neighborhoods(tree, centres, 0.05, 64)
    assert neighbors.shape == (3, 64) and np.any(neighbors == 200)
    rot = candidate_rotations(approach_directions(
        normals[:3] / np.linalg.norm(normals[:3], axis=1, keepdims=True), 1, 0.3, np.zeros(3)), 2)
    local, normal_y = local_frames(points, normals, neighbors, centres, rot)
    assert local.shape == (3, 64, 4, 3) and normal_y.shape == (3, 64, 4)
    s, k, r = 2, 1, 3
    j = neighbors[s, k]
    np.testing.assert_allclose(local[s, k, r], (points[j] - centres[s]) @ rot[s, r], atol=1e-6)
    np.testing.assert_allclose(normal_y[s, k, r], normals[j] @ rot[s, r][:, 1], atol=1e-6)
    pad = neighbors == 200
    assert np.all(np.abs(local[pad]).max(axis=-1) > PAD_COORD / 2)  # far outside any box
