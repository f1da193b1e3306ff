"""Where grasp points may go: a user's pixel mask, a camera-frame box, or the support found.

A detector samples grasp points on the observation's region of interest and checks collisions
against the whole frame. This module builds that region the three ways a user can give it:

- a pixel mask (:func:`check_pixel_mask`, :func:`read_pixel_mask`): non-zero pixels may hold
  grasp points (an object or workspace mask, as AnyGrasp's ``apply_object_mask``);
- a box in the camera frame (:class:`WorkspaceBox`, as AnyGrasp's ``lims``):
  ``xmin, xmax, ymin, ymax, zmin, zmax`` in metres, OpenCV axes (x right, y down, z forward);
- neither: :class:`SupportWorkspace` finds the support plane and the container's walls
  (:mod:`grasplab.detection.support`) and keeps what rests inside or on the support.

:func:`restrict_observation` applies a mask and a box to an :class:`Observation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasplab.core import CameraIntrinsics, GraspGroup, depth_to_points
from grasplab.core.validation import RngLike
from grasplab.detection.observation import Observation
from grasplab.detection.protocol import Detector
from grasplab.detection.support import SupportConfig, find_support


def check_pixel_mask(mask: np.ndarray, shape: tuple[int, int], name: str = "mask") -> np.ndarray:
    """(H, W) bool of the non-zero pixels of a user mask, checked against the image size.

    Args:
        mask: (H, W) numbers or bools, or (H, W, C) (a pixel counts when any channel is
            non-zero, so an RGB or RGBA mask image works).
        shape: ``(H, W)`` of the depth image.
        name: what to call the mask in errors.

    Raises:
        ValueError: another size, non-numeric values, or no non-zero pixel.

    >>> check_pixel_mask(np.eye(2, dtype=np.uint8) * 255, (2, 2)).tolist()
    [[True, False], [False, True]]
    """
    arr = np.asarray(mask)
    if arr.ndim == 3:
        arr = np.any(arr != 0, axis=2)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected an (H, W) image, got shape {arr.shape}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} is {arr.shape[1]}x{arr.shape[0]} but the depth image is "
                         f"{shape[1]}x{shape[0]} (WxH); the mask must be aligned with the depth")
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        raise ValueError(f"{name}: expected numbers or bools, got dtype {arr.dtype}")
    selected = np.asarray(arr != 0)
    if not selected.any():
        raise ValueError(f"{name} has no non-zero pixel: nothing may be grasped")
    return selected


def read_pixel_mask(path: Path | str, shape: tuple[int, int]) -> np.ndarray:
    """Read a mask image (PNG, TIFF) or an ``.npy`` array and check it (:func:`check_pixel_mask`).

    Raises:
        ValueError: a missing or unreadable file, or a mask :func:`check_pixel_mask` rejects.
    """
    from PIL import Image, UnidentifiedImageError

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"mask file not found: {file}")
    try:
        if file.suffix.lower() == ".npy":
            raw = np.load(file, allow_pickle=False)
        else:
            with Image.open(file) as image:
                raw = np.asarray(image)
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise ValueError(f"mask {file.name}: cannot read it ({exc})") from exc
    return check_pixel_mask(raw, shape, f"mask {file.name}")


@dataclass(frozen=True)
class WorkspaceBox:
    """An axis-aligned box in the camera frame (OpenCV axes), metres.

    Attributes:
        lower: (xmin, ymin, zmin).
        upper: (xmax, ymax, zmax).

    Raises:
        ValueError: non-finite bounds or a min not below its max.

    >>> WorkspaceBox.parse("-0.2,0.2,-0.1,0.1,0.3,0.8").upper
    (0.2, 0.1, 0.8)
    """

    lower: tuple[float, float, float]
    upper: tuple[float, float, float]

    def __post_init__(self) -> None:
        lower = tuple(float(v) for v in self.lower)
        upper = tuple(float(v) for v in self.upper)
        if len(lower) != 3 or len(upper) != 3:
            raise ValueError("workspace: expected three lower and three upper bounds")
        if not np.all(np.isfinite(lower + upper)):
            raise ValueError(f"workspace: bounds must be finite, got {lower} and {upper}")
        for axis, lo, hi in zip("xyz", lower, upper, strict=True):
            if lo >= hi:
                raise ValueError(f"workspace: {axis}min {lo:g} must be below {axis}max {hi:g}")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    @classmethod
    def parse(cls, text: str) -> WorkspaceBox:
        """A box from ``"xmin,xmax,ymin,ymax,zmin,zmax"`` (metres, camera frame)."""
        parts = [p.strip() for p in str(text).split(",")]
        if len(parts) != 6:
            raise ValueError(f"workspace {text!r}: expected 6 numbers xmin,xmax,ymin,ymax,zmin,"
                             f"zmax (metres, camera frame), got {len(parts)}")
        try:
            values = [float(p) for p in parts]
        except ValueError as exc:
            raise ValueError(f"workspace {text!r}: not numbers ({exc})") from exc
        return cls((values[0], values[2], values[4]), (values[1], values[3], values[5]))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: which (N, 3) camera-frame points lie inside the box (bounds included)."""
        pts = np.asarray(points, dtype=float)
        return np.asarray(np.all((pts >= self.lower) & (pts <= self.upper), axis=1))

    def pixel_mask(self, depth: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        """(H, W) bool: valid pixels whose surface point lies inside the box."""
        points, uv = depth_to_points(depth, intrinsics)
        mask = np.zeros(depth.shape, dtype=bool)
        inside = self.contains(points)
        mask[uv[inside, 1], uv[inside, 0]] = True
        return mask


def restrict_observation(
    observation: Observation, mask: np.ndarray | None = None,
    workspace: WorkspaceBox | None = None,
) -> Observation:
    """A copy of ``observation`` whose region of interest also lies in ``mask`` and ``workspace``.

    The observation's own mask is kept (integer instance labels too) and intersected.

    Raises:
        ValueError: a mask of another size or without a non-zero pixel, or a region that holds
            no valid depth pixel.
    """
    roi = observation.valid
    if mask is not None:
        roi = roi & check_pixel_mask(mask, observation.shape)
    if workspace is not None:
        roi = roi & workspace.pixel_mask(observation.depth, observation.intrinsics)
    if not roi.any():
        what = " and ".join(n for n, v in (("mask", mask), ("workspace", workspace)) if v is not None)
        raise ValueError(f"the {what or 'region'} holds no valid depth pixel: nothing may be "
                         f"grasped (check the box is in metres in the camera frame)")
    return _with_roi(observation, roi)


def _with_roi(observation: Observation, roi: np.ndarray) -> Observation:
    """The observation with its mask intersected with ``roi`` (instance labels kept)."""
    own = observation.mask
    if own is None:
        mask = roi
    elif own.dtype == bool:
        mask = own & roi
    else:
        mask = np.where(roi, own, 0).astype(own.dtype)
    return Observation(observation.depth, observation.intrinsics, observation.rgb, mask,
                       observation.T_world_cam)


def resting_mask(
    observation: Observation, config: SupportConfig | None = None, pixel_stride: int = 2,
    rng: RngLike = 0,
) -> np.ndarray:
    """(H, W) bool: valid pixels whose surface rests inside or on the support.

    The support is found on every ``pixel_stride``-th pixel; each of those pixels decides for
    its ``pixel_stride`` × ``pixel_stride`` block.

    Args:
        observation: the frame (camera frame, metres); its own mask is ignored.
        config: settings of :func:`find_support`.
        pixel_stride: pixel step of the cloud (≥ 1).
        rng: random generator or seed (RANSAC).

    Returns:
        (H, W) bool mask: all valid pixels when no support is found.
    """
    if isinstance(pixel_stride, bool) or not isinstance(pixel_stride, int) or pixel_stride < 1:
        raise ValueError(f"pixel_stride: expected an integer >= 1, got {pixel_stride!r}")
    valid = observation.valid
    height, width = observation.shape
    sample = np.zeros_like(valid)
    sample[::pixel_stride, ::pixel_stride] = valid[::pixel_stride, ::pixel_stride]
    if sample.sum() < 3:
        return valid
    points, uv = depth_to_points(observation.depth, observation.intrinsics, sample)
    result = find_support(points, config, rng)
    coarse = np.zeros(sample[::pixel_stride, ::pixel_stride].shape, dtype=bool)
    coarse[uv[:, 1] // pixel_stride, uv[:, 0] // pixel_stride] = result.resting
    block = np.ones((pixel_stride, pixel_stride), dtype=bool)
    return np.asarray(np.kron(coarse, block)[:height, :width] & valid)


class SupportWorkspace:
    """Wrap a detector so that it grasps what rests in or on the support, not the container.

    The wrapped detector sees the observation with its mask replaced by :func:`resting_mask`
    (intersected with the observation's own mask: integer instance labels are kept). Collisions
    are still checked by the wrapped detector against the whole frame, walls included. Needs no
    camera pose.

    Args:
        detector: any object with ``detect(observation) -> GraspGroup``.
        config: settings of :func:`find_support`.
        pixel_stride: pixel step of the support cloud.
        rng: seed or generator of the RANSAC (an int gives identical masks on every call).

    Attributes:
        last_mask_: (H, W) bool region of interest of the latest call.
    """

    def __init__(
        self, detector: Detector, config: SupportConfig | None = None, pixel_stride: int = 2,
        rng: RngLike = 0,
    ) -> None:
        self.detector = detector
        self.config = SupportConfig() if config is None else config
        self.pixel_stride = pixel_stride
        self.rng = rng
        self.last_mask_: np.ndarray | None = None

    def bind(self, state: object) -> None:
        """Forward ``bind(scene)`` to a scene-aware wrapped detector; else no-op."""
        inner = getattr(self.detector, "bind", None)
        if callable(inner):
            inner(state)

    def detect(self, observation: Observation) -> GraspGroup:
        """Detect with the wrapped detector on the points resting on the support."""
        roi = resting_mask(observation, self.config, self.pixel_stride, self.rng)
        self.last_mask_ = roi
        return self.detector.detect(_with_roi(observation, roi))
