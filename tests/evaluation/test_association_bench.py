"""The tracking benchmark's scoring (10 cm / 30° of the grasp a target started on) on hand-made frames."""

from __future__ import annotations

import numpy as np

from grasplab.core import CameraIntrinsics, GraspGroup, make_transform
from grasplab.detection.association_features import DetectedFeatures
from grasplab.detection.observation import Observation
from grasplab.detection.tracking import NearestTracker, TrackerConfig
from grasplab.evaluation.tracking_bench import (
    TrackerScore,
    TrackingBenchConfig,
    run_tracking_bench,
    score_sequence,
    tracking_markdown,
)
from grasplab.evaluation.tracking_data import GroundTruthFrame

K = CameraIntrinsics(100.0, 100.0, 32.0, 24.0, 64, 48)


def _sequence(step: float, offset: float = 0.0,
              num_frames: int = 3) -> tuple[list[GroundTruthFrame], list[DetectedFeatures]]:
    """One object (id 0, the whole image) moving ``step`` m along x per frame, 4 grasps on it 10 cm
    apart; after the first frame the detector sees them ``offset`` m further along x than they are."""
    t = np.stack([np.arange(4) * 0.1 - 0.15, np.zeros(4), np.full(4, 0.5)], axis=1)
    base = GraspGroup.from_components(t, np.stack([np.eye(3)] * 4), np.full(4, 0.05), np.full(4, 0.02),
                                      np.linspace(0.9, 0.6, 4))
    frames, detections = [], []
    for f in range(num_frames):
        move = make_transform(np.eye(3), np.array([step * f, 0.0, 0.0]))
        obs = Observation(np.full((48, 64), 0.5, np.float32), K, mask=np.ones((48, 64), np.int32),
                          T_world_cam=np.eye(4))
        frames.append(GroundTruthFrame(f"f{f}", obs, np.array([0]), move[None]))
        seen = make_transform(np.eye(3), np.array([offset if f else 0.0, 0.0, 0.0]))
        grasps = base.transform(seen @ move)
        detections.append(DetectedFeatures(grasps, np.zeros((4, 0), np.float32), np.zeros((4, 0), np.float32),
                                           np.full((4, 16, 3), 128, np.uint8)))
    return frames, detections


def test_nearest_follows_a_slow_object_every_target_correct() -> None:
    frames, detections = _sequence(0.01)
    score = TrackerScore("nearest", "toy")
    score_sequence(NearestTracker(), frames, detections, score, TrackingBenchConfig(num_targets=3))
    assert (score.sequences, score.checks, score.correct, score.lost, score.switches) == (1, 6, 6, 0, 0)
    assert score.accuracy == 1.0


def test_lost_targets_count_as_wrong_and_far_matches_are_wrong() -> None:
    frames, detections = _sequence(0.01)
    strict = NearestTracker(config=TrackerConfig(min_similarity=0.99, min_target_similarity=0.99))
    score = TrackerScore("strict", "toy")
    score_sequence(strict, frames, detections, score, TrackingBenchConfig(num_targets=4))
    assert (score.checks, score.correct, score.lost) == (8, 0, 4)
    # the detector sees the grasps 2 cm off the truth: correct within 10 cm, wrong within 1 cm
    frames, detections = _sequence(0.01, offset=0.02)
    loose, tight = TrackerScore("a", "toy"), TrackerScore("b", "toy")
    score_sequence(NearestTracker(), frames, detections, loose, TrackingBenchConfig(num_targets=2))
    score_sequence(NearestTracker(), frames, detections, tight, TrackingBenchConfig(2, max_distance=0.01))
    assert loose.correct == loose.checks == 4 and (tight.checks, tight.correct, tight.lost) == (4, 0, 0)


class _Source:
    def __init__(self, detections: list[DetectedFeatures]) -> None:
        self.detections = detections

    def describe(self, observation: Observation) -> DetectedFeatures:
        return self.detections.pop(0)


def test_run_tracking_bench_reports_each_tracker_and_set() -> None:
    frames, detections = _sequence(0.01)
    result = run_tracking_bench(_Source(list(detections)), {"nearest": NearestTracker}, {"toy": [frames]},
                                TrackingBenchConfig(num_targets=2))
    assert result["frames"] == 3 and len(result["scores"]) == 1
    row = result["scores"][0]
    assert row["accuracy"] == 1.0 and row["checks"] == 4
    assert "| nearest | 1 | toy | 100.0 |" in tracking_markdown(result)
    assert "every seed's raw grasp" in tracking_markdown(result)
    assert "post-processed grasps" in tracking_markdown({**result, "postprocess": True})
