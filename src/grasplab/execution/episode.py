"""Bin-picking episodes in PyBullet: a scene, a camera, a detector and the floating gripper.

A :class:`BinpickScene` holds one recorded cluttered scene in its own :class:`World`, the
gripper parked above it and the camera ``T_world_cam``. Two episodes run on it, each returning
its attempts as :class:`~grasplab.execution.attempt_log.AttemptRecord` rows:

- :func:`run_clearance` (PLGP §III-E): render, detect, execute the best grasp, remove a lifted
  object (and any that fell off the table), let the scene settle; repeat until no object is
  left, ``max_consecutive_failures`` attempts in a row failed, or ``max_attempts_per_object``
  times the objects were tried. A frame without a grasp is a failed attempt.
- :func:`run_top_k`: execute each given grasp from the same saved scene state
  (``World.saved_state``), the state restored before each trial.

With a :class:`~grasplab.execution.grasp_check.PreLiftCheck` (``run_clearance(check=...)``), a
clearance attempt predicts the outcome once the jaws have closed; a grasp predicted to fail is
re-opened (a ``"rejected"`` row) and the frame's next grasp is tried, up to ``max_rejections``
times, after which the next grasp is lifted whatever the check says.

A :class:`~grasplab.detection.SceneAwareDetector` is bound to the scene as it lies before each
detection. Frames: world (table top at z = 0), OpenCV camera; metres, seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType

import numpy as np

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel
from grasplab.detection.observation import Observation
from grasplab.detection.protocol import Detector, SceneAwareDetector
from grasplab.detection.scene_state import SceneState
from grasplab.execution.attempt_log import NO_GRASP, REJECTED, AttemptRecord
from grasplab.execution.grasp_check import CheckedOutcome, PreLiftCheck, execute_checked
from grasplab.execution.grasp_execution import (
    ExecutionConfig,
    GraspOutcome,
    execute_grasp,
    set_grasp_friction,
)
from grasplab.execution.sim_gripper import SimGripper, SimGripperConfig
from grasplab.scenes import ObjectSource, SceneRecord, World, populate_world, render_frame

__all__ = [
    "BinpickScene",
    "ClearanceRecord",
    "EpisodeConfig",
    "clearance_finished",
    "run_clearance",
    "run_top_k",
]


@dataclass(frozen=True)
class EpisodeConfig:
    """Settings of a bin-picking episode.

    Attributes:
        intrinsics: the camera (pixels).
        provide_mask: give detectors the instance mask (False: depth, RGB and pose only).
        max_consecutive_failures: a clearance run stops after this many failures in a row.
        max_attempts_per_object: cap on clearance attempts, times the number of objects.
        settle_steps: steps to let the scene settle after each clearance attempt.
        gripper: gripper geometry.
        execution: grasp-trial settings.
        hand: physical settings of the simulated gripper.
    """

    intrinsics: CameraIntrinsics
    provide_mask: bool = False
    max_consecutive_failures: int = 5
    max_attempts_per_object: int = 3
    settle_steps: int = 240
    gripper: GripperModel = field(default_factory=GripperModel)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    hand: SimGripperConfig = field(default_factory=SimGripperConfig)


@dataclass(frozen=True)
class ClearanceRecord:
    """One clearance run: the outcome of every attempt, in order.

    Attributes:
        num_objects: objects in the scene at the start.
        successes: (A,) whether each attempt lifted an object.
    """

    num_objects: int
    successes: tuple[bool, ...]

    @property
    def attempts(self) -> int:
        """Number of attempts A."""
        return len(self.successes)

    @property
    def cleared(self) -> int:
        """Objects lifted (each success removes one)."""
        return int(sum(self.successes))

    @property
    def success_rate(self) -> float:
        """Successful attempts / attempts (0 without attempts)."""
        return self.cleared / self.attempts if self.attempts else 0.0

    @property
    def percent_cleared(self) -> float:
        """Lifted objects / objects in the scene."""
        return self.cleared / self.num_objects if self.num_objects else 0.0


def clearance_finished(successes: Sequence[bool], num_objects: int,
                       max_consecutive_failures: int = 5) -> bool:
    """Whether a clearance run stops: every object lifted, or too many failures in a row.

    >>> clearance_finished([True, False, False, False, False, False], 5)
    True
    >>> clearance_finished([True, True], 3)
    False
    """
    if sum(bool(s) for s in successes) >= num_objects:
        return True
    tail = 0
    for s in reversed(successes):
        if s:
            break
        tail += 1
    return tail >= max_consecutive_failures


class BinpickScene:
    """A world holding one recorded scene, a parked gripper and the scene's camera.

    Use it as a context manager (or call :meth:`close`); the physics client is closed if the
    scene cannot be built.

    Args:
        library: loads the scene's objects.
        record: the scene (object ids and poses, table and tray).
        config: :class:`EpisodeConfig`.
        T_world_cam: (4, 4) camera pose (OpenCV camera frame).
    """

    def __init__(self, library: ObjectSource, record: SceneRecord, config: EpisodeConfig,
                 T_world_cam: np.ndarray) -> None:
        self.world = World()
        try:
            populate_world(self.world, library, record)
            self.hand = SimGripper(self.world, config.gripper, config.hand)
        except BaseException:
            self.world.close()  # do not leave the physics client open on a bad scene
            raise
        self.config, self.T_world_cam = config, np.asarray(T_world_cam, dtype=np.float64)

    def __enter__(self) -> BinpickScene:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def observe(self, detector: Detector) -> GraspGroup:
        """Render, bind a scene-aware detector, detect; grasps in the world frame, best first."""
        frame = render_frame(self.world, self.config.intrinsics, self.T_world_cam)
        if not np.any(frame.depth > 0):
            return GraspGroup.empty()
        mask = frame.mask if self.config.provide_mask else None
        obs = Observation(frame.depth, frame.intrinsics, frame.rgb, mask, frame.T_world_cam)
        if isinstance(detector, SceneAwareDetector):
            detector.bind(SceneState.from_world(self.world))
        grasps = detector.detect(obs)
        return grasps.sort_by_score().transform(self.T_world_cam)

    def clear_fallen(self) -> None:
        """Remove objects that fell off the table (more than 5 cm below its top): out of reach."""
        table_z = float(np.asarray(self.world.T_world_table)[2, 3])
        for oid, T in self.world.object_poses().items():
            if T[2, 3] < table_z - 0.05:
                self.world.remove_object(oid)

    def close(self) -> None:
        """Close the world's physics client."""
        self.world.close()


