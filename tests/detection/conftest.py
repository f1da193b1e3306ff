"""Synthetic depth frames for the detection tests: boxes on a plane, ray cast in numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from grasplab.core import CameraIntrinsics


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in its own frame, yawed about world z and resting at ``center``."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0

    @property
    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def look_at(eye: Sequence[float], target: Sequence[float]) -> np.ndarray:
    """T_world_cam of an OpenCV camera at ``eye`` looking at ``target`` (world z up)."""
    eye_a, target_a = np.asarray(eye, float), np.asarray(target, float)
    forward = target_a - eye_a
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-9:  # looking straight down: image x along world x
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = right, down, forward, eye_a
    return T


def render_depth(
    intrinsics: CameraIntrinsics, T_world_cam: np.ndarray, boxes: Sequence[Box],
    plane: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Ray cast a plane z = 0 and boxes; returns depth (H, W) float32 m and labels (H, W) int32.

    Labels are 0 for the plane or nothing and ``i + 1`` for box i.
    """
    u, v = np.meshgrid(np.arange(intrinsics.width), np.arange(intrinsics.height))
    rays = np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy,
                     np.ones_like(u, dtype=float)], axis=-1).reshape(-1, 3)
    origin = T_world_cam[:3, 3]
    dirs = rays @ T_world_cam[:3, :3].T  # world directions; the camera-z component is 1
    best = np.full(len(rays), np.inf)
    labels = np.zeros(len(rays), dtype=np.int32)
    if plane:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -origin[2] / dirs[:, 2]
        best = np.where((t > 0) & np.isfinite(t), t, np.inf)
    for i, box in enumerate(boxes):
        o = box.rotation.T @ (origin - np.asarray(box.center))
        d = dirs @ box.rotation
        half = np.asarray(box.size) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (-half - o) / d, (half - o) / d
        t_near = np.nanmax(np.minimum(t1, t2), axis=1)
        t_far = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (t_far >= t_near) & (t_near > 0) & (t_near < best)
        best = np.where(hit, t_near, best)
        labels[hit] = i + 1
    depth = np.where(np.isfinite(best), best, 0.0).astype(np.float32)
    shape = (intrinsics.height, intrinsics.width)
    return depth.reshape(shape), labels.reshape(shape)


def oblique_camera(distance: float = 0.6, tilt_deg: float = 30.0, azimuth: float = 0.4) -> np.ndarray:
    """T_world_cam looking at the world origin from ``distance`` at ``tilt_deg`` from vertical."""
    tilt = np.deg2rad(tilt_deg)
    eye = distance * np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth),
                               np.cos(tilt)])
    return look_at(eye, (0.0, 0.0, 0.0))


@dataclass(frozen=True)
class Scene:
    """A rendered synthetic frame with its ground truth."""

    boxes: list[Box]
    intrinsics: CameraIntrinsics
    T_world_cam: np.ndarray
    depth: np.ndarray
    labels: np.ndarray


def make_scene(boxes: list[Box], intrinsics: CameraIntrinsics | None = None,
               T_world_cam: np.ndarray | None = None) -> Scene:
    K = CameraIntrinsics(300.0, 300.0, 159.5, 119.5, 320, 240) if intrinsics is None else intrinsics
    T = oblique_camera() if T_world_cam is None else T_world_cam
    depth, labels = render_depth(K, T, boxes)
    return Scene(boxes, K, T, depth, labels)


@pytest.fixture(scope="module")
def box_scene() -> Scene:
    """A 5 × 12 × 4 cm box yawed by 30° on a plane, seen from 0.6 m at 30° from vertical."""
    return make_scene([Box(center=(0.0, 0.0, 0.02), size=(0.05, 0.12, 0.04),
                           yaw=np.deg2rad(30.0))])


@pytest.fixture(scope="module")
def two_box_scene() -> Scene:
    """Two boxes side by side on a plane (a 4 cm cube and a 6 × 3 × 5 cm block)."""
    return make_scene([
        Box(center=(-0.06, 0.03, 0.02), size=(0.04, 0.04, 0.04), yaw=0.3),
        Box(center=(0.07, -0.02, 0.025), size=(0.06, 0.03, 0.05), yaw=-0.5),
    ])
