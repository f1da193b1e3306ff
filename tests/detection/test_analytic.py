from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grasplab.core import GraspGroup, GripperModel
from grasplab.detection import (
    AnalyticDetector,
    AnalyticDetectorConfig,
    Detector,
    Observation,
)
from grasplab.detection.proposals import finger_samples, occluded_fraction

Scene = Any  # tests/detection/conftest.py::Scene (conftest modules are not importable)


def _box_frame(scene: Scene, grasps: GraspGroup, box_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Grasp points and jaw axes in the frame of one box of the scene."""
    box = scene.boxes[box_index]
    world = grasps.transform(scene.T_world_cam)
    points = (world.translations - np.asarray(box.center)) @ box.rotation
    jaws = world.rotations[:, :, 1] @ box.rotation
    return points, jaws


def _on_box(points: np.ndarray, size: tuple[float, float, float], tol: float) -> np.ndarray:
    return np.all(np.abs(points) <= np.asarray(size) / 2 + tol, axis=1)


@pytest.fixture(scope="module")
def box_grasps(box_scene: Scene) -> GraspGroup:
    obs = Observation(box_scene.depth, box_scene.intrinsics, T_world_cam=box_scene.T_world_cam)
    return AnalyticDetector(AnalyticDetectorConfig(pixel_stride=1), rng=0).detect(obs)


def test_box_grasps_go_across_the_short_side(box_scene: Scene, box_grasps: GraspGroup) -> None:
    top = box_grasps[:10]
    assert len(top) == 10
    points, jaws = _box_frame(box_scene, top, 0)
    across = np.abs(jaws[:, 0])  # box x is its 5 cm side
    assert across[0] > np.cos(np.deg2rad(20.0))
    # in-plane angles are 30 degrees apart, so the nearest one can be 15 degrees off
    assert np.mean(across > np.cos(np.deg2rad(30.0))) >= 0.8
    assert _on_box(points, box_scene.boxes[0].size, 0.01).all()
    best = across > np.cos(np.deg2rad(10.0))
    # the opening fits the 5 cm side plus margins (and the histogram's conservative bins)
    assert np.all((top.widths[best] > 0.05) & (top.widths[best] < 0.075))


def test_output_is_well_formed(box_grasps: GraspGroup) -> None:
    cfg = AnalyticDetectorConfig()
    assert 10 <= len(box_grasps) <= cfg.max_grasps
    assert np.all(np.diff(box_grasps.scores) <= 0)
    assert box_grasps.invalid_rows() == []
    assert np.all((box_grasps.widths > 0) & (box_grasps.widths <= cfg.gripper.max_width))
    assert set(np.round(box_grasps.depths, 6)) <= set(cfg.depths)
    np.testing.assert_allclose(box_grasps.heights, cfg.gripper.height)
    # approaches point away from the camera (into the observed surfaces)
    assert np.all(box_grasps.rotations[:, 2, 0] > 0)
    # pose NMS held: no two grasps closer than 3 cm and 30 degrees
    assert len(box_grasps.nms()) == len(box_grasps)


def test_fingers_stay_out_of_unseen_space(box_scene: Scene, box_grasps: GraspGroup) -> None:
    # finger samples hidden behind the observed surface (the box's unseen sides, the plane
    # under it) are penalized: the top grasps keep their fingers in observed free space,
    # unlike the same search scored without the penalties
    def hidden(grasps: GraspGroup) -> np.ndarray:
        local = finger_samples(grasps.widths, grasps.depths, GripperModel())
        return occluded_fraction(grasps.translations, grasps.rotations, local, box_scene.depth,
                                 box_scene.intrinsics)

    ours = hidden(box_grasps[:10])
    assert ours[0] == 0.0 and ours.mean() <= 0.08
    plain = AnalyticDetectorConfig(pixel_stride=1, occlusion_weight=0.0, tilt_weight=0.0,
                                   tip_weight=0.0, depth_weight=0.0, centroid_weight=0.0,
                                   contact_levels=0)
    obs = Observation(box_scene.depth, box_scene.intrinsics, T_world_cam=box_scene.T_world_cam)
    assert hidden(AnalyticDetector(plain, rng=0).detect(obs)[:10]).mean() > ours.mean() + 0.1


def test_grasps_are_free_against_the_full_resolution_cloud(
    box_scene: Scene, box_grasps: GraspGroup
) -> None:
    obs = Observation(box_scene.depth, box_scene.intrinsics)
    collision, empty = GripperModel().collision_and_empty(box_grasps, obs.points())
    assert collision.mean() <= 0.1 and not empty.any()


def test_deterministic_for_a_seed(box_scene: Scene) -> None:
    obs = Observation(box_scene.depth, box_scene.intrinsics)
    cfg = AnalyticDetectorConfig(num_samples=40)
    first = AnalyticDetector(cfg, rng=7).detect(obs)
    again = AnalyticDetector(cfg, rng=7)
    np.testing.assert_array_equal(first.array, again.detect(obs).array)
    np.testing.assert_array_equal(first.array, again.detect(obs).array)  # int seed: per call
    other = AnalyticDetector(cfg, rng=8).detect(obs)
    assert other.array.shape != first.array.shape or not np.array_equal(other.array, first.array)
    assert set(AnalyticDetector(cfg, rng=7).last_timings_) == set()


def test_mask_restricts_grasps_to_one_object(two_box_scene: Scene) -> None:
    scene = two_box_scene
    # an instance mask (label = object id + 1) restricted to the second box
    instance = np.where(scene.labels == 2, 8, 0)
    obs = Observation(scene.depth, scene.intrinsics, mask=instance)
    grasps = AnalyticDetector(AnalyticDetectorConfig(num_samples=60), rng=1).detect(obs)
    assert len(grasps) > 0
    points, _ = _box_frame(scene, grasps, 1)
    # the other box is 13 cm away; a centred side grasp may sit a finger gap off the block
    assert _on_box(points, scene.boxes[1].size, 0.015).all()
    np.testing.assert_array_equal(grasps.object_ids, 7)
    boolean = Observation(scene.depth, scene.intrinsics, mask=instance > 0)
    as_bool = AnalyticDetector(AnalyticDetectorConfig(num_samples=60), rng=1).detect(boolean)
    np.testing.assert_array_equal(as_bool.object_ids, -1)
    np.testing.assert_array_equal(as_bool.translations, grasps.translations)


def test_empty_region_gives_empty_group(box_scene: Scene) -> None:
    obs = Observation(box_scene.depth, box_scene.intrinsics,
                      mask=np.zeros(box_scene.depth.shape, bool))
    detector = AnalyticDetector(rng=0)
    result = detector.detect(obs)
    assert isinstance(result, GraspGroup) and len(result) == 0
    far = Observation(np.full((24, 32), 5.0, np.float32), box_scene.intrinsics.scaled(0.1))
    assert len(detector.detect(far)) == 0  # beyond max_depth
    with pytest.raises(ValueError, match="no valid pixel"):
        Observation(np.zeros((24, 32), np.float32), box_scene.intrinsics.scaled(0.1))


def test_protocol_and_bad_input() -> None:
    detector = AnalyticDetector()
    assert isinstance(detector, Detector)
    with pytest.raises(ValueError, match="Observation"):
        detector.detect(np.zeros((4, 4)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="config"):
        AnalyticDetector(config={"num_samples": 3})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rng"):
        AnalyticDetector(rng="seed")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_samples": 0}, "num_samples"),
        ({"voxel_size": -0.01}, "voxel_size"),
        ({"depths": (0.02, 0.01)}, "depths"),
        ({"depths": ()}, "depths"),
        ({"min_depth": 2.0, "max_depth": 1.0}, "min_depth"),
        ({"gripper": "franka"}, "gripper"),
        ({"num_neighbors": 2}, "num_neighbors"),
        ({"occlusion_weight": -1.0}, "occlusion_weight"),
        ({"centroid_weight": float("nan")}, "centroid_weight"),
        ({"occlusion_tolerance": 0.0}, "occlusion_tolerance"),
        ({"tilt_free": 2.0}, "tilt_free"),
        ({"contact_levels": -1}, "contact_levels"),
        ({"contact_height": 0.0}, "contact_height"),
        ({"tip_points": 0}, "tip_points"),
    ],
)
def test_config_validation(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AnalyticDetectorConfig(**kwargs)  # type: ignore[arg-type]


def test_config_lives_in_analytic_config_and_keeps_its_old_import_paths() -> None:
    from grasplab import detection
    from grasplab.detection import analytic, analytic_config

    cls = analytic_config.AnalyticDetectorConfig
    assert analytic.AnalyticDetectorConfig is cls and detection.AnalyticDetectorConfig is cls
    with pytest.raises(ValueError, match="voxel_size"):
        cls(voxel_size=0.0)
