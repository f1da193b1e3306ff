"""Settings, manifest and completeness of a generated dataset (used by :mod:`grasplab.scenes.generate`).

- :class:`GenerationConfig`: the settings shared by every scene of a dataset, all recorded in the
  manifest ``grasplab_dataset.json`` (:func:`check_manifest` merges a job into it, or refuses a
  folder that holds a different dataset);
- :func:`scene_seed`: scene ``s`` draws all its randomness from
  ``np.random.SeedSequence(seed, spawn_key=(s,))``;
- :func:`rig_view_ids`: which of the 256 rig views a scene of ``views`` frames writes;
- :func:`scene_complete`: whether a scene folder holds every file of a finished scene (resume).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
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
    "SPLITS",
    "GenerationConfig",
    "GenerationSummary",
    "check_manifest",
    "config_record",
    "rig_view_ids",
    "scene_complete",
    "scene_seed",
]

#: Object splits a generated scene can draw from.
SPLITS = ("seen", "similar", "novel")
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
        object_pool: draw the objects from the split's first ``object_pool`` ids only (``None``:
            the whole split). A training set with a small pool labels few objects (object labels
            cost minutes each on a CPU) and still varies the clutter; the test-seen scenes use the
            same pool, as GraspNet-1Billion's seen objects are the training objects.
    """

    views: int = REFERENCE_NUM_FRAMES
    camera: str = "realsense"
    objects_per_scene: int = 5
    image_scale: float = 0.5
    depth_noise: str = "gaussian"
    noise_sigma: float = 0.001
    parallel_depth: bool = True
    parallel_eta: float | None = None
    object_pool: int | None = None

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
        if self.object_pool is not None and (int(self.object_pool) != self.object_pool
                                             or self.object_pool < int(self.objects_per_scene)):
            raise ValueError(f"object_pool must be None or an integer >= objects_per_scene "
                             f"({self.objects_per_scene}), got {self.object_pool!r}")


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
        "config": config_record(config),
        "scenes": scenes,
    }


def config_record(config: GenerationConfig) -> dict[str, Any]:
    """The settings as the manifest and the job fingerprint record them.

    ``object_pool`` is recorded only when set, so folders made before the option existed still
    match a run without it.
    """
    record = asdict(config)
    if record.get("object_pool") is None:
        record.pop("object_pool", None)
    return record


def _difference(key: str, before: Any, now: Any) -> str:
    """``"key: folder has X, this run Y"``; for dicts only the entries that differ."""
    if isinstance(before, dict) and isinstance(now, dict):
        keys = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        return "; ".join(f"{key}.{k}: folder has {before.get(k)!r}, this run {now.get(k)!r}"
                         for k in keys)
    return f"{key}: folder has {before!r}, this run {now!r}"


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
    diffs = [_difference(key, current.get(key), wanted[key])
             for key in wanted if key != "scenes" and current.get(key) != wanted[key]]
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
