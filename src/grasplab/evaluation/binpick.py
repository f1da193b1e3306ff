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
objects); the headline figures are the means over μ, as PLGP reports them.

The episodes themselves (scene, camera, gripper, clearance and top-k runs) live in
:mod:`grasplab.execution.episode`; each attempt is one row of the per-attempt log
(:class:`~grasplab.execution.attempt_log.AttemptRecord`) kept in :attr:`BinpickResult.log`, and
every figure is computed from that log (:func:`~grasplab.evaluation.binpick_summary.summarize`).
A :class:`~grasplab.detection.SceneAwareDetector` (the oracles) is bound to the scene as it lies
before each detection. Frames: world (table top at z = 0), OpenCV camera; metres.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core import CameraIntrinsics, GripperModel, as_rng
from grasplab.core.validation import RngLike
from grasplab.detection.protocol import Detector
from grasplab.evaluation.binpick_summary import BinpickMuResult, BinpickSummary, summarize
from grasplab.evaluation.report import JsonResult
from grasplab.execution.attempt_log import AttemptRecord, write_attempts_csv
from grasplab.execution.episode import (
    BinpickScene,
    ClearanceRecord,
    EpisodeConfig,
    clearance_finished,
    run_clearance,
    run_top_k,
)
from grasplab.execution.grasp_check import PreLiftCheck
from grasplab.execution.grasp_execution import ExecutionConfig
from grasplab.execution.sim_gripper import SimGripperConfig
from grasplab.scenes import (
    ClutterConfig,
    ObjectSource,
    SceneRecord,
    generate_clutter,
    plgp_camera_pose,
)

__all__ = [
    "BinpickConfig",
    "BinpickMuResult",
    "BinpickResult",
    "BinpickSummary",
    "ClearanceRecord",
    "binpick_work_units",
    "clearance_finished",
    "run_binpick",
    "summarize",
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

    def episode(self) -> EpisodeConfig:
        """The settings of one episode (camera, mask, stopping rules, gripper)."""
        return EpisodeConfig(self.intrinsics(), self.provide_mask, self.max_consecutive_failures,
                             self.max_attempts_per_object, self.settle_steps, self.gripper,
                             self.execution, self.hand)


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
        log: the per-attempt log the figures were computed from (not part of the JSON; write
            it with :meth:`save_attempts_csv`).
    """

    detector: str
    config: dict[str, Any]
    per_mu: tuple[BinpickMuResult, ...]
    success_rate: float
    percent_cleared: float
    ap: float
    reasons: dict[str, int]
    seconds: float
    log: tuple[AttemptRecord, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the figures (every field but :attr:`log`)."""
        out = asdict(replace(self, log=()))
        del out["log"]
        return out

    def summary(self) -> dict[str, Any]:
        """The figures benchmarks tabulate (no per-attempt rows).

        SR, PC, attempt and clearance counts, SR and PC per μ, failure reasons and seconds.
        """
        return {"success_rate": self.success_rate, "percent_cleared": self.percent_cleared,
                "attempts": sum(r.attempts for r in self.per_mu),
                "cleared": sum(r.cleared for r in self.per_mu),
                "objects": sum(r.objects for r in self.per_mu),
                "per_mu": {f"{r.mu:g}": {"success_rate": r.success_rate,
                                         "percent_cleared": r.percent_cleared} for r in self.per_mu},
                "reasons": self.reasons, "seconds": self.seconds}

    def save_attempts_csv(self, path: str | Path) -> Path:
        """Write :attr:`log` as the per-attempt CSV; returns the path."""
        return write_attempts_csv(path, self.log)

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
    check: PreLiftCheck | None = None,
) -> BinpickResult:
    """Run the bin-picking benchmark (module docstring) for one detector.

    Args:
        detector: any :class:`~grasplab.detection.Detector`; a
            :class:`~grasplab.detection.SceneAwareDetector` is bound before each detection.
        config: :class:`BinpickConfig`.
        rng: seed or generator; the scenes and cameras are drawn from it.
        library: loads objects (default ``grasplab.objects.ObjectLibrary()``).
        object_pool: ids scenes draw from (default the ``config.split`` ids).
        detector_name: name in the report (default the detector's class name).
        progress: called with 1 after each (scene, μ, phase) unit.
        check: a pre-lift check for the clearance runs (``run_clearance(check=...)``;
            its rejections are ``"rejected"`` rows of the log, not attempts).

    Returns:
        :class:`BinpickResult`, with the per-attempt log in ``log``.

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
    name = detector_name or type(detector).__name__
    log: list[AttemptRecord] = []
    for scene_id in range(cfg.num_scenes):
        record, T_world_cam = _scene_setup(library, pool, cfg, gen, scene_id)
        log.extend(_scene_log(detector, name, library, record, T_world_cam, cfg, scene_id,
                              progress, check))
    summary = summarize(log, cfg.mu_values)
    return BinpickResult(
        detector=name, config=asdict(cfg), per_mu=summary.per_mu,
        success_rate=summary.success_rate, percent_cleared=summary.percent_cleared,
        ap=summary.ap, reasons=summary.reasons, seconds=float(time.perf_counter() - start),
        log=tuple(log))


def _scene_log(detector: Detector, name: str, library: ObjectSource, record: SceneRecord,
               T_world_cam: np.ndarray, cfg: BinpickConfig, scene_id: int,
               progress: Callable[[int], None] | None,
               check: PreLiftCheck | None = None) -> list[AttemptRecord]:
    """The attempts of one scene: the top-k runs (one frame, every μ), then a clearance per μ."""
    episode = cfg.episode()
    rows: list[AttemptRecord] = []
    if cfg.run_ap:
        with BinpickScene(library, record, episode, T_world_cam) as scene:
            top = scene.observe(detector)[: cfg.top_k]
            for mu in cfg.mu_values:
                rows.extend(run_top_k(scene, top, mu, detector_name=name, scene_index=scene_id))
                if progress is not None:
                    progress(1)
    if cfg.run_clearance:
        for mu in cfg.mu_values:
            with BinpickScene(library, record, episode, T_world_cam) as scene:
                rows.extend(run_clearance(scene, detector, mu, detector_name=name,
                                          scene_index=scene_id, check=check))
            if progress is not None:
                progress(1)
    return rows

