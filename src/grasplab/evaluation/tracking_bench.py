"""Association accuracy of grasp trackers on sequences with ground truth (MotionGrasp's protocol).

Per sequence (:class:`~grasplab.evaluation.tracking_data.GroundTruthFrame` lists: moving
objects, or two adjacent views of a static scene) the frames are detected once
(:class:`~grasplab.detection.association_features.FeatureSource`) and every tracker sees the same
grasps. In the first frame the ``num_targets`` best grasps that lie on an object become the
targets (``target_ids`` = their rows); in every later frame a target is *correct* when its grasp
lies within ``max_distance`` (10 cm) and ``max_angle_deg`` (30°, either jaw order) of the
ground-truth grasp it started on, carried with its object (``T_world_obj(t) T_world_obj(0)⁻¹``),
in the world frame. A lost target counts as wrong in every later frame; an *identity switch* is
a frame where a target's grasp lies on another object than in the frame before. Seconds are
wall time: detection per frame (the source) and association per frame (``tracker.update`` on
the precomputed grasps), apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from grasplab.core import GraspGroup, invert_transform
from grasplab.detection.association_features import DetectedFeatures, FeatureSource, grasp_objects_from_mask
from grasplab.detection.tracking import GraspTracker, TrackResult
from grasplab.evaluation.tracking_data import GroundTruthFrame
from grasplab.labels.grasp_correspondence import pairwise_rotation_angles

__all__ = ["TrackerScore", "TrackingBenchConfig", "score_sequence", "tracking_markdown", "run_tracking_bench"]


@dataclass(frozen=True)
class TrackingBenchConfig:
    """Protocol constants.

    Attributes:
        num_targets: grasps followed per sequence (MotionGrasp: 10).
        max_distance: a tracked grasp within this of the truth (m)...
        max_angle_deg: ...and this rotation (degrees) is correct.
    """

    num_targets: int = 10
    max_distance: float = 0.10
    max_angle_deg: float = 30.0


@dataclass
class TrackerScore:
    """Figures of one tracker on one sequence set (summed over sequences).

    Attributes:
        tracker: tracker name.
        source: sequence set ("static", "conveyor", ...).
        sequences: sequences scored.
        checks: target-frames scored (targets × later frames).
        correct: of them, correct.
        lost: targets lost before their sequence ended.
        switches: identity switches.
        association_seconds: wall seconds of ``update`` summed over frames.
        frames: frames tracked.
    """

    tracker: str
    source: str
    sequences: int = 0
    checks: int = 0
    correct: int = 0
    lost: int = 0
    switches: int = 0
    association_seconds: float = 0.0
    frames: int = 0
    per_sequence: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Correct / checks (NaN without checks)."""
        return self.correct / self.checks if self.checks else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures."""
        out = asdict(self)
        out["accuracy"] = None if not self.checks else self.accuracy
        out["association_ms_per_frame"] = 1000 * self.association_seconds / max(self.frames, 1)
        return out


def _step(tracker: GraspTracker, frame: GroundTruthFrame, detected: DetectedFeatures,
          target_ids: Sequence[int] | None) -> TrackResult:
    if hasattr(tracker, "source"):  # a learned tracker: it needs the per-row features
        return tracker.update(frame.observation, target_ids, detected=detected)  # type: ignore[call-arg]
    return tracker.update(frame.observation, target_ids, grasps=detected.grasps)


def _world(grasps: GraspGroup, frame: GroundTruthFrame) -> GraspGroup:
    assert frame.observation.T_world_cam is not None
    return grasps.transform(frame.observation.T_world_cam)


def score_sequence(tracker: GraspTracker, frames: Sequence[GroundTruthFrame],
                   detections: Sequence[DetectedFeatures], score: TrackerScore,
                   config: TrackingBenchConfig | None = None) -> None:
    """Track one sequence and add its figures to ``score`` (module docstring)."""
    cfg = config or TrackingBenchConfig()
    objects = [grasp_objects_from_mask(d.grasps, f.observation.mask, f.observation.intrinsics)  # type: ignore[arg-type]
               for f, d in zip(frames, detections, strict=True)]
    rows = [int(r) for r in np.flatnonzero(objects[0] >= 0)[: cfg.num_targets]]
    if not rows or len(frames) < 2:
        return
    tracker.reset()
    start = time.perf_counter()
    result = _step(tracker, frames[0], detections[0], rows)
    seconds = time.perf_counter() - start
    first = _world(detections[0].grasps[np.asarray(rows)], frames[0])
    index = {int(o): k for k, o in enumerate(frames[0].object_ids.tolist())}
    start_obj = [int(objects[0][r]) for r in rows]
    alive = list(range(len(rows)))
    ids = list(result.target_ids)
    last_obj = list(start_obj)
    correct = checks = 0
    for t in range(1, len(frames)):
        start = time.perf_counter()
        result = _step(tracker, frames[t], detections[t], None)
        seconds += time.perf_counter() - start
        survivors = [k for k, tid in zip(alive, ids, strict=True) if tid not in result.lost_ids]
        score.lost += len(alive) - len(survivors)
        alive, ids = survivors, list(result.target_ids)
        checks += len(rows)
        if not alive:
            continue
        tracked = _world(detections[t].grasps[result.target_rows], frames[t])
        for j, k in enumerate(alive):
            o = index[start_obj[k]]
            move = frames[t].T_world_obj[o] @ invert_transform(frames[0].T_world_obj[o])
            truth_r = move[:3, :3] @ first.rotations[k]
            truth_t = move[:3, :3] @ first.translations[k] + move[:3, 3]
            angle = pairwise_rotation_angles(truth_r[None], tracked.rotations[j][None])[0, 0]
            near = np.linalg.norm(truth_t - tracked.translations[j]) <= cfg.max_distance
            correct += int(near and np.degrees(angle) <= cfg.max_angle_deg)
            now = int(objects[t][result.target_rows[j]])
            score.switches += int(now != last_obj[k])
            last_obj[k] = now
    score.sequences += 1
    score.checks += checks
    score.correct += correct
    score.association_seconds += seconds
    score.frames += len(frames)
    score.per_sequence.append(correct / max(checks, 1))


def run_tracking_bench(source: FeatureSource, trackers: dict[str, Callable[[], GraspTracker]],
                       sequence_sets: dict[str, Iterable[list[GroundTruthFrame]]],
                       config: TrackingBenchConfig | None = None,
                       progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Score every tracker on every sequence set; detection runs once per frame.

    Returns:
        ``{"scores": [TrackerScore.to_dict() ...], "detection_ms_per_frame": float,
        "frames": int, "config": {...}}``.
    """
    built = {name: make() for name, make in trackers.items()}
    scores = {(name, s): TrackerScore(name, s) for s in sequence_sets for name in built}
    det_seconds, det_frames = 0.0, 0
    for set_name, sequences in sequence_sets.items():
        for frames in sequences:
            detections = []
            for frame in frames:
                start = time.perf_counter()
                detections.append(source.describe(frame.observation))
                det_seconds += time.perf_counter() - start
                det_frames += 1
            for name, tracker in built.items():
                score_sequence(tracker, frames, detections, scores[(name, set_name)], config)
            if progress is not None:
                progress(1)
    return {"scores": [s.to_dict() for s in scores.values()],
            "detection_ms_per_frame": 1000 * det_seconds / max(det_frames, 1), "frames": det_frames,
            "config": asdict(config or TrackingBenchConfig())}


def tracking_markdown(result: dict[str, Any]) -> str:
    """A Markdown table of :func:`run_tracking_bench`'s result."""
    det = float(result["detection_ms_per_frame"])
    lines = ["| tracker | sequences | set | correct (%) | checks | lost | switches | association ms / frame "
             "| Hz (detection + association) |", "|---|---|---|---|---|---|---|---|---|"]
    for s in result["scores"]:
        acc = "–" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f}"
        assoc = float(s["association_ms_per_frame"])
        lines.append(f"| {s['tracker']} | {s['sequences']} | {s['source']} | {acc} | {s['checks']} | "
                     f"{s['lost']} | {s['switches']} | {assoc:.1f} | {1000 / max(det + assoc, 1e-9):.1f} |")
    grasps = ("post-processed grasps (workspace, NMS, centring, collision)" if result.get("postprocess")
              else "every seed's raw grasp")
    lines.append(f"\nDetection {det:.1f} ms per frame ({result['frames']} frames; {grasps}).")
    return "\n".join(lines) + "\n"
