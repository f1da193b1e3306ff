"""Known answers of the reference (graspnetAPI/Dex-Net SDF) force-closure backend."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.evaluation.frame import APConfig
from grasplab.evaluation.reference_fc import (
    _quadratic_zero_crossing,
    close_fingers,
    grasp_lines_in_model,
    min_friction,
    reference_scores,
    sdf_at,
)
from grasplab.objects.sdf import SignedDistanceField, compute_sdf

MU = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2])


@pytest.fixture(scope="module")
def sphere() -> SignedDistanceField:
    return compute_sdf(trimesh.creation.icosphere(3, 0.02), dim=40, rng=0)


@pytest.fixture(scope="module")
def box() -> SignedDistanceField:
    return compute_sdf(trimesh.creation.box((0.04, 0.03, 0.05)), dim=40, rng=0)


def test_sdf_at_is_trilinear_with_zero_past_the_upper_edge():
    i, j, k = np.meshgrid(np.arange(4), np.arange(5), np.arange(6), indexing="ij")
    field = SignedDistanceField(0.001 * (i + 2 * j - k) + 0.01, np.zeros(3), 0.001)
    coords = np.array([[1.25, 2.5, 3.75], [0.0, 0.0, 0.0], [2.9, 1.1, 0.3]])
    expected = 0.001 * (coords[:, 0] + 2 * coords[:, 1] - coords[:, 2]) + 0.01
    assert np.allclose(sdf_at(field, coords), expected, atol=1e-15)
    # in [dims - 1, dims) the point snaps to the last node
    assert sdf_at(field, np.array([[3.5, 0.0, 0.0]]))[0] == pytest.approx(field.values[3, 0, 0])
    outside = sdf_at(field, np.array([[-2.0, 0.0, 0.0]]))[0]
    assert outside == pytest.approx(field.values[0, 0, 0] + 0.002)


def test_quadratic_zero_crossing_known_parabola_and_linear_rejection():
    x = np.array([[[0.0, 0, 0], [0.5, 0, 0], [1.0, 0, 0]]] * 2)
    t = x[0, :, 0]
    y = np.stack([t**2 - 0.25, 0.1 - 0.2 * t])  # roots +-0.5; a straight line
    ok, crossing = _quadratic_zero_crossing(x, y)
    assert ok.tolist() == [True, False]  # no curvature: Dex-Net rejects (|a| < 1e-10)
    assert crossing[0] == pytest.approx([0.5, 0, 0])


def test_sphere_through_the_centre_is_antipodal(sphere):
    axes = np.array([[1.0, 0, 0], [0, 0.6, 0.8], [0.0, 0.0, -1.0]])
    contacts = close_fingers(sphere, np.zeros((3, 3)), axes, np.full(3, 0.06))
    assert contacts.found.all()
    radii = np.linalg.norm(contacts.points, axis=2)
    assert np.abs(radii - 0.02).max() < 0.5 * sphere.resolution
    assert np.allclose(contacts.points[:, 0], -contacts.points[:, 1], atol=sphere.resolution)
    assert min_friction(contacts, MU).tolist() == [0.2, 0.2, 0.2]


def test_sphere_off_centre_needs_more_friction(sphere):
    # jaw line 8 mm off the centre: normals tilt by asin(0.4) = 23.6 deg, tan = 0.44 -> mu 0.6
    contacts = close_fingers(sphere, np.array([[0.0, 0.008, 0.0]]), np.array([[1.0, 0, 0]]),
                             np.array([0.06]))
    assert contacts.found.all()
    assert min_friction(contacts, MU)[0] in (0.4, 0.6, 0.8)  # stencil normals are quantised


def test_jaws_that_miss_find_nothing(sphere):
    contacts = close_fingers(sphere, np.array([[0.05, 0.0, 0.0]]), np.array([[0, 1.0, 0]]),
                             np.array([0.06]))
    assert not contacts.found.any()
    assert np.isnan(contacts.points).all()
    assert min_friction(contacts, MU).tolist() == [-1.0]


def test_jaw_starting_inside_finds_no_contact(sphere):
    # a 2 cm opening on a 4 cm sphere: both jaws start inside, far below the surface band
    contacts = close_fingers(sphere, np.zeros((1, 3)), np.array([[1.0, 0, 0]]), np.array([0.02]))
    assert not contacts.found.any()


def test_box_across_parallel_faces_fails_as_in_the_reference(box):
    # The SDF of a flat face is linear along the jaw path, so the quadratic fit has no curvature
    # and Dex-Net accepts no contact (reference protocol 9.4): the perfect grasp scores -1.
    centers = np.array([[0.0, 0.0, 0.0], [0.003, 0.002, -0.004]])
    contacts = close_fingers(box, centers, np.tile([1.0, 0, 0], (2, 1)), np.full(2, 0.08))
    assert not contacts.found.any()
    assert min_friction(contacts, MU).tolist() == [-1.0, -1.0]


def test_reference_scores_maps_camera_grasps_into_the_model_frame(sphere):
    pose = np.eye(4)
    pose[:3, 3] = [0.1, -0.05, 0.4]
    rot = np.array([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]])  # approach +z, jaw axis +x (camera)
    row = np.zeros(17)
    row[1], row[3] = 0.06, 0.01
    row[4:13] = rot.ravel()
    row[13:16] = pose[:3, 3] - 0.01 * rot[:, 0]  # fingertips at the sphere centre
    centers, axes = grasp_lines_in_model(row[None], pose[None])
    assert np.allclose(centers, 0.0, atol=1e-7) and np.allclose(axes, [[1, 0, 0]])
    scores = reference_scores(np.stack([row, row]), np.array([0, 0]), pose[None], [sphere], MU)
    assert scores.tolist() == [0.2, 0.2]
    far = row.copy()
    far[13:16] += [0.1, 0.0, 0.0]  # the whole jaw line beside the sphere
    assert reference_scores(far[None], np.array([0]), pose[None], [sphere], MU).tolist() == [-1.0]


def test_backend_option_is_checked():
    assert APConfig().fc_backend == "exact"
    assert APConfig(fc_backend="reference").fc_backend == "reference"
    with pytest.raises(ValueError, match="backend"):
        APConfig(fc_backend="sdf")
