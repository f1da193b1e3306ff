"""The GraspNet AP evaluator over a dump folder: ``APEvaluator(root, camera).evaluate(...)``.

A dump folder holds one grasp file per evaluated frame in the reference layout
``<dump>/scene_%04d/<camera>/%04d.npy`` (an (N, 17) graspnetAPI array in that frame's camera).
Every frame of a requested scene (the frames with an annotation XML) is scored; a frame without a
dump file, or with one that cannot be read, scores 0 and is reported. Object geometry (voxel
points, KD-trees, ray casters) is built once per object and reused across frames and scenes.

Splits: the dataset manifest ``grasplab_dataset.json`` may say which split each scene belongs to;
without one, the reference's fixed scene ranges apply (seen 100-129, similar 130-159, novel
160-189, train 0-99), which is right for the real GraspNet-1Billion data.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core.plausibility import grasp_findings
from grasplab.evaluation.frame import (
    APConfig,
    FrameResult,
    evaluate_frame,
    evaluate_sanitized,
    sanitize_grasp_array,
)
from grasplab.evaluation.geometry import FrameScene, ObjectModel, SceneObjects, build_object_model
from grasplab.evaluation.precision import APSummary, summarize_ap
from grasplab.evaluation.splits import REFERENCE_SPLITS, TABLE_SPLITS, scene_splits, split_scene_ids
from grasplab.objects.sdf import SignedDistanceField, load_sdf
from grasplab.runtime.engines import Engine, LocalEngine, make_engine
from grasplab.runtime.jobs import Job, ShardResult, run_job
from grasplab.scenes.layout import model_dir

logger = logging.getLogger(__name__)

__all__ = ["APEvaluator", "APResult", "FrameRecord", "dump_path"]

#: Number of scenes whose combined ray casters an evaluator keeps.
SCENE_CACHE_SIZE = 4

ProgressCallback = Callable[[int], None]


def dump_path(dump_dir: Path | str, scene_id: int, camera: str, frame_id: int) -> Path:
    """``<dump>/scene_%04d/<camera>/%04d.npy``, the reference dump layout."""
    return Path(dump_dir) / f"scene_{int(scene_id):04d}" / camera / f"{int(frame_id):04d}.npy"


@dataclass(frozen=True)
class FrameRecord:
    """The outcome of one frame of the evaluated set.

    Attributes:
        scene_id: scene index.
        frame_id: annotation frame index.
        status: ``"ok"``, ``"missing"`` (no dump file) or ``"unreadable"`` (file could not be
            loaded); the last two score 0.
        result: the frame evaluation (zeros unless ``ok``).
    """

    scene_id: int
    frame_id: int
    status: str
    result: FrameResult

    @property
    def issues(self) -> tuple[str, ...]:
        """Problems found in this frame's input, with the frame named."""
        prefix = f"scene {self.scene_id} frame {self.frame_id}"
        return tuple(f"{prefix}: {message}" for message in self.result.issues)


@dataclass(frozen=True)
class APResult:
    """All frames of an evaluation and the AP tables.

    Attributes:
        camera: the camera evaluated.
        records: one record per frame, ordered by scene then frame.
        splits: scene → split name used for the per-split tables.
        config: the protocol parameters.
    """

    camera: str
    records: tuple[FrameRecord, ...]
    splits: dict[int, str]
    config: APConfig

    @property
    def accuracy(self) -> np.ndarray:
        """(F, top_k, len(mu_grid)) Precision@k of every frame."""
        cfg = self.config
        if not self.records:
            return np.zeros((0, cfg.top_k, len(cfg.mu_grid)))
        return np.stack([r.result.accuracy for r in self.records])

    def summary(self, scene_ids: Iterable[int] | None = None) -> APSummary:
        """AP over all frames, or over the frames of the given scenes."""
        acc = self.accuracy
        if scene_ids is not None:
            wanted = set(int(s) for s in scene_ids)
            mask = np.array([r.scene_id in wanted for r in self.records], dtype=bool)
            acc = acc[mask] if len(acc) else acc
        return summarize_ap(acc, self.config.mu_grid)

    def tables(self) -> dict[str, APSummary]:
        """``{"all": ..., <split>: ...}`` for each split with evaluated scenes."""
        tables = {"all": self.summary()}
        evaluated = sorted({r.scene_id for r in self.records})
        names = sorted({self.splits[s] for s in evaluated if s in self.splits})
        for name in names:
            tables[name] = self.summary(s for s in evaluated if self.splits.get(s) == name)
        return tables

    @property
    def issues(self) -> list[str]:
        """Every reported problem: missing or unreadable dumps and dropped rows."""
        return [msg for record in self.records for msg in record.issues]


