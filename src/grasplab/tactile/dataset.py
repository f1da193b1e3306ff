"""The grasp-outcome tactile dataset: reading it, and splitting it by sample or by object.

A dataset directory ``DS`` written by ``grasplab tactile generate`` (see
:mod:`grasplab.tactile.trials` and ``docs/tactile_dataset.md``) holds:

``DS/tactile_dataset.json``
    ``{"format": "grasplab-tactile-dataset", "format_version": 1, "sensor": {GelSightConfig
    fields}, "image_size": [W, H], "settings": {generation settings}, "fingerprint": sha256 of
    the settings, "seed": int, "split": "seen" | "similar" | "novel", "objects": [each
    shard's first-choice object id, sorted; an unusable object is replaced at run time, the
    shards' ``object_id`` is the truth], "splits": {split name: [object ids]}, "num_trials": N,
    "shard_size": S, "shards": ["trials/shard_00000.npz", ...]}``.

``DS/trials/shard_%05d.npz`` (written atomically, one per ``S`` consecutive trials; the last may
be shorter), with ``n`` trials each:

=================  ======================  ==================================================
key                shape, dtype            meaning
=================  ======================  ==================================================
``ta``             (n, 2, H, W, 3) uint8   pad images before contact (jaws open at the grasp)
``tb``             (n, 2, H, W, 3) uint8   jaws closed, before lifting
``tc``             (n, 2, H, W, 3) uint8   after lifting and the hold (or at the end of the
                                           trial if it ended at closing: empty jaws)
``success``        (n,) bool               still held after lifting and the hold (physics)
``reason``         (n,) uint8              index into ``OUTCOME_REASONS``
``object_id``      (n,) int64              grasplab object id
``grasp``          (n, 17) float64         executed grasp, world frame (GraspGroup row layout)
``trial``          (n,) int64              global trial index
``seed``           (n,) int64              seed of the trial (its own ``default_rng(seed)``)
``param_<name>``   (n,) float64            physics and draw parameters (``params`` below)
=================  ======================  ==================================================

Pad 0 is the left pad (the finger at ``-y`` of the grasp frame), pad 1 the right one. Images
are RGB, the simulated GelSight at a training size (default 80 × 60 px, the full 16 × 12 mm
pad at 0.2 mm per pixel; any size can be generated, the full 640 × 480 too). The paper's input
is ``tb[:, 0].astype(float) - ta[:, 0]``.

Everything here is read-only numpy; nothing imports the physics.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core.validation import RngLike, as_rng

__all__ = [
    "DATASET_FILE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "IMAGE_KEYS",
    "TactileDataset",
    "load_tactile_dataset",
    "read_manifest",
    "split_by_object",
    "split_by_sample",
    "write_manifest",
    "write_shard",
]

#: Name of the dataset's manifest file inside its directory.
DATASET_FILE = "tactile_dataset.json"
#: The manifest's ``format`` value.
FORMAT_NAME = "grasplab-tactile-dataset"
#: Current format version.
FORMAT_VERSION = 1
#: Image arrays of a shard, in phase order (Ta, Tb, Tc).
IMAGE_KEYS = ("ta", "tb", "tc")
_PARAM_PREFIX = "param_"


@dataclass(frozen=True)
class TactileDataset:
    """A loaded grasp-outcome dataset (module docstring for the format).

    Attributes:
        ta: (N, 2, H, W, 3) uint8 pad images before contact; pad 0 is the left pad.
        tb: (N, 2, H, W, 3) uint8 pad images with the jaws closed, before lifting.
        tc: (N, 2, H, W, 3) uint8 pad images after lifting and holding.
        success: (N,) bool, the grasp still held the object after lifting and the hold.
        object_id: (N,) int64 grasplab object ids.
        grasp: (N, 17) float64 executed grasps (world frame, GraspGroup layout).
        params: ``{name: (N,) float64}`` physics and draw parameters (friction ``mu``, object
            ``mass``, gripper ``force``, label ``score``, ``perturbed`` ...).
        reason: (N,) uint8 index into ``grasplab.execution.OUTCOME_REASONS``.
        trial: (N,) int64 global trial indices.
        seed: (N,) int64 per-trial seeds.
        manifest: the parsed ``tactile_dataset.json``.
    """

    ta: np.ndarray
    tb: np.ndarray
    tc: np.ndarray
    success: np.ndarray
    object_id: np.ndarray
    grasp: np.ndarray
    params: dict[str, np.ndarray]
    reason: np.ndarray
    trial: np.ndarray
    seed: np.ndarray
    manifest: dict[str, Any]

    def __len__(self) -> int:
        return int(len(self.success))

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the pad images."""
        return int(self.ta.shape[2]), int(self.ta.shape[3])

    def difference(self, side: int = 0) -> np.ndarray:
        """(N, H, W, 3) float32 ``Tb - Ta`` of one pad (0 = left, the paper's input), in [-1, 1]."""
        if side not in (0, 1):
            raise ValueError(f"side: expected 0 (left) or 1 (right), got {side!r}")
        return (self.tb[:, side].astype(np.float32) - self.ta[:, side].astype(np.float32)) / 255.0

    def subset(self, indices: np.ndarray) -> TactileDataset:
        """A new dataset with the trials at ``indices`` (copies; the manifest is shared)."""
        idx = np.asarray(indices, dtype=np.int64)
        return TactileDataset(
            self.ta[idx], self.tb[idx], self.tc[idx], self.success[idx], self.object_id[idx],
            self.grasp[idx], {k: v[idx] for k, v in self.params.items()}, self.reason[idx],
            self.trial[idx], self.seed[idx], self.manifest)


