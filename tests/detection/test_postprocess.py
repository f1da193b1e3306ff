from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grasplab.core import GraspGroup, GripperModel, rotation_x, rotation_y
from grasplab.detection import (
    AnalyticDetector,
    Observation,
    PostProcessConfig,
    center_grasps,
    collision_filter,
    nms,
    postprocess,
    top_k,
    workspace_filter,
)

GRIPPER = GripperModel()


def _grid(lo: tuple[float, float, float], hi: tuple[float, float, float], step: float = 0.002
          ) -> np.ndarray:
    axes = [np.arange(a, b + 1e-9, step) for a, b in zip(lo, hi, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def _grasp(t: tuple[float, float, float], R: np.ndarray | None = None, width: float = 0.08,
           depth: float = 0.02, score: float = 1.0) -> GraspGroup:
    rot = np.eye(3) if R is None else R
    return GraspGroup.from_components([t], rot[None], width, depth, scores=score)


def test_centering_moves_an_off_centre_grasp_to_the_slab_middle() -> None:
    slab = _grid((0.0, 0.01, -0.02), (0.03, 0.05, 0.02))  # 4 cm slab across y, middle y = 0.03
    grasps = GraspGroup.concatenate([
        _grasp((0.0, 0.0, 0.0), width=0.1),  # jaw at y = ±0.05: slab spans y in [0.01, 0.05]
        _grasp((0.0, 0.5, 0.0)),  # nothing between the jaws: unchanged
    ])
    centred = center_grasps(grasps, slab, GRIPPER)
    np.testing.assert_allclose(centred.translations[0], [0.0, 0.03, 0.0], atol=1e-9)
    np.testing.assert_allclose(centred.translations[1], [0.0, 0.5, 0.0])
    np.testing.assert_array_equal(centred.widths, grasps.widths)
    np.testing.assert_array_equal(centred.rotations, grasps.rotations)
    # both jaws now travel the same distance to their contact
    q = (slab - centred.translations[0]) @ centred.rotations[0]
    inner = (q[:, 0] > -0.02) & (q[:, 0] < 0.02) & (np.abs(q[:, 2]) < 0.01) & (np.abs(q[:, 1]) <= 0.05)
    assert np.isclose(0.05 + q[inner, 1].min(), 0.05 - q[inner, 1].max())
    assert np.isclose(grasps.translations[0, 1], 0.0)  # input untouched


def test_centering_follows_a_rotated_jaw_axis() -> None:
    R = rotation_x(np.pi / 2)  # jaw axis along +z
    slab = _grid((0.0, -0.02, 0.0), (0.03, 0.02, 0.04))
    centred = center_grasps(_grasp((0.0, 0.0, -0.005), R, width=0.1), slab, GRIPPER)
    np.testing.assert_allclose(centred.translations[0], [0.0, 0.0, 0.02], atol=1e-9)


def test_workspace_filter_angle_and_box() -> None:
    down = np.array([[0, 0, -1], [0, 1, 0], [1, 0, 0]], float).T  # approach (0, 0, -1)
    tilted_30 = rotation_y(np.deg2rad(30.0)) @ down
    tilted_20 = rotation_y(np.deg2rad(20.0)) @ down
    grasps = GraspGroup.concatenate([
        _grasp((0.0, 0.0, 0.05), tilted_30, score=0.9),
        _grasp((0.0, 0.0, 0.05), tilted_20, score=0.8),
        _grasp((0.5, 0.0, 0.05), down, score=0.7),
    ])
    kept = workspace_filter(grasps, max_angle=np.deg2rad(25.0))
    np.testing.assert_array_equal(kept.scores, [0.8, 0.7])
    boxed = workspace_filter(grasps, (-0.1, -0.1, 0.0), (0.1, 0.1, 0.2), max_angle=None)
    np.testing.assert_array_equal(boxed.scores, [0.9, 0.8])
    # the same test in a camera frame: the camera looks straight down from 1 m
    T_world_cam = np.eye(4)
    T_world_cam[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T_world_cam[2, 3] = 1.0
    in_cam = grasps.transform(np.linalg.inv(T_world_cam))
    kept_cam = workspace_filter(in_cam, (-0.1, -0.1, 0.0), (0.1, 0.1, 0.2), T_world_cam,
                                max_angle=np.deg2rad(25.0))
    np.testing.assert_array_equal(kept_cam.scores, [0.8])
    np.testing.assert_allclose(kept_cam.translations, in_cam[1].translations)  # camera frame
    with pytest.raises(ValueError, match="max_angle"):
        workspace_filter(grasps, max_angle=-1.0)
    with pytest.raises(ValueError, match="vertical"):
        workspace_filter(grasps, vertical=(0, 0, 0))


def test_collision_filter_drops_a_finger_in_a_wall() -> None:
    wall = _grid((-0.01, 0.044, -0.05), (0.05, 0.05, 0.05))  # plane y in [0.044, 0.05]
    grasps = GraspGroup.concatenate([
        _grasp((0.0, 0.0, 0.0), width=0.1, score=0.9),  # right finger y in (0.05, 0.06): free
        _grasp((0.0, 0.0, 0.0), width=0.08, score=0.8),  # right finger y in (0.04, 0.05): wall
        _grasp((0.0, -0.2, 0.0), width=0.08, score=0.7),  # far from the wall, empty
    ])
    kept = collision_filter(grasps, wall, GRIPPER)
    np.testing.assert_array_equal(kept.scores, [0.9, 0.7])
    # the first grasp holds the wall between its jaws; the far one holds nothing
    np.testing.assert_array_equal(
        collision_filter(grasps, wall, GRIPPER, reject_empty=True).scores, [0.9])
    assert len(collision_filter(grasps, wall, GRIPPER, top_n=1)) == 1
    with pytest.raises(ValueError, match="top_n"):
        collision_filter(grasps, wall, GRIPPER, top_n=-1)


def test_top_k_and_nms() -> None:
    grasps = GraspGroup.concatenate([
        _grasp((0.0, 0.0, 0.0), score=0.5), _grasp((0.01, 0.0, 0.0), score=0.9),
        _grasp((0.1, 0.0, 0.0), score=0.7),
    ])
    np.testing.assert_array_equal(top_k(grasps, 2).scores, [0.9, 0.7])
    np.testing.assert_array_equal(nms(grasps).scores, [0.9, 0.7])
    with pytest.raises(ValueError, match="k"):
        top_k(grasps, -1)
    with pytest.raises(ValueError, match="GraspGroup"):
        top_k(np.zeros((2, 17)), 1)  # type: ignore[arg-type]


def test_postprocess_pipeline(box_scene: Any) -> None:
    obs = Observation(box_scene.depth, box_scene.intrinsics, T_world_cam=box_scene.T_world_cam)
    raw = AnalyticDetector(rng=0).detect(obs)
    cfg = PostProcessConfig(box_min=(-0.1, -0.1, 0.0), box_max=(0.1, 0.1, 0.1),
                            max_angle=np.deg2rad(20.0), top_k=5)
    out = postprocess(raw, obs, cfg)
    assert 0 < len(out) <= 5 and np.all(np.diff(out.scores) <= 0)
    world = out.transform(box_scene.T_world_cam)
    assert np.all(world.rotations[:, 2, 0] <= -np.cos(np.deg2rad(20.0)) + 1e-9)
    collision, _ = GRIPPER.collision_and_empty(out, obs.points())
    assert not collision.any()
    everything = postprocess(raw, obs, PostProcessConfig(nms_translation=None, top_n=None,
                                                         center=False, collision=False))
    np.testing.assert_array_equal(everything.array, raw.sort_by_score().array)
