import numpy as np
import pytest

from grasplab.evaluation.voxel import TableGrid, create_table_points, voxel_down_sample


def _open3d_rule(points: np.ndarray, size: float) -> np.ndarray:
    """Open3D VoxelDownSample written point by point: origin = min - size/2, floor, mean."""
    origin = points.min(axis=0) - size / 2
    sums: dict[tuple[int, ...], list[np.ndarray]] = {}
    for p in points:
        key = tuple(int(v) for v in np.floor((p - origin) / size))
        sums.setdefault(key, []).append(p)
    return np.array([np.mean(sums[key], axis=0) for key in sorted(sums)])


def test_voxel_down_sample_known_answer():
    pts = np.array([[0.0, 0, 0], [0.002, 0, 0], [0.0039, 0, 0], [0.0041, 0, 0], [0.012, 0, 0]])
    # origin -0.004: voxel 0 holds x < 0.004, voxel 1 holds [0.004, 0.012), voxel 2 the rest
    out = voxel_down_sample(pts, 0.008)
    np.testing.assert_allclose(out[:, 0], [(0.0 + 0.002 + 0.0039) / 3, 0.0041, 0.012])
    np.testing.assert_allclose(out[:, 1:], 0.0)


def test_voxel_down_sample_matches_open3d_rule(rng):
    pts = rng.normal(size=(600, 3)) * 0.03
    np.testing.assert_allclose(voxel_down_sample(pts, 0.008), _open3d_rule(pts, 0.008), atol=1e-15)


def test_voxel_down_sample_does_not_mutate_and_validates(rng):
    pts = rng.normal(size=(20, 3))
    before = pts.copy()
    voxel_down_sample(pts, 0.1)
    np.testing.assert_array_equal(pts, before)
    assert voxel_down_sample(np.zeros((0, 3)), 0.1).shape == (0, 3)
    with pytest.raises(ValueError, match="voxel_size"):
        voxel_down_sample(pts, 0.0)
    with pytest.raises(ValueError, match="points"):
        voxel_down_sample(np.zeros((3, 2)), 0.1)


def test_table_points_reference_grid():
    table = create_table_points()
    assert table.shape == (125 * 125 * 6, 3)
    xs, zs = np.unique(table[:, 0]), np.unique(table[:, 2])
    assert len(xs) == 125 and len(zs) == 6
    np.testing.assert_allclose([xs[0], xs[-1], zs[0], zs[-1]], [-0.5, 0.5, -0.05, 0.0], atol=1e-15)
    np.testing.assert_allclose(np.diff(xs), 1 / 124)
    np.testing.assert_allclose(np.diff(zs), 0.01)
    grid = TableGrid.reference().points
    np.testing.assert_array_equal(np.unique(grid, axis=0), np.unique(table, axis=0))


def test_table_crop_equals_full_crop(rng):
    from scipy.spatial.transform import Rotation

    grid = TableGrid.reference()
    table = grid.points
    for seed in range(10):
        T = np.eye(4)
        T[:3, :3] = Rotation.random(random_state=seed).as_matrix()
        T[:3, 3] = rng.normal(0, 0.3, 3)
        cam = table @ T[:3, :3].T + T[:3, 3]
        centre = cam[rng.integers(len(cam))]
        lo, hi = centre - rng.uniform(0.01, 0.2, 3), centre + rng.uniform(0.01, 0.2, 3)
        expected = cam[np.all((cam > lo) & (cam < hi), axis=1)]
        got = grid.crop(T, lo, hi)
        assert len(got) == len(expected) > 0
        np.testing.assert_allclose(np.unique(got, axis=0), np.unique(expected, axis=0), atol=1e-12)


def test_voxel_down_sample_huge_extent_path():
    pts = np.array([[0.0, 0.0, 0.0], [1e9, 1e9, 1e9], [1e9, 1e9, 1e9 + 1e-4]])
    out = voxel_down_sample(pts, 1e-3)
    np.testing.assert_allclose(out, [[0.0, 0.0, 0.0], [1e9, 1e9, 1e9 + 5e-5]])
