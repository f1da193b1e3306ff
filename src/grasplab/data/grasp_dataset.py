"""A torch dataset of GSNet training samples: observed clouds with their graspness labels.

Per frame it reads the graspness labels of ``grasplab label graspness``
(:func:`~grasplab.labels.graspness_io.load_frame_graspness`: the observed points, their pixels,
instance, label row and point graspness, the object poses) and the depth (and colour) image
through :class:`grasplab.scenes.reader.GraspNetDataset`, both cached in memory once read. A
sample draws ``num_points`` of the frame's points and an augmentation (flip across the YZ plane
with p 0.5, a rotation about the camera x axis in ±``max_rotation_deg``, a translation in the
facts' ranges) seeded by ``(seed, epoch, index)``; the points, the organised point image and the
object poses move alike, and the view / angle re-indexing of the labels
(:func:`~grasplab.data.grasp_targets.camera_grasp_index`) is computed from the moved poses.

A sample is a dict of tensors (camera frame after augmentation, metres):

- ``points`` (N, 3) float32, ``pixels`` (N, 2) float32 ``(u, v)`` of the (downsampled) image;
- ``image`` (C, h, w) float32: xyz, validity (1 / 0) and RGB in [0, 1] when ``use_rgb``;
- ``objectness`` (N,) int64 (instance > 0), ``graspness`` (N,) float32 in [0, 1];
- ``label_row`` (N,) int64 row of the scene labels (-1 = none), ``object_slot`` (N,) int64
  (index into the frame's objects, -1 = background);
- ``view_map`` (K_max, V) int64 and ``angle_map`` (K_max, V, A) int64 per object slot;
- ``scene_id`` () int64, ``index`` () int64.

The object-frame scene labels (large: P × V × A × D) stay out of the batch: the task looks the
seeds' targets up in :attr:`GraspFrameDataset.labels` (:class:`SceneLabelStore`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from grasplab.core.camera import CameraIntrinsics, depth_to_points  # noqa: E402
from grasplab.data.frames import list_frames_with_files  # noqa: E402
from grasplab.data.grasp_targets import camera_grasp_index  # noqa: E402
from grasplab.labels.graspness import SceneGraspLabels  # noqa: E402
from grasplab.labels.graspness_frame import voxel_downsample  # noqa: E402
from grasplab.labels.graspness_io import (  # noqa: E402
    frame_graspness_path,
    load_frame_graspness,
    load_scene_grasp_labels,
    scene_graspness_path,
)
from grasplab.scenes.reader import GraspNetDataset  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = [
    "GraspAugmentConfig",
    "GraspFrameDataset",
    "SceneLabelStore",
    "augmentation_transform",
    "frame_inputs",
    "list_graspness_frames",
    "organised_image",
]


@dataclass(frozen=True)
class GraspAugmentConfig:
    """Augmentation of GSNet training clouds (wave2-facts.md §1; metres, degrees).

    Attributes:
        flip: mirror across the camera's YZ plane (x → −x) with probability 0.5.
        max_rotation_deg: rotation about the camera x axis, uniform in ±this.
        translation_xy: uniform shift in ±this along x and y.
        translation_z: (low, high) uniform shift along z.
    """

    flip: bool = True
    max_rotation_deg: float = 30.0
    translation_xy: float = 0.2
    translation_z: tuple[float, float] = (-0.1, 0.2)


def augmentation_transform(config: GraspAugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A random (4, 4) transform of the camera frame (its 3×3 part may be a reflection).

    >>> still = GraspAugmentConfig(False, 0.0, 0.0, (0.0, 0.0))
    >>> augmentation_transform(still, np.random.default_rng(0))[:3, 3]
    array([0., 0., 0.])
    """
    flip = np.diag([-1.0, 1.0, 1.0]) if config.flip and rng.random() < 0.5 else np.eye(3)
    angle = np.radians(rng.uniform(-config.max_rotation_deg, config.max_rotation_deg))
    c, s = np.cos(angle), np.sin(angle)
    rot_x = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    out = np.eye(4)
    out[:3, :3] = rot_x @ flip
    shift_xy = rng.uniform(-config.translation_xy, config.translation_xy, size=2)
    out[:3, 3] = [shift_xy[0], shift_xy[1], rng.uniform(*config.translation_z)]
    return out