def _record(name: str, scene_index: int, mu: float, phase: str, attempt: int,
            outcome: GraspOutcome | None, grasp: GraspGroup | None, objects_left: int,
            num_objects: int, seconds: float, prediction: float | None = None,
            rejected_outcome: str = "") -> AttemptRecord:
    return AttemptRecord(
        detector=name, scene=scene_index, mu=float(mu), phase=phase, attempt=attempt,
        success=outcome is not None and bool(outcome.success),
        reason=NO_GRASP if outcome is None else outcome.reason,
        object_id=-1 if outcome is None or outcome.object_id is None else int(outcome.object_id),
        objects_left=objects_left, num_objects=num_objects, seconds=float(seconds),
        grasp=() if grasp is None else tuple(grasp.array[0].tolist()), prediction=prediction,
        rejected_outcome=rejected_outcome)


def _clearance_attempt(scene: BinpickScene,
                       detector: Detector) -> tuple[GraspOutcome | None, GraspGroup | None]:
    """One clearance attempt: (outcome, executed grasp), both None without a grasp."""
    grasps = scene.observe(detector)
    if len(grasps) == 0:
        return None, None
    best = grasps[0]
    outcome = execute_grasp(scene.world, scene.hand, best, scene.config.execution)
    _after_attempt(scene, outcome)
    return outcome, best


def _after_attempt(scene: BinpickScene, outcome: GraspOutcome) -> None:
    """Remove a lifted object, park the hand, drop fallen objects, let the scene settle."""
    if outcome.success and outcome.object_id is not None:
        scene.world.remove_object(outcome.object_id)
    scene.hand.park()
    scene.clear_fallen()
    scene.world.settle(max_steps=scene.config.settle_steps)


