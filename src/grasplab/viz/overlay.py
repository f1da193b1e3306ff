"""Grasp overlays: 6-DoF grasps drawn as projected gripper outlines on a colour or depth image.

Each grasp is drawn as the silhouettes of the reference gripper's three boxes (left finger,
right finger, palm; :meth:`grasplab.core.GripperModel.box_corners`) projected through the pinhole
intrinsics: a U shape opening toward the object. Outlines are coloured by score (red = low,
yellow, green = high, on the scale of the grasps drawn), the best grasp is drawn last with a
thick white-rimmed magenta outline and a ``1`` tag, and a legend strip under the image gives the
colour scale, the number of grasps and the best grasp's score, width and depth.

Frames and units: grasps in the camera frame of the image (OpenCV, metres); pixel coordinates
``(u, v) = (column, row)``. Drawing uses Pillow only; lines are drawn at ``supersample`` times
the output size and downsampled, which anti-aliases them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from PIL import Image, ImageDraw, ImageFont
from scipy.spatial import ConvexHull, QhullError

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel, project_points

__all__ = ["OverlayStyle", "depth_to_image", "draw_grasps", "save_overlay", "score_colors"]

logger = logging.getLogger(__name__)

#: Red → yellow → green key colours (ColorBrewer RdYlGn, 7 classes) of the score scale.
_SCORE_RAMP = np.array([
    [215, 48, 39], [244, 109, 67], [253, 174, 97], [254, 224, 139],
    [166, 217, 106], [102, 189, 99], [26, 152, 80],
], dtype=np.float64)
_BEST_COLOR = (236, 0, 140)
_HALO_COLOR = (255, 255, 255)
_PANEL_COLOR = (32, 33, 36)
_TEXT_COLOR = (235, 235, 235)
_MIN_Z = 1e-3  # corners nearer than this (m) cannot be projected sensibly


@dataclass(frozen=True)
class OverlayStyle:
    """How :func:`draw_grasps` draws.

    Attributes:
        max_grasps: draw at most this many grasps (the best ones).
        min_width: output images narrower than this (pixels) are upscaled by an integer factor.
        line_width: outline width in output pixels (0 = 1.5 per 640 output pixels of width).
        fill_alpha: opacity of the box fill (0-255); outlines are opaque.
        supersample: drawing resolution factor for anti-aliasing.
        legend: add the legend strip under the image.
        highlight_best: draw the best grasp in the highlight colour with a ``1`` tag.
    """

    max_grasps: int = 50
    min_width: int = 1200
    line_width: float = 0.0
    fill_alpha: int = 60
    supersample: int = 2
    legend: bool = True
    highlight_best: bool = True

    def __post_init__(self) -> None:
        if int(self.max_grasps) < 1 or int(self.min_width) < 1 or int(self.supersample) < 1:
            raise ValueError("OverlayStyle: max_grasps, min_width and supersample must be >= 1")
        if not 0 <= int(self.fill_alpha) <= 255 or self.line_width < 0:
            raise ValueError("OverlayStyle: fill_alpha must lie in [0, 255] and line_width >= 0")


def score_colors(scores: ArrayLike, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Map scores to red (low) → yellow → green (high) colours.

    Args:
        scores: (N,) scores.
        vmin: score mapped to red (default: the smallest score).
        vmax: score mapped to green (default: the largest score).

    Returns:
        (N, 3) uint8 RGB; all green when ``vmax == vmin``.

    >>> score_colors([0.0, 1.0]).tolist()
    [[215, 48, 39], [26, 152, 80]]
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0:
        return np.zeros((0, 3), dtype=np.uint8)
    lo = float(np.min(s)) if vmin is None else float(vmin)
    hi = float(np.max(s)) if vmax is None else float(vmax)
    t = np.ones_like(s) if hi <= lo else np.clip((s - lo) / (hi - lo), 0.0, 1.0)
    pos = t * (len(_SCORE_RAMP) - 1)
    i = np.minimum(pos.astype(np.int64), len(_SCORE_RAMP) - 2)
    frac = (pos - i)[:, None]
    rgb = _SCORE_RAMP[i] * (1 - frac) + _SCORE_RAMP[i + 1] * frac
    return np.asarray(np.round(rgb), dtype=np.uint8)


def depth_to_image(depth: ArrayLike) -> np.ndarray:
    """A grey picture of a depth image: near = light, far = dark, invalid (0) = black.

    Args:
        depth: (H, W) depth in metres (0 = invalid).

    Returns:
        (H, W, 3) uint8.
    """
    d = np.asarray(depth, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"depth: expected an (H, W) image, got shape {d.shape}")
    valid = np.isfinite(d) & (d > 0)
    grey = np.zeros(d.shape)
    if valid.any():
        lo, hi = np.percentile(d[valid], [1, 99])
        grey = np.where(valid, 230 - 180 * np.clip((d - lo) / max(hi - lo, 1e-6), 0, 1), 0)
    return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)


def _background(image: ArrayLike, intrinsics: CameraIntrinsics) -> np.ndarray:
    arr = np.asarray(image)
    expected = (intrinsics.height, intrinsics.width)
    if arr.shape[:2] != expected:
        raise ValueError(f"image: expected {expected[1]}x{expected[0]} (WxH) like the intrinsics, "
                         f"got shape {arr.shape}")
    if arr.ndim == 2:
        return depth_to_image(arr)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"image: expected (H, W, 3) RGB or (H, W) depth, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"image: expected uint8 RGB, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr[..., :3])


def _projected_boxes(
    grasps: GraspGroup, intrinsics: CameraIntrinsics, gripper: GripperModel
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, 8, 2) pixel corners of each grasp's boxes and (N,) bool: all corners in front."""
    corners = gripper.box_corners(grasps)  # (N, 3, 8, 3)
    flat = corners.reshape(-1, 3)
    uv, z = project_points(flat, intrinsics)
    in_front = np.asarray((z > _MIN_Z).reshape(len(grasps), 24).all(axis=1))
    return uv.reshape(len(grasps), 3, 8, 2), in_front


