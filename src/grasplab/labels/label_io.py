"""Object label files in the GraspNet-1Billion layout, and labels → grasps as graspnetAPI does.

On disk (reference protocol §7-8), under a dataset root:

- ``grasp_label/%03d_labels.npz``: exactly the reference fields ``points`` (Np, 3),
  ``offsets`` (Np, V, A, D, 3), ``scores`` (Np, V, A, D) as float32 and ``collision`` as bool, so
  graspnetAPI and graspnet-baseline read it unchanged;
- ``grasp_label/%03d_extra.npz`` (grasplab's extras): ``stable`` (Np, V, A), ``tolerance``
  (Np, V, A, D) float32 and ``config`` (the label settings as a JSON string).

Writes are atomic (a temporary file in the same folder, then ``os.replace``); the extras are
written before the labels file, so an existing, loadable labels file marks a finished object.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.grasp_group import GRASP_ARRAY_LEN, GraspGroup
from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.core.validation import check_transform
from grasplab.labels.object_labels import ObjectLabels

__all__ = [
    "REFERENCE_LABEL_FIELDS",
    "atomic_savez",
    "extra_path",
    "label_path",
    "labels_to_grasps",
    "load_label_config",
    "load_object_labels",
    "object_labels_complete",
    "save_object_labels",
]

#: Fields of the reference ``%03d_labels.npz`` (protocol §8.1), in this order.
REFERENCE_LABEL_FIELDS = ("points", "offsets", "scores", "collision")
#: Height column of grasps made from labels (graspnetAPI ``GRASP_HEIGHT``).
LABEL_GRASP_HEIGHT = 0.02


def _check_id(object_id: int) -> int:
    if isinstance(object_id, bool) or not isinstance(object_id, int | np.integer) or object_id < 0:
        raise ValueError(f"object_id: expected an integer >= 0, got {object_id!r}")
    return int(object_id)


def label_path(root: str | Path, object_id: int) -> Path:
    """``root/grasp_label/%03d_labels.npz``."""
    return Path(root) / "grasp_label" / f"{_check_id(object_id):03d}_labels.npz"


def extra_path(root: str | Path, object_id: int) -> Path:
    """``root/grasp_label/%03d_extra.npz`` (grasplab's stable score, tolerance, config)."""
    return Path(root) / "grasp_label" / f"{_check_id(object_id):03d}_extra.npz"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_savez(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write an ``.npz`` (compressed) atomically: temporary file, fsync, ``os.replace``.

    A reader (or a resumed job) sees the old file or the complete new one, never a partial one.

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; use normal permissions
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_object_labels(
    root: str | Path,
    object_id: int,
    labels: ObjectLabels,
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Save one object's labels in the GraspNet-1Billion layout (module docstring).

    Args:
        root: dataset root.
        object_id: object index (file name ``%03d``).
        labels: the labels.
        config: optional settings to record in the extras file (JSON-serialisable).

    Returns:
        Path of the written ``%03d_labels.npz``.
    """
    main = label_path(root, object_id)
    extras: dict[str, np.ndarray] = {"config": np.array(json.dumps(dict(config or {})))}
    if labels.stable is not None:
        extras["stable"] = np.asarray(labels.stable, dtype=np.float32)
    if labels.tolerance is not None:
        extras["tolerance"] = np.asarray(labels.tolerance, dtype=np.float32)
    atomic_savez(extra_path(root, object_id), extras)
    atomic_savez(main, {
        "points": np.asarray(labels.points, dtype=np.float32),
        "offsets": np.asarray(labels.offsets, dtype=np.float32),
        "scores": np.asarray(labels.scores, dtype=np.float32),
        "collision": np.asarray(labels.collision, dtype=bool),
    })
    return main


def load_object_labels(root: str | Path, object_id: int) -> ObjectLabels:
    """Load one object's labels (reference fields plus grasplab extras when present).

    Args:
        root: dataset root.
        object_id: object index.

    Returns:
        :class:`ObjectLabels`; ``stable`` / ``tolerance`` are None for files without extras
        (e.g. the original GraspNet-1Billion labels).

    Raises:
        FileNotFoundError: no labels file.
        ValueError: a file that is not a valid labels file (missing fields, bad shapes).
    """
    path = label_path(root, object_id)
    if not path.exists():
        raise FileNotFoundError(f"no labels for object {object_id}: {path} does not exist")
    try:
        with np.load(path) as data:
            fields = {k: data[k] for k in REFERENCE_LABEL_FIELDS if k in data.files}
        extras = _load_extras(extra_path(root, object_id))
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz labels file ({exc})") from exc
    missing = [k for k in REFERENCE_LABEL_FIELDS if k not in fields]
    if missing:
        raise ValueError(f"{path}: missing fields {missing}; expected "
                         f"{list(REFERENCE_LABEL_FIELDS)}")
    return ObjectLabels(**fields, stable=extras.get("stable"), tolerance=extras.get("tolerance"))


def _load_extras(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path) as data:
        return {k: data[k] for k in ("stable", "tolerance") if k in data.files}


def load_label_config(root: str | Path, object_id: int) -> dict[str, Any]:
    """The settings recorded in an object's extras file ({} when there is none)."""
    path = extra_path(root, object_id)
    if not path.exists():
        return {}
    with np.load(path) as data:
        return dict(json.loads(str(data["config"]))) if "config" in data.files else {}


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """Shapes and dtypes of the arrays of an ``.npz`` without reading their data."""
    out: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                          else np.lib.format.read_array_header_2_0)
                shape, _, dtype = reader(member)
                out[name.removesuffix(".npy")] = (tuple(shape), np.dtype(dtype))
    return out


def object_labels_complete(root: str | Path, object_id: int) -> bool:
    """True when the object's labels file exists with the reference fields and shapes.

    Only the array headers are read (fast for large files); writes are atomic, so a file with
    valid headers is a finished one.
    """
    path = label_path(root, object_id)
    try:
        headers = _npz_headers(path)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    if any(k not in headers for k in REFERENCE_LABEL_FIELDS):
        return False
    points, offsets = headers["points"][0], headers["offsets"][0]
    scores, collision = headers["scores"][0], headers["collision"][0]
    return (len(points) == 2 and points[1] == 3 and len(scores) == 4
            and scores[0] == points[0] and collision == scores and offsets == (*scores, 3))


def labels_to_grasps(
    labels: ObjectLabels,
    T_cam_obj: ArrayLike,
    object_id: int,
    fric_coef_thresh: float = 0.4,
    collision: ArrayLike | None = None,
) -> GraspGroup:
    """Turn object labels into camera-frame grasps exactly as graspnetAPI's ``loadGrasp``.

    Reference protocol §8.4 steps 3-7: keep ``(0 < μ ≤ fric_coef_thresh) & ~collision``;
    ``t = P·point``; ``R = P_R · V(-view, angle)``; rows ``[1.1 - μ, width, 0.02, depth,
    R (row-major), t, object_id]`` built in float32, as the reference returns them.

    Args:
        labels: the object's labels (V views of the reference Fibonacci sphere).
        T_cam_obj: (4, 4) object pose in the camera frame (the XML pose P).
        object_id: written to column 16.
        fric_coef_thresh: largest μ kept.
        collision: (Np, V, A, D) bool scene collision mask (graspnetAPI's
            ``collision_label`` arrays); None uses ``labels.collision`` (self collision).

    Returns:
        :class:`GraspGroup` of the kept grasps, in label index order.

    Raises:
        ValueError: bad pose or a collision mask of the wrong shape.
    """
    pose = check_transform(T_cam_obj, "T_cam_obj")
    grid = labels.grid_shape
    mask_coll = labels.collision if collision is None else np.asarray(collision, dtype=bool)
    if mask_coll.shape != grid:
        raise ValueError(f"collision: expected shape {grid}, got {mask_coll.shape}")
    mu = labels.scores
    keep = (mu > 0) & (mu <= fric_coef_thresh) & ~mask_coll
    i, v, _, _ = np.nonzero(keep)
    offsets = labels.offsets[keep]
    views = approach_views(grid[1]).astype(np.float32)
    rot_obj = rotation_from_view(-views[v], offsets[:, 0]).astype(np.float32)
    p32 = pose.astype(np.float32)
    rot = np.matmul(p32[:3, :3], rot_obj)
    trans = labels.points[i] @ p32[:3, :3].T + p32[:3, 3]
    rows = np.empty((len(i), GRASP_ARRAY_LEN), dtype=np.float32)
    rows[:, 0] = np.float32(1.1) - mu[keep]
    rows[:, 1] = offsets[:, 2]
    rows[:, 2] = LABEL_GRASP_HEIGHT
    rows[:, 3] = offsets[:, 1]
    rows[:, 4:13] = rot.reshape(-1, 9)
    rows[:, 13:16] = trans
    rows[:, 16] = object_id
    return GraspGroup(rows)
