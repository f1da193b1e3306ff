"""Read a dataset in the GraspNet-1Billion layout: ours (``grasplab scenes generate``) or the real one.

The layout is described in :mod:`grasplab.scenes.layout` and in the reference protocol §7:
``scenes/scene_%04d/<camera>/{rgb,depth,label,meta,annotations}/%04d.*``, ``camK.npy``,
``camera_poses.npy``, ``cam0_wrt_table.npy`` and ``models/%03d/{nontextured.ply,textured.obj}``.

Frames and units:

- object poses are ``T_cam_obj`` (object model frame → the camera of that annotation frame), as the
  reference annotation XML stores them. :meth:`GraspNetDataset.object_poses` reproduces the
  reference precision exactly: 4-decimal XML text → quaternion → sxyz Euler angles in degrees →
  rotation matrix → **float32** 4x4 (graspnetAPI ``xmlReader.get_pose_vectors`` followed by
  ``parse_posevector``), returned as float64 for convenience;
- ``camera_poses(scene)[i]`` is ``T_cam0_cam_i`` (camera of frame ``i`` in the camera of frame 0);
- ``T_table_cam0(scene)`` is ``cam0_wrt_table.npy``; the table top is the table frame's z = 0 plane;
- depth images are uint16 millimetres on disk (``factor_depth`` 1000) and float32 metres here.

Annotation XML parsing and the reference pose precision live in
:mod:`grasplab.scenes.annotations`.

The reader accepts a root holding only ``models/``, the annotations, ``camera_poses.npy`` and
``cam0_wrt_table.npy`` (no images): everything but :meth:`GraspNetDataset.frame` works there.
The real dataset has 256 frames per scene; ours may hold fewer (``--views``), numbered 0..V-1:
the reader takes the frames that exist. Missing files raise :class:`FileNotFoundError` and
unreadable ones :class:`ValueError`, both naming the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from grasplab.core.camera import CameraIntrinsics, depth_to_points
from grasplab.core.validation import load_numeric_npy
from grasplab.scenes.annotations import (  # Euler helpers: re-exported for grasplab.scenes
    euler_sxyz_to_matrix,
    quaternion_to_euler_sxyz,
    read_annotation_xml,
    reference_pose_matrices,
)
from grasplab.scenes.layout import (
    CAMERA_NAMES,
    DEPTH_FACTOR,
    MANIFEST_NAME,
    REFERENCE_IMAGE_SIZE,
    frame_file,
    model_dir,
    scene_dir,
)

__all__ = [
    "Frame",
    "GraspNetDataset",
    "euler_sxyz_to_matrix",
    "quaternion_to_euler_sxyz",
    "read_annotation_xml",
    "reference_pose_matrices",
]

@dataclass(frozen=True)
class Frame:
    """One annotated RGB-D frame of a scene.

    Attributes:
        scene_id: scene index.
        ann_id: frame (annotation) index within the scene.
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 metres, 0 = invalid.
        mask: (H, W) int32 instance mask, ``object_id + 1``, 0 = background.
        intrinsics: pinhole intrinsics (``camK.npy`` and the image size).
        object_ids: ids of the scene's objects, in annotation order.
        T_cam_obj: (K, 4, 4) float64 object poses in this frame's camera (reference precision).
        T_cam0_cam: (4, 4) this camera in the camera of frame 0.
        T_table_cam: (4, 4) this camera in the table frame.
    """

    scene_id: int
    ann_id: int
    rgb: np.ndarray
    depth: np.ndarray
    mask: np.ndarray
    intrinsics: CameraIntrinsics
    object_ids: tuple[int, ...]
    T_cam_obj: np.ndarray
    T_cam0_cam: np.ndarray
    T_table_cam: np.ndarray

    def point_cloud(self, in_table_frame: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Back-project the valid depth pixels (reference ``loadScenePointCloud``).

        Args:
            in_table_frame: return points in the table frame instead of the camera frame.

        Returns:
            (N, 3) float64 points in metres and (N, 2) int64 pixel coordinates (u, v).
        """
        points, pixels = depth_to_points(self.depth, self.intrinsics)
        if in_table_frame:
            points = points @ self.T_table_cam[:3, :3].T + self.T_table_cam[:3, 3]
        return points, pixels


def _load_npy(path: Path, shape: tuple[int | None, ...]) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    try:
        array = load_numeric_npy(path, "array")
    except (OSError, ValueError) as exc:
        raise ValueError(f"could not read {path}: {exc}") from exc
    if array.ndim != len(shape) or any(s not in (None, a) for s, a in zip(shape, array.shape, strict=False)):
        raise ValueError(f"{path}: array of shape {array.shape}, expected {shape} (None = any)")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{path}: array holds non-finite values")
    return np.asarray(array, dtype=np.float64)


