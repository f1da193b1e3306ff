"""Workspace masks: restrict detection to the part of the scene the robot may grasp in.

A user usually knows where the bin is, not where the objects are. These helpers turn a known
bin pose into a pixel mask (an ROI for :class:`grasplab.detection.Observation`) without any
ground-truth segmentation. Frames: depth in the OpenCV camera frame, poses ``T_<to>_<from>``.
"""

from __future__ import annotations

import numpy as np

from grasplab.core import CameraIntrinsics, depth_to_points, invert_transform


def workspace_mask(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    T_world_cam: np.ndarray,
    T_world_tray: np.ndarray,
    half_extent: float,
) -> np.ndarray:
    """(H, W) bool: pixels whose surface point lies above the tray floor's square area.

    Args:
        depth: (H, W) metres.
        intrinsics: the camera.
        T_world_cam: (4, 4) camera pose.
        T_world_tray: (4, 4) tray pose (floor centred at its origin).
        half_extent: half side of the square area in the tray's x-y plane (m).
    """
    points, uv = depth_to_points(depth, intrinsics)
    T_tray_cam = invert_transform(T_world_tray) @ T_world_cam
    local = points @ T_tray_cam[:3, :3].T + T_tray_cam[:3, 3]
    inside = np.all(np.abs(local[:, :2]) < half_extent, axis=1)
    mask = np.zeros(depth.shape, dtype=bool)
    mask[uv[inside, 1], uv[inside, 0]] = True
    return mask
