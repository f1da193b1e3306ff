"""Bin-picking episodes: scene setup, the top-k and clearance runs and their attempt rows."""

from __future__ import annotations

import numpy as np
import pytest

from grasplab.core import CameraIntrinsics, GraspGroup
from grasplab.detection.baselines import RandomDetector
from grasplab.detection.protocol import SceneAwareDetector
from grasplab.detection.scene_state import SceneState
from grasplab.execution import episode
from grasplab.execution.episode import (
    BinpickScene,
    ClearanceRecord,
    EpisodeConfig,
    clearance_finished,
    run_clearance,
    run_top_k,
)
from grasplab.execution.primitives import PrimitiveLibrary
from grasplab.scenes import ClutterConfig, generate_clutter, plgp_camera_pose

pytest.importorskip("pybullet")

CONFIG = EpisodeConfig(CameraIntrinsics.from_fov(50.0, 96, 72), max_attempts_per_object=1)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveLibrary:
    return PrimitiveLibrary.random(tmp_path_factory.mktemp("episode"), 4, rng=3, first_id=300)


@pytest.fixture(scope="module")
def setup(library: PrimitiveLibrary) -> tuple[object, np.ndarray]:
    record = generate_clutter(library, library.ids(), 0, rng=5, config=ClutterConfig(num_objects=2))
    center = np.asarray(record.T_world_tray)[:3, 3]
    return record, plgp_camera_pose(5, center=center, height=0.7)


def test_clearance_record_arithmetic() -> None:
    seq = [True, False, True, False, False, True, False, False, False, False, False]
    assert not any(clearance_finished(seq[:k], 5) for k in range(len(seq)))
    assert clearance_finished(seq, 5)
    record = ClearanceRecord(5, tuple(seq))
    assert (record.attempts, record.cleared) == (11, 3)
    assert record.percent_cleared == pytest.approx(3 / 5)


def test_scene_closes_its_client_when_setup_fails(library: PrimitiveLibrary,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[episode.World] = []

    class RecordingWorld(episode.World):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    def broken_populate(*args: object, **kwargs: object) -> None:
        raise ValueError("bad scene")

    monkeypatch.setattr(episode, "World", RecordingWorld)
    monkeypatch.setattr(episode, "populate_world", broken_populate)
    with pytest.raises(ValueError, match="bad scene"):
        BinpickScene(library, None, CONFIG, np.eye(4))  # type: ignore[arg-type]
    assert len(made) == 1
    with pytest.raises(RuntimeError, match="closed"):
        _ = made[0].p


class _Binding:
    """A scene-aware detector that records what it was bound to and finds nothing."""

    def __init__(self) -> None:
        self.states: list[SceneState] = []

    def bind(self, state: SceneState) -> None:
        self.states.append(state)

    def detect(self, observation: object) -> GraspGroup:
        return GraspGroup.empty()


def test_clearance_without_grasps_logs_failed_no_grasp_rows(library: PrimitiveLibrary,
                                                            setup: tuple[object, np.ndarray]) -> None:
    record, T_world_cam = setup
    detector = _Binding()
    assert isinstance(detector, SceneAwareDetector)
    with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
        rows = run_clearance(scene, detector, 0.6, detector_name="none", scene_index=4)
    # 2 objects, at most 1 attempt per object: two no-grasp rows, nothing removed
    assert [r.attempt for r in rows] == [0, 1]
    assert all(r.reason == "no_grasp" and not r.success and not r.executed for r in rows)
    assert all((r.detector, r.scene, r.mu, r.phase) == ("none", 4, 0.6, "clearance") for r in rows)
    assert all(r.objects_left == 2 and r.num_objects == 2 for r in rows)
    assert len(detector.states) == 2 and len(detector.states[0].object_ids) == 2


def test_top_k_restores_the_scene_before_each_trial(library: PrimitiveLibrary,
                                                    setup: tuple[object, np.ndarray]) -> None:
    record, T_world_cam = setup
    with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
        before = scene.world.object_poses()
        top = scene.observe(RandomDetector(0, num_grasps=3))
        assert len(top) == 3
        rows = run_top_k(scene, top, 0.6, detector_name="random", scene_index=0)
        after = scene.world.object_poses()
        empty = run_top_k(scene, GraspGroup.empty(), 0.6, detector_name="random", scene_index=1)
    assert [r.attempt for r in rows] == [0, 1, 2] and all(r.phase == "top_k" for r in rows)
    np.testing.assert_allclose(np.stack([r.grasp_array() for r in rows]), top.array)
    assert set(before) == set(after)
    for oid in before:  # the saved state is restored when the run ends
        np.testing.assert_allclose(after[oid], before[oid], atol=1e-9)
    assert len(empty) == 1 and empty[0].reason == "no_grasp" and not empty[0].executed
