from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core import CameraIntrinsics, GripperModel, check_rotations, rotation_from_view
from grasplab.detection.proposals import (
    PAD_COORD,
    approach_directions,
    candidate_rotations,
    centroid_offsets,
    finger_samples,
    local_frames,
    neighborhoods,
    occluded_fraction,
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


def test_finger_samples_lie_in_the_finger_boxes() -> None:
    gripper = GripperModel()
    widths, depths = np.array([0.04, 0.08]), np.array([0.01, 0.03])
    pts = finger_samples(widths, depths, gripper)
    assert pts.shape == (2, 18, 3)
    for i in range(2):
        x, y, z = pts[i].T
        assert np.all((x >= -gripper.depth_base - 1e-12) & (x <= depths[i] + 1e-12))
        assert np.isclose(x.max(), depths[i]) and np.isclose(x.min(), -gripper.depth_base)
        # finger mid-planes: half the opening plus half a finger on each side
        np.testing.assert_allclose(np.abs(y), widths[i] / 2 + gripper.finger_width / 2)
        assert np.sum(y < 0) == np.sum(y > 0) == 9
        assert np.all(np.abs(z) < gripper.height / 2)


def test_occluded_fraction_against_a_flat_depth_image() -> None:
    cam = CameraIntrinsics(200.0, 200.0, 49.5, 49.5, 100, 100)
    depth = np.full((100, 100), 0.5, np.float32)
    depth[:, :25] = 0.0  # invalid pixels count as visible
    # top-down grasps (approach = camera +z) whose fingertips reach 0.49, 0.52 and 0.6 m
    rot = np.stack([rotation_from_view(np.array([[0.0, 0.0, 1.0]]), np.zeros(1))[0]] * 3)
    local = np.array([[[0.0, 0.0, 0.0], [0.02, 0.0, 0.0]]] * 3)
    centres = np.array([[0.0, 0.0, 0.47], [0.0, 0.0, 0.50], [0.0, 0.0, 0.58]])
    frac = occluded_fraction(centres, rot, local, depth, cam, tolerance=0.005)
    np.testing.assert_allclose(frac, [0.0, 0.5, 1.0])
    # the same points on invalid pixels or outside the image are not hidden
    left = centres + [[-0.1, 0.0, 0.0]]
    np.testing.assert_allclose(occluded_fraction(left, rot, local, depth, cam), 0.0)
    outside = centres + [[5.0, 0.0, 0.0]]
    np.testing.assert_allclose(occluded_fraction(outside, rot, local, depth, cam), 0.0)
    assert occluded_fraction(np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 2, 3)),
                             depth, cam).shape == (0,)


def test_centroid_offsets_known_answer() -> None:
    gripper = GripperModel()
    # one sample, one rotation: a bar along z from z = 0.00 to 0.06 between the jaws, a plane
    # point far below (excluded) and a point outside the jaws (excluded)
    bar = np.stack([np.zeros(7), np.zeros(7), np.linspace(0.0, 0.06, 7)], axis=1)
    extra = np.array([[0.0, 0.0, -0.05], [0.0, 0.05, -0.05]])
    local = np.concatenate([bar, extra, np.full((1, 3), PAD_COORD)])[None, :, None, :]
    neighbors = np.arange(10)[None]  # index 9 = padding (M = 9)
    on_plane = np.zeros(9, bool)
    on_plane[7] = True
    dist = centroid_offsets(local, neighbors, on_plane, np.array([0]), np.zeros(1),
                            np.array([0.04]), gripper)
    np.testing.assert_allclose(dist, [0.03])
    # a jaw line through the bar's middle is centred
    shifted = local - np.array([0.0, 0.0, 0.03])
    np.testing.assert_allclose(centroid_offsets(shifted, neighbors, on_plane, np.array([0]),
                                                np.zeros(1), np.array([0.04]), gripper), [0.0],
                               atol=1e-12)
