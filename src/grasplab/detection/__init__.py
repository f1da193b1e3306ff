"""Grasp detection: the detector protocol, one registry of detectors, post-processing.

- :class:`Observation`: one validated depth (+ colour, mask, pose) frame;
- :class:`Detector`: the protocol ``detect(observation) -> GraspGroup`` (camera frame, sorted
  by score descending); :class:`SceneAwareDetector` adds ``bind(state)`` (a :class:`SceneState`
  of a simulated scene) for the oracles;
- :func:`build_detector`, :func:`available_detectors`, :func:`register_detector`: every detector
  (analytic, pixel, gsnet, random, oracle, pixel-oracle, ...) built by name with its options
  (:class:`GSNetOptions` for ``gsnet``: the learned 6-DoF detector with AnyGrasp post-processing);
- :class:`AnalyticDetector`: a GPD-style sample-and-evaluate detector (numpy only);
- where grasp points may go: :func:`find_support` (table, bin floor and walls found in the
  frame), :class:`SupportWorkspace`, a user's mask or camera-frame :class:`WorkspaceBox`
  (:func:`restrict_observation`), or a known tray pose (:class:`TrayWorkspace`);
- post-processing usable after any detector: :func:`collision_filter`, :func:`center_grasps`,
  :func:`workspace_filter`, :func:`nms`, :func:`top_k` and the :func:`postprocess` pipeline.
"""

from grasplab.detection.analytic import AnalyticDetector, AnalyticDetectorConfig
from grasplab.detection.cloud import estimate_normals, fit_plane, voxel_downsample
from grasplab.detection.gsnet_options import GSNetOptions
from grasplab.detection.hand_search import HandSearchParams, HandSearchResult, search_hands
from grasplab.detection.masking import SupportWorkspace, WorkspaceBox, restrict_observation
from grasplab.detection.observation import Observation
from grasplab.detection.postprocess import (
    PostProcessConfig,
    center_grasps,
    collision_filter,
    nms,
    postprocess,
    top_k,
    workspace_filter,
)
from grasplab.detection.protocol import Detector, SceneAwareDetector
from grasplab.detection.registry import (
    available_detectors,
    build_detector,
    detector_entry,
    register_detector,
)
from grasplab.detection.scene_state import SceneState
from grasplab.detection.support import SupportConfig, find_support
from grasplab.detection.workspace import (
    TrayWorkspace,
    workspace_mask,
)

__all__ = [
    "AnalyticDetector",
    "AnalyticDetectorConfig",
    "Detector",
    "GSNetOptions",
    "HandSearchParams",
    "HandSearchResult",
    "Observation",
    "PostProcessConfig",
    "SceneAwareDetector",
    "SceneState",
    "SupportConfig",
    "SupportWorkspace",
    "WorkspaceBox",
    "available_detectors",
    "build_detector",
    "center_grasps",
    "collision_filter",
    "detector_entry",
    "estimate_normals",
    "find_support",
    "fit_plane",
    "nms",
    "postprocess",
    "register_detector",
    "restrict_observation",
    "search_hands",
    "top_k",
    "voxel_downsample",
    "workspace_filter",
    "workspace_mask",
    "TrayWorkspace",
]
