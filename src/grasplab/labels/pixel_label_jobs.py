"""Pixel-level labels of a dataset root's frames: one shard per frame, atomic and resumable.

For frame ``a`` of scene ``s`` (GraspNet-1Billion layout written by ``grasplab scenes generate``):
the noise-free camera depth ``depth_clean/%04d.png`` (else ``depth/``), the instance mask
``label/%04d.png``, the intrinsics and the parallel depth ``parallel_depth/%04d.npz`` (with its
``eta``) go through :func:`grasplab.labels.pixel_labels.pixel_labels`. The result is written to
``scenes/scene_%04d/<camera>/pixel_labels/%04d.npz`` (compressed, atomic) with the arrays
``quality`` (H, W), ``angle_quality``, ``width``, ``depth`` (K, H, W) float32, ``grasps`` (N, 6)
``[u, v, d, theta, w, score]``, ``max_width`` and ``stride``; :func:`load_pixel_labels` reads it.
A frame whose file exists and loads is skipped, so an interrupted job continues where it stopped.
The frames run as shards of :func:`grasplab.runtime.jobs.run_job` (``"pixel-labels"``) on a local
or Ray engine; failures are recorded in ``.grasplab-job-pixel-labels.json`` and retried next run.
"""

from __future__ import annotations

import functools
import logging
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grasplab.core.gripper import GripperModel
from grasplab.core.rect import PixelGrasps
from grasplab.labels.label_io import atomic_savez
from grasplab.labels.pixel_labels import PixelLabelConfig, PixelLabels, pixel_labels
from grasplab.runtime.engines import Engine, make_engine
from grasplab.runtime.jobs import Job, ShardResult, run_job
from grasplab.scenes.reader import GraspNetDataset

__all__ = [
    "FrameLabelOutcome",
    "dataset_frames",
    "label_dataset_pixels",
    "label_frame_pixels",
    "load_pixel_labels",
    "pixel_label_path",
    "pixel_labels_complete",
    "save_pixel_labels",
]

logger = logging.getLogger(__name__)

_FIELDS = ("quality", "angle_quality", "width", "depth", "grasps", "max_width", "stride")


@dataclass(frozen=True)
class FrameLabelOutcome:
    """What happened to one frame.

    Attributes:
        scene_id: the scene index.
        ann_id: the frame index.
        status: ``"labelled"``, ``"skipped"`` (a loadable file exists) or ``"failed"``.
        message: the reason of a failure, else "".
        seconds: wall time spent on the frame.
        num_grasps: labelled (pixel, angle) grasps (0 unless labelled).
    """

    scene_id: int
    ann_id: int
    status: str
    message: str = ""
    seconds: float = 0.0
    num_grasps: int = 0


