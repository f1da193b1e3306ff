"""Write scenes in the GraspNet-1Billion on-disk layout (reference protocol §7).

Layout written (``<cam>`` is ``realsense`` or ``kinect``, the only names graspnetAPI accepts)::

    <root>/grasplab_dataset.json               grasplab manifest (version, seed, split per scene, ...)
    <root>/models/%03d/nontextured.ply         dense vertices (<= 2 mm spacing) + faces, model frame
    <root>/models/%03d/textured.obj            the object mesh, model frame (metres)
    <root>/scenes/scene_%04d/object_id_list.txt
    <root>/scenes/scene_%04d/scene_record.json grasplab extra: SceneRecord, rig views, settings
    <root>/scenes/scene_%04d/<cam>/camK.npy, camera_poses.npy, cam0_wrt_table.npy
    <root>/scenes/scene_%04d/<cam>/rgb/%04d.png            uint8 RGB
    <root>/scenes/scene_%04d/<cam>/depth/%04d.png          uint16 millimetres (factor_depth 1000)
    <root>/scenes/scene_%04d/<cam>/label/%04d.png          uint16, object_id + 1, 0 = background
    <root>/scenes/scene_%04d/<cam>/meta/%04d.mat           cls_indexes, poses (3,4,N), intrinsic_matrix,
                                                           factor_depth
    <root>/scenes/scene_%04d/<cam>/annotations/%04d.xml    T_cam_obj per object ('{:.4f}', quat wxyz)
    <root>/scenes/scene_%04d/<cam>/depth_clean/%04d.png    grasplab extra: noise-free depth, uint16 mm
    <root>/scenes/scene_%04d/<cam>/parallel_depth/%04d.npz grasplab extra: 'depth' float32 (m),
                                                           'eta' (px/m), 'mask' int32

Frames: the annotation XML's ``pos_in_world``/``ori_in_world`` are, despite their names, the pose
of the object in the camera of *that* frame (``T_cam_obj``), as in the real dataset.
``camera_poses.npy[i]`` is ``T_cam0_cam_i`` and ``cam0_wrt_table.npy`` is ``T_table_cam0``.
Every file is written deterministically (no time stamps), so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from grasplab.core.camera import CameraIntrinsics
from grasplab.core.rotations import matrix_to_quaternion
from grasplab.core.validation import as_array

__all__ = [
    "CAMERA_NAMES",
    "DEPTH_FACTOR",
    "FRAME_FOLDERS",
    "LAYOUT_VERSION",
    "MANIFEST_NAME",
    "MODEL_POINT_SPACING",
    "REFERENCE_IMAGE_SIZE",
    "REFERENCE_NUM_FRAMES",
    "DatasetWriter",
    "annotation_xml",
    "dense_model_mesh",
    "depth_to_millimetres",
    "frame_file",
    "model_dir",
    "save_npz_deterministic",
    "scene_dir",
]

#: Camera folder names graspnetAPI accepts.
CAMERA_NAMES = ("realsense", "kinect")
#: Depth PNG units per metre (``factor_depth`` of the meta files).
DEPTH_FACTOR = 1000.0
#: Image size of the real dataset (width, height).
REFERENCE_IMAGE_SIZE = (1280, 720)
#: Frames per scene in the real dataset (graspnetAPI's evaluator loops over range(256)).
REFERENCE_NUM_FRAMES = 256
#: Largest vertex spacing of ``nontextured.ply`` (m); the evaluator reads it as a point cloud.
MODEL_POINT_SPACING = 0.002
#: Version of the grasplab layout and manifest.
LAYOUT_VERSION = 1
#: grasplab's dataset manifest at the root.
MANIFEST_NAME = "grasplab_dataset.json"
#: Per-frame folders and their file suffixes.
FRAME_FOLDERS = {
    "rgb": ".png",
    "depth": ".png",
    "label": ".png",
    "meta": ".mat",
    "annotations": ".xml",
    "depth_clean": ".png",
    "parallel_depth": ".npz",
}
_MAT_DESCRIPTION = b"MATLAB 5.0 MAT-file, written by grasplab"


def scene_dir(root: Path | str, scene_id: int) -> Path:
    """``<root>/scenes/scene_%04d``."""
    return Path(root) / "scenes" / f"scene_{int(scene_id):04d}"


def model_dir(root: Path | str, obj_id: int) -> Path:
    """``<root>/models/%03d``."""
    return Path(root) / "models" / f"{int(obj_id):03d}"


def frame_file(folder: str, ann_id: int) -> str:
    """Relative path of a frame file inside the camera folder, e.g. ``rgb/0003.png``."""
    if folder not in FRAME_FOLDERS:
        raise ValueError(f"unknown frame folder {folder!r}, expected one of {sorted(FRAME_FOLDERS)}")
    return f"{folder}/{int(ann_id):04d}{FRAME_FOLDERS[folder]}"


def annotation_xml(
    object_ids: list[int], T_cam_obj: np.ndarray, names: list[str], paths: list[str]  # noqa: N803
) -> str:
    """Annotation XML text in the element order graspnetAPI's reader expects.

    Args:
        object_ids: K object ids.
        T_cam_obj: (K, 4, 4) object poses in this frame's camera.
        names: K object names (``obj_name``).
        paths: K model paths (``obj_path``).

    Returns:
        The XML document; translations and quaternions (wxyz, w >= 0) formatted ``'{:.4f}'``.
    """
    poses = as_array(T_cam_obj, "T_cam_obj", (len(object_ids), 4, 4))
    quats = matrix_to_quaternion(poses[:, :3, :3]).reshape(-1, 4) if len(poses) else np.zeros((0, 4))
    top = ET.Element("scene")
    for obj_id, name, path, pose, quat in zip(object_ids, names, paths, poses, quats, strict=True):
        obj = ET.SubElement(top, "obj")
        ET.SubElement(obj, "obj_id").text = str(int(obj_id))
        ET.SubElement(obj, "obj_name").text = name
        ET.SubElement(obj, "obj_path").text = path
        ET.SubElement(obj, "pos_in_world").text = " ".join(f"{v:.4f}" for v in pose[:3, 3])
        ET.SubElement(obj, "ori_in_world").text = " ".join(f"{v:.4f}" for v in quat)
    ET.indent(top, space="    ")
    return ET.tostring(top, encoding="unicode", xml_declaration=True) + "\n"


def save_npz_deterministic(path: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez_compressed`` but with fixed zip time stamps, so equal arrays give equal bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.asanyarray(arrays[key]), allow_pickle=False)


def _save_mat_deterministic(path: Path, data: dict[str, np.ndarray]) -> None:
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, data, do_compression=False)
    raw = bytearray(buffer.getvalue())
    raw[:116] = _MAT_DESCRIPTION.ljust(116, b" ")  # the header text holds a time stamp otherwise
    path.write_bytes(bytes(raw))


def _save_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(image).save(path, format="PNG", optimize=False)


def depth_to_millimetres(depth: np.ndarray, name: str = "depth") -> np.ndarray:
    """(H, W) float metres → uint16 millimetres (rounded; invalid, NaN or > 65.535 m → 0)."""
    d = np.nan_to_num(as_array(depth, name, (None, None), finite=False), nan=0.0, posinf=0.0)
    if np.any(d < 0):
        raise ValueError(f"{name}: negative depth values; expected metres >= 0 (0 = invalid)")
    mm = np.rint(d * DEPTH_FACTOR)
    return np.where(mm > np.iinfo(np.uint16).max, 0, mm).astype(np.uint16)


def dense_model_mesh(mesh: trimesh.Trimesh, spacing: float = MODEL_POINT_SPACING) -> trimesh.Trimesh:
    """The mesh subdivided until every edge is at most ``spacing`` (m) long.

    The result's vertices lie on the original surface and cover it densely (every surface point is
    within ``spacing / sqrt(3)`` of a vertex), so reading the PLY as a point cloud, as graspnetAPI's
    evaluator does, gives the object's surface.
    """
    if spacing <= 0:
        raise ValueError(f"spacing must be > 0 m, got {spacing}")
    vertices, faces = trimesh.remesh.subdivide_to_size(
        np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces), max_edge=spacing, max_iter=16
    )
    dense = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    dense.merge_vertices()
    return dense


class DatasetWriter:
    """Writes models and scenes of one camera under a dataset root.

    Scenes are written into a temporary folder (:meth:`begin_scene`) and renamed into place by
    :meth:`commit_scene`, so a finished ``scene_%04d`` is never partial.

    Args:
        root: dataset root.
        camera: camera folder name, ``"realsense"`` or ``"kinect"``.
    """

    def __init__(self, root: Path | str, camera: str = "realsense") -> None:
        if camera not in CAMERA_NAMES:
            raise ValueError(f"camera must be one of {CAMERA_NAMES} (graspnetAPI's names), got {camera!r}")
        self.root = Path(root)
        self.camera = camera

    # ------------------------------------------------------------------------------ models
    def has_model(self, obj_id: int) -> bool:
        """Whether both model files of ``obj_id`` exist."""
        folder = model_dir(self.root, obj_id)
        return (folder / "nontextured.ply").is_file() and (folder / "textured.obj").is_file()

    def write_model(self, obj_id: int, mesh: trimesh.Trimesh) -> Path:
        """Write ``models/%03d/{nontextured.ply,textured.obj}`` atomically unless present.

        Args:
            obj_id: global object id.
            mesh: the object mesh in its model frame, metres.

        Returns:
            The model folder.
        """
        final = model_dir(self.root, obj_id)
        if self.has_model(obj_id):
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            dense_model_mesh(mesh).export(tmp / "nontextured.ply", file_type="ply", encoding="binary")
            mesh.export(tmp / "textured.obj", file_type="obj", include_texture=False)
            if final.exists():  # partial leftovers of an interrupted writer
                shutil.rmtree(final)
            os.rename(tmp, final)
        except OSError:
            if not self.has_model(obj_id):  # not a lost race against another worker
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final

    # ------------------------------------------------------------------------------ scenes
    def scene_path(self, scene_id: int) -> Path:
        """Final folder of a scene."""
        return scene_dir(self.root, scene_id)

    def begin_scene(self, scene_id: int) -> Path:
        """Create and return a fresh temporary folder for ``scene_id`` (next to the final one)."""
        final = self.scene_path(scene_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex}"
        tmp.mkdir()
        return tmp

    def commit_scene(self, tmp: Path, scene_id: int) -> Path:
        """Move a finished temporary scene folder into place (replacing a partial one)."""
        final = self.scene_path(scene_id)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        return final

    def write_scene_static(
        self,
        path: Path,
        object_ids: list[int],
        intrinsics: CameraIntrinsics,
        T_cam0_cam: np.ndarray,  # noqa: N803
        T_table_cam0: np.ndarray,  # noqa: N803
    ) -> None:
        """Write ``object_id_list.txt``, ``camK.npy``, ``camera_poses.npy`` and ``cam0_wrt_table.npy``.

        Args:
            path: scene folder (temporary or final).
            object_ids: the scene's object ids, in annotation order.
            intrinsics: pinhole intrinsics of the written images.
            T_cam0_cam: (F, 4, 4) pose of each frame's camera in the camera of frame 0.
            T_table_cam0: (4, 4) camera of frame 0 in the table frame.
        """
        poses = as_array(T_cam0_cam, "T_cam0_cam", (None, 4, 4))
        table = as_array(T_table_cam0, "T_table_cam0", (4, 4))
        cam = path / self.camera
        cam.mkdir(parents=True, exist_ok=True)
        (path / "object_id_list.txt").write_text("".join(f"{int(i)}\n" for i in object_ids))
        np.save(cam / "camK.npy", np.asarray(intrinsics.matrix, dtype=np.float64))
        np.save(cam / "camera_poses.npy", poses)
        np.save(cam / "cam0_wrt_table.npy", table)

    def write_frame(
        self,
        path: Path,
        ann_id: int,
        *,
        rgb: np.ndarray,
        depth: np.ndarray,
        mask: np.ndarray,
        intrinsics: CameraIntrinsics,
        object_ids: list[int],
        T_cam_obj: np.ndarray,  # noqa: N803
        object_names: list[str] | None = None,
        depth_clean: np.ndarray | None = None,
        parallel_depth: np.ndarray | None = None,
        parallel_mask: np.ndarray | None = None,
        eta: float | None = None,
    ) -> None:
        """Write one frame's images, meta and annotation (and the grasplab extras given).

        Args:
            path: scene folder (temporary or final).
            ann_id: frame index.
            rgb: (H, W, 3) uint8.
            depth: (H, W) metres (the sensor depth; 0 = invalid).
            mask: (H, W) int instance mask, ``object_id + 1``, 0 = background.
            intrinsics: pinhole intrinsics (its size must match the images).
            object_ids: K object ids.
            T_cam_obj: (K, 4, 4) object poses in this frame's camera.
            object_names: K names for the XML (default ``%03d``).
            depth_clean: optional (H, W) noise-free depth, metres.
            parallel_depth: optional parallel-projection depth, metres; needs ``eta`` (px/m).
            parallel_mask: optional instance mask of the parallel depth (same size).
            eta: parallel projection ratio in pixels per metre.
        """
        h, w = intrinsics.height, intrinsics.width
        rgb_u8 = as_array(rgb, "rgb", (h, w, 3), dtype=np.uint8)
        labels = as_array(mask, "mask", (h, w), dtype=np.int64)
        if labels.min(initial=0) < 0 or labels.max(initial=0) > np.iinfo(np.uint16).max:
            raise ValueError("mask: values must be in [0, 65535] (object_id + 1, 0 = background)")
        poses = as_array(T_cam_obj, "T_cam_obj", (len(object_ids), 4, 4))
        cam = path / self.camera
        for folder in ("rgb", "depth", "label", "meta", "annotations"):
            (cam / folder).mkdir(parents=True, exist_ok=True)
        _save_png(cam / frame_file("rgb", ann_id), rgb_u8)
        _save_png(cam / frame_file("depth", ann_id), depth_to_millimetres(_sized(depth, h, w, "depth")))
        _save_png(cam / frame_file("label", ann_id), labels.astype(np.uint16))
        _save_mat_deterministic(
            cam / frame_file("meta", ann_id),
            {
                "cls_indexes": np.asarray(object_ids, dtype=np.int32).reshape(-1, 1) + 1,
                "poses": np.ascontiguousarray(poses[:, :3, :].transpose(1, 2, 0)),
                "intrinsic_matrix": np.asarray(intrinsics.matrix, dtype=np.float64),
                "factor_depth": np.array([[DEPTH_FACTOR]]),
            },
        )
        names = object_names or [f"{int(i):03d}" for i in object_ids]
        model_paths = [f"models/{int(i):03d}/nontextured.ply" for i in object_ids]
        xml = annotation_xml(list(object_ids), poses, names, model_paths)
        (cam / frame_file("annotations", ann_id)).write_text(xml)
        if depth_clean is not None:
            (cam / "depth_clean").mkdir(exist_ok=True)
            clean_mm = depth_to_millimetres(_sized(depth_clean, h, w, "depth_clean"), "depth_clean")
            _save_png(cam / frame_file("depth_clean", ann_id), clean_mm)
        if parallel_depth is not None:
            if eta is None or not eta > 0:
                raise ValueError(f"eta: the parallel depth needs a positive eta (px/m), got {eta}")
            (cam / "parallel_depth").mkdir(exist_ok=True)
            arrays = {
                "depth": as_array(parallel_depth, "parallel_depth", (None, None), dtype=np.float32),
                "eta": np.array(float(eta)),
            }
            if parallel_mask is not None:
                shape = arrays["depth"].shape
                arrays["mask"] = as_array(parallel_mask, "parallel_mask", shape, dtype=np.int32)
            save_npz_deterministic(cam / frame_file("parallel_depth", ann_id), **arrays)

    @staticmethod
    def write_json(path: Path, data: dict[str, Any]) -> None:
        """Write JSON with sorted keys (deterministic), atomically."""
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)


def _sized(depth: np.ndarray, height: int, width: int, name: str) -> np.ndarray:
    arr = np.asarray(depth)
    if arr.shape != (height, width):
        raise ValueError(f"{name}: expected shape ({height}, {width}), got {arr.shape}")
    return arr