def organised_image(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    transform: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
    downsample: int = 1,
) -> np.ndarray:
    """The network's image: per pixel camera-frame xyz (metres), validity and optionally RGB.

    Args:
        depth: (H, W) float32 metres, 0 = invalid.
        intrinsics: the camera.
        transform: (4, 4) applied to the points (augmentation); None = identity.
        rgb: (H, W, 3) uint8 or None.
        downsample: keep every ``downsample``-th pixel in both directions.

    Returns:
        (C, H // downsample, W // downsample) float32, C = 4 (7 with RGB); invalid pixels are 0.
    """
    z = np.asarray(depth, dtype=np.float32)[::downsample, ::downsample]
    height, width = z.shape
    u = np.arange(width, dtype=np.float32) * downsample
    v = np.arange(height, dtype=np.float32) * downsample
    x = (u[None, :] - intrinsics.cx) / intrinsics.fx * z
    y = (v[:, None] - intrinsics.cy) / intrinsics.fy * z
    xyz = np.stack([x, y, z], axis=0)
    valid = z > 0
    if transform is not None:
        moved = np.tensordot(transform[:3, :3].astype(np.float32), xyz, axes=1)
        xyz = moved + transform[:3, 3].astype(np.float32)[:, None, None]
    xyz = xyz * valid[None]
    channels = [xyz, valid[None].astype(np.float32)]
    if rgb is not None:
        channels.append(
            np.asarray(rgb)[::downsample, ::downsample].transpose(2, 0, 1).astype(np.float32) / 255.0
        )
    return np.ascontiguousarray(np.concatenate(channels, axis=0), dtype=np.float32)


def frame_inputs(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    num_points: int,
    rng: np.random.Generator | int | None = None,
    rgb: np.ndarray | None = None,
    downsample: int = 1,
    voxel_size: float = 0.005,
    mask: np.ndarray | None = None,
) -> dict[str, torch.Tensor]:
    """Network inputs of one depth frame, as the training samples build them (no labels).

    The valid pixels (inside ``mask`` when given) are back-projected, thinned to one point per
    ``voxel_size`` voxel (the first in row-major order, as the graspness labels) and
    ``num_points`` of them drawn (with replacement when fewer).

    Args:
        depth: (H, W) float32 metres, 0 = invalid.
        intrinsics: the camera.
        num_points: N.
        rng: generator or seed of the draw.
        rgb: (H, W, 3) uint8 for a network with ``use_rgb``.
        downsample: image subsampling of the network (``data.downsample`` of its training).
        voxel_size: metres; 0 keeps every pixel.
        mask: optional (H, W) bool region of interest.

    Returns:
        ``points`` (N, 3), ``pixels`` (N, 2), ``image`` (C, h, w) float32 tensors (unbatched).
    """
    gen = np.random.default_rng(rng)
    points, pixels = depth_to_points(depth, intrinsics, mask)
    keep = voxel_downsample(points, voxel_size)
    pick = gen.choice(keep, num_points, replace=len(keep) < num_points)
    return {
        "points": torch.as_tensor(points[pick], dtype=torch.float32),
        "pixels": torch.as_tensor(pixels[pick] / downsample, dtype=torch.float32),
        "image": torch.from_numpy(organised_image(depth, intrinsics, None, rgb, downsample)),
    }


def list_graspness_frames(
    root: Path | str, camera: str = "realsense", scene_ids: Sequence[int] | None = None
) -> list[tuple[int, int]]:
    """Sorted (scene_id, ann_id) pairs with both graspness label files under ``root``."""

    def folder_of(scene: int) -> Path | None:
        path = scene_graspness_path(root, scene, camera)
        return path.parent if path.is_file() else None

    return list_frames_with_files(root, camera, scene_ids, folder_of)


class SceneLabelStore:
    """Object-frame scene labels read on demand and kept for the last ``capacity`` scenes."""

    def __init__(self, root: Path | str, camera: str = "realsense", capacity: int = 8) -> None:
        self.root, self.camera, self.capacity = Path(root), camera, capacity
        self._cache: OrderedDict[int, SceneGraspLabels] = OrderedDict()

    def get(self, scene_id: int) -> SceneGraspLabels:
        """The labels of a scene (read once, then cached)."""
        scene_id = int(scene_id)
        if scene_id in self._cache:
            self._cache.move_to_end(scene_id)
            return self._cache[scene_id]
        labels = load_scene_grasp_labels(scene_graspness_path(self.root, scene_id, self.camera))
        self._cache[scene_id] = labels
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return labels


