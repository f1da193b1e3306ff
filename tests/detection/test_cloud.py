from __future__ import annotations

import numpy as np
import pytest

from grasplab.detection import estimate_normals, fit_plane, voxel_downsample


def test_voxel_downsample_known_answer() -> None:
    pts = np.array([[0.001, 0.001, 0.001], [0.003, 0.003, 0.003], [0.011, 0.0, 0.0],
                    [-0.001, 0.0, 0.0]])
    centroids, voxel = voxel_downsample(pts, 0.01)
    assert len(centroids) == 3
    np.testing.assert_allclose(centroids[voxel[0]], [0.002, 0.002, 0.002])
    assert voxel[0] == voxel[1] and len({voxel[0], voxel[2], voxel[3]}) == 3
    np.testing.assert_allclose(centroids[voxel[2]], pts[2])
    np.testing.assert_allclose(centroids[voxel[3]], pts[3])


def test_voxel_downsample_bounds_and_empty(rng: np.random.Generator) -> None:
    pts = rng.uniform(-0.2, 0.2, size=(5000, 3))
    centroids, voxel = voxel_downsample(pts, 0.05)
    assert len(centroids) <= 8**3  # at most one per occupied 5 cm voxel of the 40 cm cube
    # every point lies in the same 5 cm voxel as its centroid
    np.testing.assert_array_equal(np.floor(pts / 0.05), np.floor(centroids[voxel] / 0.05))
    empty, idx = voxel_downsample(np.zeros((0, 3)), 0.01)
    assert empty.shape == (0, 3) and idx.shape == (0,)
    with pytest.raises(ValueError, match="voxel_size"):
        voxel_downsample(pts, 0.0)
    with pytest.raises(ValueError, match="points"):
        voxel_downsample(np.zeros((3, 2)), 0.01)


def test_normals_of_tilted_plane_face_the_camera(rng: np.random.Generator) -> None:
    u, v = np.meshgrid(np.linspace(-0.1, 0.1, 30), np.linspace(-0.1, 0.1, 30))
    normal = np.array([0.3, -0.2, -1.0])
    normal /= np.linalg.norm(normal)
    e1 = np.cross(normal, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    pts = np.array([0.0, 0.0, 0.6]) + u.reshape(-1, 1) * e1 + v.reshape(-1, 1) * e2
    pts += rng.normal(0.0, 1e-4, pts.shape)
    normals = estimate_normals(pts, 10)
    assert normals.shape == pts.shape
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-9)
    assert np.min(normals @ normal) > 0.99  # oriented towards the camera at the origin
    query = np.array([3, 17])
    np.testing.assert_allclose(estimate_normals(pts, 10, query=query), normals[query])


def test_normals_bad_input() -> None:
    with pytest.raises(ValueError, match="num_neighbors"):
        estimate_normals(np.zeros((10, 3)), 2)
    with pytest.raises(ValueError, match="at least 3"):
        estimate_normals(np.zeros((2, 3)), 5)


def test_fit_plane_with_outliers(rng: np.random.Generator) -> None:
    table = np.c_[rng.uniform(-0.3, 0.3, (3000, 2)), rng.normal(0.0, 0.001, 3000)]
    clutter = rng.uniform([-0.1, -0.1, 0.02], [0.1, 0.1, 0.1], (1000, 3))
    pts = np.concatenate([table, clutter])
    normal, offset, inliers = fit_plane(pts, 0.005, rng=0)
    assert abs(abs(normal[2]) - 1.0) < 1e-3 and abs(offset) < 1e-3
    assert inliers[:3000].mean() > 0.99 and not inliers[3000:].any()
    again = fit_plane(pts, 0.005, rng=0)
    np.testing.assert_array_equal(again[2], inliers)
    with pytest.raises(ValueError, match="collinear"):
        fit_plane(np.c_[np.arange(5.0), np.zeros(5), np.zeros(5)], 0.01, rng=0)
