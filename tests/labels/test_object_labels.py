"""label_object: shapes, analytic known answers on a sphere, consistency, stable, errors."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.core.gripper import GripperModel
from grasplab.labels import (
    ANYGRASP_DEPTHS,
    LABEL_MU_GRID,
    MeshRayCaster,
    ObjectLabelConfig,
    ObjectLabels,
    candidate_rotations,
    check_labelable_mesh,
    force_closure,
    label_object,
    sample_grasp_points,
)

RADIUS = 0.025
SMALL = ObjectLabelConfig(spacing=0.008, collision_spacing=0.004, num_views=60, num_angles=6,
                          max_points=8)


@pytest.fixture(scope="module")
def sphere() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=5, radius=RADIUS)


@pytest.fixture(scope="module")
def sphere_labels(sphere: trimesh.Trimesh) -> ObjectLabels:
    return label_object(sphere, GripperModel(), SMALL, rng=7)


def _candidate_arrays(labels: ObjectLabels) -> tuple[np.ndarray, ...]:
    """Flattened (rotation, point, depth, width, score) of every label candidate."""
    num_p, num_v, num_a, num_d = labels.grid_shape
    rot = candidate_rotations(num_v, num_a)
    rotations = np.broadcast_to(rot[None, :, :, None], (num_p, num_v, num_a, num_d, 3, 3))
    points = np.broadcast_to(labels.points[:, None, None, None].astype(np.float64),
                             (num_p, num_v, num_a, num_d, 3))
    return (rotations.reshape(-1, 3, 3), points.reshape(-1, 3),
            labels.offsets[..., 1].reshape(-1).astype(np.float64),
            labels.offsets[..., 2].reshape(-1).astype(np.float64), labels.scores.reshape(-1))


def test_shapes_dtypes_and_values(sphere_labels: ObjectLabels) -> None:
    num_p, num_v, num_a, num_d = sphere_labels.grid_shape
    assert (num_p, num_v, num_a, num_d) == (8, 60, 6, 4)
    assert sphere_labels.points.dtype == np.float32
    assert sphere_labels.offsets.shape == (8, 60, 6, 4, 3)
    assert sphere_labels.collision.dtype == bool
    assert sphere_labels.stable is not None and sphere_labels.stable.shape == (8, 60, 6)
    assert sphere_labels.tolerance is not None and sphere_labels.tolerance.shape == (8, 60, 6, 4)
    np.testing.assert_allclose(np.linalg.norm(sphere_labels.points, axis=1), RADIUS, atol=2e-4)
    np.testing.assert_allclose(sphere_labels.offsets[0, 0, :, 0, 0], np.arange(6) * np.pi / 6,
                               rtol=1e-6)
    np.testing.assert_allclose(sphere_labels.offsets[0, 0, 0, :, 1], [0.01, 0.02, 0.03, 0.04])
    widths = sphere_labels.offsets[..., 2]
    assert np.all((widths > 0) & (widths <= 0.1 + 1e-7))
    allowed = np.array([-1.0, *LABEL_MU_GRID], dtype=np.float32)
    assert np.isin(sphere_labels.scores, allowed).all()
    assert (sphere_labels.scores > 0).mean() > 0.05  # a sphere has many antipodal grasps


def test_scores_match_the_analytic_sphere(sphere_labels: ObjectLabels) -> None:
    # The jaw line c + s·y meets the sphere in a chord at distance h from the centre; both
    # contact normals then make asin(h/R) with it, so μ = smallest grid value ≥ tan(asin(h/R)).
    rotations, points, depths, widths, scores = _candidate_arrays(sphere_labels)
    approach, jaw = rotations[:, :, 0], rotations[:, :, 1]
    centers = points + depths[:, None] * approach
    dist = np.linalg.norm(centers - np.sum(centers * jaw, axis=1)[:, None] * jaw, axis=1)
    starts_outside = np.minimum(np.linalg.norm(centers - widths[:, None] / 2 * jaw, axis=1),
                                np.linalg.norm(centers + widths[:, None] / 2 * jaw, axis=1))
    inside = np.linalg.norm(centers, axis=1) < RADIUS  # else one jaw cannot reach
    decided = (starts_outside > RADIUS + 1e-3) | (dist > RADIUS + 1e-3)
    tan = np.tan(np.arcsin(np.clip(dist / RADIUS, 0, 1)))
    grid = np.array(LABEL_MU_GRID)
    index = np.searchsorted(grid, tan - 1e-9)
    expected = np.where((dist < RADIUS) & inside & (index < len(grid)),
                        grid[np.minimum(index, len(grid) - 1)], -1.0)
    sel = decided & (np.abs(dist - RADIUS) > 1e-3)
    sel &= np.abs(np.linalg.norm(centers, axis=1) - RADIUS) > 1e-3
    assert sel.sum() > 1000
    got = scores[sel]
    agree = np.isclose(got, expected[sel])
    positive = expected[sel] > 0
    assert agree.mean() > 0.9 and agree[positive].mean() > 0.85 and positive.sum() > 300
    level = np.where(got > 0, np.round(got * 10), 11) - np.where(expected[sel] > 0,
                                                                 np.round(expected[sel] * 10), 11)
    assert np.abs(level).max() <= 1  # facets shift the normals by about a degree at most


def test_scores_equal_direct_force_closure(sphere: trimesh.Trimesh,
                                           sphere_labels: ObjectLabels) -> None:
    rotations, points, depths, widths, scores = _candidate_arrays(sphere_labels)
    sample = np.random.default_rng(0).choice(np.flatnonzero(scores > 0), 200, replace=False)
    result = force_closure(MeshRayCaster(sphere), points[sample] + depths[sample, None]
                           * rotations[sample, :, 0], rotations[sample, :, 1], widths[sample])
    np.testing.assert_allclose(result.min_mu, scores[sample], rtol=1e-6)


def test_stable_score_is_the_normalised_plane_distance(sphere_labels: ObjectLabels) -> None:
    num_p, num_v, num_a, _ = sphere_labels.grid_shape
    z_axes = candidate_rotations(num_v, num_a)[..., 2]
    com = np.zeros(3)
    dist = np.abs(np.einsum("vaj,pj->pva", z_axes, com - sphere_labels.points.astype(float)))
    assert sphere_labels.stable is not None
    np.testing.assert_allclose(sphere_labels.stable, dist / dist.max(), atol=1e-5)
    assert sphere_labels.stable.max() == pytest.approx(1.0)


def test_tolerance_is_zero_for_bad_grasps(sphere_labels: ObjectLabels) -> None:
    assert sphere_labels.tolerance is not None
    bad = (sphere_labels.scores <= 0) | (sphere_labels.scores > 0.5)
    assert np.all(sphere_labels.tolerance[bad] == 0)
    assert np.all(sphere_labels.tolerance <= SMALL.tolerance_max_radius + 1e-7)


def test_deterministic_and_anygrasp_depths() -> None:
    box = trimesh.creation.box((0.03, 0.04, 0.05))
    cfg = ObjectLabelConfig(spacing=0.01, num_views=12, num_angles=4, max_points=4,
                            depths=ANYGRASP_DEPTHS)
    first = label_object(box, GripperModel(), cfg, rng=3)
    second = label_object(box, GripperModel(), cfg, rng=3)
    assert first.scores.shape == (4, 12, 4, 5)
    for name in ("points", "offsets", "scores", "collision", "stable", "tolerance"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    calls: list[int] = []
    generator = np.random.default_rng(3)
    points = sample_grasp_points(box, cfg, generator)
    third = label_object(box, None, cfg, rng=generator, points=points, progress=calls.append)
    assert sum(calls) == 4
    np.testing.assert_array_equal(third.scores, first.scores)


def test_degenerate_meshes_are_rejected_with_a_reason() -> None:
    box = trimesh.creation.box((0.04, 0.04, 0.04))
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-2])
    with pytest.raises(ValueError, match="watertight"):
        check_labelable_mesh(open_box)
    inverted = trimesh.Trimesh(box.vertices, box.faces[:, ::-1])
    with pytest.raises(ValueError, match="volume"):
        check_labelable_mesh(inverted)
    with pytest.raises(ValueError, match="too big"):
        label_object(trimesh.creation.box((0.2, 0.3, 0.3)), GripperModel(), SMALL)
    with pytest.raises(ValueError, match="trimesh"):
        check_labelable_mesh(np.zeros((4, 3)))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="depths"):
        ObjectLabelConfig(depths=(0.02, 0.01))
    with pytest.raises(ValueError, match="spacing"):
        ObjectLabelConfig(spacing=0.0)
    with pytest.raises(ValueError, match="num_views"):
        ObjectLabelConfig(num_views=0)
    with pytest.raises(ValueError, match="unknown keys"):
        ObjectLabelConfig.from_dict({"spacing": 0.01, "colour": 1})
    cfg = ObjectLabelConfig(spacing=0.006, depths=(0.01, 0.03))
    assert ObjectLabelConfig.from_dict(cfg.to_dict()) == cfg
