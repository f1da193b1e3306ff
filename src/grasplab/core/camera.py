"""Camera models: pinhole intrinsics, depth back-projection and PLGP's parallel projection.

Frames and units: the OpenCV camera frame (x right, y down, z forward), metres. Pixel
coordinates are ``(u, v) = (column, row)`` with pixel centres at integers, so the image spans
``[-0.5, width - 0.5] x [-0.5, height - 0.5]``. Depth images are float32 metres with 0 marking
an invalid pixel.

Pinhole model: ``u = fx x / z + cx``, ``v = fy y / z + cy``; back-projection (reference
protocol §7) ``x = (u - cx) / fx * z``, ``y = (v - cy) / fy * z``.

Parallel model (papers/plgp-pixel-level.txt eq. 11-13): the image plane is the camera x-y
plane, rays are parallel to z, and ``c = eta x + (W - 1) / 2``, ``r = eta y + (H - 1) / 2``
with ``eta`` pixels per metre (5000 in PLGP); the pixel stores the depth ``z``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.validation import as_array, check_depth_image, check_positive_scalar


def _check_size(value: object, name: str) -> int:
    """Return ``value`` as a positive int (integral floats accepted)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name}: expected a positive integer number of pixels, got {value!r}")
    if not float(value).is_integer() or value <= 0:
        raise ValueError(f"{name}: expected a positive integer number of pixels, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole camera intrinsics (no skew, no distortion).

    Attributes:
        fx: focal length along u, pixels.
        fy: focal length along v, pixels.
        cx: principal point column, pixels (pixel centres at integers).
        cy: principal point row, pixels.
        width: image width W, pixels.
        height: image height H, pixels.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "width", _check_size(self.width, "CameraIntrinsics.width"))
        object.__setattr__(self, "height", _check_size(self.height, "CameraIntrinsics.height"))
        for name in ("fx", "fy"):
            value = check_positive_scalar(getattr(self, name), f"CameraIntrinsics.{name}")
            object.__setattr__(self, name, value)
        for name, size in (("cx", self.width), ("cy", self.height)):
            try:
                value = float(getattr(self, name))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"CameraIntrinsics.{name}: expected a number, "
                                 f"got {getattr(self, name)!r}") from exc
            if not -0.5 <= value <= size - 0.5:
                raise ValueError(
                    f"CameraIntrinsics.{name}: principal point {value} lies outside the image "
                    f"(expected within [-0.5, {size - 0.5}])"
                )
            object.__setattr__(self, name, value)

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) float64 intrinsic matrix K (a new array)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def fov_y_deg(self) -> float:
        """Vertical field of view in degrees, ``2 atan(H / (2 fy))``."""
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.fy)))

    @classmethod
    def from_matrix(cls, matrix: ArrayLike, width: int, height: int) -> CameraIntrinsics:
        """Build intrinsics from a 3x3 K.

        Raises:
            ValueError: not 3x3, skew not 0, or last row not ``[0, 0, 1]``.

        >>> CameraIntrinsics.from_matrix([[500, 0, 319.5], [0, 500, 239.5], [0, 0, 1]], 640, 480).fx
        500.0
        """
        k = as_array(matrix, "K", (3, 3))
        if not np.allclose(k[2], [0.0, 0.0, 1.0]) or k[1, 0] != 0:
            raise ValueError(f"K: last row must be [0, 0, 1] and K[1, 0] = 0, got {k.tolist()}")
        if abs(k[0, 1]) > 1e-9 * abs(k[0, 0]):
            raise ValueError(f"K: skew K[0, 1] = {k[0, 1]} is not supported; expected 0")
        return cls(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), width, height)

    @classmethod
    def from_fov(cls, fov_y_deg: float, width: int, height: int) -> CameraIntrinsics:
        """Square-pixel intrinsics from a vertical field of view, centred principal point.

        ``fy = fx = H / (2 tan(fov_y / 2))`` and ``(cx, cy) = ((W - 1) / 2, (H - 1) / 2)``,
        the convention of OpenGL-style renderers (PyBullet) with pixel centres at integers.

        >>> round(CameraIntrinsics.from_fov(90.0, 640, 480).fy, 6)
        240.0
        """
        fov = check_positive_scalar(fov_y_deg, "fov_y_deg")
        if fov >= 180.0:
            raise ValueError(f"fov_y_deg: expected a field of view in (0, 180) degrees, got {fov}")
        height = _check_size(height, "height")
        width = _check_size(width, "width")
        focal = height / (2.0 * math.tan(math.radians(fov) / 2.0))
        return cls(focal, focal, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    def scaled(self, factor: float) -> CameraIntrinsics:
        """Intrinsics of the image resized by ``factor`` (pixel centres stay at integers).

        Focal lengths scale by ``factor``; ``c' = (c + 0.5) factor - 0.5``; sizes are rounded.

        >>> CameraIntrinsics(100.0, 100.0, 63.5, 47.5, 128, 96).scaled(0.5).cx
        31.5
        """
        f = check_positive_scalar(factor, "factor")
        width, height = round(self.width * f), round(self.height * f)
        if width < 1 or height < 1:
            raise ValueError(f"factor: {f} shrinks the {self.width}x{self.height} image to nothing")
        return CameraIntrinsics(self.fx * f, self.fy * f, (self.cx + 0.5) * f - 0.5,
                                (self.cy + 0.5) * f - 0.5, width, height)


#: Intel RealSense D435 of GraspNet-1Billion (graspnetAPI ``get_camera_intrinsic``).
REALSENSE = CameraIntrinsics(927.17, 927.37, 651.32, 349.62, 1280, 720)
#: Azure Kinect of GraspNet-1Billion (graspnetAPI ``get_camera_intrinsic``).
KINECT = CameraIntrinsics(631.55, 631.21, 638.43, 366.50, 1280, 720)

_PRESETS = {"realsense": REALSENSE, "kinect": KINECT}


def intrinsics_preset(name: str) -> CameraIntrinsics:
    """Return the named preset intrinsics (``"realsense"`` or ``"kinect"``, any case).

    >>> intrinsics_preset("Kinect").fx
    631.55
    """
    key = str(name).strip().lower()
    if key not in _PRESETS:
        raise ValueError(f"unknown camera preset {name!r}; expected one of {sorted(_PRESETS)}")
    return _PRESETS[key]


def depth_to_points(
    depth: ArrayLike, intrinsics: CameraIntrinsics, mask: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Back-project the valid pixels of a depth image into the camera frame.

    Args:
        depth: (H, W) depth in metres; 0, negative or non-finite pixels are invalid.
        intrinsics: the camera; its size must be (W, H).
        mask: optional (H, W) bool; only pixels where it is True are used.

    Returns:
        ``(points (N, 3) float64 metres camera frame, pixels (N, 2) int64 (u, v))`` in
        row-major pixel order.

    Raises:
        ValueError: wrong shapes, a depth image that looks like millimetres or has no valid
            pixel, or a mask that is not (H, W).
    """
    image = check_depth_image(depth)
    if image.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth: expected shape ({intrinsics.height}, {intrinsics.width}) "
                         f"to match the intrinsics, got {image.shape}")
    valid = image > 0
    if mask is not None:
        valid &= as_array(mask, "mask", image.shape, dtype=bool, finite=False)
    rows, cols = np.nonzero(valid)
    z = image[valid].astype(np.float64)  # row-major, as nonzero
    # per column and per row factors, then one product per point: the same float64 operations
    x_of_col = (np.arange(image.shape[1]) - intrinsics.cx) / intrinsics.fx
    y_of_row = (np.arange(image.shape[0]) - intrinsics.cy) / intrinsics.fy
    points = np.empty((len(z), 3))
    np.multiply(x_of_col[cols], z, out=points[:, 0])
    np.multiply(y_of_row[rows], z, out=points[:, 1])
    points[:, 2] = z
    return points, np.stack([cols, rows], axis=1).astype(np.int64, copy=False)


def project_points(
    points: ArrayLike, intrinsics: CameraIntrinsics
) -> tuple[np.ndarray, np.ndarray]:
    """Project camera-frame points through the pinhole model.

    Args:
        points: (N, 3) metres, camera frame.
        intrinsics: the camera.

    Returns:
        ``(uv (N, 2) float64 pixels (u, v), z (N,) metres)``; points with ``z <= 0`` (on or
        behind the camera plane) get NaN pixel coordinates.
    """
    pts = as_array(points, "points", (None, 3))
    z = pts[:, 2].copy()
    in_front = z > 0
    safe_z = np.where(in_front, z, 1.0)
    uv = np.empty((len(pts), 2))
    uv[:, 0] = intrinsics.fx * pts[:, 0] / safe_z + intrinsics.cx
    uv[:, 1] = intrinsics.fy * pts[:, 1] / safe_z + intrinsics.cy
    uv[~in_front] = np.nan
    return uv, z


def _check_parallel(eta: float, width: int, height: int) -> tuple[float, int, int]:
    return (check_positive_scalar(eta, "eta"), _check_size(width, "width"),
            _check_size(height, "height"))


def parallel_project(points: ArrayLike, eta: float, width: int, height: int) -> np.ndarray:
    """Parallel (orthographic) projection of PLGP eq. 11.

    Args:
        points: (N, 3) metres, camera frame (z is ignored).
        eta: pixels per metre.
        width: image width W, pixels.
        height: image height H, pixels.

    Returns:
        (N, 2) float64 ``(column, row)``: ``(eta x + (W-1)/2, eta y + (H-1)/2)``.

    >>> parallel_project([[0.0, 0.001, 0.5]], 5000.0, 640, 480).tolist()
    [[319.5, 244.5]]
    """
    eta, width, height = _check_parallel(eta, width, height)
    pts = as_array(points, "points", (None, 3))
    return np.stack([eta * pts[:, 0] + (width - 1) / 2.0,
                     eta * pts[:, 1] + (height - 1) / 2.0], axis=1)


def parallel_unproject(
    uv: ArrayLike, z: ArrayLike, eta: float, width: int, height: int
) -> np.ndarray:
    """Invert :func:`parallel_project`: pixel ``(column, row)`` and depth to a 3-D point.

    Args:
        uv: (N, 2) ``(column, row)`` pixels.
        z: (N,) depth in metres.
        eta: pixels per metre.
        width: image width W, pixels.
        height: image height H, pixels.

    Returns:
        (N, 3) float64 points in the camera frame, metres.
    """
    eta, width, height = _check_parallel(eta, width, height)
    pix = as_array(uv, "uv", (None, 2))
    depth = as_array(z, "z", (len(pix),))
    return np.stack([(pix[:, 0] - (width - 1) / 2.0) / eta,
                     (pix[:, 1] - (height - 1) / 2.0) / eta, depth], axis=1)


def rasterize_parallel_depth(points: ArrayLike, eta: float, width: int, height: int) -> np.ndarray:
    """Z-buffer points into a parallel depth image (PLGP ``I_p``).

    Each point goes to the nearest pixel ``(floor(c + 0.5), floor(r + 0.5))`` of
    :func:`parallel_project`; a pixel keeps the smallest ``z``. Points with ``z <= 0`` or
    outside the image are dropped.

    Args:
        points: (N, 3) metres, camera frame.
        eta: pixels per metre.
        width: image width W, pixels.
        height: image height H, pixels.

    Returns:
        (H, W) float32 depth in metres, 0 where no point falls.
    """
    pts = as_array(points, "points", (None, 3))
    cr = parallel_project(pts, eta, width, height)
    cols = np.floor(cr[:, 0] + 0.5)
    rows = np.floor(cr[:, 1] + 0.5)
    keep = (pts[:, 2] > 0) & (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    flat = rows[keep].astype(np.int64) * int(width) + cols[keep].astype(np.int64)
    image = np.full(int(width) * int(height), np.inf)
    np.minimum.at(image, flat, pts[keep, 2])
    image[np.isinf(image)] = 0.0
    return image.reshape(int(height), int(width)).astype(np.float32)


__all__ = [
    "KINECT",
    "REALSENSE",
    "CameraIntrinsics",
    "depth_to_points",
    "intrinsics_preset",
    "parallel_project",
    "parallel_unproject",
    "project_points",
    "rasterize_parallel_depth",
]
