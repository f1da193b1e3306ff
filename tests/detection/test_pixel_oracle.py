"""The pixel-label oracle: PLGP labels of the bound scene decoded like network output."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import trimesh

pytest.importorskip("torch")
pytest.importorskip("pybullet")
pytest.importorskip("embreex")

from grasplab.core import CameraIntrinsics, GripperModel, make_transform  # noqa: E402
from grasplab.detection import Detector, Observation  # noqa: E402
from grasplab.detection.baselines import SceneState  # noqa: E402
from grasplab.detection.pixel_oracle import (  # noqa: E402
    PixelLabelOracle,
    PixelOracleConfig,
    label_maps_for_decoding,
)
from grasplab.execution.primitives import PrimitiveLibrary  # noqa: E402
from grasplab.scenes import TRAY_FLOOR_Z, World, plgp_initial_pose, render_frame, table_eta  # noqa: E402

K = CameraIntrinsics.from_fov(50.0, 240, 180)
BOX = (0.04, 0.07, 0.05)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveLibrary:
    return PrimitiveLibrary(tmp_path_factory.mktemp("objs"), {3: trimesh.creation.box(BOX)})


@pytest.fixture(scope="module")
def scene(library: PrimitiveLibrary) -> Iterator[tuple[SceneState, Observation]]:
    with World() as world:
        world.add_table_and_tray()
        world.add_object(library.load(3), make_transform(np.eye(3), [0.0, 0.0, TRAY_FLOOR_Z + BOX[2] / 2]))
        T_world_cam = plgp_initial_pose((0.0, 0.0, 0.0), 0.5)
        frame = render_frame(world, K, T_world_cam)
        yield SceneState.from_world(world), Observation(frame.depth, K, frame.rgb, frame.mask, T_world_cam)


def test_oracle_grasps_hold_the_box_and_spare_the_floor(library: PrimitiveLibrary,
                                                        scene: tuple[SceneState, Observation]) -> None:
    state, obs = scene
    oracle = PixelLabelOracle(library, PixelOracleConfig(num_grasps=10))
    assert isinstance(oracle, Detector)
    oracle.bind(state)
    grasps = oracle.detect(obs)
    assert 0 < len(grasps) <= 10 and np.all(np.diff(grasps.scores) <= 0)
    assert obs.T_world_cam is not None
    world = grasps.transform(obs.T_world_cam)
    t = world.translations
    assert np.all(np.abs(t[:, :2]) <= [BOX[0] / 2 + 1e-3, BOX[1] / 2 + 1e-3])  # on the box top
    np.testing.assert_allclose(t[:, 2], TRAY_FLOOR_Z + BOX[2], atol=2e-3)
    # jaws across the 4 cm side (the 7 cm side needs a finger past the box's end) and open wider
    assert np.all(np.abs(world.rotations[:, 0, 1]) > 0.95)
    assert np.all(world.widths > BOX[0]) and np.all(world.widths <= 0.1)
    box_points = trimesh.sample.sample_surface_even(trimesh.creation.box(BOX), 4000, seed=0)[0]
    box_points = box_points + [0.0, 0.0, TRAY_FLOOR_Z + BOX[2] / 2]
    ticks = np.linspace(-0.1, 0.1, 41)
    floor = np.stack([*np.meshgrid(ticks, ticks), np.full((41, 41), TRAY_FLOOR_Z)], -1).reshape(-1, 3)
    collision, empty = GripperModel().collision_and_empty(world, np.concatenate([box_points, floor]))
    assert not collision.any() and not empty.any()


def test_oracle_needs_a_scene_a_pose_and_a_mask(library: PrimitiveLibrary,
                                                scene: tuple[SceneState, Observation]) -> None:
    state, obs = scene
    oracle = PixelLabelOracle(library)
    with pytest.raises(RuntimeError, match="bind"):
        oracle.detect(obs)
    oracle.bind(state)
    with pytest.raises(ValueError, match="mask"):
        oracle.detect(Observation(obs.depth, K, None, None, obs.T_world_cam))
    with pytest.raises(ValueError, match="smoothing"):
        PixelOracleConfig(smoothing=4)


def test_table_eta_is_fx_over_the_table_depth() -> None:
    T_world_cam = plgp_initial_pose((0.0, 0.0, 0.0), 0.5)
    assert table_eta(500.0, T_world_cam, np.eye(4)) == pytest.approx(500.0 / 0.5, rel=1e-6)


def test_label_maps_for_decoding_prefers_the_middle_of_a_region() -> None:
    quality = np.zeros((9, 12), np.float32)
    quality[2:7, 2:9] = 1.0  # a 5 x 7 labelled region
    angle_quality = np.zeros((2, 9, 12), np.float32)
    angle_quality[1, 2:7, 2:9] = 1.0
    width = angle_quality * 0.4
    q, aq, w = label_maps_for_decoding(quality, angle_quality, width, smoothing=3)
    assert np.unravel_index(np.argmax(q), q.shape)[0] in (3, 4, 5) and q[0, 0] == 0.0
    assert np.all(q[quality == 0] == 0.0) and q.max() == pytest.approx(1.0)
    assert np.all(aq[0] == 0.0) and aq[1, 4, 5] == pytest.approx(1.0)
    assert w[1, 4, 5] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="smoothing"):
        label_maps_for_decoding(quality, angle_quality, width, smoothing=2)