def read_manifest(root: str | Path) -> dict[str, Any]:
    """Read and check ``root/tactile_dataset.json``.

    Raises:
        FileNotFoundError: no manifest.
        ValueError: not a grasplab tactile dataset, or a newer format version.
    """
    path = Path(root) / DATASET_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no tactile dataset manifest (run grasplab tactile generate)")
    manifest = json.loads(path.read_text())
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: not a grasplab tactile dataset manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {version!r} is not supported (this grasplab "
                         f"reads up to {FORMAT_VERSION})")
    return manifest


def _shard_paths(root: Path, manifest: dict[str, Any]) -> list[Path]:
    names = manifest.get("shards")
    if names is None:
        return sorted((root / "trials").glob("shard_*.npz"))
    return [root / str(name) for name in names]


_REQUIRED = (*IMAGE_KEYS, "success", "object_id", "grasp")


def _read_small(path: Path) -> dict[str, np.ndarray]:
    """Every array of a shard except the images (the images stay compressed on disk)."""
    with np.load(path, allow_pickle=False) as data:
        missing = set(_REQUIRED) - set(data.files)
        if missing:
            raise ValueError(f"{path}: missing arrays {sorted(missing)}")
        return {key: data[key] for key in data.files if key not in IMAGE_KEYS}


def _empty(shape: Sequence[int], dtype: type) -> np.ndarray:
    return np.zeros(tuple(shape), dtype=dtype)


def _column(parts: list[dict[str, np.ndarray]], key: str, dtype: type,
            fill_shape: tuple[int, ...] = ()) -> np.ndarray:
    return np.concatenate([part[key].astype(dtype, copy=False) if key in part
                           else np.zeros((len(part["success"]), *fill_shape), dtype)
                           for part in parts])


def _fill_images(paths: list[Path], counts: list[int]) -> dict[str, np.ndarray]:
    """The image arrays of all shards, each shard decompressed straight into its slice."""
    total = sum(counts)
    images: dict[str, np.ndarray] = {}
    start = 0
    for path, count in zip(paths, counts, strict=True):
        with np.load(path, allow_pickle=False) as data:
            for key in IMAGE_KEYS:
                block = data[key]
                if key not in images:
                    images[key] = np.empty((total, *block.shape[1:]), dtype=np.uint8)
                if block.shape != (count, *images[key].shape[1:]):
                    raise ValueError(f"{path}: {key} has shape {block.shape}, expected "
                                     f"{(count, *images[key].shape[1:])} like the other shards")
                images[key][start:start + count] = block
        start += count
    return images


def load_tactile_dataset(root: str | Path, *, shards: Sequence[int] | None = None) -> TactileDataset:
    """Load a dataset written by ``grasplab tactile generate``.

    Each shard's images are decompressed straight into the full arrays, so the peak memory is
    the dataset's plus one shard's (9,600 trials at 80 × 60: about 830 MB for Ta, Tb and Tc).

    Args:
        root: the dataset directory (holding ``tactile_dataset.json`` and ``trials/``).
        shards: load only these shard indices (positions in the manifest's list); default all.

    Returns:
        :class:`TactileDataset` with the trials in trial order. Shards listed in the manifest
        but not written yet (an unfinished generation) are skipped.

    Raises:
        FileNotFoundError: no manifest.
        ValueError: a bad manifest or shard, or shards whose image sizes disagree.
    """
    root = Path(root)
    manifest = read_manifest(root)
    paths = _shard_paths(root, manifest)
    if shards is not None:
        paths = [paths[int(i)] for i in shards]
    paths = [p for p in paths if p.is_file()]
    parts = [_read_small(p) for p in paths]
    width, height = manifest.get("image_size", [80, 60])
    if not parts:
        image = _empty((0, 2, height, width, 3), np.uint8)
        return TactileDataset(image, image, image, _empty((0,), bool), _empty((0,), np.int64),
                              _empty((0, 17), np.float64), {}, _empty((0,), np.uint8),
                              _empty((0,), np.int64), _empty((0,), np.int64), manifest)
    images = _fill_images(paths, [len(part["success"]) for part in parts])
    names = sorted({k for part in parts for k in part if k.startswith(_PARAM_PREFIX)})
    params = {name[len(_PARAM_PREFIX):]: _column(parts, name, np.float64) for name in names}
    return TactileDataset(
        ta=images["ta"], tb=images["tb"], tc=images["tc"],
        success=_column(parts, "success", bool), object_id=_column(parts, "object_id", np.int64),
        grasp=_column(parts, "grasp", np.float64), params=params,
        reason=_column(parts, "reason", np.uint8), trial=_column(parts, "trial", np.int64),
        seed=_column(parts, "seed", np.int64), manifest=manifest)


