"""Tests of grasplab.core.gripper against a direct transcription of the reference rules."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from grasplab.core import gripper_regions
from grasplab.core.grasp_group import GraspGroup
from grasplab.core.gripper import GraspPoses, GripperModel, GripperRegions, as_grasp_poses

REF = GripperModel()


def reference_regions(
    rot: np.ndarray, t: np.ndarray, w: np.ndarray, d: np.ndarray, pts: np.ndarray,
    gripper: GripperModel = REF,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dense (N, M) transcription of reference protocol §3 (graspnetAPI collision_detection)."""
    height, depth_base, finger_width = gripper.height, gripper.depth_base, gripper.finger_width
    w = np.clip(w, 0.0, gripper.max_width)[:, None]
    d = d[:, None]
    q = np.matmul(pts[None, :, :] - t[:, None, :], rot)  # (N, M, 3), as the reference
    x, y, z = q[..., 0], q[..., 1], q[..., 2]
    in_height = (z > -height / 2) & (z < height / 2)
    in_depth = (x > -depth_base) & (x < d)
    left_outer = y > -(w / 2 + finger_width)
    left_inner = y < -w / 2
    right_outer = y < (w / 2 + finger_width)
    right_inner = y > w / 2
    in_palm = (x > -(depth_base + gripper.palm_thickness)) & (x < -depth_base)
    left = in_height & in_depth & left_outer & left_inner
    right = in_height & in_depth & right_outer & right_inner
    palm = in_height & left_outer & right_outer & in_palm
    inner = in_height & in_depth & ~left_inner & ~right_inner
    return left, right, palm, inner


