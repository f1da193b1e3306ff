"""Candidate widths and flags agree exactly with GripperModel.collision_and_empty."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.core.gripper import GraspPoses, GripperModel
from grasplab.labels import candidate_rotations, sample_surface_voxels
from grasplab.labels.candidates import CandidateFrames, WidthRule, point_candidate_geometry

DEPTHS = np.array([0.005, 0.01, 0.02, 0.03, 0.04])


def _reference_flags(
    gripper: GripperModel, rotations: np.ndarray, point: np.ndarray, widths: np.ndarray,
    surface: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    num_r, num_d = widths.shape
    poses = GraspPoses(
        rotations=np.repeat(rotations, num_d, axis=0),
        translations=np.repeat(point[None], num_r * num_d, axis=0),
        widths=widths.reshape(-1),
        depths=np.tile(DEPTHS, num_r),
    )
    collision, empty = gripper.collision_and_empty(poses, surface)
    return collision.reshape(num_r, num_d), empty.reshape(num_r, num_d)


@pytest.mark.parametrize(
    ("mesh", "gripper"),
    [
        (trimesh.creation.box((0.03, 0.05, 0.07)), GripperModel()),
        (trimesh.creation.annulus(r_min=0.015, r_max=0.03, height=0.02), GripperModel()),
        (trimesh.creation.capsule(height=0.05, radius=0.012),
         GripperModel(max_width=0.06, finger_width=0.008, empty_thresh=5)),
    ],
)
def test_flags_equal_the_gripper_model(mesh: trimesh.Trimesh, gripper: GripperModel) -> None:
    rotations = candidate_rotations(40, 6)
    frames = CandidateFrames.from_rotations(rotations)
    flat = rotations.reshape(-1, 3, 3)
    surface = sample_surface_voxels(mesh, 0.004, rng=3)
    rule = WidthRule(margin=0.008, resolution=0.001)
    for point in surface[:: max(1, len(surface) // 4)][:4]:
        geom = point_candidate_geometry(surface - point, frames, DEPTHS, gripper, rule)
        assert geom.widths.shape == (240, len(DEPTHS))
        assert np.all((geom.widths > 0) & (geom.widths <= gripper.max_width + 1e-12))
        collision, empty = _reference_flags(gripper, flat, point, geom.widths, surface)
        np.testing.assert_array_equal(geom.collision, collision)
        np.testing.assert_array_equal(geom.empty, empty)


def test_width_encloses_a_flat_plate_tightly() -> None:
    # A 2 cm thick plate grasped straight across its thickness: the tightest opening is 2 cm,
    # the rule adds the margin and at most two bins.
    gripper = GripperModel()
    plate = trimesh.creation.box((0.02, 0.08, 0.08))
    surface = sample_surface_voxels(plate, 0.003, rng=0)
    # Approach along -z onto the top edge region, jaws along x.
    rotation = np.stack([[0, 0, -1.0], [1.0, 0, 0], [0, -1.0, 0]], axis=1)
    assert np.isclose(np.linalg.det(rotation), 1.0)
    frames = CandidateFrames(basis=np.moveaxis(rotation[None], 2, 0), num_angles=1)
    point = np.array([0.0, 0.0, 0.04])
    rule = WidthRule(margin=0.01, resolution=0.001)
    geom = point_candidate_geometry(surface - point, frames, np.array([0.01, 0.02]), gripper, rule)
    assert np.all(geom.widths >= 0.02 + 0.01) and np.all(geom.widths <= 0.02 + 0.01 + 0.002 + 1e-9)
    assert not geom.collision.any() and not geom.empty.any()


def test_nothing_near_is_empty_not_colliding() -> None:
    frames = CandidateFrames.from_rotations(candidate_rotations(10, 4))
    far = np.array([[1.0, 1.0, 1.0]])
    geom = point_candidate_geometry(far, frames, DEPTHS, GripperModel(), WidthRule())
    assert geom.empty.all() and not geom.collision.any()
