"""Label every object of a dataset root: one shard per object, atomic and resumable.

Objects are read from ``root/models/%03d/textured.obj`` (reference layout §7) and labelled into
``root/grasp_label/%03d_labels.npz`` (+ ``%03d_extra.npz``). An object whose labels file exists
and is valid is skipped, so an interrupted job continues where it stopped. A mesh that cannot
be labelled (not watertight, no volume, too big) is reported and skipped; an unexpected error in
one object is reported too and never stops the batch (and is retried by the next run). Object
``k`` uses the random stream ``SeedSequence([seed, k])``, so results do not depend on the order,
the number of workers or the engine (:mod:`grasplab.runtime.jobs` runs the shards).
"""

from __future__ import annotations

import functools
import logging
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core.gripper import GripperModel
from grasplab.labels.label_io import object_labels_complete, save_object_labels
from grasplab.labels.object_labels import ObjectLabelConfig, label_object
from grasplab.runtime.engines import Engine, make_engine
from grasplab.runtime.jobs import Job, ShardResult, run_job

__all__ = [
    "ObjectLabelOutcome",
    "dataset_object_ids",
    "label_dataset_object",
    "label_dataset_objects",
    "load_label_mesh",
]

logger = logging.getLogger(__name__)

_MODEL_DIR = re.compile(r"^\d{3,}$")


@dataclass(frozen=True)
class ObjectLabelOutcome:
    """What happened to one object.

    Attributes:
        object_id: the object index.
        status: ``"labelled"``, ``"skipped"`` (valid labels already there), ``"degenerate"``
            (the mesh cannot be labelled) or ``"failed"`` (unexpected error).
        message: the reason for degenerate / failed objects, else "".
        seconds: wall time spent on the object.
        num_points: grasp points labelled (0 unless labelled).
    """

    object_id: int
    status: str
    message: str = ""
    seconds: float = 0.0
    num_points: int = 0


def dataset_object_ids(root: str | Path) -> list[int]:
    """Ids of the objects with a ``models/%03d/textured.obj`` under ``root``, ascending."""
    models = Path(root) / "models"
    if not models.is_dir():
        raise ValueError(f"root: {models} does not exist; expected a dataset root with models/")
    ids = [int(p.name) for p in models.iterdir()
           if p.is_dir() and _MODEL_DIR.match(p.name) and (p / "textured.obj").is_file()]
    return sorted(ids)


def load_label_mesh(path: str | Path, scale: float = 1.0) -> Any:
    """Load a mesh file as one ``trimesh.Trimesh`` ready for :func:`label_object`.

    Textured meshes are split at UV seams; vertices are merged by position (ignoring texture
    coordinates) so that a closed surface is watertight again.

    Args:
        path: mesh file (OBJ, PLY, STL, ...).
        scale: multiply the coordinates (e.g. 0.001 for millimetres).

    Returns:
        ``trimesh.Trimesh`` in metres.

    Raises:
        ValueError: unreadable file or no triangles.
    """
    import trimesh  # noqa: PLC0415 - heavy import, only when loading meshes

    try:
        mesh = trimesh.load(str(path), force="mesh", process=True)
    except Exception as exc:  # noqa: BLE001 - trimesh raises many kinds on bad files
        raise ValueError(f"{path}: cannot read the mesh ({exc})") from exc
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"{path}: no triangles found; expected a triangle mesh")
    mesh = trimesh.Trimesh(vertices=np.asarray(mesh.vertices) * float(scale),
                           faces=np.asarray(mesh.faces), process=True)
    if not mesh.is_watertight:
        mesh.merge_vertices(merge_tex=True, merge_norm=True)
    return mesh


def _label_one(
    root: str | Path, object_id: int, gripper: GripperModel, config: ObjectLabelConfig, seed: int
) -> ObjectLabelOutcome:
    """Label one object: a mesh that cannot be labelled gives an outcome, other errors raise."""
    start = time.perf_counter()
    path = Path(root) / "models" / f"{object_id:03d}" / "textured.obj"
    try:
        mesh = load_label_mesh(path)
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(object_id)]))
        labels = label_object(mesh, gripper, config, rng)
    except ValueError as exc:
        return ObjectLabelOutcome(object_id, "degenerate", str(exc), time.perf_counter() - start)
    # the mesh relative to the root: the same job in two folders writes the same bytes
    meta = {"config": config.to_dict(), "gripper": asdict(gripper), "seed": int(seed),
            "object_id": int(object_id), "mesh": path.relative_to(root).as_posix()}
    save_object_labels(root, object_id, labels, config=meta)
    return ObjectLabelOutcome(object_id, "labelled", "", time.perf_counter() - start,
                              len(labels.points))


