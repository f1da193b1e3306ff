"""Sharded, resumable generation of a synthetic GraspNet-1Billion-layout dataset.

One shard is one scene: pick objects, drop them into the tray and let them settle
(:func:`grasplab.scenes.generate_clutter`), render a subsample of the 256-view rig and write the
frames with :class:`grasplab.scenes.layout.DatasetWriter`.

- **Determinism**: scene ``s`` draws all its randomness from
  ``np.random.SeedSequence(seed, spawn_key=(s,))``, so a scene's files depend only on the seed,
  the scene id and the settings, never on the number of workers or the order of execution.
- **Atomic and resumable**: each scene is written into ``scenes/.tmp-scene_%04d-*`` and renamed
  into place when complete. The scenes are the shards of one job of
  :func:`grasplab.runtime.jobs.run_job`: rerunning the same command skips the finished scenes,
  redoes incomplete and failed ones and first removes the temporary files a killed run left
  (:data:`LEFTOVERS`). ``engine="local"`` (a process pool of ``workers``) and ``engine="ray"``
  write the same bytes.
- **Frames**: ``views`` frames per scene, taken evenly from the 256-view rig
  (:func:`rig_view_ids`), always including rig view 0. They are numbered ``0000..V-1``, and
  ``camera_poses.npy`` is ``(V, 4, 4)``: one pose per *written* frame, ``camera_poses[i]`` =
  ``T_cam0_cam_i``. With ``views=256`` this is exactly the real layout. graspnetAPI's evaluator
  loops over ``range(256)`` and needs all 256 frames; grasplab's reader and evaluator take the
  frames that exist. The rig view of each frame is kept in ``scene_record.json``.
- **Manifest**: ``grasplab_dataset.json`` records the settings and the split of every scene;
  generating into a folder that holds a different dataset is a ``ValueError`` and touches nothing.
  Settings, manifest and completeness checks live in :mod:`grasplab.scenes.generate_config`.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.runtime.engines import Engine, make_engine
from grasplab.runtime.jobs import Job, ShardResult, run_job
from grasplab.scenes.generate_config import (
    SPLITS,
    GenerationConfig,
    GenerationSummary,
    check_manifest,
    config_record,
    rig_view_ids,
    scene_complete,
    scene_seed,
)
from grasplab.scenes.layout import MANIFEST_NAME, REFERENCE_NUM_FRAMES, DatasetWriter

__all__ = [
    "LEFTOVERS",
    "GenerationConfig",
    "GenerationSummary",
    "check_manifest",
    "generate_dataset",
    "generate_scene",
    "rig_view_ids",
    "scene_complete",
    "scene_seed",
]

logger = logging.getLogger(__name__)

#: Temporary files a killed generation run may leave (removed by the next run).
LEFTOVERS = ("scenes/.tmp-*", "models/.tmp-*", ".*.tmp")

def _noisy(depth: np.ndarray, config: GenerationConfig, rng: np.random.Generator) -> np.ndarray:
    from grasplab.scenes import gaussian_depth_noise, plgp_depth_noise

    if config.depth_noise == "gaussian":
        return np.asarray(gaussian_depth_noise(depth, config.noise_sigma, rng=rng), dtype=np.float32)
    if config.depth_noise == "plgp":
        return np.asarray(plgp_depth_noise(depth, rng=rng, sigma=config.noise_sigma), dtype=np.float32)
    return depth


def _write_frames(
    writer: DatasetWriter,
    tmp: Path,
    world: Any,
    record: Any,
    config: GenerationConfig,
    rng: np.random.Generator,
) -> list[float]:
    from grasplab.core.camera import intrinsics_preset
    from grasplab.core.rotations import invert_transform
    from grasplab.scenes import render_frame, render_parallel_depth, rig_camera_poses, table_eta

    intrinsics = intrinsics_preset(config.camera).scaled(config.image_scale)
    T_world_table = np.asarray(record.T_world_table, dtype=np.float64)  # noqa: N806
    tray_center = np.asarray(record.T_world_tray, dtype=np.float64)[:3, 3]
    views = rig_view_ids(config.views).tolist()
    T_world_cam = rig_camera_poses(REFERENCE_NUM_FRAMES, center=tray_center, view_ids=views)  # noqa: N806
    T_world_obj = np.asarray(record.T_world_obj, dtype=np.float64).reshape(-1, 4, 4)  # noqa: N806
    object_ids = [int(i) for i in record.object_ids]
    T_cam0_world = invert_transform(T_world_cam[0])  # noqa: N806
    T_table_cam0 = invert_transform(T_world_table) @ T_world_cam[0]  # noqa: N806
    writer.write_scene_static(tmp, object_ids, intrinsics, T_cam0_world @ T_world_cam, T_table_cam0)
    etas = []
    for ann_id, pose in enumerate(T_world_cam):
        T_cam_world = invert_transform(pose)  # noqa: N806
        frame = render_frame(world, intrinsics, pose)
        eta = config.parallel_eta or round(table_eta(intrinsics.fx, pose, T_world_table), 1)
        parallel = None
        if config.parallel_depth:
            size = {"width": intrinsics.width, "height": intrinsics.height}
            parallel = render_parallel_depth(world, pose, eta=eta, **size)
        writer.write_frame(
            tmp,
            ann_id,
            rgb=frame.rgb,
            depth=_noisy(frame.depth, config, rng),
            mask=frame.mask,
            intrinsics=intrinsics,
            object_ids=object_ids,
            T_cam_obj=T_cam_world @ T_world_obj,
            depth_clean=frame.depth,
            parallel_depth=None if parallel is None else parallel.depth,
            parallel_mask=None if parallel is None else parallel.mask,
            eta=eta,
        )
        etas.append(eta)
    return etas


def generate_scene(
    root: Path | str, scene_id: int, split: str, config: GenerationConfig, seed: int
) -> Path:
    """Generate and atomically write one scene (one shard of :func:`generate_dataset`).

    Args:
        root: dataset root.
        scene_id: scene index.
        split: object split, ``"seen"``, ``"similar"`` or ``"novel"``.
        config: dataset settings.
        seed: dataset seed; the scene's randomness is :func:`scene_seed` ``(seed, scene_id)``.

    Returns:
        The finished ``scenes/scene_%04d`` folder.
    """
    from grasplab.objects import ObjectLibrary
    from grasplab.scenes import ClutterConfig, World, generate_clutter, populate_world

    root = Path(root)
    rng_clutter, rng_noise = (np.random.default_rng(s) for s in scene_seed(seed, scene_id).spawn(2))
    library = ObjectLibrary()
    clutter = ClutterConfig(num_objects=int(config.objects_per_scene))
    candidates = list(library.ids(split))
    if config.object_pool is not None:
        if len(candidates) < config.object_pool:
            raise ValueError(f"object_pool {config.object_pool} is larger than the {split} split "
                             f"({len(candidates)} objects)")
        candidates = candidates[: int(config.object_pool)]
    record = generate_clutter(library, candidates, scene_id, rng_clutter, clutter)
    writer = DatasetWriter(root, config.camera)
    names = {}
    for obj_id in record.object_ids:
        obj = library.load(int(obj_id))
        names[int(obj_id)] = obj.name
        writer.write_model(int(obj_id), obj.mesh)
    tmp = writer.begin_scene(scene_id)
    try:
        with World() as world:
            populate_world(world, library, record, static=True)
            etas = _write_frames(writer, tmp, world, record, config, rng_noise)
        extra = {
            "scene_id": int(scene_id),
            "split": split,
            "seed": int(seed),
            "frames": len(etas),
            "rig_view_ids": rig_view_ids(config.views).tolist(),
            "parallel_eta": etas,
            "object_names": [names[int(i)] for i in record.object_ids],
            "record": record.to_dict(),
        }
        writer.write_json(tmp / "scene_record.json", extra)
        final = writer.commit_scene(tmp, scene_id)
        logger.info("scene %d: %d objects, %d frames → %s", scene_id, record.num_objects, len(etas), final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _job(args: tuple[str, int, str, GenerationConfig, int]) -> int:
    root, scene_id, split, config, seed = args
    generate_scene(Path(root), scene_id, split, config, seed)
    return scene_id


def _scene_shard(root: str, split: str, config: GenerationConfig, seed: int, scene_id: int) -> int:
    """The job's shard function: one scene (looks ``_job`` up at call time)."""
    return _job((root, int(scene_id), split, config, seed))


