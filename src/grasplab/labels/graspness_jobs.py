"""Graspness labels of a dataset root's frames: one shard per frame, atomic and resumable.

Inputs (what ``grasplab label objects`` and ``grasplab label scenes`` write): each object's
``grasp_label/%03d_labels.npz`` (+ extras with the stable score; without one it is computed from
the mesh's uniform-density centre of mass) and each scene's
``collision_label/scene_%04d/collision_labels.npz``; per frame the depth image
(``GraspnessConfig.depth_folder``), the instance mask, the intrinsics and the annotation's poses.
Rules: :mod:`grasplab.labels.graspness`; files: :mod:`grasplab.labels.graspness_io`.

The frames are the shards of one :class:`grasplab.runtime.jobs.Job` (``"graspness-labels"``,
``"graspness-labels-<camera>"`` for other cameras): a frame whose file exists with the run's
settings is skipped, temporary files of a killed run are removed, failures are recorded in
``.grasplab-job-graspness-labels.json`` and retried by the next run, and a rerun with other
settings is refused unless ``overwrite`` (then every frame is redone). The shard of a scene's
first frame writes the scene's ``objects.npz``; the other shards read its label points when it
exists, else compute the same (deterministic) labels themselves, so frames run in any order on any
engine. A worker keeps the last scene's label points in memory.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grasplab.labels.graspness import (
    GraspnessConfig,
    LabelPoints,
    SceneGraspLabels,
    concatenate_scene_labels,
    free_grasps,
    point_graspness,
    scene_grasp_labels,
)
from grasplab.labels.graspness_frame import frame_graspness
from grasplab.labels.graspness_io import (
    frame_graspness_path,
    graspness_file_matches,
    load_label_points,
    save_frame_graspness,
    save_scene_grasp_labels,
    scene_graspness_path,
)
from grasplab.labels.label_io import label_path, load_object_labels, object_labels_complete
from grasplab.labels.object_labels import ObjectLabels
from grasplab.labels.scene_label_jobs import collision_label_path, load_collision_labels
from grasplab.runtime.engines import Engine, make_engine
from grasplab.runtime.jobs import Job, ShardResult, run_job
from grasplab.scenes.reader import GraspNetDataset

__all__ = [
    "GraspnessOutcome",
    "check_graspness_inputs",
    "compute_scene_grasp_labels",
    "label_dataset_graspness",
    "label_frame_graspness",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraspnessOutcome:
    """What happened to one frame.

    Attributes:
        scene_id: the scene index.
        ann_id: the frame index.
        status: ``"labelled"``, ``"skipped"`` (its files exist with these settings) or
            ``"failed"``.
        message: the reason of a failure, else "".
        seconds: wall time of the frame, the scene file included when this frame wrote it.
        num_points: observed points labelled (0 unless labelled).
        num_graspable: of those, points with a positive graspness.
        wrote_scene: this frame's shard wrote the scene's ``objects.npz``.
    """

    scene_id: int
    ann_id: int
    status: str
    message: str = ""
    seconds: float = 0.0
    num_points: int = 0
    num_graspable: int = 0
    wrote_scene: bool = False


def check_graspness_inputs(root: str | Path, scene_ids: Iterable[int],
                           camera: str = "realsense") -> None:
    """Raise a clear error when the object or collision labels of some scene are missing.

    Raises:
        FileNotFoundError: the message lists what is missing and the command that makes it.
    """
    dataset = GraspNetDataset(root, camera)
    for scene_id in sorted({int(s) for s in scene_ids}):
        ids = dataset.object_ids(scene_id)
        missing = [i for i in ids if not object_labels_complete(root, i)]
        if missing:
            raise FileNotFoundError(
                f"scene {scene_id}: no object labels for objects {missing} (e.g. "
                f"{label_path(root, missing[0])}); run `grasplab label objects --root {root}` "
                "first")
        if not collision_label_path(root, scene_id).is_file():
            raise FileNotFoundError(
                f"scene {scene_id}: no collision labels ({collision_label_path(root, scene_id)}); "
                f"run `grasplab label scenes --root {root}` first")


def _object_inputs(
    root: str | Path, scene_id: int, camera: str
) -> Iterator[tuple[int, ObjectLabels, np.ndarray, GraspNetDataset]]:
    """Each object's id, labels and collision mask, one object in memory at a time."""
    check_graspness_inputs(root, [scene_id], camera)
    dataset = GraspNetDataset(root, camera)
    ids = dataset.object_ids(int(scene_id))
    masks = load_collision_labels(root, int(scene_id))
    if len(masks) != len(ids):
        raise ValueError(f"scene {scene_id}: {len(masks)} collision masks for {len(ids)} objects; "
                         f"rerun `grasplab label scenes --root {root} --overwrite`")
    for object_id, mask in zip(ids, masks, strict=True):
        labels = load_object_labels(root, object_id)
        if mask.shape != labels.grid_shape:
            raise ValueError(f"scene {scene_id}: the collision mask {mask.shape} of object "
                             f"{object_id} does not fit the object labels {labels.grid_shape}; "
                             f"rerun `grasplab label scenes --root {root} --overwrite`")
        yield object_id, labels, mask, dataset


