"""The evaluator's collision flags share the gripper-region engine of grasplab.core."""

import numpy as np
import pytest
from ap_synthetic import make_grasps
from scipy.spatial.transform import Rotation

from grasplab.core.grasp_group import GraspGroup
from grasplab.core.gripper import GraspPoses, GripperModel
from grasplab.core.gripper_regions import gripper_extent, region_flags
from grasplab.evaluation import APConfig, APEvaluator
from grasplab.evaluation.collision import collision_and_empty, crop_boxes

GRIPPERS = [GripperModel(), GripperModel(finger_width=0.007, height=0.03, depth_base=0.015,
                                         palm_thickness=0.02, max_width=0.08)]


def signed_reference_flags(
    g: GripperModel, q: np.ndarray, widths: np.ndarray, depths: np.ndarray
) -> np.ndarray:
    """(4, Q) left/right/palm/inner, the reference's signed inequalities written out."""
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    half, outer = widths / 2, widths / 2 + g.finger_width
    slab = (z > -g.height / 2) & (z < g.height / 2)
    along = slab & (x > -g.depth_base) & (x < depths)
    left = along & (y > -outer) & (y < -half)
    right = along & (y > half) & (y < outer)
    palm = slab & (x > -(g.depth_base + g.palm_thickness)) & (x < -g.depth_base)
    palm &= (y > -outer) & (y < outer)
    inner = along & (y >= -half) & (y <= half)
    return np.stack([left, right, palm, inner])


@pytest.mark.parametrize("gripper", GRIPPERS)
def test_region_flags_equal_the_signed_reference_tests_on_and_off_the_boundaries(
    gripper: GripperModel, rng: np.random.Generator
) -> None:
    num = 20000
    widths = np.clip(rng.uniform(-0.02, 0.12, num), 0.0, gripper.max_width)
    depths = rng.uniform(-0.03, 0.05, num)
    q = rng.uniform([-0.05, -0.07, -0.02], [0.06, 0.07, 0.02], (num, 3))
    # a third of the points exactly on a box face, with either sign
    edge = rng.integers(0, 3, num) == 0
    half, outer = widths / 2, widths / 2 + gripper.finger_width
    faces_y = np.stack([half, -half, outer, -outer, np.zeros(num)], axis=1)
    q[edge, 1] = faces_y[edge, rng.integers(0, 5, edge.sum())]
    faces_x = np.stack([-np.full(num, gripper.depth_base), depths,
                        -np.full(num, gripper.depth_base + gripper.palm_thickness)], axis=1)
    q[edge, 0] = faces_x[edge, rng.integers(0, 3, edge.sum())]
    q[edge & (rng.uniform(size=num) < 0.3), 2] = gripper.height / 2
    got = region_flags(gripper, q, widths, depths)
    want = signed_reference_flags(gripper, q, widths, depths)
    np.testing.assert_array_equal(got, want)
    assert all(want[k].sum() > 100 for k in range(4))  # every region is exercised


@pytest.mark.parametrize("gripper", GRIPPERS)
def test_gripper_extent_is_the_union_of_the_boxes_and_holds_every_flagged_point(
    gripper: GripperModel, rng: np.random.Generator
) -> None:
    num = 50
    rot = Rotation.random(num, random_state=1).as_matrix()
    widths = gripper.clip_widths(rng.uniform(-0.02, 0.12, num))
    depths = rng.uniform(-0.03, 0.05, num)
    poses = GraspPoses(rot, np.zeros((num, 3)), widths, depths)
    bounds = gripper.box_bounds(poses)  # (N, 3 boxes, lower/upper, xyz)
    lower, upper = gripper_extent(gripper, widths, depths)
    np.testing.assert_array_equal(lower, bounds[:, :, 0].min(axis=1))
    np.testing.assert_array_equal(upper, bounds[:, :, 1].max(axis=1))
    q = rng.uniform(-0.08, 0.08, (num, 4000, 3))
    flagged = region_flags(gripper, q, widths[:, None], depths[:, None]).any(axis=0)
    inside = np.all((q >= lower[:, None]) & (q <= upper[:, None]), axis=2)
    assert flagged.sum() > 1000 and not (flagged & ~inside).any()