def pixel_label_path(root: str | Path, scene_id: int, ann_id: int, camera: str = "realsense") -> Path:
    """``root/scenes/scene_%04d/<camera>/pixel_labels/%04d.npz``."""
    for name, value in (("scene_id", scene_id), ("ann_id", ann_id)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return (Path(root) / "scenes" / f"scene_{int(scene_id):04d}" / camera / "pixel_labels"
            / f"{int(ann_id):04d}.npz")


def save_pixel_labels(path: str | Path, labels: PixelLabels) -> Path:
    """Write :class:`PixelLabels` to a compressed ``.npz`` atomically; returns the path."""
    arrays = {
        "quality": labels.quality, "angle_quality": labels.angle_quality,
        "width": labels.width, "depth": labels.depth,
        "grasps": labels.grasps.array.astype(np.float32),
        "max_width": np.array(labels.max_width), "stride": np.array(labels.stride),
    }
    return atomic_savez(Path(path), arrays)


def load_pixel_labels(path: str | Path) -> PixelLabels:
    """Read a file written by :func:`save_pixel_labels`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable pixel label file (missing fields, bad shapes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no pixel labels: {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _FIELDS if k not in data.files]
            if missing:
                raise ValueError(f"missing fields {missing}; expected {list(_FIELDS)}")
            return PixelLabels(
                quality=data["quality"], angle_quality=data["angle_quality"],
                width=data["width"], depth=data["depth"],
                grasps=PixelGrasps(np.asarray(data["grasps"], dtype=np.float64).reshape(-1, 6)),
                max_width=float(data["max_width"]), stride=int(data["stride"]),
            )
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable pixel label file ({exc})") from exc


def pixel_labels_complete(path: str | Path) -> bool:
    """True when the file exists and loads."""
    try:
        load_pixel_labels(path)
    except (FileNotFoundError, ValueError):
        return False
    return True


def label_frame_pixels(
    root: str | Path,
    scene_id: int,
    ann_id: int,
    camera: str = "realsense",
    gripper: GripperModel | None = None,
    config: PixelLabelConfig | None = None,
    overwrite: bool = False,
) -> FrameLabelOutcome:
    """Compute and write one frame's pixel labels unless a loadable file exists.

    Raises:
        FileNotFoundError: a missing frame file (depth, label, parallel depth, ...).
        ValueError: unreadable inputs or bad settings.
    """
    start = time.perf_counter()
    target = pixel_label_path(root, scene_id, ann_id, camera)
    if not overwrite and pixel_labels_complete(target):
        return FrameLabelOutcome(int(scene_id), int(ann_id), "skipped",
                                 seconds=time.perf_counter() - start)
    dataset = GraspNetDataset(root, camera)
    frame = dataset.frame(int(scene_id), int(ann_id))
    depth = frame.depth
    clean = target.parents[1] / "depth_clean" / f"{int(ann_id):04d}.png"
    if clean.is_file():
        depth = dataset.depth(int(scene_id), int(ann_id), folder="depth_clean")
    parallel, eta = dataset.parallel_depth(int(scene_id), int(ann_id))
    labels = pixel_labels(depth, frame.mask, frame.intrinsics, parallel, eta, gripper, config)
    save_pixel_labels(target, labels)
    return FrameLabelOutcome(int(scene_id), int(ann_id), "labelled", "",
                             time.perf_counter() - start, len(labels.grasps))


def _shard(root: str, camera: str, gripper: GripperModel | None, config: PixelLabelConfig | None,
           overwrite: bool, item: tuple[int, int]) -> FrameLabelOutcome:
    """The job's shard function: one frame (raises on failure; the runner records it)."""
    return label_frame_pixels(root, item[0], item[1], camera, gripper, config, overwrite)


def _outcome(result: ShardResult) -> FrameLabelOutcome:
    """The frame's outcome from the runner's result of its shard."""
    scene_id, ann_id = result.key
    if result.status == "failed":
        return FrameLabelOutcome(scene_id, ann_id, "failed", f"{result.error_type}: {result.error}",
                                 result.seconds)
    if result.status == "skipped":
        return FrameLabelOutcome(scene_id, ann_id, "skipped")
    return result.value  # type: ignore[no-any-return]


def dataset_frames(
    root: str | Path, scene_ids: Iterable[int] | None = None, camera: str = "realsense"
) -> list[tuple[int, int]]:
    """``(scene_id, ann_id)`` of every frame of the given scenes (all scenes by default)."""
    dataset = GraspNetDataset(root, camera)
    scenes = dataset.scene_ids() if scene_ids is None else [int(i) for i in scene_ids]
    return [(s, a) for s in scenes for a in dataset.frame_ids(s)]


def label_dataset_pixels(
    root: str | Path,
    frames: Iterable[tuple[int, int]] | None = None,
    camera: str = "realsense",
    gripper: GripperModel | None = None,
    config: PixelLabelConfig | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[FrameLabelOutcome], None] | None = None,
    *,
    engine: str | Engine = "local",
) -> list[FrameLabelOutcome]:
    """Pixel-label frames of a root (module docstring), resumably.

    Args:
        root: dataset root.
        frames: ``(scene_id, ann_id)`` pairs; None = every frame (:func:`dataset_frames`).
        camera: camera folder.
        gripper: gripper geometry (its ``pdg_size`` is ``[L1, L2, L3, L4]``).
        config: search settings (angles, depth step, stride, ...).
        workers: worker processes (1 = in this process); for Ray, the most frames at once.
        overwrite: recompute frames that already have a loadable file.
        progress: optional callback, called with each frame's outcome as it finishes.
        engine: ``"local"``, ``"ray"`` or an :class:`grasplab.runtime.engines.Engine` (then
            ``workers`` is ignored); the files are the same with every engine.

    Returns:
        Outcomes in the order of ``frames``; a failing frame gives a ``"failed"`` outcome.
    """
    items = dataset_frames(root, camera=camera) if frames is None else [
        (int(s), int(a)) for s, a in frames]
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers}")
    runner = make_engine(engine, workers) if isinstance(engine, str) else engine
    cfg, grip = config or PixelLabelConfig(), gripper or GripperModel()
    # one job per camera: each camera's labels are separate files with their own settings
    name = "pixel-labels" if camera == "realsense" else f"pixel-labels-{camera}"
    job = Job(name, tuple(items),
              functools.partial(_shard, str(root), camera, gripper, config, bool(overwrite)),
              out=Path(root), leftovers=(f"scenes/scene_*/{camera}/pixel_labels/.*.tmp",),
              fingerprint={"camera": camera, "config": asdict(cfg), "gripper": asdict(grip)},
              on_change="record" if overwrite else "refuse")
    report = run_job(job, runner, None if progress is None else lambda r: progress(_outcome(r)))
    return [_outcome(r) for r in report.results]
