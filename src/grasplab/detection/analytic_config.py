"""Settings of the analytic sample-and-evaluate detector (:mod:`grasplab.detection.analytic`).

One frozen dataclass, checked on construction: the cloud (pixel stride, depth range, voxel
size, plane removal), the proposals (samples, views, in-plane angles, depths), the hand
search (:class:`~grasplab.detection.hand_search.HandSearchParams`), the score's terms and
weights, and pose NMS. Lengths in metres, angles in radians.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grasplab.core import GripperModel
from grasplab.detection.hand_search import HandSearchParams
from grasplab.detection.support import SupportConfig

__all__ = ["AnalyticDetectorConfig"]

_POSITIVE = (
    "min_depth", "max_depth", "voxel_size", "plane_threshold", "view_tilt", "bin_size",
    "width_margin", "contact_band", "friction_coef", "clearance_cap", "nms_translation",
    "nms_rotation", "occlusion_tolerance", "centroid_scale",
)
_WEIGHTS = ("occlusion_weight", "tilt_weight", "tip_weight", "depth_weight", "centroid_weight")
_COUNTS = ("pixel_stride", "num_neighbors", "num_samples", "num_angles", "max_neighbors",
           "pre_nms", "max_grasps", "tip_points")


@dataclass(frozen=True)
class AnalyticDetectorConfig:
    """Settings of :class:`AnalyticDetector` (metres and radians).

    Attributes:
        gripper: gripper geometry (default: the reference evaluation gripper).
        pixel_stride: use every n-th pixel in u and v before voxelization.
        min_depth: nearest depth used, metres.
        max_depth: farthest depth used, metres.
        voxel_size: voxel edge of the downsampled cloud.
        num_neighbors: k of the PCA normals.
        remove_plane: keep the dominant plane's points out of the grasp-point samples.
        plane_threshold: RANSAC inlier distance.
        plane_min_fraction: the plane is removed only if it holds this fraction of the cloud.
        support: for an observation without a mask, sample grasp points only on what rests
            inside or on the support found in the frame (table, bin floor and walls;
            :func:`grasplab.detection.support.find_support` with these settings), not on the
            container; None samples on the whole frame. A mask, when given, decides instead.
        num_samples: grasp points sampled per frame.
        num_tilted_views: views on a cone around the inward normal, besides the normal.
        view_tilt: cone half-angle of the tilted views, radians.
        num_angles: in-plane angles ``i π / A``.
        depths: fingertip depths past the grasp point.
        width_margin: free space between the object and each jaw.
        bin_size: jaw-axis resolution of the hand search.
        contact_band: band next to each jaw whose normals are scored.
        friction_coef: friction coefficient at which a contact's score reaches 0.
        clearance_cap: free space beyond the gap a finger needs that earns the full clearance.
        clearance_weight: weight of the clearance term in the score.
        contact_levels: depth levels next to the fingertips whose normals are scored (1 = the
            fingertip band, where force closure is judged; 0 = the whole finger slab).
        contact_height: only normals of points within ``contact_height / 2`` of the jaw line
            (along the finger height) are scored; None uses the whole finger height.
        occlusion_weight: penalty per unit fraction of finger sample points hidden behind the
            observed surface (space the camera cannot see may hold the object's unseen side).
        occlusion_tolerance: depth behind the observed surface still counted as visible.
        tilt_weight: penalty for an approach tilted from the table's inward normal (the camera
            ray without a table) by more than ``tilt_free``, reached at 90°.
        tilt_free: tilt without penalty, radians.
        centroid_weight: penalty for the distance along the finger height axis between the
            jaw line and the centroid of the observed off-table points between the jaws (a
            stable-score analogue: grasp near the part's centre of mass).
        centroid_scale: distance at which that penalty is full, metres.
        tip_weight: penalty when no observed point lies between the jaws in the fingertip band
            (the jaw line at the fingertips probably misses the object), decreasing linearly
            to 0 at ``tip_points`` points.
        tip_points: observed points in the fingertip band that clear the tip penalty.
        depth_weight: bonus for the deepest depth (linear in the depth index), for grasps that
            pass the other tests.
        max_neighbors: cap on the cloud points considered around one grasp point.
        pre_nms: proposals kept (best first) before pose NMS.
        nms_translation: pose-NMS distance threshold, metres.
        nms_rotation: pose-NMS angle threshold, radians.
        max_grasps: grasps returned.
    """

    gripper: GripperModel = field(default_factory=GripperModel)
    pixel_stride: int = 2
    min_depth: float = 0.1
    max_depth: float = 2.0
    voxel_size: float = 0.005
    num_neighbors: int = 12
    remove_plane: bool = True
    plane_threshold: float = 0.008
    plane_min_fraction: float = 0.2
    support: SupportConfig | None = field(default_factory=SupportConfig)
    num_samples: int = 100
    num_tilted_views: int = 3
    view_tilt: float = float(np.deg2rad(25.0))
    num_angles: int = 6
    depths: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04)
    width_margin: float = 0.005
    bin_size: float = 0.002
    contact_band: float = 0.005
    friction_coef: float = 1.0
    clearance_cap: float = 0.01
    clearance_weight: float = 0.2
    contact_levels: int = 1
    contact_height: float | None = 0.008
    occlusion_weight: float = 1.0
    occlusion_tolerance: float = 0.005
    tilt_weight: float = 0.5
    centroid_weight: float = 0.3
    centroid_scale: float = 0.03
    tilt_free: float = float(np.deg2rad(20.0))
    tip_weight: float = 0.5
    tip_points: int = 8
    depth_weight: float = 0.15
    max_neighbors: int = 1024
    pre_nms: int = 1000
    nms_translation: float = 0.03
    nms_rotation: float = float(np.pi / 6)
    max_grasps: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.gripper, GripperModel):
            raise ValueError(f"gripper: expected a GripperModel, got {type(self.gripper).__name__}")
        if self.support is not None and not isinstance(self.support, SupportConfig):
            raise ValueError(f"support: expected a SupportConfig or None, got {self.support!r}")
        for name in _POSITIVE:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if (isinstance(self.contact_levels, bool) or not isinstance(self.contact_levels, int)
                or self.contact_levels < 0):
            raise ValueError(f"contact_levels: expected an integer >= 0, got {self.contact_levels!r}")
        if self.num_neighbors < 3 or self.num_tilted_views < 0:
            raise ValueError("num_neighbors must be >= 3 and num_tilted_views >= 0")
        depths = np.asarray(self.depths, dtype=float)
        if depths.ndim != 1 or len(depths) == 0 or np.any(depths <= 0) or np.any(
            np.diff(depths) <= 0
        ):
            raise ValueError(f"depths: expected increasing positive metres, got {self.depths!r}")
        object.__setattr__(self, "depths", tuple(float(d) for d in depths))
        if self.min_depth >= self.max_depth:
            raise ValueError(f"min_depth ({self.min_depth}) must be < max_depth ({self.max_depth})")
        if not 0 <= self.plane_min_fraction <= 1 or not 0 <= self.clearance_weight:
            raise ValueError("plane_min_fraction must lie in [0, 1] and clearance_weight >= 0")
        for name in _WEIGHTS:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
        if self.contact_height is not None and not (
            isinstance(self.contact_height, int | float) and 0 < self.contact_height < np.inf
        ):
            raise ValueError(f"contact_height: expected positive metres or None, got "
                             f"{self.contact_height!r}")
        if not 0 <= self.tilt_free < np.pi / 2:
            raise ValueError(f"tilt_free: expected radians in [0, pi/2), got {self.tilt_free!r}")

    @property
    def search_params(self) -> HandSearchParams:
        """The hand-search part of this configuration."""
        return HandSearchParams(
            depths=self.depths, bin_size=self.bin_size, width_margin=self.width_margin,
            contact_band=self.contact_band, friction_coef=self.friction_coef,
            clearance_cap=self.clearance_cap, contact_levels=self.contact_levels,
            contact_height=self.contact_height,
        )