def _outline(points: np.ndarray) -> list[tuple[float, float]]:
    """The convex outline of a projected box's 8 corners (a segment if degenerate)."""
    try:
        hull = ConvexHull(points)
        ring = points[hull.vertices]
    except QhullError:  # the box is seen exactly edge-on: draw its longest extent
        far = points[np.argmax(np.linalg.norm(points - points[0], axis=1))] - points[0]
        along = points @ far
        ring = points[[int(np.argmin(along)), int(np.argmax(along))]]
    return [(float(u), float(v)) for u, v in ring]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow < 10.1 or no FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _draw_boxes(
    draw: ImageDraw.ImageDraw, boxes: np.ndarray, color: tuple[int, int, int], width: int,
    alpha: int, halo: int = 0,
) -> None:
    """Draw one grasp's three box outlines (pixel coordinates already scaled)."""
    rings = [_outline(box) for box in boxes]
    if halo:
        for ring in rings:
            draw.line([*ring, ring[0]], fill=(*_HALO_COLOR, 255), width=width + 2 * halo,
                      joint="curve")
    for ring in rings:
        if len(ring) > 2 and alpha:
            draw.polygon(ring, fill=(*color, alpha))
    for ring in rings:
        draw.line([*ring, ring[0]], fill=(*color, 255), width=width, joint="curve")


def draw_grasps(
    image: ArrayLike,
    grasps: GraspGroup,
    intrinsics: CameraIntrinsics,
    gripper: GripperModel | None = None,
    style: OverlayStyle | None = None,
) -> np.ndarray:
    """Draw grasps as projected gripper outlines, coloured by score, on an image.

    Args:
        image: (H, W, 3) uint8 RGB, or an (H, W) depth image in metres (drawn in grey).
        grasps: grasps in the image's camera frame; the best ``style.max_grasps`` are drawn.
        intrinsics: the camera of ``image``.
        gripper: gripper geometry (default: the reference gripper).
        style: drawing options.

    Returns:
        (H', W', 3) uint8: the image, upscaled by an integer factor when narrower than
        ``style.min_width``, with the legend strip below it when ``style.legend``.

    Raises:
        ValueError: an image whose size differs from the intrinsics, or not a ``GraspGroup``.
    """
    if not isinstance(grasps, GraspGroup):
        raise ValueError(f"grasps: expected a GraspGroup, got {type(grasps).__name__}")
    st = style or OverlayStyle()
    grip = gripper or GripperModel()
    base = _background(image, intrinsics)
    zoom = max(1, int(np.ceil(st.min_width / intrinsics.width)))
    ss = zoom * int(st.supersample)
    shown = grasps.sort_by_score()[: int(st.max_grasps)]
    boxes, in_front = _projected_boxes(shown, intrinsics, grip)
    if not in_front.all():
        logger.info("overlay: %d grasps reach behind the camera, not drawn", int((~in_front).sum()))
    colors = score_colors(shown.scores)
    unit = intrinsics.width * zoom / 640  # sizes are set for a 640-pixel-wide output
    line = st.line_width or 1.5 * unit
    width_px = max(1, int(round(line * int(st.supersample))))
    size = (intrinsics.width * ss, intrinsics.height * ss)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    scaled = (boxes + 0.5) * ss  # pixel centres at integers → continuous image coordinates
    best = 0 if st.highlight_best and len(shown) and in_front[0] else -1
    for i in np.flatnonzero(in_front)[::-1]:  # worst first, so better grasps lie on top
        if i == best:
            continue
        color = (int(colors[i, 0]), int(colors[i, 1]), int(colors[i, 2]))
        _draw_boxes(draw, scaled[i], color, width_px, int(st.fill_alpha))
    if best == 0:
        _draw_boxes(draw, scaled[0], _BEST_COLOR, 2 * width_px, int(st.fill_alpha), halo=width_px)
        _tag(draw, scaled[0], 9 * unit * int(st.supersample), int(st.supersample))
    out_size = (intrinsics.width * zoom, intrinsics.height * zoom)
    picture = Image.fromarray(base).resize(out_size, Image.Resampling.BICUBIC).convert("RGBA")
    picture.alpha_composite(layer.resize(out_size, Image.Resampling.LANCZOS))
    result = picture.convert("RGB")
    if st.legend:
        result = _with_legend(result, shown, len(grasps), colors)
    return np.asarray(result)


