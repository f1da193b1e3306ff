"""Graspness label files of a dataset root (written by :mod:`grasplab.labels.graspness_jobs`).

Beside the frames, never in the reference's folders (which graspnetAPI reads):

- ``scenes/scene_%04d/<camera>/graspness/objects.npz``: the scene's object-frame labels
  (:class:`~grasplab.labels.graspness.SceneGraspLabels`), written once per scene because they
  are the same in every frame (they are the bulk: ``mu_centi`` and ``width_mm`` are
  P × V × A × D bytes each);
- ``scenes/scene_%04d/<camera>/graspness/%04d.npz``: one frame's labels
  (:class:`~grasplab.labels.graspness_frame.FrameGraspness`).

Both hold ``format`` (:data:`GRASPNESS_FORMAT`) and ``config`` (the settings as JSON: the scene
file only those it depends on, the thresholds and the max width); a file whose format or
settings differ from a run's is redone by it. Files are written atomically (temporary file,
then a rename), so a file that exists with the run's settings is complete.
Array shapes, dtypes, frames and units: :mod:`grasplab.labels.graspness` and
``docs/graspness_labels.md``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from grasplab.labels.graspness import GraspnessConfig, LabelPoints, SceneGraspLabels
from grasplab.labels.graspness_frame import FrameGraspness
from grasplab.labels.label_io import atomic_savez

__all__ = [
    "GRASPNESS_FORMAT",
    "frame_graspness_path",
    "graspness_file_matches",
    "load_frame_graspness",
    "load_label_points",
    "load_scene_grasp_labels",
    "save_frame_graspness",
    "save_scene_grasp_labels",
    "scene_graspness_path",
]

#: Version of the graspness file format.
GRASPNESS_FORMAT = 1
_SCENE_FIELDS = ("object_ids", "point_offsets", "points", "point_graspness", "view_graspness",
                 "mu_centi", "width_mm", "angles", "depths")
_FRAME_FIELDS = ("points", "pixels", "instance", "label_index", "graspness", "graspness_range",
                 "object_ids", "T_cam_obj")


def _check_index(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return int(value)


def _folder(root: str | Path, scene_id: int, camera: str) -> Path:
    return (Path(root) / "scenes" / f"scene_{_check_index(scene_id, 'scene_id'):04d}" / camera
            / "graspness")


def scene_graspness_path(root: str | Path, scene_id: int, camera: str = "realsense") -> Path:
    """``root/scenes/scene_%04d/<camera>/graspness/objects.npz``."""
    return _folder(root, scene_id, camera) / "objects.npz"


def frame_graspness_path(
    root: str | Path, scene_id: int, ann_id: int, camera: str = "realsense"
) -> Path:
    """``root/scenes/scene_%04d/<camera>/graspness/%04d.npz``."""
    return _folder(root, scene_id, camera) / f"{_check_index(ann_id, 'ann_id'):04d}.npz"


def _settings(config: GraspnessConfig, scene: bool) -> dict[str, float | str]:
    """What a file records: the scene file only the settings it depends on, a frame file all."""
    return config.scene_dict() if scene else config.to_dict()


def _header(config: GraspnessConfig, scene: bool) -> dict[str, np.ndarray]:
    return {"format": np.array(GRASPNESS_FORMAT),
            "config": np.array(json.dumps(_settings(config, scene), sort_keys=True))}


def save_scene_grasp_labels(path: str | Path, labels: SceneGraspLabels,
                            config: GraspnessConfig) -> Path:
    """Write a scene's object-frame labels (compressed, atomic); returns the path."""
    arrays = {name: np.asarray(getattr(labels, name)) for name in _SCENE_FIELDS}
    if labels.stable is not None:
        arrays["stable"] = labels.stable
    return atomic_savez(Path(path), {**_header(config, scene=True), **arrays})


def save_frame_graspness(path: str | Path, frame: FrameGraspness, config: GraspnessConfig) -> Path:
    """Write one frame's labels (compressed, atomic); returns the path."""
    arrays = {name: np.asarray(getattr(frame, name)) for name in _FRAME_FIELDS}
    return atomic_savez(Path(path), {**_header(config, scene=False), **arrays})


def _read(path: Path, fields: Iterable[str], optional: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """The named arrays of a graspness file (only those are decompressed)."""
    if not path.is_file():
        raise FileNotFoundError(f"no graspness labels: {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            wanted = ("format", *fields)
            missing = [k for k in wanted if k not in data.files]
            if missing:
                raise ValueError(f"missing fields {missing}")
            if int(data["format"]) != GRASPNESS_FORMAT:
                raise ValueError(f"format {int(data['format'])}, expected {GRASPNESS_FORMAT}")
            out = {k: np.asarray(data[k]) for k in wanted}
            out.update({k: np.asarray(data[k]) for k in optional if k in data.files})
            return out
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable graspness label file ({exc})") from exc


def load_scene_grasp_labels(path: str | Path) -> SceneGraspLabels:
    """Read a file written by :func:`save_scene_grasp_labels`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable file of this format (missing fields, bad shapes).
    """
    data = _read(Path(path), _SCENE_FIELDS, ("stable",))
    try:
        return SceneGraspLabels(**{k: data[k] for k in _SCENE_FIELDS}, stable=data.get("stable"))
    except ValueError as exc:
        raise ValueError(f"{path}: inconsistent graspness labels ({exc})") from exc


def load_label_points(path: str | Path) -> LabelPoints:
    """Only the label points and point graspness of a scene file (fast: no per-grasp arrays)."""
    fields = ("object_ids", "point_offsets", "points", "point_graspness")
    data = _read(Path(path), fields)
    try:
        return LabelPoints(**{k: data[k] for k in fields})
    except ValueError as exc:
        raise ValueError(f"{path}: inconsistent graspness labels ({exc})") from exc


def load_frame_graspness(path: str | Path) -> FrameGraspness:
    """Read a file written by :func:`save_frame_graspness`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable file of this format.
    """
    data = _read(Path(path), _FRAME_FIELDS)
    try:
        return FrameGraspness(**{k: data[k] for k in _FRAME_FIELDS})
    except ValueError as exc:
        raise ValueError(f"{path}: inconsistent graspness labels ({exc})") from exc


def graspness_file_matches(path: str | Path, config: GraspnessConfig, scene: bool) -> bool:
    """True when the file exists with this format, these settings and every field.

    A scene file records (and is compared on) only the settings it depends on
    (:meth:`GraspnessConfig.scene_dict`), so another voxel size or matching distance redoes
    the frame files only. Writes are atomic, so such a file is complete; only the header
    arrays are decompressed.
    """
    fields = _SCENE_FIELDS if scene else _FRAME_FIELDS
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            if any(k not in data.files for k in ("format", "config", *fields)):
                return False
            return bool(int(data["format"]) == GRASPNESS_FORMAT and json.loads(
                str(data["config"])) == json.loads(json.dumps(_settings(config, scene))))
    except (OSError, zipfile.BadZipFile, EOFError, ValueError):
        return False
