"""Sharded, resumable generation of a synthetic GraspNet-1Billion-layout dataset.

One shard is one scene: pick objects, drop them into the tray and let them settle
(:func:`grasplab.scenes.generate_clutter`), render a subsample of the 256-view rig and write the
frames with :class:`grasplab.scenes.layout.DatasetWriter`.

- **Determinism**: scene ``s`` draws all its randomness from
  ``np.random.SeedSequence(seed, spawn_key=(s,))``, so a scene's files depend only on the seed,
  the scene id and the settings, never on the number of workers or the order of execution.
- **Atomic and resumable**: each scene is written into ``scenes/.tmp-scene_%04d-*`` and renamed
  into place when complete. Rerunning the same command skips the finished scenes, redoes
  incomplete ones and removes leftover temporary folders of the scenes it (re)makes.
- **Frames**: ``views`` frames per scene, taken evenly from the 256-view rig
  (:func:`rig_view_ids`), always including rig view 0. They are numbered ``0000..V-1``, and
  ``camera_poses.npy`` is ``(V, 4, 4)``: one pose per *written* frame, ``camera_poses[i]`` =
  ``T_cam0_cam_i``. With ``views=256`` this is exactly the real layout. graspnetAPI's evaluator
  loops over ``range(256)`` and needs all 256 frames; grasplab's reader and evaluator take the
  frames that exist. The rig view of each frame is kept in ``scene_record.json``.
- **Manifest**: ``grasplab_dataset.json`` records the settings and the split of every scene;
  generating into a folder that holds a different dataset is a ``ValueError`` and touches nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.scenes.layout import (
    CAMERA_NAMES,
    FRAME_FOLDERS,
    LAYOUT_VERSION,
    MANIFEST_NAME,
    REFERENCE_NUM_FRAMES,
    DatasetWriter,
    scene_dir,
)

__all__ = [
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

_SPLITS = ("seen", "similar", "novel")
_NOISES = ("none", "gaussian", "plgp")


@dataclass(frozen=True)
class GenerationConfig:
    """Settings shared by every scene of a dataset (all are recorded in the manifest).

    Attributes:
        views: frames per scene, a subsample of the 256-view rig (1..256).
        camera: intrinsics preset and camera folder name, ``"realsense"`` or ``"kinect"``.
        objects_per_scene: objects dropped into each scene.
        image_scale: scale of the preset's 1280x720 intrinsics (0.5 → 640x360).
        depth_noise: noise of ``depth/``: ``"none"``, ``"gaussian"`` or ``"plgp"``; the noise-free
            depth is always written to ``depth_clean/``.
        noise_sigma: standard deviation of the Gaussian part of the depth noise (m).
        parallel_depth: also render ``parallel_depth/%04d.npz`` (PLGP parallel projection).
        parallel_eta: parallel projection ratio (px/m); ``None`` = ``fx`` over the depth of the
            table centre in that frame, so the parallel image covers the tray like the pinhole one.
    """

    views: int = REFERENCE_NUM_FRAMES
    camera: str = "realsense"
    objects_per_scene: int = 5
    image_scale: float = 0.5
    depth_noise: str = "gaussian"
    noise_sigma: float = 0.001
    parallel_depth: bool = True
    parallel_eta: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= int(self.views) <= REFERENCE_NUM_FRAMES:
            raise ValueError(f"views must be in [1, {REFERENCE_NUM_FRAMES}], got {self.views}")
        if self.camera not in CAMERA_NAMES:
            raise ValueError(f"camera must be one of {CAMERA_NAMES}, got {self.camera!r}")
        if int(self.objects_per_scene) < 1:
            raise ValueError(f"objects_per_scene must be >= 1, got {self.objects_per_scene}")
        if not 0.05 <= float(self.image_scale) <= 1.0:
            raise ValueError(f"image_scale must be in [0.05, 1], got {self.image_scale}")
        if self.depth_noise not in _NOISES:
            raise ValueError(f"depth_noise must be one of {_NOISES}, got {self.depth_noise!r}")
        if self.parallel_eta is not None and not self.parallel_eta > 0:
            raise ValueError(f"parallel_eta must be > 0 px/m or None, got {self.parallel_eta}")


@dataclass(frozen=True)
class GenerationSummary:
    """What a :func:`generate_dataset` call did.

    Attributes:
        root: dataset root.
        scene_ids: all scene ids of the job.
        generated: ids written by this call.
        skipped: ids already complete (untouched).
        seconds: wall time of the call.
        failed: ``(scene id, reason)`` of scenes that could not be made (nothing of them is
            written; rerunning retries them). The other scenes are made regardless.
    """

    root: Path
    scene_ids: tuple[int, ...]
    generated: tuple[int, ...]
    skipped: tuple[int, ...]
    seconds: float
    failed: tuple[tuple[int, str], ...] = ()


def rig_view_ids(views: int, rig_size: int = REFERENCE_NUM_FRAMES) -> np.ndarray:
    """Indices of ``views`` rig views spread evenly over the rig, starting at view 0.

    >>> rig_view_ids(4).tolist()
    [0, 85, 170, 255]
    """
    if not 1 <= views <= rig_size:
        raise ValueError(f"views must be in [1, {rig_size}], got {views}")
    return np.unique(np.rint(np.linspace(0, rig_size - 1, views)).astype(np.int64))


def scene_seed(seed: int, scene_id: int) -> np.random.SeedSequence:
    """The seed sequence of one scene: ``SeedSequence(seed, spawn_key=(scene_id,))``."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(scene_id),))