def random_scene(
    seed: int, num_grasps: int = 40, num_points: int = 3000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random grasps among a cloud of a plane and blobs; grasp points on the blobs."""
    rng = np.random.default_rng(seed)
    plane = np.c_[rng.uniform(-0.15, 0.15, (num_points // 2, 2)), np.zeros(num_points // 2)]
    centres = rng.uniform(-0.1, 0.1, (4, 3))
    blobs = centres[rng.integers(0, 4, num_points - len(plane))]
    blobs = blobs + rng.normal(0.0, 0.02, blobs.shape)
    pts = np.vstack([plane, blobs])
    rot = Rotation.random(num_grasps, random_state=seed).as_matrix()
    t = pts[rng.integers(0, len(pts), num_grasps)] + rng.normal(0, 0.005, (num_grasps, 3))
    w = rng.uniform(-0.02, 0.13, num_grasps)  # includes widths that must be clipped
    d = rng.uniform(-0.03, 0.05, num_grasps)
    return rot, t, w, d, pts


def assert_matches_reference(
    gripper: GripperModel, rot: np.ndarray, t: np.ndarray, w: np.ndarray, d: np.ndarray,
    pts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    poses = GraspPoses(rot, t, w, d)
    expected = reference_regions(rot, t, w, d, pts, gripper)
    regions = gripper.region_masks(poses, pts)
    for name, exp in zip(("left", "right", "palm", "inner"), expected, strict=True):
        np.testing.assert_array_equal(getattr(regions, name), exp, err_msg=name)
    collision, empty = gripper.collision_and_empty(poses, pts)
    np.testing.assert_array_equal(collision, np.any(expected[0] | expected[1] | expected[2], 1))
    np.testing.assert_array_equal(empty, expected[3].sum(1) < gripper.empty_thresh)
    return collision, empty


# ---------------------------------------------------------------- the dataclass itself


def test_defaults_are_the_reference_gripper() -> None:
    assert (REF.finger_width, REF.height, REF.depth_base) == (0.01, 0.02, 0.02)
    assert (REF.palm_thickness, REF.max_width, REF.empty_thresh) == (0.01, 0.1, 10)
    assert REF.finger_length == 0.06
    assert REF.max_depth == pytest.approx(0.04)


def test_pdg_size_maps_to_plgp_l1_to_l4() -> None:
    assert REF.pdg_size == (0.01, 0.02, 0.04, 0.1)
    custom = GripperModel(finger_width=0.012, height=0.03, max_width=0.085, finger_length=0.07)
    l1, l2, l3, l4 = custom.pdg_size
    assert (l1, l2, l4) == (0.012, 0.03, 0.085)
    assert l3 == pytest.approx(0.07 - 0.02)


def test_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        REF.max_width = 0.2  # type: ignore[misc]
    for kwargs in (
        {"finger_width": -0.01}, {"height": 0.0}, {"max_width": float("nan")},
        {"depth_base": "0.02"}, {"finger_length": 0.02}, {"empty_thresh": -1},
        {"empty_thresh": 2.5}, {"palm_thickness": True},
    ):
        with pytest.raises(ValueError, match="GripperModel"):
            GripperModel(**kwargs)


# ---------------------------------------------------------------- known answers


def identity_grasp(width: float = 0.04, depth: float = 0.02) -> GraspPoses:
    return as_grasp_poses(np.eye(3)[None], [[0.0, 0.0, 0.0]], [width], [depth])


@pytest.mark.parametrize(
    ("point", "region"),
    [
        ((0.0, -0.025, 0.0), "left"),
        ((0.01, 0.025, 0.005), "right"),
        ((-0.025, 0.0, 0.0), "palm"),
        ((-0.025, 0.029, 0.0), "palm"),
        ((0.0, 0.0, 0.0), "inner"),
        ((0.019, 0.02, -0.009), "inner"),  # y = w/2 is inside the closed inner interval
        ((0.025, 0.0, 0.0), None),  # beyond the fingertips
        ((0.0, 0.0, 0.0105), None),  # above the fingers
        ((0.0, 0.035, 0.0), None),  # beside the right finger
        ((-0.035, 0.0, 0.0), None),  # behind the palm
    ],
)
def test_points_inside_and_outside_each_box(
    point: tuple[float, float, float], region: str | None
) -> None:
    regions = REF.region_masks(identity_grasp(), np.array([point]))
    for name in ("left", "right", "palm", "inner"):
        assert bool(getattr(regions, name)[0, 0]) == (name == region), name
    collision, _ = REF.collision_and_empty(identity_grasp(), np.array([point]))
    assert collision[0] == (region in ("left", "right", "palm"))


def test_rotated_translated_grasp_known_answer() -> None:
    rot = Rotation.from_euler("zyx", [0.7, -0.3, 1.1]).as_matrix()
    t = np.array([0.3, -0.2, 0.6])
    local = np.array([[0.0, -0.025, 0.0], [0.0, 0.025, 0.0], [-0.025, 0.0, 0.0], [0.0, 0.0, 0.0]])
    pts = t + local @ rot.T
    regions = REF.region_masks(as_grasp_poses(rot[None], t[None], [0.04], [0.02]), pts)
    np.testing.assert_array_equal(
        np.stack([regions.left[0], regions.right[0], regions.palm[0], regions.inner[0]]),
        np.eye(4, dtype=bool),
    )
    assert isinstance(regions, GripperRegions)
    np.testing.assert_array_equal(regions.collision, [True])
    np.testing.assert_array_equal(regions.inner_counts(), [1])


def test_empty_threshold_counts_inner_points() -> None:
    inner = np.c_[np.linspace(-0.01, 0.01, 10), np.zeros(10), np.zeros(10)]
    _, empty = REF.collision_and_empty(identity_grasp(), inner)
    assert not empty[0]
    _, empty = REF.collision_and_empty(identity_grasp(), inner[:9])
    assert empty[0]
    _, empty = GripperModel(empty_thresh=9).collision_and_empty(identity_grasp(), inner[:9])
    assert not empty[0]


def test_widths_are_clipped_to_zero_and_max_width() -> None:
    # width 0.2 acts as 0.1: y = 0.055 lies in the right finger (0.05, 0.06).
    regions = REF.region_masks(identity_grasp(width=0.2), np.array([[0.0, 0.055, 0.0]]))
    assert regions.right[0, 0]
    # width -0.05 acts as 0: y = 0 is inner (closed), y = 0.005 is in the right finger.
    regions = REF.region_masks(identity_grasp(width=-0.05), np.array([[0, 0, 0], [0, 0.005, 0]]))
    np.testing.assert_array_equal(regions.inner[0], [True, False])
    np.testing.assert_array_equal(regions.right[0], [False, True])
    np.testing.assert_array_equal(REF.clip_widths([-1.0, 0.05, 1.0]), [0.0, 0.05, 0.1])


# ---------------------------------------------------------------- agreement with the reference


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_reference_transcription(seed: int) -> None:
    collision, empty = assert_matches_reference(REF, *random_scene(seed))
    assert 0 < collision.sum() and 0 < (~empty).sum()  # both outcomes are exercised


@pytest.mark.parametrize("seed", range(4))
def test_agrees_for_other_grippers_and_scaled_rotations(seed: int) -> None:
    rot, t, w, d, pts = random_scene(100 + seed)
    scale = np.random.default_rng(seed).uniform(0.8, 1.25, (len(rot), 1, 1))
    gripper = GripperModel(finger_width=0.015, height=0.03, depth_base=0.01,
                           palm_thickness=0.02, max_width=0.08, empty_thresh=3)
    assert_matches_reference(gripper, rot * scale, t, w, d, pts)


def box_boundary_points(w: float, d: float, gripper: GripperModel = REF) -> np.ndarray:
    """Gripper-frame points on every face, edge and corner of every box, and between them."""
    fw, h2, db = gripper.finger_width, gripper.height / 2, gripper.depth_base
    xs = [-(db + gripper.palm_thickness), -db, d, (d - db) / 2, -db - 0.005]
    ys = [-(w / 2 + fw), -w / 2, w / 2, w / 2 + fw, 0.0, -(w / 2 + fw / 2), w / 2 + fw / 2]
    zs = [-h2, h2, 0.0]
    return np.array(list(itertools.product(xs, ys, zs)))


@pytest.mark.parametrize("seed", range(6))
def test_points_exactly_on_box_boundaries(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Signed permutation rotations: gripper coordinates are recovered exactly, so every
    # boundary value is tested as written (strict intervals exclude it, inner y includes it).
    perms = np.array([np.eye(3)[list(p)] for p in itertools.permutations(range(3))])
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=3)))
    rot = (perms[rng.integers(0, 6, 8)] * signs[rng.integers(0, 8, 8)][:, None, :])
    w = rng.choice([0.0, 0.02, 0.04, 0.1, 0.15], 8)
    d = rng.choice([0.01, 0.02, 0.04], 8)
    for i in range(8):
        local = box_boundary_points(min(w[i], 0.1), d[i])
        pts = local @ rot[i].T  # t = 0: exact
        np.testing.assert_array_equal(pts @ rot[i], local)
        assert_matches_reference(REF, rot[i:i + 1], np.zeros((1, 3)), w[i:i + 1], d[i:i + 1],
                                 pts)
    # Random rotations: the same boundary points, rounded by the rotation, flag for flag.
    rot = Rotation.random(8, random_state=seed).as_matrix()
    t = rng.uniform(-0.5, 0.5, (8, 3))
    for i in range(8):
        pts = t[i] + box_boundary_points(min(w[i], 0.1), d[i]) @ rot[i].T
        assert_matches_reference(REF, rot, t, w, d, pts)


def test_boundary_semantics_on_axis_aligned_grasp() -> None:
    local = box_boundary_points(0.04, 0.02)
    regions = REF.region_masks(identity_grasp(), local)
    x, y, z = local.T
    open_z = np.abs(z) < 0.01
    inner = open_z & (x > -0.02) & (x < 0.02) & (np.abs(y) <= 0.02)
    np.testing.assert_array_equal(regions.inner[0], inner)
    left = open_z & (x > -0.02) & (x < 0.02) & (y > -0.03) & (y < -0.02)
    np.testing.assert_array_equal(regions.left[0], left)


def test_chunking_and_blocks_give_the_same_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    rot, t, w, d, pts = random_scene(7, num_grasps=300, num_points=4000)
    full = REF.region_masks(GraspPoses(rot, t, w, d), pts)
    monkeypatch.setattr(gripper_regions, "_PAIR_BUDGET", 500)
    small = REF.region_masks(GraspPoses(rot, t, w, d), pts)
    for name in ("left", "right", "palm", "inner"):
        np.testing.assert_array_equal(getattr(small, name), getattr(full, name))
    assert_matches_reference(REF, rot, t, w, d, pts)


# ---------------------------------------------------------------- inputs


def test_accepts_grasp_group_and_explicit_arrays() -> None:
    rot, t, w, d, pts = random_scene(3)
    group = GraspGroup.from_components(t, rot, np.clip(w, 0, None), d)
    poses = as_grasp_poses(rot, t, np.clip(w, 0, None), d)
    for a, b in zip(REF.collision_and_empty(group, pts), REF.collision_and_empty(poses, pts),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(REF.box_corners(group), REF.box_corners(poses))


def test_empty_inputs() -> None:
    rot, t, w, d, pts = random_scene(0, num_grasps=3)
    collision, empty = REF.collision_and_empty(GraspPoses(rot, t, w, d), np.zeros((0, 3)))
    np.testing.assert_array_equal(collision, [False] * 3)
    np.testing.assert_array_equal(empty, [True] * 3)
    none = GraspPoses(np.zeros((0, 3, 3)), np.zeros((0, 3)), np.zeros(0), np.zeros(0))
    collision, empty = REF.collision_and_empty(none, pts)
    assert collision.shape == empty.shape == (0,)
    assert REF.region_masks(none, pts).left.shape == (0, len(pts))
    assert REF.box_corners(none).shape == (0, 3, 8, 3)


def test_grasps_far_from_every_point() -> None:
    rot, t, w, d, pts = random_scene(2, num_grasps=5)
    far = GraspPoses(rot, t + 10.0, w, d)
    collision, empty = REF.collision_and_empty(far, pts)
    np.testing.assert_array_equal(collision, [False] * 5)
    np.testing.assert_array_equal(empty, [True] * 5)
    assert not REF.region_masks(far, pts).inner.any()


def test_bad_inputs_raise_clear_errors() -> None:
    rot, t, w, d, pts = random_scene(0, num_grasps=3)
    poses = GraspPoses(rot, t, w, d)
    with pytest.raises(ValueError, match="points"):
        REF.collision_and_empty(poses, pts[:, :2])
    with pytest.raises(ValueError, match="points"):
        REF.collision_and_empty(poses, np.array([[0.0, np.nan, 0.0]]))
    with pytest.raises(ValueError, match="GraspGroup"):
        REF.collision_and_empty(object(), pts)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="translations"):
        GraspPoses(rot, t[:2], w, d)
    with pytest.raises(ValueError, match="widths"):
        GraspPoses(rot, t, np.array([0.1, np.inf, 0.1]), d)
    singular = rot.copy()
    singular[0] = 0.0
    with pytest.raises(ValueError, match="singular"):
        REF.region_masks(GraspPoses(singular, t, w, d), pts)


def test_deterministic_and_inputs_untouched() -> None:
    rot, t, w, d, pts = random_scene(5)
    copies = [a.copy() for a in (rot, t, w, d, pts)]
    first = REF.collision_and_empty(GraspPoses(rot, t, w, d), pts)
    second = REF.collision_and_empty(GraspPoses(rot, t, w, d), pts)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(copies, (rot, t, w, d, pts), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- box geometry


def test_box_corners_centres_and_extents_axis_aligned() -> None:
    w, d = 0.04, 0.03
    corners = REF.box_corners(identity_grasp(width=w, depth=d))
    assert corners.shape == (1, 3, 8, 3)
    centres = corners[0].mean(axis=1)
    extents = corners[0].max(axis=1) - corners[0].min(axis=1)
    np.testing.assert_allclose(centres, [[(d - 0.02) / 2, -(w / 2 + 0.005), 0.0],
                                         [(d - 0.02) / 2, w / 2 + 0.005, 0.0],
                                         [-0.025, 0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(extents, [[d + 0.02, 0.01, 0.02], [d + 0.02, 0.01, 0.02],
                                         [0.01, w + 0.02, 0.02]], atol=1e-12)
    # trimesh.creation.box vertex order: x slowest, z fastest.
    np.testing.assert_allclose(corners[0, 2, 0], [-0.03, -0.03, -0.01], atol=1e-12)
    np.testing.assert_allclose(corners[0, 2, 7], [-0.02, 0.03, 0.01], atol=1e-12)


def test_box_corners_follow_the_pose_and_match_region_masks() -> None:
    rot, t, w, d, _ = random_scene(11, num_grasps=20)
    d = np.abs(d) + 0.005
    poses = GraspPoses(rot, t, w, d)
    corners = REF.box_corners(poses)
    local = np.einsum("nbki,nij->nbkj", corners - t[:, None, None, :], rot)
    bounds = REF.box_bounds(poses)  # (N, 3, 2, 3) lower / upper corner per box
    bits = np.array(list(itertools.product((0, 1), repeat=3)))
    expected = np.stack([bounds[:, :, bits[:, k], k] for k in range(3)], axis=-1)
    np.testing.assert_allclose(local, expected, atol=1e-12)
    wc = np.clip(w, 0, 0.1)
    np.testing.assert_allclose(local[:, 0, :, 1].max(1), -wc / 2, atol=1e-12)
    np.testing.assert_allclose(local[:, 1, :, 1].min(1), wc / 2, atol=1e-12)
    # The centre of each box is flagged in exactly that box.
    centres = corners.mean(axis=2)  # (N, 3, 3)
    for i in range(len(rot)):
        regions = REF.region_masks(GraspPoses(rot[i:i + 1], t[i:i + 1], w[i:i + 1], d[i:i + 1]),
                                   centres[i])
        flags = np.stack([regions.left[0], regions.right[0], regions.palm[0]])
        np.testing.assert_array_equal(flags, np.eye(3, dtype=bool))


def test_collision_and_empty_refuses_a_large_cloud_in_millimetres(rng: np.random.Generator) -> None:
    """The units are checked on a strided sample of a large cloud: still refused."""
    points = rng.uniform(-50.0, 50.0, (50_000, 3)) + [0.0, 0.0, 600.0]  # 0.6 m written in mm
    with pytest.raises(ValueError, match="millimetres"):
        REF.collision_and_empty(identity_grasp(), points)
    collision, empty = REF.collision_and_empty(identity_grasp(), points / 1000.0)  # the same in metres
    assert collision.shape == empty.shape == (1,)