def _implausible(
    path: Path, sanitized: tuple[np.ndarray, tuple[str, ...], str | None]
) -> tuple[str, ...]:
    """Plausibility findings (:mod:`grasplab.core.plausibility`) of a dump's usable rows.

    ``sanitized`` is ``sanitize_grasp_array`` of the dump. Rows the evaluation drops
    (non-finite, bad rotations) are reported by it, not again here.
    """
    rows, _, fatal = sanitized
    if fatal is not None or not len(rows):
        return ()
    try:
        found = grasp_findings(rows)
    except ValueError:
        return ()
    return tuple(f"implausible grasps in {path}: {message}"
                 for message in (*found.errors, *found.warnings))


def _zero_result(config: APConfig, issues: tuple[str, ...]) -> FrameResult:
    return FrameResult(
        accuracy=np.zeros((config.top_k, len(config.mu_grid))),
        grasps=np.zeros((0, 17)),
        scores=np.zeros(0),
        collision=np.zeros(0, dtype=bool),
        empty=np.zeros(0, dtype=bool),
        object_ids=np.zeros(0, dtype=np.int64),
        num_input=0,
        num_valid=0,
        num_after_nms=0,
        issues=issues,
    )


class APEvaluator:
    """Evaluate grasp dumps on a dataset in the GraspNet-1Billion layout.

    Args:
        root: dataset root (``models/``, ``scenes/``).
        camera: ``"realsense"`` or ``"kinect"``.
        config: protocol parameters (the reference's by default).

    Raises:
        FileNotFoundError: no ``scenes`` folder under ``root``.
        ValueError: unknown camera.
    """

    def __init__(self, root: Path | str, camera: str = "realsense", config: APConfig | None = None):
        from grasplab.scenes.reader import GraspNetDataset

        self.root = Path(root)
        self.camera = camera
        self.config = config if config is not None else APConfig()
        self.dataset = GraspNetDataset(self.root, camera)
        self._models: dict[int, ObjectModel] = {}
        self._scenes: dict[tuple[int, ...], SceneObjects] = {}

    def object_model(self, object_id: int) -> ObjectModel:
        """The cached evaluation geometry of one object (built on first use)."""
        model = self._models.get(int(object_id))
        if model is None:
            model = build_object_model(
                int(object_id),
                self.dataset.model_points(object_id),
                self.dataset.model_mesh(object_id),
                sdf=self._dataset_sdf(object_id),
            )
            self._models[int(object_id)] = model
        return model

    def _dataset_sdf(self, object_id: int) -> SignedDistanceField | None:
        """The reference backend's SDF: ``models/%03d/textured.sdf`` (or its copy), else None."""
        if self.config.fc_backend != "reference":
            return None
        path = model_dir(self.root, object_id) / "textured.sdf"
        if not path.is_file():
            logger.info("object %d: no %s, computing the SDF from the mesh", object_id, path)
            return None
        return load_sdf(path)

    def frame_scene(
        self, scene_id: int, frame_id: int, scene_files: dict[str, np.ndarray] | None = None
    ) -> FrameScene:
        """Objects, poses and table pose of one frame.

        Args:
            scene_id: the scene.
            frame_id: the frame (annotation id).
            scene_files: a cache of the scene's camera poses and table pose shared by the
                frames of one :meth:`evaluate_scene` call (filled on first use), or None to
                read them from disk.
        """
        ids, poses = self.dataset.object_poses(scene_id, frame_id)
        files = scene_files if scene_files is not None else {}
        if "camera_poses" not in files:
            files["camera_poses"] = self.dataset.camera_poses(scene_id)
            files["T_table_cam0"] = self.dataset.T_table_cam0(scene_id)
        camera_poses = files["camera_poses"]
        if frame_id >= len(camera_poses):
            raise ValueError(
                f"scene {scene_id}: camera_poses.npy has {len(camera_poses)} poses, "
                f"none for frame {frame_id}"
            )
        T_table_cam = files["T_table_cam0"] @ camera_poses[frame_id]  # noqa: N806
        return FrameScene(self.scene_objects(ids), poses, np.linalg.inv(T_table_cam))

    def scene_objects(self, object_ids: Sequence[int]) -> SceneObjects:
        """Cached :class:`SceneObjects` (combined ray caster) of an ordered set of objects.

        The most recent scenes are kept (``SCENE_CACHE_SIZE``); object models are kept for the
        evaluator's lifetime.
        """
        key = tuple(int(i) for i in object_ids)
        objects = self._scenes.get(key)
        if objects is None:
            objects = SceneObjects.build([self.object_model(i) for i in key])
            while len(self._scenes) >= SCENE_CACHE_SIZE:
                self._scenes.pop(next(iter(self._scenes)))
            self._scenes[key] = objects
        return objects

    def evaluate_grasps(self, scene_id: int, frame_id: int, grasps: Any) -> FrameResult:
        """Evaluate one frame's grasps (a ``GraspGroup`` or (N, 17) array, camera frame)."""
        return evaluate_frame(grasps, self.frame_scene(scene_id, frame_id), self.config)

    def evaluate_scene(
        self, dump_dir: Path | str, scene_id: int, progress: ProgressCallback | None = None
    ) -> list[FrameRecord]:
        """Evaluate every annotated frame of one scene from a dump folder.

        Args:
            dump_dir: dump folder root.
            scene_id: scene to evaluate.
            progress: called with 1 after each frame.

        Returns:
            One record per frame; frames without a readable dump score 0.
        """
        records = []
        frame_ids = self.dataset.frame_ids(scene_id)
        scene_files: dict[str, np.ndarray] = {}  # camera and table poses, read once per scene
        for frame_id in frame_ids:
            records.append(self._evaluate_file(dump_dir, scene_id, frame_id, scene_files))
            if progress is not None:
                progress(1)
        extra = self._extra_dumps(dump_dir, scene_id, set(frame_ids))
        if extra:
            logger.warning("scene %d: ignored dump files of unknown frames: %s", scene_id, extra)
        return records

    def _extra_dumps(self, dump_dir: Path | str, scene_id: int, known: set[int]) -> list[str]:
        folder = dump_path(dump_dir, scene_id, self.camera, 0).parent
        if not folder.is_dir():
            return []
        names = [p.name for p in folder.glob("*.npy")]
        return sorted(n for n in names if not (n[:-4].isdigit() and int(n[:-4]) in known))

    def _evaluate_file(
        self, dump_dir: Path | str, scene_id: int, frame_id: int,
        scene_files: dict[str, np.ndarray] | None = None,
    ) -> FrameRecord:
        path = dump_path(dump_dir, scene_id, self.camera, frame_id)
        if not path.is_file():
            message = f"missing dump file {path}, frame scored 0"
            return FrameRecord(scene_id, frame_id, "missing", _zero_result(self.config, (message,)))
        try:
            grasps = np.load(path, allow_pickle=False)
            if isinstance(grasps, np.lib.npyio.NpzFile):  # a zip archive saved under .npy
                grasps.close()
                raise ValueError("an .npz archive, expected one (N, 17) array")
        except (OSError, ValueError, EOFError) as exc:
            message = f"unreadable dump file {path} ({exc}), frame scored 0"
            return FrameRecord(
                scene_id, frame_id, "unreadable", _zero_result(self.config, (message,))
            )
        scene = self.frame_scene(scene_id, frame_id, scene_files)
        sanitized = sanitize_grasp_array(grasps, self.config.rotation_atol)
        found = _implausible(path, sanitized)  # mm, 5 m widths; before widths are clipped
        result = evaluate_sanitized(grasps, sanitized, scene, self.config)
        if found:
            result = dataclasses.replace(result, issues=(*result.issues, *found))
        return FrameRecord(scene_id, frame_id, "ok", result)

    def scene_ids_of_split(self, split: str) -> list[int]:
        """Scene ids of a split (manifest, else reference ranges) present in the dataset."""
        return split_scene_ids(self.root, split, self.dataset.scene_ids())

    def splits(self) -> dict[int, str]:
        """Scene → table split (manifest, else the reference seen/similar/novel ranges)."""
        manifest = scene_splits(self.root)
        if manifest is not None:
            return manifest
        return {s: name for name in TABLE_SPLITS for s in REFERENCE_SPLITS[name]}

    def num_frames(self, scene_ids: Sequence[int]) -> int:
        """Total number of annotated frames of the scenes (for progress bars)."""
        return sum(len(self.dataset.frame_ids(s)) for s in scene_ids)

    def evaluate(
        self,
        dump_dir: Path | str,
        scene_ids: Sequence[int],
        progress: ProgressCallback | None = None,
        workers: int = 1,
        engine: str | Engine = "local",
    ) -> APResult:
        """Evaluate a dump folder on the given scenes.

        Args:
            dump_dir: dump folder root (``scene_%04d/<camera>/%04d.npy``).
            scene_ids: scenes to evaluate.
            progress: called with the number of frames finished (per frame, or per scene when
                ``workers > 1``).
            workers: processes; 1 evaluates in this process. For Ray, the most scenes at once.
            engine: ``"local"``, ``"ray"`` or an :class:`grasplab.runtime.engines.Engine` (then
                ``workers`` is ignored); one scene per shard of :func:`grasplab.runtime.jobs.run_job`.

        Returns:
            The per-frame records and AP tables.

        Raises:
            ValueError: an unknown scene id or ``workers < 1``.
            FileNotFoundError: the dataset lacks a file the scenes need (models, poses).
        """
        scenes = [int(s) for s in scene_ids]
        available = set(self.dataset.scene_ids())
        unknown = [s for s in scenes if s not in available]
        if unknown:
            raise ValueError(f"scenes {unknown} are not in the dataset {self.root}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        runner = make_engine(engine, workers) if isinstance(engine, str) else engine
        if isinstance(runner, LocalEngine) and (runner.workers == 1 or len(scenes) == 1):
            records = [r for s in scenes for r in self.evaluate_scene(dump_dir, s, progress)]
        else:
            records = self._evaluate_parallel(dump_dir, scenes, progress, runner)
        issues = [msg for record in records for msg in record.issues]
        if issues:
            logger.info("%d problems in the dumps, e.g. %s", len(issues), issues[0])
        return APResult(self.camera, tuple(records), self.splits(), self.config)

    def _evaluate_parallel(
        self, dump_dir: Path | str, scenes: list[int], progress: ProgressCallback | None,
        engine: Engine,
    ) -> list[FrameRecord]:
        """One scene per shard of the job runner; the first failing scene's error is raised."""
        task = functools.partial(_scene_task, str(self.root), self.camera, self.config, str(dump_dir))

        def _advance(result: ShardResult) -> None:
            if progress is not None and result.status == "done":
                progress(len(result.value))

        report = run_job(Job("ap", tuple(scenes), task), engine, _advance)
        report.raise_first_failure()
        return [r for result in report.results for r in result.value]


_WORKER_EVALUATORS: dict[tuple[str, str, APConfig], APEvaluator] = {}


def _scene_task(
    root: str, camera: str, config: APConfig, dump_dir: str, scene_id: int
) -> list[FrameRecord]:
    """Process-pool task: one scene, with an evaluator cached per worker process."""
    key = (root, camera, config)
    evaluator = _WORKER_EVALUATORS.get(key)
    if evaluator is None:
        evaluator = APEvaluator(root, camera, config)
        _WORKER_EVALUATORS[key] = evaluator
    return evaluator.evaluate_scene(dump_dir, scene_id)
