"""The PLGP bin-picking benchmark (papers/plgp-pixel-level.txt §III-E) in PyBullet.

Seeded cluttered scenes of ``num_objects`` objects fall into the tray; a camera above the tray
renders RGB-D; the detector returns grasps in the camera frame, which are mapped to the world
with ``T_world_cam`` and executed with the floating gripper (:mod:`grasplab.execution`). For
every friction μ (PLGP: 0.2, 0.4, …, 1.0):

- **Success Rate (SR)** and **Percent Cleared (PC)**: from the initial scene, render, detect and
  execute the first-ranked grasp; a lifted object is removed; repeat until no object remains or
  ``max_consecutive_failures`` (5) attempts in a row failed. SR = successful attempts / attempts;
  PC = lifted objects / objects in the scene. A frame with no grasp counts as a failed attempt.
- **AP**: PLGP's "average precision of the top-50 ranked grasps": each of the detector's top-50
  grasps on the initial frame is executed from the reset scene; AP = successes / grasps
  executed (a frame with no grasp scores 0); per μ, AP is the mean over scenes.

Per μ, SR and PC pool the counts over scenes (Σ successes / Σ attempts, Σ lifted / Σ
objects); the headline figures
are the means over μ, as PLGP reports them. Detectors with a ``bind(SceneState)`` method (the
oracle) are bound to the scene as it lies before each detection. Frames: world (table top at
z = 0), OpenCV camera; metres.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel, as_rng
from grasplab.core.validation import RngLike
from grasplab.detection.baselines import SceneState
from grasplab.detection.observation import Observation
from grasplab.detection.protocol import Detector
from grasplab.evaluation.report import JsonResult
from grasplab.execution.grasp_execution import (
    ExecutionConfig,
    GraspOutcome,
    execute_grasp,
    set_grasp_friction,
)
from grasplab.execution.sim_gripper import SimGripper, SimGripperConfig
from grasplab.scenes import (
    ClutterConfig,
    ObjectSource,
    SceneRecord,
    World,
    generate_clutter,
    plgp_camera_pose,
    populate_world,
    render_frame,
)

__all__ = [
    "BinpickConfig",
    "BinpickMuResult",
    "BinpickResult",
    "ClearanceRecord",
    "binpick_work_units",
    "clearance_finished",
    "run_binpick",
]

logger = logging.getLogger(__name__)

PLGP_MU_VALUES = (0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class BinpickConfig:
    """Settings of :func:`run_binpick` (sizes adjustable for quick runs).

    Attributes:
        num_objects: objects per scene (PLGP: 5 and 15).
        split: object split name, for the report (the pool is passed to ``run_binpick``).
        num_scenes: scenes.
        mu_values: friction coefficients, averaged over.
        image_width: rendered image width (pixels).
        image_height: rendered image height (pixels).
        fov_y_deg: vertical field of view of the camera.
        camera_height: camera height above the tray centre (m).
        provide_mask: give detectors the instance mask (False: depth, RGB and pose only).
        top_k: grasps executed for AP (PLGP: 50).
        max_consecutive_failures: the clearance run stops after this many failures in a row.
        max_attempts_per_object: cap on clearance attempts, times the number of objects.
        settle_steps: steps to let the scene settle after each clearance attempt.
        run_ap: compute AP.
        run_clearance: compute SR and PC.
        gripper: gripper geometry.
        execution: grasp-trial settings.
        hand: physical settings of the simulated gripper.
    """

    num_objects: int = 5
    split: str = "seen"
    num_scenes: int = 10
    mu_values: tuple[float, ...] = PLGP_MU_VALUES
    image_width: int = 320
    image_height: int = 240
    fov_y_deg: float = 50.0
    camera_height: float = 0.7
    provide_mask: bool = False
    top_k: int = 50
    max_consecutive_failures: int = 5
    max_attempts_per_object: int = 3
    settle_steps: int = 240
    run_ap: bool = True
    run_clearance: bool = True
    gripper: GripperModel = field(default_factory=GripperModel)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    hand: SimGripperConfig = field(default_factory=SimGripperConfig)

    def __post_init__(self) -> None:
        for name in ("num_objects", "num_scenes", "image_width", "image_height", "top_k",
                     "max_consecutive_failures", "max_attempts_per_object"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"BinpickConfig.{name}: expected >= 1, got {getattr(self, name)}")
        mus = tuple(float(m) for m in self.mu_values)
        if not mus or any(not np.isfinite(m) or m <= 0 for m in mus):
            raise ValueError(f"BinpickConfig.mu_values: expected positive frictions, got {mus}")
        object.__setattr__(self, "mu_values", mus)
        if not (self.run_ap or self.run_clearance):
            raise ValueError("BinpickConfig: enable run_ap or run_clearance (or both)")

    def intrinsics(self) -> CameraIntrinsics:
        """The camera intrinsics (square pixels, centred principal point)."""
        return CameraIntrinsics.from_fov(self.fov_y_deg, self.image_width, self.image_height)


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


@dataclass(frozen=True)
class BinpickMuResult:
    """Counts and metrics at one friction μ, pooled over scenes."""

    mu: float
    success_rate: float
    percent_cleared: float
    ap: float
    attempts: int
    cleared: int
    objects: int
    ap_executed: int
    ap_successes: int


@dataclass(frozen=True)
class BinpickResult(JsonResult):
    """The benchmark's result: per-μ rows and their means (fractions in [0, 1]).

    Attributes:
        detector: detector name.
        config: the resolved configuration (JSON-able).
        per_mu: one row per μ.
        success_rate: mean SR over μ.
        percent_cleared: mean PC over μ.
        ap: mean AP over μ.
        reasons: how many trials ended with each ``GraspOutcome.reason`` (plus ``no_grasp``).
        seconds: wall time.
    """

    detector: str
    config: dict[str, Any]
    per_mu: tuple[BinpickMuResult, ...]
    success_rate: float
    percent_cleared: float
    ap: float
    reasons: dict[str, int]
    seconds: float

    def to_markdown(self) -> str:
        """A Markdown table: one row per μ and the mean, in percent."""
        lines = [f"### Bin-picking: {self.detector} ({self.config['num_objects']} objects, "
                 f"{self.config['split']}, {self.config['num_scenes']} scenes)", "",
                 "| μ | SR (%) | PC (%) | AP (%) | attempts | cleared/objects | AP successes/executed |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.per_mu:
            lines.append(f"| {r.mu:.1f} | {100 * r.success_rate:.1f} | {100 * r.percent_cleared:.1f} "
                         f"| {100 * r.ap:.1f} | {r.attempts} | {r.cleared}/{r.objects} "
                         f"| {r.ap_successes}/{r.ap_executed} |")
        lines.append(f"| **mean** | **{100 * self.success_rate:.1f}** | "
                     f"**{100 * self.percent_cleared:.1f}** | **{100 * self.ap:.1f}** | | | |")
        return "\n".join(lines) + "\n"


def binpick_work_units(config: BinpickConfig) -> int:
    """Progress units of a run: one per (scene, μ) and phase."""
    phases = int(config.run_ap) + int(config.run_clearance)
    return config.num_scenes * len(config.mu_values) * phases


class _SceneWorld:
    """A world holding one recorded scene, a parked gripper and the scene's camera."""

    def __init__(self, library: ObjectSource, record: SceneRecord, config: BinpickConfig,
                 T_world_cam: np.ndarray) -> None:
        self.world = World()
        try:
            populate_world(self.world, library, record)
            self.hand = SimGripper(self.world, config.gripper, config.hand)
        except BaseException:
            self.world.close()  # do not leave the physics client open on a bad scene
            raise
        self.config, self.T_world_cam = config, T_world_cam

    def observe(self, detector: Detector) -> GraspGroup:
        """Render, bind a scene-aware detector, detect; grasps in the world frame, best first."""
        frame = render_frame(self.world, self.config.intrinsics(), self.T_world_cam)
        if not np.any(frame.depth > 0):
            return GraspGroup.empty()
        mask = frame.mask if self.config.provide_mask else None
        obs = Observation(frame.depth, frame.intrinsics, frame.rgb, mask, frame.T_world_cam)
        bind = getattr(detector, "bind", None)
        if callable(bind):
            bind(SceneState.from_world(self.world))
        grasps = detector.detect(obs)
        return grasps.sort_by_score().transform(self.T_world_cam)

    def close(self) -> None:
        self.world.close()


