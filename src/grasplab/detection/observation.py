"""What a detector sees: one depth frame, its intrinsics and optional colour, mask and pose.

Frames and units: the depth image is float32 metres in the OpenCV camera frame (x right, y down,
z forward), 0 marks an invalid pixel; pixel coordinates are (u, v) = (column, row). The optional
``T_world_cam`` maps camera coordinates to the world frame (metres). Every array is validated
and copied at construction and stored read-only, so an :class:`Observation` can be shared.

An all-invalid depth image (all zero, negative or non-finite) is rejected at construction with a
``ValueError``; an observation whose mask selects no valid pixel is accepted, and detectors
return an empty ``GraspGroup`` for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.core import CameraIntrinsics, check_depth_image, check_transform, depth_to_points


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _check_intrinsics(intrinsics: CameraIntrinsics, height: int, width: int) -> None:
    """Raise ValueError unless ``intrinsics`` describe an image of ``height`` × ``width``."""
    if not isinstance(intrinsics, CameraIntrinsics):
        raise ValueError(
            f"intrinsics: expected a grasplab.core.CameraIntrinsics, got {type(intrinsics).__name__}"
        )
    if (intrinsics.width, intrinsics.height) != (width, height):
        raise ValueError(
            f"intrinsics: image size {intrinsics.width}x{intrinsics.height} (WxH) does not match "
            f"the depth image {width}x{height}; scale the intrinsics (CameraIntrinsics.scaled)"
        )
    # Focal lengths > 0 and a principal point inside the image are checked by
    # CameraIntrinsics itself at construction.


def _check_rgb(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Return a uint8 (H, W, 3) copy of ``rgb`` (uint8, or floats in [0, 1])."""
    arr = np.asarray(rgb)
    if arr.shape != (height, width, 3):
        raise ValueError(f"rgb: expected shape ({height}, {width}, 3), got {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.copy()
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
            raise ValueError("rgb: a float image must hold finite values in [0, 1]; "
                             "pass uint8 for 0-255 colours")
        return np.round(arr * 255.0).astype(np.uint8)
    raise ValueError(f"rgb: expected uint8 or float in [0, 1], got dtype {arr.dtype}")


def _check_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Return a bool or int32 (H, W) copy of an instance / workspace mask."""
    arr = np.asarray(mask)
    if arr.shape != (height, width):
        raise ValueError(f"mask: expected shape ({height}, {width}), got {arr.shape}")
    if arr.dtype == bool:
        return arr.copy()
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > np.iinfo(np.int32).max):
            raise ValueError("mask: integer labels must be >= 0 (0 = background) and fit int32")
        return arr.astype(np.int32)
    raise ValueError(f"mask: expected a bool or integer (H, W) array, got dtype {arr.dtype}")


@dataclass(frozen=True, eq=False)
class Observation:
    """One RGB-D frame for a grasp detector.

    Attributes:
        depth: (H, W) float32 depth in metres, 0 = invalid (NaN/inf/negative become 0).
        intrinsics: pinhole intrinsics of a W × H image.
        rgb: optional (H, W, 3) uint8 colour image aligned with ``depth``.
        mask: optional (H, W) region of interest: bool (True = use the pixel) or int32 instance
            labels (0 = background, ``object_id + 1`` elsewhere); detectors sample grasps on
            nonzero pixels only, while collisions are checked against the whole frame.
        T_world_cam: optional (4, 4) float64 camera pose in the world frame.

    Raises:
        ValueError: a size mismatch, depth that looks like millimetres or has no valid pixel,
            intrinsics of another image size (``CameraIntrinsics`` itself rejects a principal
            point outside the image), or a non-rigid pose.

    Example:
        >>> from grasplab.core import CameraIntrinsics
        >>> K = CameraIntrinsics(500.0, 500.0, 32.0, 24.0, 64, 48)
        >>> obs = Observation(np.full((48, 64), 0.5, np.float32), K)
        >>> obs.roi.sum()
        np.int64(3072)
    """

    depth: np.ndarray
    intrinsics: CameraIntrinsics
    rgb: np.ndarray | None = None
    mask: np.ndarray | None = None
    T_world_cam: np.ndarray | None = None

    def __post_init__(self) -> None:
        depth = check_depth_image(self.depth, "depth")
        height, width = depth.shape
        _check_intrinsics(self.intrinsics, height, width)
        object.__setattr__(self, "depth", _readonly(depth))
        if self.rgb is not None:
            object.__setattr__(self, "rgb", _readonly(_check_rgb(self.rgb, height, width)))
        if self.mask is not None:
            object.__setattr__(self, "mask", _readonly(_check_mask(self.mask, height, width)))
        if self.T_world_cam is not None:
            pose = check_transform(self.T_world_cam, "T_world_cam")
            object.__setattr__(self, "T_world_cam", _readonly(pose))

    @property
    def shape(self) -> tuple[int, int]:
        """Image size ``(H, W)`` in pixels."""
        return (int(self.depth.shape[0]), int(self.depth.shape[1]))

    @property
    def valid(self) -> np.ndarray:
        """(H, W) bool: pixels with a valid depth."""
        return np.asarray(self.depth > 0)

    @property
    def roi(self) -> np.ndarray:
        """(H, W) bool: valid pixels inside the mask (all valid pixels without a mask)."""
        valid = self.valid
        return valid if self.mask is None else valid & (self.mask != 0)

    def points(self, masked: bool = False) -> np.ndarray:
        """Back-project the depth image to a point cloud in the camera frame.

        Args:
            masked: keep only pixels inside :attr:`mask` (all valid pixels when False or when
                there is no mask).

        Returns:
            (N, 3) float64 points in metres, camera frame, in row-major pixel order.
        """
        mask = self.roi if masked else None
        points, _ = depth_to_points(self.depth, self.intrinsics, mask)
        return np.asarray(points, dtype=np.float64)