# --------------------------------------------------------------------------------- manifest
def _manifest(config: GenerationConfig, seed: int, scenes: dict[str, str]) -> dict[str, Any]:
    from grasplab.core.camera import intrinsics_preset
    from grasplab.objects import SPLITS_VERSION

    intrinsics = intrinsics_preset(config.camera).scaled(config.image_scale)
    return {
        "format": "graspnet-1billion",
        "version": LAYOUT_VERSION,
        "seed": int(seed),
        "splits_version": SPLITS_VERSION,
        "camera": config.camera,
        "views": int(config.views),
        "image_size": [int(intrinsics.width), int(intrinsics.height)],
        "camera_poses": "one (4, 4) T_cam0_cam per written frame",
        "config": asdict(config),
        "scenes": scenes,
    }


def check_manifest(
    root: Path, config: GenerationConfig, seed: int, scenes: dict[str, str]
) -> dict[str, Any]:
    """Merge a job into the root's manifest, or raise if the root holds a different dataset.

    Args:
        root: dataset root.
        config: settings of the job.
        seed: dataset seed.
        scenes: ``{"%04d": split}`` of the job's scenes.

    Returns:
        The merged manifest (not yet written).

    Raises:
        ValueError: the root holds another dataset (other seed, settings or split of a scene),
            scenes without a grasplab manifest, or an unreadable manifest.
    """
    wanted = _manifest(config, seed, dict(scenes))
    path = root / MANIFEST_NAME
    if not path.is_file():
        existing = sorted(p.name for p in (root / "scenes").glob("scene_*")) if root.is_dir() else []
        if existing:
            raise ValueError(
                f"{root} already holds scenes ({existing[0]}, ...) but no {MANIFEST_NAME}: "
                "refusing to mix datasets; choose an empty --out folder"
            )
        return wanted
    try:
        current = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); refusing to write into {root}") from exc
    diffs = [
        f"{key}: folder has {current.get(key)!r}, this run {wanted[key]!r}"
        for key in wanted
        if key != "scenes" and current.get(key) != wanted[key]
    ]
    old_scenes = current.get("scenes", {})
    diffs += [
        f"split of scene {sid}: folder has {old_scenes[sid]!r}, this run {split!r}"
        for sid, split in scenes.items()
        if sid in old_scenes and old_scenes[sid] != split
    ]
    if diffs:
        raise ValueError(
            f"{root} holds a different dataset ({'; '.join(diffs)}); nothing was written. "
            "Use another --out folder or the same settings."
        )
    wanted["scenes"] = {**old_scenes, **scenes}
    return wanted