def compute_scene_grasp_labels(root: str | Path, scene_id: int, camera: str = "realsense",
                               config: GraspnessConfig | None = None) -> SceneGraspLabels:
    """A scene's object-frame labels from its object labels and collision masks.

    The objects are processed one at a time (a full label set is hundreds of megabytes);
    labels without a stable score get one from the mesh's uniform-density centre of mass.

    Raises:
        FileNotFoundError: missing labels (the message names the command to run first).
        ValueError: collision masks that do not fit the object labels.
    """
    parts = []
    for object_id, labels, mask, dataset in _object_inputs(root, scene_id, camera):
        com = None if labels.stable is not None else np.asarray(
            dataset.model_mesh(object_id).center_mass)
        parts.append(scene_grasp_labels([labels], [mask], [object_id], config, [com]))
    return concatenate_scene_labels(parts)


def _compute_label_points(root: str | Path, scene_id: int, camera: str,
                          cfg: GraspnessConfig) -> LabelPoints:
    """Only the label points and point graspness (for a frame when no scene file matches)."""
    ids, points, values = [], [], []
    for object_id, labels, mask, _ in _object_inputs(root, scene_id, camera):
        free = free_grasps(labels, mask, cfg.max_width)
        ids.append(object_id)
        points.append(np.asarray(labels.points, dtype=np.float32))
        values.append(point_graspness(labels.scores, free, cfg.point_mu_max).astype(np.float32))
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in points])]).astype(np.int64)
    return LabelPoints(np.asarray(ids, dtype=np.int32), offsets, np.concatenate(points),
                       np.concatenate(values))


@functools.lru_cache(maxsize=2)
def _cached_label_points(path: str, stamp: tuple[int, int]) -> LabelPoints:
    """Label points of a scene file, cached per worker (``stamp``: mtime and size)."""
    return load_label_points(path)


def _label_points(root: str | Path, scene_id: int, camera: str, cfg: GraspnessConfig,
                  write_scene: bool) -> tuple[LabelPoints, bool]:
    """The scene's label points, and whether the scene file was (re)written here."""
    path = scene_graspness_path(root, scene_id, camera)
    if write_scene:
        scene = compute_scene_grasp_labels(root, scene_id, camera, cfg)
        save_scene_grasp_labels(path, scene, cfg)
        return scene.label_points, True
    if graspness_file_matches(path, cfg, scene=True):
        stat = path.stat()
        return _cached_label_points(str(path), (stat.st_mtime_ns, stat.st_size)), False
    return _compute_label_points(root, scene_id, camera, cfg), False


def label_frame_graspness(
    root: str | Path,
    scene_id: int,
    ann_id: int,
    camera: str = "realsense",
    config: GraspnessConfig | None = None,
    overwrite: bool = False,
    write_scene: bool = True,
) -> GraspnessOutcome:
    """Compute and write one frame's graspness labels unless files with these settings exist.

    Args:
        root: dataset root with object and collision labels.
        scene_id: the scene.
        ann_id: the frame.
        camera: camera folder.
        config: settings.
        overwrite: recompute even when matching files exist.
        write_scene: also (re)write the scene's ``objects.npz`` when it does not match (or with
            ``overwrite``); False reads it when it matches, else computes without writing it.

    Returns:
        The outcome (``"labelled"`` or ``"skipped"``).

    Raises:
        FileNotFoundError: a missing frame file or missing labels (naming the command to run).
        ValueError: unreadable or inconsistent inputs.
    """
    start = time.perf_counter()
    cfg = config or GraspnessConfig()
    target = frame_graspness_path(root, scene_id, ann_id, camera)
    scene_path = scene_graspness_path(root, scene_id, camera)
    need_scene = write_scene and (overwrite or not graspness_file_matches(scene_path, cfg, True))
    if not need_scene and not overwrite and graspness_file_matches(target, cfg, scene=False):
        return GraspnessOutcome(int(scene_id), int(ann_id), "skipped",
                                seconds=time.perf_counter() - start)
    points, wrote = _label_points(root, int(scene_id), camera, cfg, need_scene)
    dataset = GraspNetDataset(root, camera)
    frame = dataset.frame(int(scene_id), int(ann_id))
    depth = frame.depth if cfg.depth_folder == "depth" else dataset.depth(
        int(scene_id), int(ann_id), folder=cfg.depth_folder)
    order = [list(frame.object_ids).index(int(i)) if int(i) in frame.object_ids else -1
             for i in points.object_ids]
    if min(order, default=0) < 0:
        absent = [int(i) for i, k in zip(points.object_ids, order, strict=True) if k < 0]
        raise ValueError(f"scene {scene_id} frame {ann_id}: objects {absent} of "
                         "object_id_list.txt have no pose in the frame's annotation")
    labels = frame_graspness(depth, frame.mask, frame.intrinsics, frame.T_cam_obj[order], points,
                             cfg)
    save_frame_graspness(target, labels, cfg)
    return GraspnessOutcome(int(scene_id), int(ann_id), "labelled", "",
                            time.perf_counter() - start, len(labels.points),
                            int(np.count_nonzero(labels.graspness > 0)), wrote)


