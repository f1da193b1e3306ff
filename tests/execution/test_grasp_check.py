"""The pre-lift check of bin-picking episodes: accept lifts, reject re-opens, the log records it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grasplab.core import CameraIntrinsics, GraspGroup
from grasplab.detection.baselines import RandomDetector
from grasplab.execution.attempt_log import REJECTED, read_attempts_csv, write_attempts_csv
from grasplab.execution.episode import BinpickScene, EpisodeConfig, run_clearance
from grasplab.execution.grasp_check import PreLiftCheck, execute_checked
from grasplab.execution.grasp_execution import OUTCOME_REASONS, execute_grasp, set_grasp_friction
from grasplab.execution.primitives import PrimitiveLibrary
from grasplab.scenes import ClutterConfig, generate_clutter, plgp_camera_pose

pytest.importorskip("pybullet")

CONFIG = EpisodeConfig(CameraIntrinsics.from_fov(50.0, 96, 72), max_attempts_per_object=1)


class FixedCheck:
    """Predicts the same probability for every grasp and records the phases it saw."""

    def __init__(self, probability: float, threshold: float = 0.5) -> None:
        self.probability, self.threshold = probability, threshold
        self.phases: list[str] = []
        self.begun = 0

    def begin(self, world: object, hand: object) -> None:
        self.begun += 1

    def observe(self, phase: str) -> None:
        self.phases.append(phase)

    def predict(self) -> float:
        return self.probability


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveLibrary:
    return PrimitiveLibrary.random(tmp_path_factory.mktemp("check"), 4, rng=3, first_id=300)


@pytest.fixture(scope="module")
def setup(library: PrimitiveLibrary) -> tuple[object, np.ndarray]:
    record = generate_clutter(library, library.ids(), 0, rng=5, config=ClutterConfig(num_objects=2))
    center = np.asarray(record.T_world_tray)[:3, 3]
    return record, plgp_camera_pose(5, center=center, height=0.7)


def _closing_grasp(scene: BinpickScene) -> GraspGroup:
    """A detected grasp whose trial reaches the closed jaws (no approach collision)."""
    grasps = scene.observe(RandomDetector(0, num_grasps=40))
    with scene.world.saved_state() as saved:
        for k in range(len(grasps)):
            saved.restore()
            if execute_grasp(scene.world, scene.hand, grasps[k]).reason != "collision_on_approach":
                scene.hand.park()
                return grasps[k]
    pytest.skip("no random grasp reached the closed jaws")


def test_fixed_check_is_a_pre_lift_check() -> None:
    assert isinstance(FixedCheck(0.5), PreLiftCheck)


def test_rejected_grasp_reopens_and_reports_what_lifting_would_give(
        library: PrimitiveLibrary, setup: tuple[object, np.ndarray]) -> None:
    record, T_world_cam = setup
    with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
        set_grasp_friction(scene.world, scene.hand, 0.6)
        grasp = _closing_grasp(scene)
        with scene.world.saved_state():
            truth = execute_grasp(scene.world, scene.hand, grasp)
        scene.hand.park()
        before = scene.world.object_poses()
        check = FixedCheck(0.1)
        result = execute_checked(scene.world, scene.hand, grasp, check)
        after = scene.world.object_poses()
        tip = scene.hand.tip_pose()[:3, 3]
    assert result.rejected and result.prediction == pytest.approx(0.1)
    assert result.outcome.reason == truth.reason and result.outcome.success == truth.success
    assert check.phases[:2] == ["before_contact", "closed"] and check.begun == 1
    assert set(after) == set(before)  # nothing lifted away: every object is still in the tray
    for oid in before:
        assert after[oid][2, 3] < before[oid][2, 3] + 0.02
    assert tip[2] > 0.3  # the hand is parked above the scene


def test_accepting_check_changes_nothing_and_enforce_false_never_rejects(
        library: PrimitiveLibrary, setup: tuple[object, np.ndarray]) -> None:
    record, T_world_cam = setup
    with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
        set_grasp_friction(scene.world, scene.hand, 0.6)
        grasp = _closing_grasp(scene)
        with scene.world.saved_state():
            truth = execute_grasp(scene.world, scene.hand, grasp)
        scene.hand.park()
        with scene.world.saved_state():
            accepted = execute_checked(scene.world, scene.hand, grasp, FixedCheck(0.9))
        scene.hand.park()
        forced = execute_checked(scene.world, scene.hand, grasp, FixedCheck(0.1), enforce=False)
    for result in (accepted, forced):
        assert not result.rejected
        assert (result.outcome.reason, result.outcome.success) == (truth.reason, truth.success)
    assert forced.prediction == pytest.approx(0.1)


class _Replay:
    """Returns the same world-frame grasp three times (in the camera frame) for every frame."""

    def __init__(self, grasp: GraspGroup, T_world_cam: np.ndarray) -> None:
        self.grasps = GraspGroup(np.repeat(grasp.array, 3, axis=0)).transform(
            np.linalg.inv(T_world_cam))

    def detect(self, observation: object) -> GraspGroup:
        return self.grasps


def test_clearance_with_a_rejecting_check_logs_rejections_and_predictions(
        library: PrimitiveLibrary, setup: tuple[object, np.ndarray], tmp_path: Path) -> None:
    record, T_world_cam = setup
    with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
        set_grasp_friction(scene.world, scene.hand, 0.6)
        grasp = _closing_grasp(scene)
    with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
        rows = run_clearance(scene, _Replay(grasp, T_world_cam), 0.6, detector_name="replay",
                             scene_index=0, check=FixedCheck(0.0), max_rejections=2)
    rejected = [r for r in rows if r.phase == REJECTED]
    lifted = [r for r in rows if r.phase == "clearance"]
    assert len(lifted) == 2  # two objects, one attempt each: rejections are not attempts
    # attempt 0: ranks 0 and 1 rejected (max_rejections = 2), rank 2 lifted whatever it predicts
    assert [r.attempt for r in rows[:3]] == [0, 0, 0]
    assert [r.phase for r in rows[:3]] == [REJECTED, REJECTED, "clearance"]
    assert all(r.reason == REJECTED and not r.success and r.executed for r in rejected)
    assert all(r.prediction == 0.0 and r.rejected_outcome in OUTCOME_REASONS for r in rejected)
    assert rows[2].prediction == 0.0 and rows[2].reason in OUTCOME_REASONS
    np.testing.assert_allclose(rows[0].grasp_array(), grasp.array[0], atol=1e-9)
    path = write_attempts_csv(tmp_path / "log.csv", rows)
    assert read_attempts_csv(path) == rows