def _atomic_write(path: Path, write: Any, suffix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a dataset is for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_shard(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write one shard atomically (a temporary file renamed into place) as a deflated npz.

    Args:
        path: the shard file (``DS/trials/shard_%05d.npz``).
        arrays: the shard's arrays (module docstring); checked for the required keys and equal
            lengths.

    Raises:
        ValueError: missing keys, or arrays of different lengths.
    """
    missing = set(_REQUIRED) - set(arrays)
    if missing:
        raise ValueError(f"write_shard: missing arrays {sorted(missing)}")
    lengths = {key: len(value) for key, value in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"write_shard: arrays of different lengths {lengths}")
    _atomic_write(Path(path), lambda fh: _write_npz(fh, arrays), ".npz")


def _write_npz(fh: Any, arrays: dict[str, np.ndarray]) -> None:
    """An npz (deflated) with fixed member timestamps, so equal arrays give equal bytes."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arrays[key]),
                                          allow_pickle=False)


def write_manifest(root: str | Path, manifest: dict[str, Any]) -> None:
    """Write ``root/tactile_dataset.json`` atomically (sorted keys, so equal content is equal bytes)."""
    body = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **manifest}
    text = json.dumps(body, indent=1, sort_keys=True) + "\n"
    _atomic_write(Path(root) / DATASET_FILE, lambda fh: fh.write(text.encode()), ".json")


def _check_fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"{name}: expected a number in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name}: expected a number in (0, 1), got {value!r}")
    return float(value)


def split_by_sample(ds: TactileDataset, test_fraction: float = 1 / 3,
                    rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """The paper's split: trials shuffled and cut (Calandra: 6,000 train / 3,000 test).

    Args:
        ds: the dataset.
        test_fraction: share of the trials in the test set, in (0, 1).
        rng: draws the shuffle.

    Returns:
        ``(train, test)`` sorted int64 index arrays into ``ds``; disjoint, covering all trials,
        each non-empty when the dataset has at least two trials.

    Raises:
        ValueError: a fraction outside (0, 1), or fewer than two trials.
    """
    frac = _check_fraction(test_fraction, "test_fraction")
    n = len(ds)
    if n < 2:
        raise ValueError(f"split_by_sample: need at least 2 trials, got {n}")
    order = as_rng(rng).permutation(n)
    num_test = min(n - 1, max(1, int(round(frac * n))))
    return np.sort(order[num_test:]).astype(np.int64), np.sort(order[:num_test]).astype(np.int64)


def split_by_object(ds: TactileDataset, test_objects: float | Sequence[int] = 1 / 3,
                    rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Split so that no object appears in both sets (generalisation to unseen objects).

    Args:
        ds: the dataset.
        test_objects: either the object ids of the test set, or the share of the dataset's
            distinct objects, in (0, 1), drawn at random for it.
        rng: draws the test objects when a share is given.

    Returns:
        ``(train, test)`` sorted int64 index arrays into ``ds``; no object id occurs in both.

    Raises:
        ValueError: a share outside (0, 1), fewer than two distinct objects, test ids that are
            not in the dataset, or test ids that leave no training object.
    """
    objects = np.unique(ds.object_id)
    if isinstance(test_objects, bool | np.bool_):
        raise ValueError(f"test_objects: expected object ids or a share in (0, 1), got "
                         f"{test_objects!r}")
    if isinstance(test_objects, int | float | np.floating) and not isinstance(test_objects, bool):
        frac = _check_fraction(float(test_objects), "test_objects")
        if len(objects) < 2:
            raise ValueError(f"split_by_object: need at least 2 objects, got {len(objects)}")
        num = min(len(objects) - 1, max(1, int(round(frac * len(objects)))))
        chosen = as_rng(rng).choice(objects, size=num, replace=False)
    else:
        chosen = np.unique(np.asarray(test_objects, dtype=np.int64).reshape(-1))
        unknown = np.setdiff1d(chosen, objects)
        if len(chosen) == 0 or len(unknown):
            raise ValueError(f"test_objects: ids {unknown.tolist() or '[]'} are not objects of "
                             f"the dataset {objects.tolist()}")
        if len(chosen) == len(objects):
            raise ValueError("test_objects: every object is in the test set; none left to train")
    is_test = np.isin(ds.object_id, chosen)
    return np.flatnonzero(~is_test).astype(np.int64), np.flatnonzero(is_test).astype(np.int64)