def _run_ap(scene: _SceneWorld, grasps: GraspGroup, mu: float, config: BinpickConfig,
            reasons: Counter[str]) -> int:
    """Execute each grasp from the reset scene; returns the number of successes."""
    p, client = scene.world.p, scene.world.client
    set_grasp_friction(scene.world, scene.hand, mu)
    state = p.saveState(physicsClientId=client)
    successes = 0
    for row in range(len(grasps)):
        p.restoreState(stateId=state, physicsClientId=client)
        scene.hand.park()
        outcome = execute_grasp(scene.world, scene.hand, grasps[row], config.execution)
        reasons[outcome.reason] += 1
        successes += int(outcome.success)
    p.restoreState(stateId=state, physicsClientId=client)
    p.removeState(state, physicsClientId=client)
    scene.hand.park()
    return successes


def _attempt(scene: _SceneWorld, detector: Detector, config: BinpickConfig) -> GraspOutcome | None:
    """One clearance attempt; None when the detector returned no grasp."""
    grasps = scene.observe(detector)
    if len(grasps) == 0:
        return None
    outcome = execute_grasp(scene.world, scene.hand, grasps[0], config.execution)
    if outcome.success and outcome.object_id is not None:
        scene.world.remove_object(outcome.object_id)
    scene.hand.park()
    table_z = float(np.asarray(scene.world.T_world_table)[2, 3])
    for oid, T in scene.world.object_poses().items():  # fell off the table: out of reach
        if T[2, 3] < table_z - 0.05:
            scene.world.remove_object(oid)
    scene.world.settle(max_steps=config.settle_steps)
    return outcome


