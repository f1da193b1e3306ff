"""Tolerance (grasp affinity fields), stable score and surface sampling known answers."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.labels import (
    good_label_mask,
    grasp_tolerance,
    gripper_plane_distances,
    normalize_stable_scores,
    sample_surface_voxels,
)
from grasplab.labels.sampling import sample_surface_dense, voxel_downsample_on_surface


def _line(num: int = 11) -> np.ndarray:
    return np.stack([np.arange(num) * 0.001, np.zeros(num), np.zeros(num)], axis=1)


def test_tolerance_on_a_line_known_answers() -> None:
    # Points 1 mm apart; grasp 0 good (μ 0.3) at points 0..5, bad (μ 0.8) at 6..10.
    mu = np.where(np.arange(11) <= 5, 0.3, 0.8)[:, None]
    tol = grasp_tolerance(_line(), mu, max_radius=0.01, step=0.001)[:, 0]
    # point 0: the ball of radius 5 mm holds points 0..5, all good; 6 mm reaches point 6.
    assert tol[0] == pytest.approx(0.005)
    # point 3: 2 mm reaches points 1..5; 3 mm reaches point 6.
    assert tol[3] == pytest.approx(0.002)
    assert tol[5] == 0.0  # its neighbour at 1 mm is bad
    assert np.all(tol[6:] == 0)  # bad grasps


def test_tolerance_positive_ratio_and_cap() -> None:
    mu = np.where(np.arange(11) == 2, -1.0, 0.1)[:, None]
    strict = grasp_tolerance(_line(), mu, max_radius=0.004, step=0.001)[:, 0]
    assert strict[0] == pytest.approx(0.001)  # point 2 at 2 mm is bad
    assert strict[8] == pytest.approx(0.004)  # all good up to the cap
    loose = grasp_tolerance(_line(), mu, max_radius=0.004, step=0.001, pos_ratio=0.6)[:, 0]
    assert loose[0] == pytest.approx(0.004)  # 2 of 3 good at 2 mm, 4 of 5 at 4 mm
    with pytest.raises(ValueError, match="pos_ratio"):
        grasp_tolerance(_line(), mu, pos_ratio=0.0)
    with pytest.raises(ValueError, match="min_mu"):
        grasp_tolerance(_line(), mu[:5])


def test_good_label_mask_uses_the_paper_score() -> None:
    # s = 1.1 - μ > 0.5 ⇔ μ ≤ 0.5 on the 0.1 grid; -1 is bad.
    mask = good_label_mask(np.array([-1.0, 0.1, 0.5, 0.6, 1.0], dtype=np.float32))
    assert mask.tolist() == [False, True, True, False, False]


def test_stable_distances_known_answers() -> None:
    points = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.05]])
    axes = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    dist = gripper_plane_distances(points, axes, [0.01, 0.02, 0.03])
    np.testing.assert_allclose(dist, [[0.03, 0.01], [0.02, 0.01]])
    np.testing.assert_allclose(normalize_stable_scores(dist), dist / 0.03)
    assert np.all(normalize_stable_scores(np.zeros(3)) == 0)
    with pytest.raises(ValueError, match="center_of_mass"):
        gripper_plane_distances(points, axes, [0.0, 0.0])


def test_voxel_sampling_is_on_the_surface_and_spread() -> None:
    half = np.array([0.02, 0.025, 0.03])
    box = trimesh.creation.box(2 * half)
    points = sample_surface_voxels(box, 0.005, rng=0)
    # On a face: one coordinate at ±half exactly (voxel centroids at edges would not be).
    assert np.max(np.min(np.abs(np.abs(points) - half), axis=1)) < 1e-12
    assert np.all(np.abs(points) <= half + 1e-12)
    # About one point per voxel: as many as the box's area over spacing², within a factor 2.
    expected = box.area / 0.005**2
    assert 0.5 * expected < len(points) < 2 * expected
    keys = np.floor((points - points.min(axis=0)) / 0.005).astype(int)
    assert len(np.unique(keys, axis=0)) == len(points)  # one point per voxel
    nearest = np.sort(np.linalg.norm(points[:, None] - points[None], axis=2), axis=1)[:, 1]
    assert np.median(nearest) > 0.002  # spread out, no clumps
    np.testing.assert_array_equal(points, sample_surface_voxels(box, 0.005, rng=0))


def test_sampling_bad_inputs() -> None:
    box = trimesh.creation.box((0.01, 0.01, 0.01))
    with pytest.raises(ValueError, match="spacing"):
        sample_surface_voxels(box, -0.01)
    with pytest.raises(ValueError, match="count"):
        sample_surface_dense(box, 0)
    assert voxel_downsample_on_surface(np.zeros((0, 3)), 0.01).shape == (0, 3)
