"""Force closure on exact geometry: known answers on boxes and cylinders, misses, narrow jaws."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from grasplab.labels import (
    EVAL_MU_GRID,
    LABEL_MU_GRID,
    MeshRayCaster,
    contact_angles,
    force_closure,
    min_mu_on_grid,
)

RADIUS = 0.02


@pytest.fixture(scope="module")
def box_caster() -> MeshRayCaster:
    return MeshRayCaster(trimesh.creation.box((0.04, 0.06, 0.08)))


@pytest.fixture(scope="module")
def cylinder_caster() -> MeshRayCaster:
    # Axis z; 1024 facets keep the facet normals within 0.18 degrees of the true ones.
    return MeshRayCaster(trimesh.creation.cylinder(radius=RADIUS, height=0.1, sections=1024))


def test_box_parallel_faces_closes_at_smallest_mu(box_caster: MeshRayCaster) -> None:
    result = force_closure(box_caster, [[0.0, 0.0, 0.01]], [[1.0, 0.0, 0.0]], [0.08])
    assert result.min_mu.tolist() == [0.1]
    np.testing.assert_allclose(result.closing_width, [0.04], atol=1e-7)
    np.testing.assert_allclose(result.contacts[0], [[-0.02, 0, 0.01], [0.02, 0, 0.01]], atol=1e-7)
    np.testing.assert_allclose(np.abs(result.normals[0]), [[1, 0, 0], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(result.angles, [[0.0, 0.0]], atol=1e-6)
    assert result.has_contacts.tolist() == [True]


def test_box_in_any_pose(rng: np.random.Generator) -> None:
    box = trimesh.creation.box((0.03, 0.05, 0.07))
    rot = Rotation.random(random_state=1).as_matrix()
    box.apply_transform(np.block([[rot, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]]))
    caster = MeshRayCaster(box)
    centers = (rng.uniform(-0.01, 0.01, size=(20, 3)) * [1, 1, 1]) @ rot.T
    axes = np.repeat(rot[:, 0][None], 20, axis=0)
    result = force_closure(caster, centers, axes, np.full(20, 0.06))
    assert np.all(result.min_mu == 0.1)
    np.testing.assert_allclose(result.closing_width, 0.03, atol=1e-6)


def test_tilted_jaw_on_parallel_faces_needs_tan_of_the_tilt(box_caster: MeshRayCaster) -> None:
    # Jaw axis 30 degrees off the x face normal: both contact angles are 30 degrees, tan = 0.577.
    tilt = np.deg2rad(30.0)
    axis = [np.cos(tilt), np.sin(tilt), 0.0]
    result = force_closure(box_caster, [[0.0, 0.0, 0.0]], [axis], [0.09])
    np.testing.assert_allclose(result.angles, [[tilt, tilt]], atol=1e-6)
    assert result.min_mu.tolist() == [0.6]
    assert force_closure(box_caster, [[0.0, 0.0, 0.0]], [axis], [0.09],
                         EVAL_MU_GRID).min_mu.tolist() == [0.6]


@pytest.mark.parametrize("offset", [0.0025, 0.006, 0.0085, 0.011, 0.014])
def test_cylinder_offset_mu_is_smallest_grid_value_above_tan(
    cylinder_caster: MeshRayCaster, offset: float
) -> None:
    # A chord at distance `offset` from the axis: both normals make asin(offset/R) with it.
    alpha = np.arcsin(offset / RADIUS)
    result = force_closure(cylinder_caster, [[0.0, offset, 0.0]], [[1.0, 0.0, 0.0]], [0.1])
    np.testing.assert_allclose(result.angles[0], [alpha, alpha], atol=np.pi / 1024)
    grid = np.array(LABEL_MU_GRID)
    assert np.min(np.abs(grid - np.tan(alpha))) > 0.01  # not on a grid boundary
    expected = grid[grid >= np.tan(alpha)].min()
    assert result.min_mu[0] == pytest.approx(expected)
    half_chord = np.sqrt(RADIUS**2 - offset**2)
    np.testing.assert_allclose(result.closing_width, [2 * half_chord], atol=2e-5)


def test_grasp_beside_the_object_misses(box_caster: MeshRayCaster) -> None:
    result = force_closure(box_caster, [[0.0, 0.1, 0.0]], [[1.0, 0.0, 0.0]], [0.08])
    assert result.min_mu.tolist() == [-1.0]
    assert np.isnan(result.contacts).all() and np.isnan(result.closing_width).all()
    assert result.has_contacts.tolist() == [False]


def test_jaws_too_narrow_start_inside_and_fail(box_caster: MeshRayCaster) -> None:
    # The box is 4 cm thick along x; 3 cm jaws start inside it: no contact, as the reference.
    result = force_closure(box_caster, [[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]], [0.03])
    assert result.min_mu.tolist() == [-1.0]
    assert np.isnan(result.contacts).all()


def test_jaws_too_short_to_reach_fail(box_caster: MeshRayCaster) -> None:
    # Off-centre: one jaw reaches its face, the other would need more than w/2 of travel.
    result = force_closure(box_caster, [[0.03, 0.0, 0.0]], [[1.0, 0.0, 0.0]], [0.12])
    assert result.min_mu.tolist() == [-1.0]
    np.testing.assert_allclose(result.contacts[0, 0], [-0.02, 0.0, 0.0], atol=1e-7)
    assert np.isnan(result.contacts[0, 1]).all()


def test_zero_width_never_closes(box_caster: MeshRayCaster) -> None:
    assert force_closure(box_caster, [[0.0, 0.1, 0.0]], [[1.0, 0.0, 0.0]], [0.0]).min_mu[0] == -1


def test_batch_matches_one_by_one(box_caster: MeshRayCaster, rng: np.random.Generator) -> None:
    centers = rng.uniform(-0.03, 0.03, size=(40, 3))
    axes = rng.normal(size=(40, 3))
    widths = rng.uniform(0.02, 0.1, size=40)
    batch = force_closure(box_caster, centers, axes, widths)
    assert batch.min_mu.shape == (40,) and batch.contacts.shape == (40, 2, 3)
    assert set(np.unique(batch.min_mu)) <= {-1.0, *LABEL_MU_GRID}
    for i in range(0, 40, 9):
        one = force_closure(box_caster, centers[i:i + 1], axes[i:i + 1], widths[i:i + 1])
        assert one.min_mu[0] == batch.min_mu[i]


def test_min_mu_on_grid_and_angles_known_answers() -> None:
    contacts = np.array([[[0.0, 0, 0], [0.0, 0.0, 0.0]]])
    assert np.isnan(contact_angles(contacts, np.ones((1, 2, 3)))).all()  # coincident contacts
    angles = np.array([[0.0, np.arctan(0.3)], [np.arctan(0.35), 0.1], [np.nan, 0.0]])
    assert min_mu_on_grid(angles).tolist() == [pytest.approx(0.3), 0.4, -1.0]
    assert min_mu_on_grid(angles, EVAL_MU_GRID).tolist() == [0.4, 0.4, -1.0]
    with pytest.raises(ValueError, match="mu_grid"):
        min_mu_on_grid(angles, [0.0, 0.5])


def test_bad_inputs(box_caster: MeshRayCaster) -> None:
    with pytest.raises(ValueError, match="widths"):
        force_closure(box_caster, [[0.0, 0, 0]], [[1.0, 0, 0]], [-0.01])
    with pytest.raises(ValueError, match="jaw_axes: zero"):
        force_closure(box_caster, [[0.0, 0, 0]], [[0.0, 0, 0]], [0.05])
    with pytest.raises(ValueError, match="jaw_axes"):
        force_closure(box_caster, [[0.0, 0, 0]], [[1.0, 0, 0], [1.0, 0, 0]], [0.05])
    with pytest.raises(ValueError, match="centers"):
        force_closure(box_caster, [0.0, 0, 0], [[1.0, 0, 0]], [0.05])