def _run_clearance(scene: _SceneWorld, detector: Detector, mu: float, config: BinpickConfig,
                   reasons: Counter[str]) -> ClearanceRecord:
    set_grasp_friction(scene.world, scene.hand, mu)
    num_objects = len(scene.world.object_ids)
    successes: list[bool] = []
    cap = config.max_attempts_per_object * num_objects
    while (scene.world.object_ids and len(successes) < cap
           and not clearance_finished(successes, num_objects, config.max_consecutive_failures)):
        outcome = _attempt(scene, detector, config)
        reasons["no_grasp" if outcome is None else outcome.reason] += 1
        successes.append(outcome is not None and outcome.success)
    return ClearanceRecord(num_objects, tuple(successes))


def _scene_setup(library: ObjectSource, pool: Sequence[int], config: BinpickConfig,
                 gen: np.random.Generator, scene_id: int) -> tuple[SceneRecord, np.ndarray]:
    seed = int(gen.integers(0, 2**31 - 1))
    record = generate_clutter(library, pool, scene_id, rng=seed,
                              config=ClutterConfig(num_objects=config.num_objects))
    center = np.asarray(record.T_world_tray)[:3, 3]
    T_world_cam = plgp_camera_pose(seed, center=center, height=config.camera_height)
    return record, T_world_cam


def _default_library_and_pool(split: str) -> tuple[ObjectSource, list[int]]:
    from grasplab.objects import ObjectLibrary, split_object_ids

    return ObjectLibrary(), list(split_object_ids(split))