class GraspFrameDataset(Dataset[dict[str, torch.Tensor]]):
    """GSNet training samples over labelled frames (see the module docstring).

    Args:
        root: dataset root.
        frames: (scene_id, ann_id) pairs with graspness labels.
        camera: camera folder.
        num_points: N points drawn per sample (with replacement when a frame has fewer).
        augment: augmentation, or None (validation: the same points every epoch).
        seed: seed of the point draws and augmentations.
        use_rgb: add RGB channels to the image.
        downsample: image subsampling factor (pixels are scaled alike).
        num_views: V views of the labels.
        num_angles: A angles of the labels.
        max_objects: K_max object slots per sample.
    """

    def __init__(
        self,
        root: Path | str,
        frames: Sequence[tuple[int, int]],
        camera: str = "realsense",
        num_points: int = 8192,
        augment: GraspAugmentConfig | None = None,
        seed: int = 0,
        use_rgb: bool = False,
        downsample: int = 1,
        num_views: int = 300,
        num_angles: int = 12,
        max_objects: int = 32,
    ) -> None:
        if not frames:
            raise ValueError("GraspFrameDataset: no frames")
        if num_points < 1 or downsample < 1:
            raise ValueError(f"need num_points >= 1 and downsample >= 1, got {num_points}, {downsample}")
        self.root, self.camera = Path(root), camera
        self.frames: list[tuple[int, int]] = [(int(s), int(a)) for s, a in frames]
        self.num_points, self.augment, self.seed = num_points, augment, seed
        self.use_rgb, self.downsample = use_rgb, downsample
        self.num_views, self.num_angles, self.max_objects = num_views, num_angles, max_objects
        self.epoch = 0
        self.reader = GraspNetDataset(root, camera)
        self.labels = SceneLabelStore(root, camera)
        self._frames: dict[tuple[int, int], dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.frames)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch``."""
        self.epoch = int(epoch)

    def _frame(self, key: tuple[int, int]) -> dict[str, Any]:
        if key not in self._frames:
            scene, ann = key
            labels = load_frame_graspness(frame_graspness_path(self.root, scene, ann, self.camera))
            if len(labels.object_ids) > self.max_objects:
                raise ValueError(
                    f"scene {scene}: {len(labels.object_ids)} objects > max_objects {self.max_objects}"
                )
            rgb = self.reader.frame(scene, ann).rgb if self.use_rgb else None
            self._frames[key] = {
                "labels": labels,
                "depth": self.reader.depth(scene, ann),
                "rgb": rgb,
                "intrinsics": self.reader.intrinsics(scene),
            }
        return self._frames[key]

    def _maps(self, poses: np.ndarray, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        view_map = np.zeros((self.max_objects, self.num_views), np.int64)
        angle_map = np.zeros((self.max_objects, self.num_views, self.num_angles), np.int64)
        for k, pose in enumerate(poses):
            view_map[k], angle_map[k] = camera_grasp_index(
                transform[:3, :3] @ pose[:3, :3], self.num_views, self.num_angles
            )
        return view_map, angle_map

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        key = self.frames[index]
        cached = self._frame(key)
        labels = cached["labels"]
        epoch = self.epoch if self.augment is not None else 0
        rng = np.random.default_rng([self.seed, epoch, index])
        num = len(labels.points)
        if num == 0:
            raise ValueError(f"frame {key}: no observed points")
        pick = rng.choice(num, self.num_points, replace=num < self.num_points)
        transform = np.eye(4) if self.augment is None else augmentation_transform(self.augment, rng)
        points = labels.points[pick].astype(np.float64) @ transform[:3, :3].T + transform[:3, 3]
        instance = labels.instance[pick].astype(np.int64)
        lut = np.full(
            max(int(instance.max(initial=0)), int(labels.object_ids.max(initial=-1)) + 1) + 1, -1, np.int64
        )
        lut[labels.object_ids.astype(np.int64) + 1] = np.arange(len(labels.object_ids))
        slots = lut[instance]
        view_map, angle_map = self._maps(labels.T_cam_obj, transform)
        image = organised_image(
            cached["depth"], cached["intrinsics"], transform, cached["rgb"], self.downsample
        )
        pixels = (labels.pixels[pick].astype(np.float32)) / np.float32(self.downsample)
        return {
            "points": torch.from_numpy(points.astype(np.float32)),
            "pixels": torch.from_numpy(pixels),
            "image": torch.from_numpy(image),
            "objectness": torch.from_numpy((instance > 0).astype(np.int64)),
            "graspness": torch.from_numpy(labels.graspness[pick].astype(np.float32)),
            "label_row": torch.from_numpy(labels.label_index[pick].astype(np.int64)),
            "object_slot": torch.from_numpy(slots),
            "view_map": torch.from_numpy(view_map),
            "angle_map": torch.from_numpy(angle_map),
            "scene_id": torch.tensor(key[0], dtype=torch.int64),
            "index": torch.tensor(index, dtype=torch.int64),
        }
