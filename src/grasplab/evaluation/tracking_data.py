"""Frames with ground truth for grasp association: adjacent views of static scenes, moving sequences.

Two sources of :class:`GroundTruthFrame` sequences (an observation with an instance mask and
``T_world_cam``, and the true ``T_world_obj`` of its objects):

- :func:`static_view_pairs`: pairs of adjacent camera views of a labelled dataset's scenes
  (``scenes/scene_%04d/<camera>/``; world = the table frame), the objects still and the camera
  moving (AnyGrasp's training pairs), kept when the views differ by at most ``max_angle_deg``;
- :func:`motion_sequences`: short sequences of :func:`grasplab.execution.moving.
  record_motion_sequence` (conveyor, turntable, random, crossing), the camera still and the
  objects moving.

:func:`build_association_cache` runs a feature source once per frame and writes the cache of
:mod:`grasplab.data.association_pairs` (frames and the pairs of consecutive frames of each
sequence, with their split). Units: metres, degrees where named.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.data.association_pairs import save_cache_index, save_cached_frame
from grasplab.detection.association_features import FeatureSource, to_cached_frame
from grasplab.detection.observation import Observation
from grasplab.execution.moving import MotionConfig, motion_objects, record_motion_sequence
from grasplab.scenes.reader import GraspNetDataset

logger = logging.getLogger(__name__)

__all__ = [
    "GroundTruthFrame",
    "build_association_cache",
    "motion_sequences",
    "static_view_pairs",
]


@dataclass(frozen=True, eq=False)
class GroundTruthFrame:
    """One frame with its ground truth.

    Attributes:
        key: unique name (file stem in the cache).
        observation: depth, RGB, instance mask (``object_id + 1``), ``T_world_cam``.
        object_ids: (K,) int64.
        T_world_obj: (K, 4, 4) true object poses.
    """

    key: str
    observation: Observation
    object_ids: np.ndarray
    T_world_obj: np.ndarray


def _view_angle(T_a: np.ndarray, T_b: np.ndarray) -> float:
    R = T_a[:3, :3].T @ T_b[:3, :3]
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1.0, 1.0))))


def static_view_pairs(root: str | Path, scene_ids: Sequence[int], camera: str = "realsense",
                      max_angle_deg: float = 50.0) -> Iterator[list[GroundTruthFrame]]:
    """Pairs ``[frame k, frame k+1]`` of each scene whose views differ by <= ``max_angle_deg``.

    Raises:
        FileNotFoundError: a missing scene or frame file.
    """
    dataset = GraspNetDataset(root, camera)
    for scene in scene_ids:
        poses = dataset.camera_poses(scene)
        frames = dataset.frame_ids(scene)
        cache: dict[int, GroundTruthFrame] = {}
        for a, b in zip(frames[:-1], frames[1:], strict=True):
            if _view_angle(poses[a], poses[b]) > max_angle_deg:
                continue
            yield [cache.setdefault(k, _static_frame(dataset, scene, k)) for k in (a, b)]


def _static_frame(dataset: GraspNetDataset, scene: int, ann: int) -> GroundTruthFrame:
    frame = dataset.frame(scene, ann)
    obs = Observation(frame.depth, frame.intrinsics, frame.rgb, frame.mask, frame.T_table_cam)
    T_world_obj = np.einsum("ij,kjl->kil", frame.T_table_cam, frame.T_cam_obj)
    return GroundTruthFrame(f"static_s{scene:04d}_v{ann:04d}", obs,
                            np.asarray(frame.object_ids, dtype=np.int64), T_world_obj)


def motion_sequences(kinds: Sequence[str], per_kind: int, num_frames: int, seed: int,
                     config: MotionConfig | None = None, speeds: Sequence[float] = (0.05, 0.1),
                     prefix: str = "motion") -> Iterator[list[GroundTruthFrame]]:
    """``per_kind`` sequences of ``num_frames`` frames per motion kind (seeded by ``[seed, k]``).

    Sequence ``k`` of a kind uses ``speeds[k % len(speeds)]``; ``crossing`` has 2 objects, the
    others 2 as well so that the association has a wrong object to choose.
    """
    base = config or MotionConfig(image_width=640, image_height=480)
    for kind in kinds:
        for k in range(per_kind):
            gen = np.random.default_rng([seed, k, len(kind)])
            motion = MotionConfig(kind=kind, num_objects=2, speed=float(speeds[k % len(speeds)]),
                                  frame_rate=base.frame_rate, image_width=base.image_width,
                                  image_height=base.image_height, camera_eye=base.camera_eye)
            with tempfile.TemporaryDirectory(prefix="grasplab_track_") as folder:
                library = motion_objects(folder, kind, 2, gen)
                seq = record_motion_sequence(motion, library, library.ids(), num_frames, gen)
            ids = np.asarray(seq.object_ids, dtype=np.int64)
            yield [GroundTruthFrame(f"{prefix}_{kind}_{k:03d}_f{f:03d}", obs, ids, seq.T_world_obj[f])
                   for f, obs in enumerate(seq.frames)]


def build_association_cache(source: FeatureSource, cache: str | Path,
                            sequences: dict[str, Callable[[], Iterator[list[GroundTruthFrame]]]],
                            meta: dict[str, Any], steps: Sequence[int] = (1,),
                            progress: Callable[[int], None] | None = None) -> Path:
    """Detect every frame once and write the association feature cache.

    Args:
        source: the feature source (a frozen GSNet).
        cache: output folder (``index.json`` and ``frames/``); frames already there are reused.
        sequences: split name ("train", "val") -> a callable giving its sequences.
        meta: written into the index (feature sizes, where the features came from).
        steps: pairs ``(f, f + s)`` of each sequence for every step ``s``.
        progress: called with 1 per frame.

    Returns:
        The index path.
    """
    out = Path(cache)
    frames: list[dict[str, Any]] = []
    pairs: list[tuple[str, str, str]] = []
    for split, make in sequences.items():
        for group, seq in enumerate(make()):
            for item in seq:
                path = out / "frames" / f"{item.key}.npz"
                if not path.is_file():
                    detected = source.describe(item.observation)
                    save_cached_frame(path, to_cached_frame(detected, item.observation, item.object_ids,
                                                            item.T_world_obj))
                frames.append({"key": item.key, "group": f"{split}_{group}", "split": split})
                if progress is not None:
                    progress(1)
            keys = [item.key for item in seq]
            pairs += [(keys[f], keys[f + s], split) for s in steps for f in range(len(keys) - s)]
    logger.info("association cache %s: %d frames, %d pairs", out, len(frames), len(pairs))
    return save_cache_index(out, frames, pairs, meta)