def _tag(draw: ImageDraw.ImageDraw, boxes: np.ndarray, radius: float, ss: int) -> None:
    """A round ``1`` badge of ``radius`` (canvas pixels) next to the best grasp's palm."""
    palm = boxes[2].mean(axis=0)
    fingers = boxes[:2].reshape(-1, 2).mean(axis=0)
    away = palm - fingers
    norm = float(np.linalg.norm(away))
    centre = palm + (away / norm if norm > 1e-9 else np.array([0.0, -1.0])) * 2.2 * radius
    x, y = float(centre[0]), float(centre[1])
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(*_BEST_COLOR, 255),
                 outline=(*_HALO_COLOR, 255), width=max(1, ss))
    draw.text((x, y), "1", fill=(255, 255, 255, 255), font=_font(int(radius * 1.4)), anchor="mm")


def _with_legend(
    picture: Image.Image, shown: GraspGroup, total: int, colors: np.ndarray
) -> Image.Image:
    """Append a strip with the score colour bar and the best grasp's numbers."""
    width, height = picture.size
    strip = max(44, width // 22)
    pad = strip // 5
    font = _font(max(11, int(strip * 0.32)))
    canvas = Image.new("RGB", (width, height + strip), _PANEL_COLOR)
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y0, y1 = height + pad, height + strip - pad
    mid = (y0 + y1) / 2
    if len(shown) == 0:
        draw.text((pad, mid), "no grasps found", fill=_TEXT_COLOR, font=font, anchor="lm")
        return canvas
    scores = shown.scores
    text = f"score {scores.min():.2f}"
    draw.text((pad, mid), text, fill=_TEXT_COLOR, font=font, anchor="lm")
    bar_x0 = pad * 2 + int(draw.textlength(text, font=font))
    bar_x1 = bar_x0 + width // 5
    ramp = score_colors(np.linspace(0.0, 1.0, max(2, bar_x1 - bar_x0)), 0.0, 1.0)
    bar = Image.fromarray(np.repeat(ramp[None], int(y1 - y0), axis=0))
    canvas.paste(bar, (bar_x0, int(y0)))
    x = bar_x1 + pad
    draw.text((x, mid), f"{scores.max():.2f}", fill=_TEXT_COLOR, font=font, anchor="lm")
    x += int(draw.textlength(f"{scores.max():.2f}", font=font)) + 3 * pad
    r = (y1 - y0) / 2.6
    draw.ellipse((x, mid - r, x + 2 * r, mid + r), fill=_BEST_COLOR, outline=_HALO_COLOR)
    draw.text((x + r, mid), "1", fill=(255, 255, 255), font=_font(int(r * 1.4)), anchor="mm")
    x += int(2 * r) + pad
    best = (f"best: score {scores[0]:.2f}, width {shown.widths[0] * 100:.1f} cm, "
            f"depth {shown.depths[0] * 100:.1f} cm    showing {len(shown)} of {total} grasps")
    draw.text((x, mid), best, fill=_TEXT_COLOR, font=font, anchor="lm")
    return canvas


def save_overlay(
    path: str | Path,
    image: ArrayLike,
    grasps: GraspGroup,
    intrinsics: CameraIntrinsics,
    gripper: GripperModel | None = None,
    style: OverlayStyle | None = None,
) -> Path:
    """Draw grasps on an image (:func:`draw_grasps`) and write it as a PNG.

    Args:
        path: output file (parent folders are created).
        image: (H, W, 3) uint8 RGB or (H, W) depth in metres.
        grasps: grasps in the image's camera frame.
        intrinsics: the camera of ``image``.
        gripper: gripper geometry.
        style: drawing options.

    Returns:
        The written path.
    """
    out = Path(path)
    picture = draw_grasps(image, grasps, intrinsics, gripper, style)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(out, format="PNG")
    return out