def run_binpick(
    detector: Detector,
    config: BinpickConfig | None = None,
    rng: RngLike = None,
    *,
    library: ObjectSource | None = None,
    object_pool: Sequence[int] | None = None,
    detector_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> BinpickResult:
    """Run the bin-picking benchmark (module docstring) for one detector.

    Args:
        detector: any :class:`~grasplab.detection.Detector`; a ``bind(SceneState)`` method,
            if present, is called before each detection.
        config: :class:`BinpickConfig`.
        rng: seed or generator; the scenes and cameras are drawn from it.
        library: loads objects (default ``grasplab.objects.ObjectLibrary()``).
        object_pool: ids scenes draw from (default the ``config.split`` ids).
        detector_name: name in the report (default the detector's class name).
        progress: called with 1 after each (scene, μ, phase) unit.

    Returns:
        :class:`BinpickResult`.

    Raises:
        ValueError: bad config, or a pool smaller than ``num_objects``.
    """
    cfg = config or BinpickConfig()
    if library is None or object_pool is None:
        default_library, default_pool = _default_library_and_pool(cfg.split)
        library = library or default_library
        object_pool = default_pool if object_pool is None else object_pool
    pool = [int(i) for i in object_pool]
    if len(pool) < cfg.num_objects:
        raise ValueError(f"object_pool: {len(pool)} ids cannot make scenes of "
                         f"{cfg.num_objects} objects")
    gen, start = as_rng(rng), time.perf_counter()
    reasons: Counter[str] = Counter()
    counts = np.zeros((len(cfg.mu_values), 6), dtype=np.int64)
    ap_sum = np.zeros(len(cfg.mu_values))
    for scene_id in range(cfg.num_scenes):
        record, T_world_cam = _scene_setup(library, pool, cfg, gen, scene_id)
        _scene_counts(detector, library, record, T_world_cam, cfg, (counts, ap_sum), reasons,
                      progress)
    return _result(detector_name or type(detector).__name__, cfg, counts, ap_sum, reasons,
                   time.perf_counter() - start)


def _scene_counts(detector: Detector, library: ObjectSource, record: SceneRecord,
                  T_world_cam: np.ndarray, cfg: BinpickConfig,
                  totals: tuple[np.ndarray, np.ndarray], reasons: Counter[str],
                  progress: Callable[[int], None] | None) -> None:
    """Add one scene's per-μ counts and AP to ``totals``.

    ``totals`` is ``(counts (M, 6), ap_sum (M,))``; the count columns are attempts, cleared,
    objects, AP grasps executed, AP successes and scenes.
    """
    counts, ap_sum = totals
    if cfg.run_ap:
        scene = _SceneWorld(library, record, cfg, T_world_cam)
        try:
            top = scene.observe(detector)[: cfg.top_k]
            for m, mu in enumerate(cfg.mu_values):
                counts[m, 3] += len(top)
                successes = _run_ap(scene, top, mu, cfg, reasons)
                counts[m, 4] += successes
                counts[m, 5] += 1
                ap_sum[m] += successes / len(top) if len(top) else 0.0
                if progress is not None:
                    progress(1)
        finally:
            scene.close()
    if cfg.run_clearance:
        for m, mu in enumerate(cfg.mu_values):
            scene = _SceneWorld(library, record, cfg, T_world_cam)
            try:
                run = _run_clearance(scene, detector, mu, cfg, reasons)
            finally:
                scene.close()
            counts[m, :3] += (run.attempts, run.cleared, run.num_objects)
            if progress is not None:
                progress(1)


def _result(name: str, cfg: BinpickConfig, counts: np.ndarray, ap_sum: np.ndarray,
            reasons: Counter[str], seconds: float) -> BinpickResult:
    rows = []
    for m, mu in enumerate(cfg.mu_values):
        attempts, cleared, objects, executed, ap_ok, scenes = (int(c) for c in counts[m])
        rows.append(BinpickMuResult(
            mu=mu, success_rate=cleared / attempts if attempts else 0.0,
            percent_cleared=cleared / objects if objects else 0.0,
            ap=float(ap_sum[m]) / scenes if scenes else 0.0, attempts=attempts, cleared=cleared,
            objects=objects, ap_executed=executed, ap_successes=ap_ok))
    config = asdict(cfg)
    return BinpickResult(
        detector=name, config=config, per_mu=tuple(rows),
        success_rate=float(np.mean([r.success_rate for r in rows])),
        percent_cleared=float(np.mean([r.percent_cleared for r in rows])),
        ap=float(np.mean([r.ap for r in rows])), reasons=dict(sorted(reasons.items())),
        seconds=float(seconds))
