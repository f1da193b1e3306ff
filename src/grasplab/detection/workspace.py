"""Workspace masks: restrict detection to the part of the scene the robot may grasp in.

A user usually knows where the bin is, not where the objects are. These helpers turn a known
bin pose into a pixel mask (an ROI for :class:`grasplab.detection.Observation`) without any
ground-truth segmentation. Frames: depth in the OpenCV camera frame, poses ``T_<to>_<from>``.
"""

from __future__ import annotations

import numpy as np

from grasplab.core import CameraIntrinsics, GraspGroup, depth_to_points, invert_transform
from grasplab.detection.observation import Observation
from grasplab.detection.protocol import Detector, SceneAwareDetector
from grasplab.detection.scene_state import SceneState
from grasplab.scenes import TRAY_FLOOR_HALF_EXTENT


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


class TrayWorkspace:
    """Wrap a detector so that it only grasps above the tray floor.

    The wrapped detector sees the observation with its mask replaced by :func:`workspace_mask`
    of the tray (intersected with the observation's own mask, if any). The observation must carry
    ``T_world_cam``.

    Args:
        detector: any object with ``detect(observation) -> GraspGroup``.
        T_world_tray: (4, 4) tray pose; identity when the world frame is the tray frame.
        half_extent: half side of the tray floor's square area (m).
    """

    def __init__(
        self,
        detector: Detector,
        T_world_tray: np.ndarray | None = None,
        half_extent: float = TRAY_FLOOR_HALF_EXTENT,
    ) -> None:
        self.detector = detector
        self.T_world_tray = np.eye(4) if T_world_tray is None else np.asarray(T_world_tray, dtype=float)
        self.half_extent = float(half_extent)

    def bind(self, state: SceneState) -> None:
        """Forward ``bind(state)`` to a :class:`SceneAwareDetector` inside (the oracle); else no-op.

        Without it a benchmark that binds detectors before each frame would silently skip the
        wrapped one, which then detects on a stale scene or raises for want of one.
        """
        if isinstance(self.detector, SceneAwareDetector):
            self.detector.bind(state)

    def detect(self, observation: Observation) -> GraspGroup:
        """Detect with the wrapped detector inside the tray's workspace (camera frame)."""
        if observation.T_world_cam is None:
            raise ValueError("TrayWorkspace needs an observation with T_world_cam (the camera pose)")
        roi = workspace_mask(observation.depth, observation.intrinsics, observation.T_world_cam,
                             self.T_world_tray, self.half_extent)
        if observation.mask is not None:
            roi &= np.asarray(observation.mask) > 0
        inner = Observation(observation.depth, observation.intrinsics, observation.rgb, roi,
                            observation.T_world_cam)
        return self.detector.detect(inner)
