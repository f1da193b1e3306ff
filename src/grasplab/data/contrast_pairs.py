"""Pairs of views of one scene for contrastive pretraining (GraspContrast, graspcontrast.txt §III-A).

No grasp label is read: a sample is two depth frames of the same scene, each back-projected,
thinned to one point per ``voxel_size`` voxel and augmented independently. Correspondences come
from the camera poses alone: both clouds are mapped to the table (world) frame *before*
augmentation (``T_table_cam = T_table_cam0 @ T_cam0_cam``), a point of view A is matched to its
nearest point of view B, and the pair is positive when they lie within ``match_radius`` (ε,
eq. 2). Key points are drawn by farthest point sampling among the matched points of view A.

Augmentation (the paper's §IV-A: "random flip along global YZ plane and random rotation along
upper Z-axis"), per view and independent: a rotation about the table's up axis (expressed in the
camera frame) through the view's centroid by an angle uniform in ±``max_rotation_deg``, then a
mirror across the camera's YZ plane (x → −x) with probability 0.5. The points and the xyz
channels of the organised image move alike; the world positions used for matching and for
false-negative elimination do not move (they are what the augmentation must not change).

A sample (tensors; K key points, N >= K points per view; camera frame after augmentation):

- ``points_a``, ``points_b`` (N, 3) float32; the first K rows are the key points of A and their
  matches in B, the rest are other points of the view (context for a point backbone);
- ``pixels_a``, ``pixels_b`` (N, 2) float32 ``(u, v)`` in the downsampled image;
- ``image_a``, ``image_b`` (C, h, w) float32: xyz, validity[, RGB] (:func:`organised_image`);
- ``world_a``, ``world_b`` (K, 3) float32 table-frame positions of the key points and matches;
- ``key_valid`` (K,) bool: False on padding rows (a pair with fewer than K matches);
- ``scene_id`` () int64 and ``views`` (2,) int64 (ann ids of A and B).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from grasplab.core.camera import CameraIntrinsics, depth_to_points  # noqa: E402
from grasplab.data.grasp_dataset import organised_image  # noqa: E402
from grasplab.labels.graspness_frame import voxel_downsample  # noqa: E402
from grasplab.scenes.reader import GraspNetDataset  # noqa: E402

__all__ = [
    "PairAugmentConfig",
    "ViewPairDataset",
    "farthest_point_indices",
    "match_views",
    "pair_augmentation",
]


@dataclass(frozen=True)
class PairAugmentConfig:
    """Independent augmentation of each view of a pair (degrees).

    Attributes:
        flip: mirror across the camera's YZ plane (x → −x) with probability 0.5.
        max_rotation_deg: rotation about the table's up axis through the view's centroid,
            uniform in ±this (180 = any angle).
    """

    flip: bool = True
    max_rotation_deg: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.max_rotation_deg <= 180:
            raise ValueError(f"max_rotation_deg: expected 0..180, got {self.max_rotation_deg}")


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` (radians) about the unit ``axis`` (Rodrigues)."""
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def pair_augmentation(
    config: PairAugmentConfig, up: np.ndarray, centre: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A random (4, 4) transform of one view's camera frame (its 3×3 part may be a reflection).

    Args:
        config: the augmentation.
        up: (3,) the table's up axis in the camera frame.
        centre: (3,) the point the rotation turns about (the view's centroid), camera frame.
        rng: the generator.

    >>> t = pair_augmentation(PairAugmentConfig(False, 0.0), np.array([0, 0, 1.0]), np.zeros(3),
    ...                       np.random.default_rng(0))
    >>> bool(np.allclose(t, np.eye(4)))
    True
    """
    angle = np.radians(rng.uniform(-config.max_rotation_deg, config.max_rotation_deg))
    rot = _axis_rotation(np.asarray(up, dtype=np.float64), angle)
    flip = np.diag([-1.0, 1.0, 1.0]) if config.flip and rng.random() < 0.5 else np.eye(3)
    out = np.eye(4)
    out[:3, :3] = flip @ rot
    out[:3, 3] = flip @ (centre - rot @ centre)
    return out


def match_views(world_a: np.ndarray, world_b: np.ndarray, radius: float) -> np.ndarray:
    """Index of each point of A's nearest point of B, or -1 when it is farther than ``radius``.

    Args:
        world_a: (Na, 3) world positions of view A's points (metres).
        world_b: (Nb, 3) world positions of view B's points.
        radius: ε, metres (> 0).

    Returns:
        (Na,) int64 indices into B, -1 where unmatched.
    """
    if radius <= 0:
        raise ValueError(f"match radius: expected > 0 m, got {radius}")
    if len(world_a) == 0 or len(world_b) == 0:
        return np.full(len(world_a), -1, dtype=np.int64)
    dist, index = cKDTree(world_b).query(world_a, k=1, distance_upper_bound=radius)
    return np.where(np.isfinite(dist), index, -1).astype(np.int64)


def farthest_point_indices(points: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``min(count, len(points))`` indices by farthest point sampling from a random first point.

    >>> farthest_point_indices(np.array([[0.0, 0, 0], [0.1, 0, 0], [1.0, 0, 0]]), 2,
    ...                        np.random.default_rng(0)).tolist()  # starts at 2, then the farthest
    [2, 0]
    """
    n = len(points)
    if count < 1:
        raise ValueError(f"count: expected >= 1, got {count}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    take = min(count, n)
    x, y, z = np.ascontiguousarray(np.asarray(points).T, dtype=np.float32)
    out = np.empty(take, dtype=np.int64)
    out[0] = rng.integers(n)
    nearest = np.full(n, np.inf, dtype=np.float32)
    dist, term = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    for i in range(1, take):  # in-place column arithmetic: ~20 us per pick on 16k points
        j = out[i - 1]
        np.square(np.subtract(x, x[j], out=dist), out=dist)
        dist += np.square(np.subtract(y, y[j], out=term), out=term)
        dist += np.square(np.subtract(z, z[j], out=term), out=term)
        np.minimum(nearest, dist, out=nearest)
        out[i] = int(np.argmax(nearest))
    return out


@dataclass(frozen=True)
class _View:
    """One frame, read once: depth, optional RGB, voxel points (camera frame) and their pixels."""

    depth: np.ndarray
    rgb: np.ndarray | None
    points: np.ndarray
    pixels: np.ndarray
    T_table_cam: np.ndarray  # noqa: N815 - pose naming convention


class ViewPairDataset(Dataset[dict[str, torch.Tensor]]):
    """Two augmented views of one scene per item (see the module docstring).

    Item ``i`` belongs to scene ``scene_ids[i // pairs_per_scene]``; its two distinct views and
    points are drawn from ``(seed, epoch, i)`` (:meth:`set_epoch`), so every epoch shows new
    pairs, and its augmentation from a stream of its own (the same pair with or without it).

    Args:
        root: dataset root (GraspNet layout, ``camera_poses.npy`` and ``cam0_wrt_table.npy``).
        scene_ids: scenes to pair views of (each needs at least two frames).
        camera: camera folder.
        num_points: N points per view (>= ``num_keypoints``).
        num_keypoints: K key points per pair.
        voxel_size: one point per voxel (metres).
        match_radius: ε (metres).
        augment: per-view augmentation, None for none.
        seed: seed of the draws.
        use_rgb: add RGB channels to the image.
        downsample: image subsampling of the network input (pixels scaled alike).
        pairs_per_scene: items per scene and epoch.
        cache_frames: frames kept in memory once read.
    """

    def __init__(
        self,
        root: Path | str,
        scene_ids: Sequence[int],
        camera: str = "realsense",
        num_points: int = 4096,
        num_keypoints: int = 1024,
        voxel_size: float = 0.005,
        match_radius: float = 0.0075,
        augment: PairAugmentConfig | None = None,
        seed: int = 0,
        use_rgb: bool = False,
        downsample: int = 2,
        pairs_per_scene: int = 8,
        cache_frames: int = 600,
    ) -> None:
        if num_keypoints < 1 or num_points < num_keypoints:
            raise ValueError(f"need 1 <= num_keypoints <= num_points, got {num_keypoints}, {num_points}")
        if pairs_per_scene < 1 or downsample < 1:
            raise ValueError("pairs_per_scene and downsample must be >= 1")
        self.reader = GraspNetDataset(root, camera)
        self.scene_ids = [int(s) for s in scene_ids]
        self.frames = {s: self.reader.frame_ids(s) for s in self.scene_ids}
        for scene, frames in self.frames.items():
            if len(frames) < 2:
                raise ValueError(f"scene {scene} under {root} has {len(frames)} frame(s); a pair needs 2")
        self.num_points, self.num_keypoints = num_points, num_keypoints
        self.voxel_size, self.match_radius = voxel_size, match_radius
        self.augment, self.seed, self.use_rgb = augment, seed, use_rgb
        self.downsample, self.pairs_per_scene = downsample, pairs_per_scene
        self.epoch = 0
        self._cache: OrderedDict[tuple[int, int], _View] = OrderedDict()
        self._capacity = cache_frames
        self._intrinsics: dict[int, CameraIntrinsics] = {}

    def __len__(self) -> int:
        return len(self.scene_ids) * self.pairs_per_scene

    def set_epoch(self, epoch: int) -> None:
        """Select the pair and augmentation stream of ``epoch``."""
        self.epoch = int(epoch)

    def intrinsics(self, scene: int) -> CameraIntrinsics:
        """The camera of a scene (read once)."""
        if scene not in self._intrinsics:
            self._intrinsics[scene] = self.reader.intrinsics(scene)
        return self._intrinsics[scene]

    def view(self, scene: int, ann: int) -> _View:
        """Frame ``ann`` of ``scene``: depth, RGB when used, voxel points, pixels and pose."""
        key = (scene, ann)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        depth = self.reader.depth(scene, ann)
        rgb = self.reader.frame(scene, ann).rgb if self.use_rgb else None
        points, pixels = depth_to_points(depth, self.intrinsics(scene))
        keep = voxel_downsample(points, self.voxel_size)
        pose = self.reader.T_table_cam0(scene) @ self.reader.camera_poses(scene)[ann]
        item = _View(depth, rgb, points[keep], pixels[keep], pose)
        self._cache[key] = item
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return item

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        scene = self.scene_ids[int(index) // self.pairs_per_scene]
        ann_a, ann_b = (int(v) for v in rng.choice(self.frames[scene], 2, replace=False))
        a, b = self.view(scene, ann_a), self.view(scene, ann_b)
        world_a, world_b = _to_world(a), _to_world(b)
        match = match_views(world_a, world_b, self.match_radius)
        matched = np.flatnonzero(match >= 0)
        keys = matched[farthest_point_indices(world_a[matched], self.num_keypoints, rng)]
        valid = np.zeros(self.num_keypoints, dtype=bool)
        valid[: len(keys)] = True
        if len(keys) == 0:  # no overlap at all: any points, every row padding
            keys = np.zeros(1, dtype=np.int64)
            match = np.zeros(len(world_a), dtype=np.int64)
        keys = np.resize(keys, self.num_keypoints)
        partners = match[keys]
        sample: dict[str, torch.Tensor] = {}
        moves = np.random.default_rng((self.seed, self.epoch, int(index), 1))  # augmentation stream
        for name, v, first in (("a", a, keys), ("b", b, partners)):
            sample.update(self._view_tensors(scene, v, first, rng, moves, name))
        sample["world_a"] = torch.from_numpy(world_a[keys].astype(np.float32))
        sample["world_b"] = torch.from_numpy(world_b[partners].astype(np.float32))
        sample["key_valid"] = torch.from_numpy(valid)
        sample["scene_id"] = torch.tensor(scene, dtype=torch.int64)
        sample["views"] = torch.tensor([ann_a, ann_b], dtype=torch.int64)
        return sample

    def _view_tensors(
        self,
        scene: int,
        view: _View,
        first: np.ndarray,
        rng: np.random.Generator,
        moves: np.random.Generator,
        name: str,
    ) -> dict[str, torch.Tensor]:
        """Points (``first`` then random others), pixels and image of one augmented view."""
        count = len(view.points)
        rest = rng.choice(count, self.num_points - len(first), replace=count < self.num_points)
        pick = np.concatenate([first, rest])
        transform = np.eye(4)
        if self.augment is not None:
            up = view.T_table_cam[2, :3]  # the table's z axis in the camera frame
            transform = pair_augmentation(self.augment, up, view.points.mean(axis=0), moves)
        points = view.points[pick] @ transform[:3, :3].T + transform[:3, 3]
        image = organised_image(view.depth, self.intrinsics(scene), transform, view.rgb, self.downsample)
        return {
            f"points_{name}": torch.from_numpy(points.astype(np.float32)),
            f"pixels_{name}": torch.from_numpy((view.pixels[pick] / self.downsample).astype(np.float32)),
            f"image_{name}": torch.from_numpy(image),
        }


def _to_world(view: _View) -> np.ndarray:
    """(N, 3) table-frame positions of a view's voxel points."""
    pose = view.T_table_cam
    return view.points @ pose[:3, :3].T + pose[:3, 3]