# ------------------------------------------------------------------------------ one scene
def scene_complete(root: Path, scene_id: int, config: GenerationConfig) -> bool:
    """Whether ``scene_%04d`` holds every file a finished scene of ``config`` has."""
    path = scene_dir(root, scene_id)
    record = path / "scene_record.json"
    cam = path / config.camera
    if not record.is_file():
        return False
    try:
        object_ids = [int(i) for i in (path / "object_id_list.txt").read_text().split()]
        frames = int(json.loads(record.read_text())["frames"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    folders = ["rgb", "depth", "label", "meta", "annotations", "depth_clean"]
    folders += ["parallel_depth"] if config.parallel_depth else []
    names = [cam / n for n in ("camK.npy", "camera_poses.npy", "cam0_wrt_table.npy")]
    names += [cam / f"{f}/{i:04d}{FRAME_FOLDERS[f]}" for f in folders for i in range(frames)]
    writer = DatasetWriter(root, config.camera)
    return (
        frames == config.views
        and all(p.is_file() for p in names)
        and all(writer.has_model(i) for i in object_ids)
    )


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
    record = generate_clutter(library, list(library.ids(split)), scene_id, rng_clutter, clutter)
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
) -> GenerationSummary:
    """Generate scenes ``first_scene .. first_scene + num_scenes - 1`` (resumable, atomic).

    Args:
        root: dataset root (created if missing).
        split: object split of these scenes: ``"seen"``, ``"similar"`` or ``"novel"``.
        num_scenes: number of scenes.
        views: frames per scene (overrides ``config.views``).
        seed: dataset seed.
        workers: processes (1 = in this process).
        camera: ``"realsense"`` or ``"kinect"`` (overrides ``config.camera``).
        progress: called with the number of scenes finished (skipped ones count too).
        first_scene: id of the first scene (e.g. 100 for GraspNet's test-seen ids).
        config: other settings; defaults of :class:`GenerationConfig`.

    Returns:
        A :class:`GenerationSummary`.

    Raises:
        ValueError: bad arguments, or the root holds a different dataset (nothing is written).
    """
    start = time.perf_counter()
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    if int(num_scenes) < 1 or int(first_scene) < 0 or int(workers) < 1:
        raise ValueError(
            f"need num_scenes >= 1, first_scene >= 0 and workers >= 1; "
            f"got {num_scenes}, {first_scene} and {workers}"
        )
    base = asdict(config or GenerationConfig())
    cfg = GenerationConfig(**{**base, "views": int(views), "camera": camera})
    root = Path(root)
    ids = tuple(range(int(first_scene), int(first_scene) + int(num_scenes)))
    manifest = check_manifest(root, cfg, seed, {f"{i:04d}": split for i in ids})
    (root / "scenes").mkdir(parents=True, exist_ok=True)
    DatasetWriter.write_json(root / MANIFEST_NAME, manifest)
    skipped = tuple(i for i in ids if scene_complete(root, i, cfg))
    todo = [i for i in ids if i not in skipped]
    for i in todo:
        for leftover in (root / "scenes").glob(f".tmp-scene_{i:04d}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    if progress is not None and skipped:
        progress(len(skipped))
    logger.info("generating %d scenes into %s (%d already complete)", len(todo), root, len(skipped))
    jobs = [(str(root), i, split, cfg, int(seed)) for i in todo]
    failed: list[tuple[int, str]] = []

    def _finish(scene_id: int, run: Callable[[], Any]) -> None:
        try:
            run()
        except (ValueError, RuntimeError) as exc:  # one bad scene must not stop the others
            logger.warning("scene %d failed: %s", scene_id, exc)
            failed.append((scene_id, str(exc)))
        if progress is not None:
            progress(1)

    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            _finish(job[1], functools.partial(_job, job))
    else:
        with ProcessPoolExecutor(max_workers=int(workers), mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_job, job): job[1] for job in jobs}
            for future in as_completed(futures):
                _finish(futures[future], future.result)
    bad = {i for i, _ in failed}
    return GenerationSummary(root, ids, tuple(i for i in todo if i not in bad), skipped,
                             time.perf_counter() - start, tuple(sorted(failed)))