def label_dataset_object(
    root: str | Path,
    object_id: int,
    gripper: GripperModel,
    config: ObjectLabelConfig,
    seed: int = 0,
    overwrite: bool = False,
) -> ObjectLabelOutcome:
    """Label ``models/%03d/textured.obj`` of one object unless valid labels exist.

    Never raises for a bad mesh or a failure inside labelling: the outcome says what happened.
    """
    start = time.perf_counter()
    if not overwrite and object_labels_complete(root, object_id):
        return ObjectLabelOutcome(object_id, "skipped")
    try:
        return _label_one(root, object_id, gripper, config, seed)
    except Exception as exc:  # noqa: BLE001 - one bad object must not stop the batch
        logger.debug("object %d failed:\n%s", object_id, traceback.format_exc())
        return ObjectLabelOutcome(object_id, "failed", f"{type(exc).__name__}: {exc}",
                                  time.perf_counter() - start)


def _outcome(result: ShardResult) -> ObjectLabelOutcome:
    """The object's outcome from the runner's result of its shard."""
    if result.status == "done":
        return result.value  # type: ignore[no-any-return]
    if result.status == "skipped":
        return ObjectLabelOutcome(int(result.key), "skipped")
    return ObjectLabelOutcome(int(result.key), "failed", f"{result.error_type}: {result.error}",
                              result.seconds)


def label_dataset_objects(
    root: str | Path,
    object_ids: Iterable[int] | None = None,
    gripper: GripperModel | None = None,
    config: ObjectLabelConfig | None = None,
    seed: int = 0,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[ObjectLabelOutcome], None] | None = None,
    *,
    engine: str | Engine = "local",
) -> list[ObjectLabelOutcome]:
    """Label the objects of a dataset root (module docstring), resumably.

    The objects are the shards of one :class:`grasplab.runtime.jobs.Job` (``"object-labels"``):
    valid labels are skipped, leftover ``grasp_label/.*.tmp`` files of a killed run are removed
    and failures are recorded in ``.grasplab-job-object-labels.json``.

    Args:
        root: dataset root with ``models/%03d/textured.obj``.
        object_ids: objects to label; None = all under ``models/``.
        gripper: gripper geometry (default: the reference gripper).
        config: label settings (default :class:`ObjectLabelConfig`).
        seed: dataset seed (object k uses ``SeedSequence([seed, k])``).
        workers: worker processes (1 = in this process); for Ray, the most objects at once.
        overwrite: relabel objects that already have valid labels.
        progress: optional callback, called with each object's outcome as it finishes.
        engine: ``"local"``, ``"ray"`` or an :class:`grasplab.runtime.engines.Engine` (then
            ``workers`` is ignored); the files are the same with every engine.

    Returns:
        Outcomes in the order of ``object_ids``.

    Raises:
        ValueError: an id without a model, a negative or repeated id, ``workers < 1``, or the
            labels under ``root`` were made with other settings (unless ``overwrite``).
    """
    ids = _checked_ids(root, object_ids)
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers}")
    runner = make_engine(engine, workers) if isinstance(engine, str) else engine
    grip, cfg = gripper or GripperModel(), config or ObjectLabelConfig()
    job = Job("object-labels", tuple(ids), functools.partial(_shard, root, grip, cfg, int(seed)),
              out=Path(root), done=None if overwrite else functools.partial(object_labels_complete, root),
              fingerprint={"config": cfg.to_dict(), "gripper": asdict(grip), "seed": int(seed)},
              on_change="record" if overwrite else "refuse", leftovers=("grasp_label/.*.tmp",))
    report = run_job(job, runner, None if progress is None else lambda r: progress(_outcome(r)))
    return [_outcome(r) for r in report.results]


def _checked_ids(root: str | Path, object_ids: Iterable[int] | None) -> list[int]:
    """The objects to label: all of ``models/``, or the given ids, each of which must be there."""
    available = dataset_object_ids(root)
    if object_ids is None:
        return available
    ids = [int(i) for i in object_ids]
    negative = [i for i in ids if i < 0]
    if negative:
        raise ValueError(f"object ids: expected integers >= 0, got {negative[0]}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"object ids: {ids} names an object twice")
    missing = sorted(set(ids) - set(available))
    if missing:
        shown = ", ".join(str(i) for i in available[:10]) + (" ..." if len(available) > 10 else "")
        raise ValueError(f"object ids {missing}: no models/%03d/textured.obj under {root} "
                         f"(objects there: {shown or 'none'})")
    return ids


def _shard(root: str | Path, gripper: GripperModel, config: ObjectLabelConfig, seed: int,
           object_id: int) -> ObjectLabelOutcome:
    """The job's shard function: label one object (errors other than a bad mesh raise)."""
    return _label_one(root, int(object_id), gripper, config, seed)