def test_region_masks_equal_region_flags_of_every_pair(rng: np.random.Generator) -> None:
    gripper = GripperModel()
    num, points = 120, 3000
    pts = rng.uniform(-0.1, 0.1, (points, 3))
    rot = Rotation.random(num, random_state=2).as_matrix()
    t = pts[rng.integers(0, points, num)] + rng.normal(0.0, 0.01, (num, 3))
    widths = rng.uniform(-0.02, 0.13, num)
    depths = rng.uniform(-0.03, 0.05, num)
    masks = gripper.region_masks(GraspPoses(rot, t, widths, depths), pts)
    q = np.matmul(pts[None] - t[:, None, :], rot)  # (N, M, 3), gripper frame
    clipped = gripper.clip_widths(widths)
    dense = region_flags(gripper, q, clipped[:, None], depths[:, None])
    for k, name in enumerate(("left", "right", "palm", "inner")):
        np.testing.assert_array_equal(getattr(masks, name), dense[k])
    assert masks.collision.sum() > 10 and masks.inner_counts().sum() > 10


@pytest.fixture(scope="module")
def scene(synthetic_root):
    return APEvaluator(synthetic_root, "realsense").frame_scene(0, 0)


def test_fast_collision_equals_region_masks_on_the_cropped_scene(scene, rng) -> None:
    gripper = APConfig().gripper
    n = 400
    rotations = Rotation.random(n, random_state=5).as_matrix()
    centres = rng.uniform([-0.15, -0.06, 0.40], [0.35, 0.06, 0.52], size=(n, 3))
    grasps = make_grasps(centres, rng.uniform(size=n), widths=rng.uniform(0.0, 0.1, n),
                         depths=rng.uniform(0.0, 0.04, n), rotations=rotations)
    owner = (centres[:, 0] > 0.2).astype(np.int64)
    collision, empty = collision_and_empty(grasps, owner, scene, gripper)
    parts = list(scene.camera_points)
    T = scene.T_cam_table  # noqa: N806
    parts.append(scene.table.points @ T[:3, :3].T + T[:3, 3])
    everything = np.concatenate(parts)
    lows, highs = crop_boxes(scene, 0.05)
    for k in np.unique(owner):
        rows = np.flatnonzero(owner == k)
        crop = everything[np.all((everything > lows[k]) & (everything < highs[k]), axis=1)]
        masks = gripper.region_masks(GraspGroup(grasps[rows], validate=False), crop)
        np.testing.assert_array_equal(collision[rows], masks.collision)
        np.testing.assert_array_equal(empty[rows], masks.inner_counts() < gripper.empty_thresh)
    assert 20 < collision.sum() < n - 20 and 20 < empty.sum() < n - 20


def test_dense_and_kd_tree_object_candidates_give_the_same_flags(scene, rng, monkeypatch) -> None:
    import grasplab.evaluation.collision as collision_module

    gripper = APConfig().gripper
    n = 300
    rotations = Rotation.random(n, random_state=7).as_matrix()
    centres = rng.uniform([-0.15, -0.06, 0.40], [0.35, 0.06, 0.52], size=(n, 3))
    grasps = make_grasps(centres, rng.uniform(size=n), widths=rng.uniform(0.0, 0.1, n),
                         depths=rng.uniform(0.0, 0.04, n), rotations=rotations)
    owner = (centres[:, 0] > 0.2).astype(np.int64)
    dense = collision_and_empty(grasps, owner, scene, gripper)  # every object tested densely
    monkeypatch.setattr(collision_module, "DENSE_PAIR_LIMIT", 0)  # every object via its KD-tree
    tree = collision_and_empty(grasps, owner, scene, gripper)
    np.testing.assert_array_equal(dense[0], tree[0])
    np.testing.assert_array_equal(dense[1], tree[1])
    assert 20 < dense[0].sum() < n - 20 and 20 < dense[1].sum() < n - 20
