"""Scene collision labels of a dataset root: one shard per scene, atomic and resumable.

For scene ``s`` of a GraspNet-1Billion-layout root (reference protocol §7-8):

- objects: ``object_id_list.txt``, their labels ``grasp_label/%03d_labels.npz`` and meshes
  ``models/%03d/textured.obj`` (surface points every ``point_spacing``; object ``k`` draws them
  from ``SeedSequence([seed, k])``, so they do not depend on the scene or the worker);
- poses: the annotation of frame 0 (``T_cam0_obj``, reference precision), i.e. the scene frame
  is the camera of frame 0; the table top from ``cam0_wrt_table.npy``;
- the tray (floor plane and wall points) from ``scene_record.json`` when present (grasplab
  scenes; the real dataset has none).

The masks go to ``collision_label/scene_%04d/collision_labels.npz`` (``arr_0 …`` in
``object_id_list.txt`` order), written atomically; a scene whose file exists and loads with one
mask per object of the right shape is skipped, so an interrupted job continues where it stopped.
The scenes run as shards of :func:`grasplab.runtime.jobs.run_job` on a local or Ray engine.
"""

from __future__ import annotations

import functools
import logging
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from grasplab.core.gripper import GripperModel
from grasplab.core.rotations import invert_transform
from grasplab.labels.label_io import atomic_savez, load_object_labels
from grasplab.labels.sampling import sample_surface_voxels
from grasplab.labels.scene_labels import SceneCollisionConfig, scene_collision_labels
from grasplab.runtime.engines import Engine, make_engine
from grasplab.runtime.jobs import Job, ShardResult, run_job
from grasplab.scenes.reader import GraspNetDataset