def _scene_is_complete(root: Path, config: GenerationConfig, scene_id: int) -> bool:
    return scene_complete(root, scene_id, config)


def generate_dataset(
    root: Path | str,
    split: str,
    num_scenes: int,
    views: int = REFERENCE_NUM_FRAMES,
    seed: int = 0,
    workers: int = 1,
    camera: str = "realsense",
    progress: Callable[[int], None] | None = None,
    *,
    first_scene: int = 0,
    config: GenerationConfig | None = None,
    engine: str | Engine = "local",
) -> GenerationSummary:
    """Generate scenes ``first_scene .. first_scene + num_scenes - 1`` (resumable, atomic).

    The scenes are the shards of one :class:`grasplab.runtime.jobs.Job` (``"scenes"``): finished
    scenes are skipped, leftover temporary folders of a killed run are removed, a failing scene is
    recorded (in ``.grasplab-job-scenes.json`` and the summary) without stopping the others.

    Args:
        root: dataset root (created if missing).
        split: object split of these scenes: ``"seen"``, ``"similar"`` or ``"novel"``.
        num_scenes: number of scenes.
        views: frames per scene (overrides ``config.views``).
        seed: dataset seed.
        workers: processes (1 = in this process); for Ray, the most scenes at once.
        camera: ``"realsense"`` or ``"kinect"`` (overrides ``config.camera``).
        progress: called with the number of scenes finished (skipped ones count too).
        first_scene: id of the first scene (e.g. 100 for GraspNet's test-seen ids).
        config: other settings; defaults of :class:`GenerationConfig`.
        engine: ``"local"``, ``"ray"`` or an :class:`grasplab.runtime.engines.Engine`
            (then ``workers`` is ignored). The files are the same with every engine.

    Returns:
        A :class:`GenerationSummary`.

    Raises:
        ValueError: bad arguments, or the root holds a different dataset (nothing is written).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if int(num_scenes) < 1 or int(first_scene) < 0 or int(workers) < 1:
        raise ValueError(
            f"need num_scenes >= 1, first_scene >= 0 and workers >= 1; "
            f"got {num_scenes}, {first_scene} and {workers}"
        )
    runner = make_engine(engine, workers) if isinstance(engine, str) else engine
    base = asdict(config or GenerationConfig())
    cfg = GenerationConfig(**{**base, "views": int(views), "camera": camera})
    root = Path(root)
    ids = tuple(range(int(first_scene), int(first_scene) + int(num_scenes)))
    manifest = check_manifest(root, cfg, seed, {f"{i:04d}": split for i in ids})
    (root / "scenes").mkdir(parents=True, exist_ok=True)
    DatasetWriter.write_json(root / MANIFEST_NAME, manifest)
    job = Job("scenes", ids, functools.partial(_scene_shard, str(root), split, cfg, int(seed)),
              out=root, done=functools.partial(_scene_is_complete, root, cfg),
              fingerprint={"seed": int(seed), "config": config_record(cfg)}, on_change="refuse",
              leftovers=LEFTOVERS)

    def _advance(result: ShardResult) -> None:
        if progress is not None:
            progress(1)

    report = run_job(job, runner, _advance)
    failed = tuple(sorted((int(r.key), r.error) for r in report.failed))
    return GenerationSummary(root, ids, tuple(int(i) for i in report.done),
                             tuple(int(i) for i in report.skipped), report.seconds, failed)
