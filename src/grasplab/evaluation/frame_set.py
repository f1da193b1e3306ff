"""GraspNet AP of a detector on a fixed list of dataset frames, in memory (no dump folder).

Training's AP validation and the benchmarks run a detector on frames of a dataset in the
GraspNet-1Billion layout and score its grasps with the evaluator of ``grasplab eval ap``
(:class:`grasplab.evaluation.ap.APEvaluator`: same protocol, same object geometry, cached across
calls). Frames are ``(scene_id, ann_id)`` pairs; grasps are graspnetAPI rows in the frame's camera.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.evaluation.ap import APEvaluator
from grasplab.evaluation.frame import APConfig
from grasplab.evaluation.precision import APSummary, summarize_ap
from grasplab.scenes.reader import Frame

__all__ = ["FrameSetEvaluator", "FrameSetScore", "dataset_frames", "spread_frames"]

Frames = list[tuple[int, int]]


def spread_frames(frames: Sequence[tuple[int, int]], count: int) -> Frames:
    """``count`` frames spread evenly over ``frames`` (first and last included; all if fewer).

    >>> spread_frames([(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)], 3)
    [(0, 0), (1, 0), (2, 0)]
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    items = [(int(s), int(a)) for s, a in frames]
    if count >= len(items):
        return items
    if count == 0:
        return []
    picks = np.unique(np.round(np.linspace(0, len(items) - 1, count)).astype(int))
    return [items[i] for i in picks]


def dataset_frames(root: Path | str, scene_ids: Sequence[int], camera: str = "realsense") -> Frames:
    """Every annotated ``(scene_id, ann_id)`` of the given scenes, sorted.

    Raises:
        ValueError: a scene that is not in the dataset.
    """
    from grasplab.scenes.reader import GraspNetDataset

    reader = GraspNetDataset(root, camera)
    available = set(reader.scene_ids())
    missing = sorted(int(s) for s in scene_ids if int(s) not in available)
    if missing:
        raise ValueError(f"scenes {missing} are not in the dataset {root}")
    return [(int(s), a) for s in sorted({int(s) for s in scene_ids}) for a in reader.frame_ids(s)]


@dataclass(frozen=True)
class FrameSetScore:
    """AP of one detector over a frame set.

    Attributes:
        summary: AP figures (fractions) over the frames.
        detect_seconds: wall time of the detector, summed over the frames.
        eval_seconds: wall time of the evaluation, summed over the frames.
        num_grasps: grasps returned, per frame.
    """

    summary: APSummary
    detect_seconds: float
    eval_seconds: float
    num_grasps: tuple[int, ...]


class FrameSetEvaluator:
    """Score detectors on a fixed list of frames (frames and object geometry read once).

    Args:
        root: dataset root (``scenes/``, ``models/``).
        frames: ``(scene_id, ann_id)`` pairs to score.
        camera: camera folder.
        config: AP protocol parameters (force-closure backend in ``fc_backend``).

    Raises:
        ValueError: no frames.
    """

    def __init__(
        self, root: Path | str, frames: Sequence[tuple[int, int]], camera: str = "realsense",
        config: APConfig | None = None,
    ) -> None:
        if not frames:
            raise ValueError(f"no frames to evaluate under {root}")
        self.evaluator = APEvaluator(root, camera, config)
        self.frames = tuple((int(s), int(a)) for s, a in frames)
        self._frames: dict[tuple[int, int], Frame] = {}

    def frame(self, scene_id: int, ann_id: int) -> Frame:
        """One frame (RGB, depth, mask, intrinsics), read once."""
        key = (int(scene_id), int(ann_id))
        if key not in self._frames:
            self._frames[key] = self.evaluator.dataset.frame(*key)
        return self._frames[key]

    def score(self, detect: Callable[[Frame], Any]) -> FrameSetScore:
        """Run ``detect(frame)`` (a GraspGroup or (N, 17) rows, camera frame) on every frame; AP.

        Args:
            detect: the detector as a function of one frame.

        Returns:
            AP over the frames and the time spent detecting and evaluating.
        """
        accuracy, counts = [], []
        detect_s = eval_s = 0.0
        for scene_id, ann_id in self.frames:
            frame = self.frame(scene_id, ann_id)
            tic = time.perf_counter()
            grasps = detect(frame)
            toc = time.perf_counter()
            result = self.evaluator.evaluate_grasps(scene_id, ann_id, grasps)
            detect_s += toc - tic
            eval_s += time.perf_counter() - toc
            accuracy.append(result.accuracy)
            counts.append(len(grasps))
        summary = summarize_ap(np.stack(accuracy), self.evaluator.config.mu_grid)
        return FrameSetScore(summary, detect_s, eval_s, tuple(counts))