def _first_frames(frames: Iterable[tuple[int, int]]) -> dict[int, int]:
    """The first (smallest) frame id of each scene."""
    out: dict[int, int] = {}
    for scene_id, ann_id in frames:
        out[scene_id] = min(ann_id, out.get(scene_id, ann_id))
    return out


def _done(root: str, camera: str, cfg: GraspnessConfig, firsts: Mapping[int, int],
          key: tuple[int, int]) -> bool:
    """The frame file (and, for a scene's first frame, the scene file) match the settings."""
    scene_id, ann_id = key
    if not graspness_file_matches(frame_graspness_path(root, scene_id, ann_id, camera), cfg,
                                  scene=False):
        return False
    return firsts[scene_id] != ann_id or graspness_file_matches(
        scene_graspness_path(root, scene_id, camera), cfg, scene=True)


def _shard(root: str, camera: str, cfg: GraspnessConfig, overwrite: bool,
           firsts: Mapping[int, int], key: tuple[int, int]) -> GraspnessOutcome:
    """The job's shard function: one frame (raises on failure; the runner records it)."""
    scene_id, ann_id = key
    return label_frame_graspness(root, scene_id, ann_id, camera, cfg, overwrite,
                                 write_scene=firsts[scene_id] == ann_id)


def _outcome(result: ShardResult) -> GraspnessOutcome:
    """The frame's outcome from the runner's result of its shard."""
    scene_id, ann_id = result.key
    if result.status == "failed":
        return GraspnessOutcome(scene_id, ann_id, "failed",
                                f"{result.error_type}: {result.error}", result.seconds)
    if result.status == "skipped":
        return GraspnessOutcome(scene_id, ann_id, "skipped")
    return result.value  # type: ignore[no-any-return]


def label_dataset_graspness(
    root: str | Path,
    frames: Iterable[tuple[int, int]] | None = None,
    camera: str = "realsense",
    config: GraspnessConfig | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[GraspnessOutcome], None] | None = None,
    *,
    engine: str | Engine = "local",
) -> list[GraspnessOutcome]:
    """Graspness-label frames of a root (module docstring), resumably.

    Args:
        root: dataset root with ``scenes/``, ``grasp_label/`` and ``collision_label/``.
        frames: ``(scene_id, ann_id)`` pairs; None = every frame of every scene.
        camera: camera folder.
        config: settings.
        workers: worker processes (1 = in this process); for Ray, the most frames at once.
        overwrite: recompute every frame (and scene file), also with settings other than the
            last run's (without it such a rerun is refused).
        progress: optional callback, called with each frame's outcome as it finishes.
        engine: ``"local"``, ``"ray"`` or an :class:`grasplab.runtime.engines.Engine` (then
            ``workers`` is ignored); the files are the same with every engine.

    Returns:
        Outcomes in the order of ``frames``; a failing frame gives a ``"failed"`` outcome.

    Raises:
        FileNotFoundError: missing object or collision labels (before any frame runs; the
            message names the command to run first).
        FingerprintMismatchError: the root was labelled with other settings and ``overwrite``
            is False (a ValueError naming each setting that differs).
        ValueError: bad settings.
    """
    from grasplab.labels.pixel_label_jobs import dataset_frames

    items = dataset_frames(root, camera=camera) if frames is None else [
        (int(s), int(a)) for s, a in frames]
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers}")
    check_graspness_inputs(root, {s for s, _ in items}, camera)
    runner = make_engine(engine, workers) if isinstance(engine, str) else engine
    cfg, firsts = config or GraspnessConfig(), _first_frames(items)
    # one job per camera: each camera's labels are separate files with their own settings
    name = "graspness-labels" if camera == "realsense" else f"graspness-labels-{camera}"
    job = Job(name, tuple(items),
              functools.partial(_shard, str(root), camera, cfg, bool(overwrite), firsts),
              out=Path(root),
              done=None if overwrite else functools.partial(_done, str(root), camera, cfg, firsts),
              leftovers=(f"scenes/scene_*/{camera}/graspness/.*.tmp",),
              fingerprint={"camera": camera, "config": asdict(cfg)},
              on_change="record" if overwrite else "refuse")
    report = run_job(job, runner, None if progress is None else lambda r: progress(_outcome(r)))
    return [_outcome(r) for r in report.results]
