"""The object library: ids → processed :class:`GraspObject` s, built once and cached on disk.

Cache layout: ``<cache_dir>/objects/<fingerprint>/<id>_<name>/`` for library objects and
``<cache_dir>/objects/<fingerprint>/user_<sha>/`` for user meshes, where ``<fingerprint>`` hashes
the :class:`ProcessingConfig`, the processing and splits versions and the union engine, so
entries built with other settings are never reused. ``cache_dir`` defaults to
``$GRASPLAB_CACHE`` or ``~/.cache/grasplab``. A corrupt entry (checksum, missing file, unreadable
JSON) is logged, removed and rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import trimesh

from grasplab.objects.grasp_object import (
    CorruptEntryError,
    GraspObject,
    ProcessingConfig,
    process_geometry,
    read_entry,
    write_entry,
)
from grasplab.objects.sources import RawGeometry, concatenate, load_raw_geometry, read_obj_parts
from grasplab.objects.splits import ObjectSpec, object_spec, split_object_ids

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$GRASPLAB_CACHE`` if set, else ``~/.cache/grasplab``."""
    env = os.environ.get("GRASPLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "grasplab"


def _discard(entry_dir: Path) -> None:
    """Move a bad entry out of the way (one rename), then delete it."""
    if not entry_dir.exists():
        return
    trash = entry_dir.with_name(f".trash-{entry_dir.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.replace(entry_dir, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _load_or_build(
    entry_dir: Path, spec: ObjectSpec, raw_fn: Callable[[], RawGeometry], config: ProcessingConfig,
    scale: float | None, counter: list[int],
) -> GraspObject:
    """Read a valid cache entry, else process the object, write the entry and read it back."""
    fingerprint = config.fingerprint()
    if entry_dir.exists():
        try:
            return read_entry(entry_dir, fingerprint)
        except CorruptEntryError as exc:
            logger.warning("%s; rebuilding it", exc)
            _discard(entry_dir)
    geometry = process_geometry(raw_fn(), spec.name, config, scale=scale, seed=spec.object_id)
    counter[0] += 1
    write_entry(entry_dir, spec, geometry, config)
    return read_entry(entry_dir, fingerprint)


class ObjectLibrary:
    """Processed library objects by global id, cached on disk and in memory.

    Args:
        cache_dir: cache root; default :func:`default_cache_dir`.
        config: processing options (default :class:`ProcessingConfig()`).

    Attributes:
        num_processed: how many objects this instance processed (cache misses); a load served
            from the disk or memory cache leaves it unchanged.

    Example:
        >>> lib = ObjectLibrary()  # doctest: +SKIP
        >>> duck = lib.load(1000)  # doctest: +SKIP
    """

    def __init__(self, cache_dir: Path | str | None = None, config: ProcessingConfig | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.config = config if config is not None else ProcessingConfig()
        self._counter = [0]
        self._loaded: dict[int, GraspObject] = {}

    @property
    def num_processed(self) -> int:
        """Number of objects processed (not read from the cache) by this instance."""
        return self._counter[0]

    @property
    def entries_dir(self) -> Path:
        """Folder of this configuration's cache entries."""
        return self.cache_dir / "objects" / self.config.fingerprint()

    def spec(self, object_id: int) -> ObjectSpec:
        """The :class:`ObjectSpec` of an id (ValueError naming an unknown id)."""
        return object_spec(object_id)

    def ids(self, split: str) -> list[int]:
        """Object ids of a split (ValueError naming an unknown split)."""
        return split_object_ids(split)

    def entry_dir(self, object_id: int) -> Path:
        """Cache folder of an object (it may not exist yet)."""
        spec = object_spec(object_id)
        return self.entries_dir / f"{spec.object_id:04d}_{spec.name}"

    def load(self, object_id: int) -> GraspObject:
        """The processed object, built on first use and cached.

        Raises:
            ValueError: unknown id, or a source mesh that cannot be processed.
        """
        spec = object_spec(object_id)
        if spec.object_id not in self._loaded:
            self._loaded[spec.object_id] = _load_or_build(
                self.entry_dir(spec.object_id), spec,
                partial(load_raw_geometry, spec.object_id), self.config, None, self._counter,
            )
        return self._loaded[spec.object_id]


def _load_user_raw(path: Path) -> RawGeometry:
    if path.suffix.lower() == ".obj":
        parts = read_obj_parts(path)
        mesh = concatenate(parts)
    else:
        loaded = trimesh.load(path, force="mesh", process=False)
        if not isinstance(loaded, trimesh.Trimesh):
            raise ValueError(f"{path} does not hold a triangle mesh")
        mesh = loaded
    return RawGeometry(mesh, None, None)


def load_mesh_object(
    path: Path | str,
    object_id: int = 0,
    *,
    name: str | None = None,
    scale: float | None = None,
    fit_gripper: bool = False,
    config: ProcessingConfig | None = None,
    cache_dir: Path | str | None = None,
) -> GraspObject:
    """Process a user's mesh file (OBJ, STL, PLY, OFF, GLB...) into a :class:`GraspObject`.

    The mesh is repaired like library meshes, but a mesh that stays open is rejected unless
    ``config.allow_hull_fallback`` is set (the default config here disables the fallback).

    Args:
        path: mesh file.
        object_id: id to give the object (any int >= 0).
        name: object name (default: the file stem).
        scale: factor from file units to metres (e.g. 0.001 for millimetres); ``None`` means
            the file is in metres (scale 1), unless ``fit_gripper``.
        fit_gripper: with ``scale=None``, rescale by the library's fit rule
            (:func:`grasplab.objects.processing.fit_scale`) instead of keeping the file's size.
        config: processing options.
        cache_dir: cache root (default :func:`default_cache_dir`); the entry is keyed by the
            file's content, ``scale`` and ``config``.

    Returns:
        The processed object (split ``"user"``, source ``"user_mesh"``).

    Raises:
        ValueError: missing file, bad arguments, or a degenerate mesh (empty, zero volume, far
            too big, open after repair); the message names the object.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"mesh file {path} does not exist")
    if isinstance(object_id, bool) or not isinstance(object_id, int) or object_id < 0:
        raise ValueError(f"object_id must be an int >= 0, got {object_id!r}")
    if scale is not None and not (isinstance(scale, int | float) and 0 < scale < float("inf")):
        raise ValueError(f"scale must be a positive number or None, got {scale!r}")
    if scale is None and not fit_gripper:
        scale = 1.0
    if config is None:
        config = ProcessingConfig(allow_hull_fallback=False)
    spec = ObjectSpec(object_id, name or path.stem, "user_mesh", "user")
    digest = hashlib.sha256(path.read_bytes())
    digest.update(repr((scale, spec.object_id, spec.name)).encode())
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    entry = root / "objects" / config.fingerprint() / f"user_{digest.hexdigest()[:16]}"
    return _load_or_build(entry, spec, partial(_load_user_raw, path), config, scale, [0])