__all__ = [
    "SceneLabelOutcome",
    "atomic_savez",
    "collision_label_path",
    "collision_labels_complete",
    "label_scene",
    "label_scenes",
    "load_collision_labels",
    "save_collision_labels",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SceneLabelOutcome:
    """What happened to one scene.

    Attributes:
        scene_id: the scene index.
        status: ``"labelled"``, ``"skipped"`` (valid masks already there) or ``"failed"``.
        message: the reason of a failure, else "".
        seconds: wall time spent on the scene.
        num_checked: label entries with a positive score.
        num_colliding: of those, entries flagged as colliding.
    """

    scene_id: int
    status: str
    message: str = ""
    seconds: float = 0.0
    num_checked: int = 0
    num_colliding: int = 0


def collision_label_path(root: str | Path, scene_id: int) -> Path:
    """``root/collision_label/scene_%04d/collision_labels.npz``."""
    if isinstance(scene_id, bool) or not isinstance(scene_id, int | np.integer) or scene_id < 0:
        raise ValueError(f"scene_id: expected an integer >= 0, got {scene_id!r}")
    return Path(root) / "collision_label" / f"scene_{int(scene_id):04d}" / "collision_labels.npz"


def save_collision_labels(root: str | Path, scene_id: int, masks: Sequence[np.ndarray]) -> Path:
    """Write one scene's masks as ``arr_0 … arr_{n-1}`` (compressed, atomic); returns the path."""
    arrays = {f"arr_{k}": np.asarray(m, dtype=bool) for k, m in enumerate(masks)}
    return atomic_savez(collision_label_path(root, scene_id), arrays)


def load_collision_labels(root: str | Path, scene_id: int) -> list[np.ndarray]:
    """Load one scene's masks in ``object_id_list.txt`` order (graspnetAPI ``loadCollisionLabels``).

    Raises:
        FileNotFoundError: no file for the scene.
        ValueError: an unreadable file or missing ``arr_k`` arrays.
    """
    path = collision_label_path(root, scene_id)
    if not path.is_file():
        raise FileNotFoundError(f"no collision labels for scene {scene_id}: {path} does not exist")
    try:
        with np.load(path) as data:
            count = len(data.files)
            names = [f"arr_{k}" for k in range(count)]
            if sorted(data.files) != sorted(names):
                raise ValueError(f"expected arrays arr_0..arr_{count - 1}, got {data.files}")
            return [np.asarray(data[name], dtype=bool) for name in names]
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable collision label file ({exc})") from exc


def collision_labels_complete(
    root: str | Path, scene_id: int, grid_shapes: Sequence[tuple[int, ...]] | None = None
) -> bool:
    """True when the scene's file loads (and, if given, holds masks of exactly these shapes)."""
    try:
        masks = load_collision_labels(root, scene_id)
    except (FileNotFoundError, ValueError):
        return False
    return grid_shapes is None or [m.shape for m in masks] == [tuple(s) for s in grid_shapes]


def _tray_obstacles(
    record: Mapping[str, object], T_cam0_table: np.ndarray, spacing: float  # noqa: N803
) -> tuple[np.ndarray, np.ndarray]:
    """Tray wall points (M, 3) and the tray floor pose (4, 4), both in the camera-0 frame."""
    from grasplab.scenes.world import TRAY_FLOOR_Z, tray_mesh

    T_world_table = np.asarray(record["T_world_table"], dtype=np.float64)  # noqa: N806
    T_world_tray = np.asarray(record["T_world_tray"], dtype=np.float64)  # noqa: N806
    T_cam0_tray = T_cam0_table @ invert_transform(T_world_table) @ T_world_tray  # noqa: N806
    mesh = tray_mesh()
    walls = mesh.submesh([np.flatnonzero(np.abs(mesh.face_normals[:, 2]) < 0.9)], append=True)
    points = sample_surface_voxels(walls, spacing, np.random.default_rng(0))
    floor = T_cam0_tray.copy()
    floor[:3, 3] += T_cam0_tray[:3, 2] * TRAY_FLOOR_Z
    return points @ T_cam0_tray[:3, :3].T + T_cam0_tray[:3, 3], floor


def _scene_inputs(
    dataset: GraspNetDataset, scene_id: int, ids: list[int], config: SceneCollisionConfig,
    seed: int,
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Poses (K, 4, 4), model-frame points, environment points and floors, camera-0 frame."""
    xml_ids, poses = dataset.object_poses(scene_id, 0)
    missing = [i for i in ids if i not in xml_ids]
    if missing:
        raise ValueError(f"scene {scene_id}: objects {missing} of object_id_list.txt have no "
                         "pose in the annotation of frame 0")
    T_cam0_obj = np.stack([poses[xml_ids.index(i)] for i in ids])  # noqa: N806
    points = [sample_surface_voxels(dataset.model_mesh(i), config.point_spacing,
                                    np.random.default_rng([seed, i])) for i in ids]
    T_cam0_table = invert_transform(dataset.T_table_cam0(scene_id))  # noqa: N806
    floors = [T_cam0_table] if config.include_table else []
    env = np.zeros((0, 3))
    record_path = dataset.root / "scenes" / f"scene_{scene_id:04d}" / "scene_record.json"
    if config.include_tray and record_path.is_file():
        env, tray_floor = _tray_obstacles(dataset.scene_record(scene_id)["record"],
                                          T_cam0_table, config.tray_spacing)
        floors.append(tray_floor)
    return T_cam0_obj, points, env, floors


def label_scene(
    root: str | Path,
    scene_id: int,
    camera: str = "realsense",
    gripper: GripperModel | None = None,
    config: SceneCollisionConfig | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> SceneLabelOutcome:
    """Compute and write one scene's collision labels unless valid ones exist.

    Args:
        root: dataset root with ``scenes/``, ``models/`` and ``grasp_label/``.
        scene_id: the scene.
        camera: camera folder whose frame-0 annotation gives the poses.
        gripper: gripper geometry (default: the reference gripper).
        config: settings (point spacing, table, tray, self collision).
        seed: seed of the surface point sampling.
        overwrite: recompute even when valid masks exist.

    Returns:
        The outcome (``"labelled"`` or ``"skipped"``).

    Raises:
        FileNotFoundError: a missing scene, model or object labels file.
        ValueError: unreadable inputs.
    """
    start = time.perf_counter()
    cfg = config or SceneCollisionConfig()
    dataset = GraspNetDataset(root, camera)
    ids = dataset.object_ids(int(scene_id))
    labels = [load_object_labels(root, i) for i in ids]
    if not overwrite and collision_labels_complete(root, scene_id, [x.grid_shape for x in labels]):
        return SceneLabelOutcome(int(scene_id), "skipped", seconds=time.perf_counter() - start)
    poses, points, env, floors = _scene_inputs(dataset, int(scene_id), ids, cfg, seed)
    masks = scene_collision_labels(labels, poses, points, gripper, environment_points=env,
                                   floors=floors, include_self_collision=cfg.include_self_collision)
    save_collision_labels(root, scene_id, masks)
    positive = [x.scores > 0 for x in labels]
    return SceneLabelOutcome(int(scene_id), "labelled", "", time.perf_counter() - start,
                             int(sum(p.sum() for p in positive)),
                             int(sum((m & p).sum() for m, p in zip(masks, positive, strict=True))))


def _outcome(result: ShardResult) -> SceneLabelOutcome:
    """The scene's outcome from the runner's result of its shard."""
    if result.status == "failed":
        return SceneLabelOutcome(int(result.key), "failed", f"{result.error_type}: {result.error}",
                                 result.seconds)
    if result.status == "skipped":
        return SceneLabelOutcome(int(result.key), "skipped")
    return result.value  # type: ignore[no-any-return]


def _shard(root: str, camera: str, gripper: GripperModel | None,
           config: SceneCollisionConfig | None, seed: int, overwrite: bool,
           scene_id: int) -> SceneLabelOutcome:
    """The job's shard function: one scene (raises on failure; the runner records it)."""
    return label_scene(root, int(scene_id), camera, gripper, config, seed, overwrite)


def label_scenes(
    root: str | Path,
    scene_ids: Iterable[int] | None = None,
    camera: str = "realsense",
    gripper: GripperModel | None = None,
    config: SceneCollisionConfig | None = None,
    seed: int = 0,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[SceneLabelOutcome], None] | None = None,
    *,
    engine: str | Engine = "local",
) -> list[SceneLabelOutcome]:
    """Collision-label the scenes of a root (module docstring), resumably.

    The scenes are the shards of one :class:`grasplab.runtime.jobs.Job` (``"collision-labels"``):
    leftover temporary files of a killed run are removed and failures are recorded in
    ``.grasplab-job-collision-labels.json`` (the next run retries them).

    Args:
        root: dataset root.
        scene_ids: scenes to label; None = every scene with the camera folder.
        camera: camera folder whose frame-0 annotation gives the poses.
        gripper: gripper geometry.
        config: settings.
        seed: seed of the surface point sampling.
        workers: worker processes (1 = in this process); for Ray, the most scenes at once.
        overwrite: recompute scenes that already have valid masks.
        progress: optional callback, called with each scene's outcome as it finishes.
        engine: ``"local"``, ``"ray"`` or an :class:`grasplab.runtime.engines.Engine` (then
            ``workers`` is ignored); the files are the same with every engine.

    Returns:
        Outcomes in the order of ``scene_ids``; a failing scene gives a ``"failed"`` outcome.
    """
    ids = (GraspNetDataset(root, camera).scene_ids() if scene_ids is None
           else [int(i) for i in scene_ids])
    if isinstance(workers, bool) or int(workers) < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers}")
    runner = make_engine(engine, workers) if isinstance(engine, str) else engine
    cfg, grip = config or SceneCollisionConfig(), gripper or GripperModel()
    job = Job("collision-labels", tuple(ids),
              functools.partial(_shard, str(root), camera, gripper, config, int(seed),
                                bool(overwrite)),
              out=Path(root), leftovers=("collision_label/scene_*/.*.tmp",),
              fingerprint={"camera": camera, "config": asdict(cfg), "gripper": asdict(grip),
                           "seed": int(seed)},
              on_change="record" if overwrite else "refuse")
    report = run_job(job, runner, None if progress is None else lambda r: progress(_outcome(r)))
    return [_outcome(r) for r in report.results]
