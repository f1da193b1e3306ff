"""Oracle and random reference detectors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import trimesh

from grasplab.core import CameraIntrinsics, GripperModel, invert_transform, make_transform
from grasplab.detection import Detector, Observation
from grasplab.detection.baselines import OracleConfig, OracleDetector, RandomDetector, SceneState
from grasplab.execution.primitives import PrimitiveLibrary
from grasplab.labels import ObjectLabelConfig
from grasplab.scenes import TRAY_FLOOR_Z, World, plgp_initial_pose, render_frame

pytest.importorskip("pybullet")

TINY_LABELS = ObjectLabelConfig(spacing=0.01, num_views=20, num_angles=4, max_points=40)
K = CameraIntrinsics.from_fov(50.0, 96, 72)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveLibrary:
    return PrimitiveLibrary(tmp_path_factory.mktemp("objs"),
                            {3: trimesh.creation.box((0.04, 0.06, 0.05))})


@pytest.fixture(scope="module")
def scene(library: PrimitiveLibrary) -> Iterator[tuple[SceneState, Observation]]:
    with World() as world:
        world.add_table_and_tray()
        world.add_object(library.load(3), make_transform(np.eye(3), [0.0, 0.0, TRAY_FLOOR_Z + 0.025]))
        T_world_cam = plgp_initial_pose((0.0, 0.0, 0.0), 0.6)
        frame = render_frame(world, K, T_world_cam)
        obs = Observation(frame.depth, K, frame.rgb, None, T_world_cam)
        yield SceneState.from_world(world), obs


def test_oracle_returns_collision_free_label_grasps(library: PrimitiveLibrary,
                                                    scene: tuple[SceneState, Observation]) -> None:
    state, obs = scene
    oracle = OracleDetector(library, config=OracleConfig(label_config=TINY_LABELS), rng=0)
    assert isinstance(oracle, Detector)
    oracle.bind(state)
    grasps = oracle.detect(obs)
    assert 0 < len(grasps) <= 100
    assert np.all(np.diff(grasps.scores) <= 0)  # sorted
    scores = np.round(1.1 - grasps.scores, 4)
    assert set(scores.tolist()) <= {round(0.1 * k, 4) for k in range(1, 11)}  # score = 1.1 - mu
    assert np.all(grasps.object_ids == 3)
    assert obs.T_world_cam is not None
    world = grasps.transform(obs.T_world_cam)
    np.testing.assert_allclose(world.array, oracle.world_grasps().array, atol=1e-9)
    # grasp points lie on the box (world frame), approaches within 45 degrees of straight down
    t = world.translations
    assert np.all(np.abs(t[:, :2]) <= [0.021, 0.031]) and np.all(t[:, 2] > TRAY_FLOOR_Z - 1e-3)
    assert np.all(-world.rotations[:, 2, 0] >= np.cos(np.deg2rad(45.0)) - 1e-9)
    # none of them puts a finger or the palm into the tray floor
    ticks = np.linspace(-0.1, 0.1, 41)
    floor = np.stack([*np.meshgrid(ticks, ticks), np.full((41, 41), TRAY_FLOOR_Z)], -1).reshape(-1, 3)
    collision, _ = GripperModel().collision_and_empty(world, floor)
    assert not collision.any()


def test_oracle_needs_a_scene_and_a_pose(library: PrimitiveLibrary,
                                         scene: tuple[SceneState, Observation]) -> None:
    state, obs = scene
    oracle = OracleDetector(library, config=OracleConfig(label_config=TINY_LABELS), rng=0)
    with pytest.raises(ValueError, match="bind"):
        oracle.detect(obs)
    oracle.bind(state)
    with pytest.raises(ValueError, match="T_world_cam"):
        oracle.detect(Observation(obs.depth, K))
    with pytest.raises(ValueError, match="max_grasps"):
        OracleConfig(max_grasps=0)


def test_random_detector(scene: tuple[SceneState, Observation]) -> None:
    _, obs = scene
    det = RandomDetector(rng=1, num_grasps=30, max_tilt=np.deg2rad(20.0))
    grasps = det.detect(obs)
    assert len(grasps) == 30 and np.all(np.diff(grasps.scores) <= 0)
    assert np.all(grasps.rotations[:, 2, 0] >= np.cos(np.deg2rad(20.0)) - 1e-9)  # near camera +z
    points = obs.points()
    nearest = np.min(np.linalg.norm(grasps.translations[:, None] - points[None], axis=2), axis=1)
    assert nearest.max() < 1e-9  # at observed points
    assert np.all((grasps.widths >= 0.01) & (grasps.widths <= 0.1))
    again = RandomDetector(rng=1, num_grasps=30, max_tilt=np.deg2rad(20.0)).detect(obs)
    np.testing.assert_array_equal(grasps.array, again.array)
    masked = Observation(obs.depth, K, mask=np.zeros(obs.depth.shape, dtype=bool))
    assert len(det.detect(masked)) == 0
    with pytest.raises(ValueError, match="num_grasps"):
        RandomDetector(num_grasps=0)
    with pytest.raises(ValueError, match="max_tilt"):
        RandomDetector(max_tilt=2.0)


def test_scene_state_checks_shapes() -> None:
    with pytest.raises(ValueError, match="T_world_obj"):
        SceneState((1, 2), np.zeros((1, 4, 4)), np.eye(4))
    state = SceneState((5,), np.eye(4)[None], np.eye(4))
    assert state.object_ids == (5,) and state.T_world_tray is None
    np.testing.assert_array_equal(invert_transform(state.T_world_table), np.eye(4))
