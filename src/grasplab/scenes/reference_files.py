"""Files graspnetAPI needs beside a grasplab dataset: ``textured.sdf`` and ``rs_wrt_kn.npy``.

graspnetAPI's evaluation reads each object's signed distance field from
``models/%03d/textured.sdf`` (SDFGen text format, :mod:`grasplab.objects.sdf`), and
``GraspNet.checkDataCompleteness`` also asks for ``scenes/scene_%04d/rs_wrt_kn.npy``. This module
writes both into an existing dataset (``grasplab label sdf --root DS``):

- ``textured.sdf``: computed from ``textured.obj`` with Dex-Net's sizing (``dim`` cells along
  the longest side, ``padding`` cells around), written atomically; existing files are kept
  unless ``overwrite``; a binary copy of the values as read from the text
  (``textured.sdf.npz``, which graspnetAPI ignores) lets ``grasplab eval ap`` skip the parsing;
- ``rs_wrt_kn.npy``: (F, 4, 4) float64, the realsense camera pose in the kinect camera of each
  annotated frame, ``inv(T_table_kn) @ T_table_rs``; written only for scenes holding both
  cameras (graspnetAPI checks that the file exists and never reads it).

Frames: model files in the object's model frame, poses camera-to-camera. Metres.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from grasplab.objects.sdf import (
    DEFAULT_DIM,
    DEFAULT_PADDING,
    cache_path,
    compute_sdf,
    write_sdf,
    write_sdf_cache,
)
from grasplab.scenes.layout import model_dir, scene_dir

logger = logging.getLogger(__name__)

__all__ = ["dataset_model_ids", "write_model_sdfs", "write_rs_wrt_kn"]


def dataset_model_ids(root: Path | str) -> list[int]:
    """Ids of the ``models/%03d`` folders that hold a ``textured.obj``."""
    models = Path(root) / "models"
    if not models.is_dir():
        return []
    return sorted(
        int(p.name) for p in models.iterdir()
        if p.name.isdigit() and (p / "textured.obj").is_file()
    )


def write_model_sdfs(
    root: Path | str,
    object_ids: Iterable[int] | None = None,
    dim: int = DEFAULT_DIM,
    padding: int = DEFAULT_PADDING,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``models/%03d/textured.sdf`` for the dataset's models.

    Args:
        root: dataset root.
        object_ids: models to process (default: every model with a ``textured.obj``).
        dim: SDF cells along the longest bounding-box side.
        padding: SDF cells added on every side.
        overwrite: recompute files that exist.
        progress: called with 1 after each model.

    Returns:
        The files written (existing ones kept are not listed).

    Raises:
        FileNotFoundError: a requested model has no ``textured.obj``.
        ValueError: a mesh that cannot be read.
    """
    import trimesh

    ids = dataset_model_ids(root) if object_ids is None else [int(i) for i in object_ids]
    written = []
    for obj_id in ids:
        folder = model_dir(root, obj_id)
        target = folder / "textured.sdf"
        if target.is_file() and not overwrite:
            logger.info("object %d: %s exists, kept", obj_id, target)
        else:
            mesh_path = folder / "textured.obj"
            if not mesh_path.is_file():
                raise FileNotFoundError(f"model file of object {obj_id} not found: {mesh_path}")
            mesh = trimesh.load(mesh_path, force="mesh", process=False)
            if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
                raise ValueError(f"{mesh_path}: no triangle mesh read")
            tmp = folder / f".tmp-{os.getpid()}-textured.sdf"
            write_sdf(compute_sdf(mesh, dim=dim, padding=padding, rng=obj_id), tmp)
            os.replace(tmp, target)
            written.append(target)
        if not cache_path(target).is_file() or target in written:
            write_sdf_cache(target)
        if progress is not None:
            progress(1)
    return written


def write_rs_wrt_kn(root: Path | str) -> list[Path]:
    """Write ``scenes/scene_%04d/rs_wrt_kn.npy`` for every scene with both cameras.

    Returns:
        The files written.
    """
    scenes = Path(root) / "scenes"
    written = []
    for folder in sorted(scenes.glob("scene_[0-9][0-9][0-9][0-9]")) if scenes.is_dir() else []:
        scene = scene_dir(root, int(folder.name[6:]))
        poses = {}
        for camera in ("kinect", "realsense"):
            cam = scene / camera
            if not ((cam / "camera_poses.npy").is_file() and (cam / "cam0_wrt_table.npy").is_file()):
                break
            T_table_cam0 = np.load(cam / "cam0_wrt_table.npy")  # noqa: N806
            poses[camera] = T_table_cam0[None] @ np.load(cam / "camera_poses.npy")
        if len(poses) < 2:
            logger.info("%s: not both cameras, no rs_wrt_kn.npy", scene)
            continue
        count = min(len(poses["kinect"]), len(poses["realsense"]))
        relative = np.linalg.inv(poses["kinect"][:count]) @ poses["realsense"][:count]
        target = scene / "rs_wrt_kn.npy"
        np.save(target, relative.astype(np.float64))
        written.append(target)
    return written