def _load_image(path: Path, mode: str | None = None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image if mode is None else image.convert(mode))
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise ValueError(f"could not read image {path}: {exc}") from exc


class GraspNetDataset:
    """Typed access to a dataset in the GraspNet-1Billion layout (ours or the real one).

    Args:
        root: dataset root (holds ``scenes/`` and ``models/``).
        camera: ``"realsense"`` or ``"kinect"``, the camera folder to read.

    Raises:
        ValueError: unknown camera name.
        FileNotFoundError: ``root/scenes`` does not exist.
    """

    def __init__(self, root: Path | str, camera: str = "realsense") -> None:
        if camera not in CAMERA_NAMES:
            raise ValueError(f"camera must be one of {CAMERA_NAMES}, got {camera!r}")
        self.root = Path(root)
        self.camera = camera
        if not (self.root / "scenes").is_dir():
            raise FileNotFoundError(f"no scenes folder under the dataset root: {self.root / 'scenes'}")

    # ----------------------------------------------------------------------- paths and listings
    def _scene(self, scene_id: int) -> Path:
        path = scene_dir(self.root, scene_id)
        if not path.is_dir():
            raise FileNotFoundError(f"scene {scene_id} not found: {path}")
        return path

    def _camera_dir(self, scene_id: int) -> Path:
        return self._scene(scene_id) / self.camera

    def scene_ids(self) -> list[int]:
        """Sorted ids of the scenes holding this camera's folder."""
        ids = []
        for path in (self.root / "scenes").iterdir():
            match = re.fullmatch(r"scene_(\d{4,})", path.name)
            if match and (path / self.camera).is_dir():
                ids.append(int(match.group(1)))
        return sorted(ids)

    def object_ids(self, scene_id: int) -> list[int]:
        """Object ids of a scene from ``object_id_list.txt`` (annotation order)."""
        path = self._scene(scene_id) / "object_id_list.txt"
        if not path.is_file():
            raise FileNotFoundError(f"object list not found: {path}")
        try:
            return [int(line) for line in path.read_text().split()]
        except ValueError as exc:
            raise ValueError(f"{path}: expected one integer object id per line") from exc

    def frame_ids(self, scene_id: int) -> list[int]:
        """Sorted ids of the frames that exist (annotation XML files, else RGB images)."""
        cam = self._camera_dir(scene_id)
        for folder, suffix in (("annotations", ".xml"), ("rgb", ".png")):
            files = sorted((cam / folder).glob(f"[0-9][0-9][0-9][0-9]{suffix}"))
            if files:
                return [int(f.stem) for f in files]
        raise FileNotFoundError(f"no annotation or rgb frames under {cam}")

    # ----------------------------------------------------------------------------- geometry
    def object_poses(self, scene_id: int, ann_id: int) -> tuple[list[int], np.ndarray]:
        """Object poses of one frame from its annotation XML, at the reference precision.

        Returns:
            Object ids and (K, 4, 4) float64 ``T_cam_obj`` whose values are exactly the float32
            matrices graspnetAPI's evaluator uses.
        """
        path = self._camera_dir(scene_id) / frame_file("annotations", ann_id)
        ids, positions, quaternions = read_annotation_xml(path)
        return ids, reference_pose_matrices(positions, quaternions).astype(np.float64)

    def camera_poses(self, scene_id: int) -> np.ndarray:
        """(F, 4, 4) ``T_cam0_cam`` per frame (F = 256 in the real dataset)."""
        return _load_npy(self._camera_dir(scene_id) / "camera_poses.npy", (None, 4, 4))

    def T_table_cam0(self, scene_id: int) -> np.ndarray:  # noqa: N802 - pose naming convention
        """(4, 4) pose of the camera of frame 0 in the table frame (``cam0_wrt_table.npy``)."""
        return _load_npy(self._camera_dir(scene_id) / "cam0_wrt_table.npy", (4, 4))

    def _image_size(self, scene_id: int) -> tuple[int, int]:
        manifest = self.root / MANIFEST_NAME
        if manifest.is_file():
            try:
                size = json.loads(manifest.read_text())["image_size"]
                return int(size[0]), int(size[1])
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise ValueError(f"{manifest}: no valid image_size [width, height]") from exc
        from PIL import Image

        for folder in ("depth", "rgb"):
            files = sorted((self._camera_dir(scene_id) / folder).glob("*.png"))
            if files:
                with Image.open(files[0]) as image:
                    return int(image.width), int(image.height)
        return REFERENCE_IMAGE_SIZE

    def intrinsics(self, scene_id: int) -> CameraIntrinsics:
        """Intrinsics from ``camK.npy``; the image size from the manifest, an image, or 1280x720."""
        K = _load_npy(self._camera_dir(scene_id) / "camK.npy", (3, 3))  # noqa: N806
        width, height = self._image_size(scene_id)
        return CameraIntrinsics.from_matrix(K, width, height)

    # ------------------------------------------------------------------------------- frames
    def depth(self, scene_id: int, ann_id: int, folder: str = "depth") -> np.ndarray:
        """(H, W) float32 depth in metres from a uint16 millimetre PNG (``depth`` or ``depth_clean``)."""
        path = self._camera_dir(scene_id) / frame_file(folder, ann_id)
        raw = _load_image(path)
        if raw.ndim != 2:
            raise ValueError(f"{path}: depth image must be single-channel, got shape {raw.shape}")
        return (raw.astype(np.float32) / np.float32(DEPTH_FACTOR)).astype(np.float32)

    def parallel_depth(self, scene_id: int, ann_id: int) -> tuple[np.ndarray, float]:
        """Parallel-projection depth (grasplab extra): (H, W) float32 metres and eta (px/m)."""
        path = self._camera_dir(scene_id) / frame_file("parallel_depth", ann_id)
        if not path.is_file():
            raise FileNotFoundError(f"parallel depth not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                return np.asarray(data["depth"], dtype=np.float32), float(data["eta"])
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"could not read parallel depth {path}: {exc}") from exc

    def frame(self, scene_id: int, ann_id: int) -> Frame:
        """Load one frame: RGB, depth (m), instance mask, intrinsics, poses."""
        cam = self._camera_dir(scene_id)
        rgb = _load_image(cam / frame_file("rgb", ann_id), mode="RGB")
        depth = self.depth(scene_id, ann_id)
        mask = _load_image(cam / frame_file("label", ann_id)).astype(np.int32)
        if not rgb.shape[:2] == depth.shape == mask.shape:
            raise ValueError(
                f"scene {scene_id} frame {ann_id}: rgb {rgb.shape[:2]}, depth {depth.shape} and "
                f"label {mask.shape} sizes differ"
            )
        K = _load_npy(cam / "camK.npy", (3, 3))  # noqa: N806
        intrinsics = CameraIntrinsics.from_matrix(K, depth.shape[1], depth.shape[0])
        ids, poses = self.object_poses(scene_id, ann_id)
        camera_poses = self.camera_poses(scene_id)
        if ann_id >= len(camera_poses):
            raise ValueError(
                f"{cam / 'camera_poses.npy'} has {len(camera_poses)} poses, no pose for frame {ann_id}"
            )
        T_cam0_cam = camera_poses[ann_id]  # noqa: N806
        return Frame(
            scene_id=scene_id,
            ann_id=ann_id,
            rgb=np.ascontiguousarray(rgb),
            depth=depth,
            mask=mask,
            intrinsics=intrinsics,
            object_ids=tuple(ids),
            T_cam_obj=poses,
            T_cam0_cam=T_cam0_cam,
            T_table_cam=self.T_table_cam0(scene_id) @ T_cam0_cam,
        )

    def scene_record(self, scene_id: int) -> dict[str, Any]:
        """The scene's ``scene_record.json`` (grasplab extra) as a dict."""
        path = self._scene(scene_id) / "scene_record.json"
        if not path.is_file():
            raise FileNotFoundError(f"scene record not found: {path}")
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(f"could not parse {path}: {exc}") from exc
        return data

    # ------------------------------------------------------------------------------- models
    def _model_file(self, obj_id: int, name: str) -> Path:
        path = model_dir(self.root, obj_id) / name
        if not path.is_file():
            raise FileNotFoundError(f"model file of object {obj_id} not found: {path}")
        return path

    def model_points(self, obj_id: int) -> np.ndarray:
        """(P, 3) float64 vertices of ``nontextured.ply`` (model frame, m), read as graspnetAPI does."""
        path = self._model_file(obj_id, "nontextured.ply")
        try:
            loaded = trimesh.load(path, process=False)
        except Exception as exc:  # trimesh raises many exception types on bad files
            raise ValueError(f"could not read model points {path}: {exc}") from exc
        vertices = np.asarray(getattr(loaded, "vertices", np.empty((0, 3))), dtype=np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
            raise ValueError(f"{path}: no vertices read")
        return vertices

    def model_mesh(self, obj_id: int) -> trimesh.Trimesh:
        """The object's ``textured.obj`` mesh (model frame, metres)."""
        path = self._model_file(obj_id, "textured.obj")
        try:
            loaded = trimesh.load(path, force="mesh", process=False)
        except Exception as exc:  # trimesh raises many exception types on bad files
            raise ValueError(f"could not read model mesh {path}: {exc}") from exc
        if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
            raise ValueError(f"{path}: no triangle mesh read")
        return loaded
