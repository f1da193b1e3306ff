"""Read one user RGB-D frame from files: a depth image, a colour image and the intrinsics.

The inputs of ``grasplab detect`` and of any script that detects on a real camera's frame:

- :func:`read_depth_image`: a 16-bit PNG / TIFF or an ``.npy`` divided by ``depth_scale`` (raw
  units per metre, 1000 for millimetres) to float32 metres, 0 = invalid;
- :func:`read_rgb_image`: an (H, W, 3) uint8 colour image aligned with the depth image;
- :func:`read_intrinsics`: a JSON file with ``fx, fy, cx, cy`` (and optionally ``width,
  height``), an inline ``"fx,fy,cx,cy"`` or a preset name (``realsense``, ``kinect``).

Every check a user can fail raises :class:`FrameInputError` (a ValueError) with one line that
says what to fix (a millimetre image read as metres, a colour image given as depth, intrinsics
for another image size). Camera frame: OpenCV (x right, y down, z forward), pixels and metres.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from grasplab.core import CameraIntrinsics, intrinsics_preset

__all__ = [
    "ARRAY_SUFFIXES",
    "DEPTH_RANGE_M",
    "IMAGE_SUFFIXES",
    "FrameInputError",
    "read_depth_image",
    "read_intrinsics",
    "read_rgb_image",
]

#: Plausible range of the median valid depth, metres; outside it the depth scale is wrong.
DEPTH_RANGE_M = (0.02, 20.0)
#: Suffixes read with Pillow (16-bit PNG, TIFF) and with numpy.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
ARRAY_SUFFIXES = (".npy",)


class FrameInputError(ValueError):
    """A bad frame file or intrinsics spec; the message is one line that says what to fix."""


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise FrameInputError(f"{what} file not found: {path}")
    if not path.is_file():
        raise FrameInputError(f"{what} path is not a file: {path}")


def read_depth_image(path: str | Path, depth_scale: float) -> np.ndarray:
    """Read a depth image and convert it to float32 metres (0 = invalid).

    Args:
        path: 16-bit single-channel PNG / TIFF, or an (H, W) ``.npy`` of any numeric dtype.
        depth_scale: raw units per metre (1000 for millimetres, 1 for metres).

    Returns:
        (H, W) float32 metres; NaN, inf and values <= 0 become 0.

    Raises:
        FrameInputError: missing or unreadable file, not one channel, no valid pixel, or a median
            depth outside :data:`DEPTH_RANGE_M` (a wrong ``depth_scale``).
    """
    path = Path(path)
    _require_file(path, "depth")
    raw = _read_array(path, "depth")
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise FrameInputError(f"depth {path.name}: expected one channel (H, W), got shape {raw.shape}; "
                         f"a colour image is not a depth image")
    if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise FrameInputError(f"depth {path.name}: expected numbers, got dtype {raw.dtype}")
    with np.errstate(invalid="ignore"):
        depth = np.asarray(raw, dtype=np.float64) / depth_scale
    depth[~np.isfinite(depth) | (depth <= 0)] = 0.0
    valid = depth > 0
    if not valid.any():
        raise FrameInputError(f"depth {path.name}: no valid pixel (all zero, negative or NaN)")
    median = float(np.median(depth[valid]))
    lo, hi = DEPTH_RANGE_M
    if median > hi:
        raise FrameInputError(
            f"depth {path.name}: median depth {median:.4g} m after --depth-scale {depth_scale:g} "
            f"is implausible (millimetres?); use --depth-scale {depth_scale * 1000:g}")
    if median < lo:
        raise FrameInputError(
            f"depth {path.name}: median depth {median:.4g} m after --depth-scale {depth_scale:g} "
            f"is implausible; is the depth already in metres? then use --depth-scale "
            f"{depth_scale / 1000:g}")
    return depth.astype(np.float32)


def _read_array(path: Path, what: str) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        try:
            return np.asarray(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise FrameInputError(f"{what} {path.name}: cannot read the .npy file ({exc})") from exc
    try:
        with Image.open(path) as image:
            if what == "depth" and image.mode in ("RGB", "RGBA", "P", "L"):
                raise FrameInputError(f"depth {path.name}: an 8-bit {image.mode} image; expected a "
                                 f"16-bit single-channel depth PNG (or an .npy array)")
            return np.asarray(image)
    except (OSError, UnidentifiedImageError) as exc:
        raise FrameInputError(f"{what} {path.name}: cannot read the image ({exc}); expected "
                         f"{'/'.join(IMAGE_SUFFIXES + ARRAY_SUFFIXES)}") from exc


def read_rgb_image(path: str | Path, shape: tuple[int, int], depth_name: str) -> np.ndarray:
    """Read a colour image aligned with the depth image: (H, W, 3) uint8.

    Raises:
        FrameInputError: missing or unreadable file, or a size other than the depth image's.
    """
    path = Path(path)
    _require_file(path, "rgb")
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise FrameInputError(f"rgb {path.name}: cannot read the image ({exc})") from exc
    if rgb.shape[:2] != shape:
        raise FrameInputError(
            f"rgb {path.name} is {rgb.shape[1]}x{rgb.shape[0]} but depth {depth_name} is "
            f"{shape[1]}x{shape[0]} (WxH); the images must be aligned and the same size")
    return rgb


def read_intrinsics(spec: str, shape: tuple[int, int]) -> CameraIntrinsics:
    """Intrinsics from a JSON file, ``"fx,fy,cx,cy"`` or a preset name, for an (H, W) image.

    Raises:
        FrameInputError: unreadable spec, missing keys, a size other than the image's, or values
            ``CameraIntrinsics`` rejects (non-positive focal length, principal point outside
            the image).
    """
    height, width = shape
    values: dict[str, Any]
    path = Path(spec)
    if path.suffix.lower() == ".json" or path.is_file():
        _require_file(path, "intrinsics")
        try:
            values = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FrameInputError(f"intrinsics {path.name}: not valid JSON ({exc})") from exc
        if not isinstance(values, dict):
            raise FrameInputError(f"intrinsics {path.name}: expected a JSON object with fx, fy, cx, cy")
    elif "," in spec:
        parts = [p.strip() for p in spec.split(",")]
        if len(parts) != 4:
            raise FrameInputError(f"intrinsics {spec!r}: expected 4 numbers fx,fy,cx,cy, got {len(parts)}")
        values = dict(zip(("fx", "fy", "cx", "cy"), parts, strict=True))
    else:
        try:
            preset = intrinsics_preset(spec)
        except ValueError as exc:
            raise FrameInputError(f"intrinsics {spec!r}: not a file, not fx,fy,cx,cy and not a "
                             f"preset (realsense, kinect)") from exc
        values = {"fx": preset.fx, "fy": preset.fy, "cx": preset.cx, "cy": preset.cy,
                  "width": preset.width, "height": preset.height}
    return _intrinsics_from(values, width, height, spec)


def _intrinsics_from(values: dict[str, Any], width: int, height: int, spec: str) -> CameraIntrinsics:
    missing = [k for k in ("fx", "fy", "cx", "cy") if k not in values]
    if missing:
        raise FrameInputError(f"intrinsics {spec}: missing {', '.join(missing)}; expected fx, fy, cx, "
                         f"cy (and optionally width, height)")
    try:
        numbers = {k: float(values[k]) for k in ("fx", "fy", "cx", "cy")}
    except (TypeError, ValueError) as exc:
        raise FrameInputError(f"intrinsics {spec}: fx, fy, cx, cy must be numbers ({exc})") from exc
    size = (values.get("width", width), values.get("height", height))
    if (size[0], size[1]) != (width, height):
        raise FrameInputError(f"intrinsics {spec} are for a {size[0]}x{size[1]} image but the depth "
                         f"image is {width}x{height} (WxH); scale the intrinsics to the image")
    try:
        return CameraIntrinsics(numbers["fx"], numbers["fy"], numbers["cx"], numbers["cy"],
                                width, height)
    except ValueError as exc:
        raise FrameInputError(f"intrinsics {spec} do not fit the {width}x{height} image: "
                         f"{str(exc).removeprefix('CameraIntrinsics.')}") from exc