def _checked_attempt(scene: BinpickScene, detector: Detector, check: PreLiftCheck,
                     max_rejections: int) -> tuple[list[tuple[GraspGroup, CheckedOutcome]],
                                                   GraspGroup | None, CheckedOutcome | None]:
    """A clearance attempt under a pre-lift check: (rejected grasps, lifted grasp, its result)."""
    grasps = scene.observe(detector)
    rejected: list[tuple[GraspGroup, CheckedOutcome]] = []
    for rank in range(len(grasps)):
        enforce = len(rejected) < max_rejections and rank < len(grasps) - 1
        result = execute_checked(scene.world, scene.hand, grasps[rank], check,
                                 scene.config.execution, enforce=enforce)
        if not result.rejected:
            _after_attempt(scene, result.outcome)
            return rejected, grasps[rank], result
        rejected.append((grasps[rank], result))
    return rejected, None, None


def run_clearance(scene: BinpickScene, detector: Detector, mu: float, *, detector_name: str,
                  scene_index: int, check: PreLiftCheck | None = None,
                  max_rejections: int = 3) -> tuple[AttemptRecord, ...]:
    """Clear the bin (module docstring) at friction ``mu``; one row per attempt, in order.

    The scene is consumed (objects are removed); build a new one for another run. With
    ``check``, each grasp the check rejects adds a ``"rejected"`` row before its attempt's
    row (rejections are not attempts: they count neither towards SR nor the failure streak).
    """
    cfg = scene.config
    set_grasp_friction(scene.world, scene.hand, mu)
    num_objects = len(scene.world.object_ids)
    cap = cfg.max_attempts_per_object * num_objects
    rows: list[AttemptRecord] = []
    successes: list[bool] = []
    while (scene.world.object_ids and len(successes) < cap
           and not clearance_finished(successes, num_objects, cfg.max_consecutive_failures)):
        start = time.perf_counter()
        prediction = None
        if check is None:
            outcome, grasp = _clearance_attempt(scene, detector)
        else:
            rejected, grasp, result = _checked_attempt(scene, detector, check, max_rejections)
            for bad, res in rejected:
                rows.append(replace(
                    _record(detector_name, scene_index, mu, "rejected", len(successes), None, bad,
                            len(scene.world.object_ids), num_objects, 0.0, res.prediction,
                            res.outcome.reason), reason=REJECTED))
            outcome = None if result is None else result.outcome
            prediction = None if result is None else result.prediction
        rows.append(_record(detector_name, scene_index, mu, "clearance", len(successes), outcome,
                            grasp, len(scene.world.object_ids), num_objects,
                            time.perf_counter() - start, prediction))
        successes.append(rows[-1].success)
    return tuple(rows)


def run_top_k(scene: BinpickScene, grasps: GraspGroup, mu: float, *, detector_name: str,
              scene_index: int) -> tuple[AttemptRecord, ...]:
    """Execute each grasp (world frame) from the scene as it is now, restored before each trial.

    Returns one row per grasp in rank order, or a single ``no_grasp`` row when ``grasps`` is
    empty. The scene is left as it was, the hand parked.
    """
    set_grasp_friction(scene.world, scene.hand, mu)
    num_objects = len(scene.world.object_ids)
    rows: list[AttemptRecord] = []
    with scene.world.saved_state() as saved:
        for rank in range(len(grasps)):
            saved.restore()
            scene.hand.park()
            start = time.perf_counter()
            outcome = execute_grasp(scene.world, scene.hand, grasps[rank], scene.config.execution)
            rows.append(_record(detector_name, scene_index, mu, "top_k", rank, outcome,
                                grasps[rank], len(scene.world.object_ids), num_objects,
                                time.perf_counter() - start))
    scene.hand.park()
    if not rows:
        rows.append(_record(detector_name, scene_index, mu, "top_k", 0, None, None, num_objects,
                            num_objects, 0.0))
    return tuple(rows)
