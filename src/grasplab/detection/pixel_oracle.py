"""An upper reference for the pixel-level detector: PLGP pixel labels decoded as if predicted.

:class:`PixelLabelOracle` knows the scene (object ids and poses, via :meth:`PixelLabelOracle.bind`,
like :class:`grasplab.detection.baselines.OracleDetector`: both are
:class:`~grasplab.detection.SceneAwareDetector`). For each observation it renders the
parallel depth image of the bound scene from the observation's camera, computes the PLGP pixel
labels of the frame (:func:`grasplab.labels.pixel_labels`, the targets the networks are trained
on) and hands them to the same decoder as :class:`grasplab.detection.PixelDetector`:

- ``Q_p`` is the label quality map smoothed with a ``smoothing`` x ``smoothing`` box filter, so
  peaks fall inside large graspable regions (a trained network's output is smooth in the same way);
- ``Q_theta`` is the label angle quality smoothed the same way, ``W_g`` the labelled width (the
  mean of the labelled widths in the window where the pixel itself has none).

It measures what a perfectly trained network could reach with the labels and the decoder as they
are; a learned model should be compared against it as well as against the analytic detector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy.ndimage import uniform_filter

from grasplab.core import GraspGroup, GripperModel, pixel_grasps_to_grasps
from grasplab.detection.observation import Observation
from grasplab.detection.scene_state import SceneState
from grasplab.labels import PixelLabelConfig, pixel_labels
from grasplab.scenes import PosedMesh, render_parallel_depth, table_eta, table_mesh, tray_mesh

__all__ = ["PixelLabelOracle", "PixelOracleConfig", "label_maps_for_decoding"]


class _Library(Protocol):
    def load(self, object_id: int) -> Any: ...  # noqa: D102


@dataclass(frozen=True)
class PixelOracleConfig:
    """Settings of :class:`PixelLabelOracle`.

    Attributes:
        smoothing: side (px, odd) of the box filter applied to the label maps before decoding.
        labels: settings of the pixel label search (the dataset's defaults).
        num_grasps: most grasps returned per frame.
        nms_kernel: side (px, odd) of the peak suppression window.
        gripper: gripper model of the labels and the decoder.
    """

    smoothing: int = 9
    labels: PixelLabelConfig = field(default_factory=PixelLabelConfig)
    num_grasps: int = 50
    nms_kernel: int = 9
    gripper: GripperModel = field(default_factory=GripperModel)

    def __post_init__(self) -> None:
        if self.smoothing < 1 or self.smoothing % 2 == 0:
            raise ValueError(f"smoothing must be odd and >= 1, got {self.smoothing}")


def label_maps_for_decoding(
    quality: np.ndarray, angle_quality: np.ndarray, width: np.ndarray, smoothing: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn binary label maps into smooth "network-like" maps for :func:`decode_pixel_grasps`.

    ``Q_p`` and ``Q_theta`` are box-filtered over ``smoothing`` x ``smoothing`` pixels (0 where the
    pixel itself is unlabelled, so peaks stay on labelled pixels and prefer the middle of large
    graspable regions); ``W_g`` is the labelled width, or the mean labelled width of the window.

    Returns:
        float32 ``(Q_p (H, W), Q_theta (K, H, W), W_g (K, H, W))``.
    """
    if smoothing < 1 or smoothing % 2 == 0:
        raise ValueError(f"smoothing must be odd and >= 1, got {smoothing}")
    q = np.asarray(quality, dtype=np.float32)
    aq = np.asarray(angle_quality, dtype=np.float32)
    w = np.asarray(width, dtype=np.float32)
    size = (1, smoothing, smoothing)
    q_s = np.where(q > 0, uniform_filter(q, smoothing, mode="constant"), 0.0).astype(np.float32)
    aq_s = np.where(q[None] > 0, uniform_filter(aq, size, mode="constant"), 0.0).astype(np.float32)
    labelled = (w > 0).astype(np.float32)
    mean_w = uniform_filter(w, size, mode="constant") / np.maximum(
        uniform_filter(labelled, size, mode="constant"), 1e-6)
    w_s = np.where(w > 0, w, mean_w).astype(np.float32)
    return q_s, aq_s, w_s


class PixelLabelOracle:
    """PLGP pixel labels of the bound scene, decoded like network output (module docstring).

    Args:
        library: loads objects by id (``.load(id).mesh``, model frame, metres).
        config: :class:`PixelOracleConfig`.
    """

    def __init__(self, library: _Library, config: PixelOracleConfig | None = None) -> None:
        self.library = library
        self.config = config or PixelOracleConfig()
        self._state: SceneState | None = None
        self._meshes: dict[int, Any] = {}

    def bind(self, state: SceneState) -> None:
        """Tell the oracle where the objects are now (before each :meth:`detect`)."""
        self._state = state

    def _posed_meshes(self, state: SceneState) -> list[PosedMesh]:
        meshes = []
        for oid, pose in zip(state.object_ids, state.T_world_obj, strict=True):
            if oid not in self._meshes:
                self._meshes[oid] = self.library.load(oid).mesh
            meshes.append(PosedMesh(self._meshes[oid], pose, oid + 1))
        meshes.append(PosedMesh(table_mesh(), state.T_world_table, 0))
        if state.T_world_tray is not None:
            meshes.append(PosedMesh(tray_mesh(), state.T_world_tray, 0))
        return meshes

    def label_maps(self, observation: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Smoothed ``Q_p`` (H, W), ``Q_theta`` (K, H, W) and ``W_g`` (K, H, W) of an observation."""
        state = self._state
        if state is None:
            raise RuntimeError("PixelLabelOracle.detect: call bind(SceneState) first")
        if observation.T_world_cam is None or observation.mask is None:
            raise ValueError("PixelLabelOracle needs an observation with T_world_cam and a mask")
        intr = observation.intrinsics
        eta = table_eta(intr.fx, observation.T_world_cam, state.T_world_table)
        parallel = render_parallel_depth(self._posed_meshes(state), observation.T_world_cam, eta=eta,
                                         width=intr.width, height=intr.height)
        labels = pixel_labels(observation.depth, observation.mask, intr, parallel.depth, eta,
                              self.config.gripper, self.config.labels)
        return label_maps_for_decoding(labels.quality, labels.angle_quality, labels.width,
                                       self.config.smoothing)

    def detect(self, observation: Observation) -> GraspGroup:
        """Decoded label grasps of the observation in its camera frame, best first."""
        import torch

        from grasplab.detection.pixel_detector import PixelDetectorConfig, decode_pixel_grasps

        q_p, q_theta, w_g = self.label_maps(observation)
        cfg = PixelDetectorConfig(num_grasps=self.config.num_grasps, nms_kernel=self.config.nms_kernel,
                                  min_quality=1e-3, gripper=self.config.gripper)
        valid = np.asarray(observation.mask) > 0
        grasps = decode_pixel_grasps(torch.from_numpy(q_p), torch.from_numpy(q_theta),
                                     torch.from_numpy(w_g), observation.depth, observation.intrinsics,
                                     cfg, valid)
        if len(grasps) == 0:
            return GraspGroup.empty()
        return pixel_grasps_to_grasps(grasps, observation.depth, observation.intrinsics).sort_by_score()
