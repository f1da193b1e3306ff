"""PLGP pixel-label enhancement, augmentation and input normalisation (numpy only).

Paper §IV-B (PLGP): every labelled grasp is copied to its eight neighbours at quality 0.9
("label enhancement"); training images are a 320 × 320 crop around the image centre moved by up
to 30 px, rotated by up to ±30°, flipped horizontally, and mean-subtracted.

Angle convention (``grasplab.core.rect``): theta is the jaw angle counter-clockwise *on screen*
from the +u axis, the jaw direction in the image is ``(du, dv) = (cos theta, -sin theta)``, and
angle bin ``k`` holds ``theta = k pi / K`` (K = 18). Rotating the image counter-clockwise on
screen by ``alpha`` maps ``theta -> theta + alpha`` (bins shift by ``alpha K / pi``, modulo K);
a horizontal flip maps ``theta -> pi - theta`` (bin ``k -> -k mod K``). Width and grasp-depth
maps are per angle bin and follow the same channel permutation. Labels are resampled with nearest
neighbours (they stay exact); colour with bilinear interpolation; depth with nearest neighbours
(no mixing of valid and invalid pixels). Pixels coming from outside the image are 0 (invalid
depth, no label).

Pixel coordinates are (u, v) = (column, row); depth in metres, 0 = invalid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from grasplab.core.validation import as_rng

_NEIGHBOURS = tuple((dv, du) for dv in (-1, 0, 1) for du in (-1, 0, 1) if (dv, du) != (0, 0))
INPUT_MODES = ("depth", "rgb", "rgbd")


@dataclass(frozen=True)
class PixelLabelMaps:
    """Dense PLGP training targets of one image.

    Attributes:
        quality: (H, W) float32 grasp-point quality in [0, 1] (1 labelled, 0.9 enhanced).
        angle_quality: (K, H, W) float32 angle-bin quality in [0, 1].
        width: (K, H, W) float32 opening divided by L4, in [0, 1].
        depth: (K, H, W) float32 grasp depth d (m), or None.
    """

    quality: np.ndarray
    angle_quality: np.ndarray
    width: np.ndarray
    depth: np.ndarray | None = None

    def __post_init__(self) -> None:
        q, aq, w = self.quality, self.angle_quality, self.width
        if q.ndim != 2 or aq.ndim != 3 or aq.shape[1:] != q.shape or w.shape != aq.shape:
            raise ValueError(
                f"pixel labels: expected quality (H, W), angle_quality and width (K, H, W) with the "
                f"same H, W; got {q.shape}, {aq.shape}, {w.shape}"
            )
        if self.depth is not None and self.depth.shape != aq.shape:
            raise ValueError(f"pixel labels: depth {self.depth.shape} must match angle_quality {aq.shape}")

    @property
    def num_angles(self) -> int:
        """K, the number of angle bins."""
        return int(self.angle_quality.shape[0])


@dataclass(frozen=True)
class AugmentConfig:
    """Parameters of the paper's image augmentation (§IV-B).

    Attributes:
        crop_size: side of the square crop (px).
        max_translation: largest shift of the crop centre from the image centre (px), each axis.
        max_rotation_deg: largest rotation, both directions (degrees).
        flip: randomly flip horizontally (probability 0.5).
        snap_rotation: draw rotations that are multiples of pi / K so that angle labels move by
            whole bins (exact); otherwise any angle and labels move by the nearest whole bin.
        cover_image: widen the shift on each axis to at least ``(side - crop_size) / 2``, so that
            crops reach every part of the image. PLGP's crop (320 px, shift 30 px) sees almost
            all of its images; a small crop of a wide image with the paper's shift never shows
            the image's sides (tray walls, rims), and the network then rates them as graspable
            when it runs on the whole image.
    """

    crop_size: int = 320
    max_translation: int = 30
    max_rotation_deg: float = 30.0
    flip: bool = True
    snap_rotation: bool = True
    cover_image: bool = False

    def __post_init__(self) -> None:
        if self.crop_size < 8:
            raise ValueError(f"crop_size must be >= 8 px, got {self.crop_size}")
        if self.max_translation < 0 or not 0.0 <= self.max_rotation_deg <= 180.0:
            raise ValueError(
                "max_translation must be >= 0 and max_rotation_deg in [0, 180], got "
                f"{self.max_translation}, {self.max_rotation_deg}"
            )


@dataclass(frozen=True)
class CropTransform:
    """One drawn crop: output pixel -> source pixel map and its effect on angle bins.

    Attributes:
        center: (u, v) source pixel at the crop centre.
        angle: counter-clockwise on-screen rotation of the image content (rad).
        angle_shift: whole angle bins added to every label by the rotation.
        flip: whether the crop is flipped horizontally after the rotation.
        crop_size: side of the output (px).
    """

    center: tuple[float, float]
    angle: float
    angle_shift: int
    flip: bool
    crop_size: int

    def source_coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """(S, S) float64 source u and v of every output pixel."""
        size = self.crop_size
        half = (size - 1) / 2.0
        y, x = np.mgrid[0:size, 0:size].astype(np.float64)
        if self.flip:
            x = (size - 1) - x
        dx, dy = x - half, y - half
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.center[0] + c * dx - s * dy, self.center[1] + s * dx + c * dy

    def source_window(self, shape: tuple[int, int], margin: int = 2) -> tuple[slice, slice]:
        """Rows and columns of an (H, W) image that the crop reads, widened by ``margin`` px.

        Enhancing labels inside this window and warping with :meth:`translated` gives the same
        crop as working on the whole image (the margin covers the eight neighbours).
        """
        su, sv = self.source_coordinates()
        v0, v1 = int(np.floor(sv.min())) - margin, int(np.ceil(sv.max())) + margin + 1
        u0, u1 = int(np.floor(su.min())) - margin, int(np.ceil(su.max())) + margin + 1
        return slice(max(v0, 0), max(min(v1, shape[0]), 0)), slice(max(u0, 0), max(min(u1, shape[1]), 0))

    def translated(self, du: float, dv: float) -> CropTransform:
        """The same crop of an image whose pixel (u, v) is (u + du, v + dv) here."""
        return replace(self, center=(self.center[0] + du, self.center[1] + dv))

    def angle_permutation(self, num_angles: int) -> np.ndarray:
        """(K,) source bin of every output bin: out[k] = in[perm[k]]."""
        k_out = np.arange(num_angles)
        k_rot = -k_out if self.flip else k_out
        return np.mod(k_rot - self.angle_shift, num_angles)


def sample_crop(
    image_shape: tuple[int, int],
    config: AugmentConfig,
    num_angles: int,
    rng: np.random.Generator | int | None,
) -> CropTransform:
    """Draw a random crop (translation, rotation, flip) for an image of ``image_shape`` (H, W)."""
    gen = as_rng(rng)
    height, width = image_shape
    limits = np.full(2, config.max_translation, dtype=np.int64)
    if config.cover_image:
        limits = np.maximum(limits, [(width - config.crop_size) // 2, (height - config.crop_size) // 2])
    shift = gen.integers(-limits, limits + 1)
    bin_rad = np.pi / num_angles
    max_rad = np.deg2rad(config.max_rotation_deg)
    if config.snap_rotation:
        max_bins = int(np.floor(max_rad / bin_rad + 1e-9))
        angle_shift = int(gen.integers(-max_bins, max_bins + 1))
        angle = angle_shift * bin_rad
    else:
        angle = float(gen.uniform(-max_rad, max_rad))
        angle_shift = int(np.round(angle / bin_rad))
    flip = bool(config.flip and gen.random() < 0.5)
    center = ((width - 1) / 2.0 + float(shift[0]), (height - 1) / 2.0 + float(shift[1]))
    return CropTransform(center, angle, angle_shift, flip, config.crop_size)


def center_crop(image_shape: tuple[int, int], crop_size: int) -> CropTransform:
    """The deterministic centre crop used for validation and inference on crops."""
    height, width = image_shape
    return CropTransform(((width - 1) / 2.0, (height - 1) / 2.0), 0.0, 0, False, crop_size)


def _nearest_index(
    transform: CropTransform, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    su, sv = transform.source_coordinates()
    ui, vi = np.rint(su).astype(np.int64), np.rint(sv).astype(np.int64)
    inside = (ui >= 0) & (ui < shape[1]) & (vi >= 0) & (vi < shape[0])
    return np.clip(ui, 0, shape[1] - 1), np.clip(vi, 0, shape[0] - 1), inside


def warp_nearest(image: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Resample (H, W) or (C, H, W) ``image`` into the crop with nearest neighbours (0 outside)."""
    arr = np.asarray(image)
    if arr.ndim not in (2, 3):
        raise ValueError(f"image: expected (H, W) or (C, H, W), got shape {arr.shape}")
    ui, vi, inside = _nearest_index(transform, arr.shape[-2:])
    out = arr[..., vi, ui]
    return np.where(inside, out, np.zeros((), dtype=arr.dtype)).astype(arr.dtype)


def warp_bilinear(image: np.ndarray, transform: CropTransform) -> np.ndarray:
    """Resample an (H, W, C) image into the crop bilinearly (0 outside); float32 output."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3:
        raise ValueError(f"image: expected (H, W, C), got shape {arr.shape}")
    height, width = arr.shape[:2]
    su, sv = transform.source_coordinates()
    u0, v0 = np.floor(su).astype(np.int64), np.floor(sv).astype(np.int64)
    fu, fv = (su - u0)[..., None], (sv - v0)[..., None]
    out = np.zeros((*su.shape, arr.shape[2]), dtype=np.float32)
    for du, dv, weight in (
        (0, 0, (1 - fu) * (1 - fv)),
        (1, 0, fu * (1 - fv)),
        (0, 1, (1 - fu) * fv),
        (1, 1, fu * fv),
    ):
        uu, vv = u0 + du, v0 + dv
        inside = ((uu >= 0) & (uu < width) & (vv >= 0) & (vv < height))[..., None]
        sample = arr[np.clip(vv, 0, height - 1), np.clip(uu, 0, width - 1)]
        out += np.where(inside, sample * weight, 0.0).astype(np.float32)
    return out


def warp_labels(labels: PixelLabelMaps, transform: CropTransform) -> PixelLabelMaps:
    """Move label maps with the image: pixels by the crop, angle channels by the permutation."""
    perm = transform.angle_permutation(labels.num_angles)
    return PixelLabelMaps(
        quality=warp_nearest(labels.quality, transform),
        angle_quality=warp_nearest(labels.angle_quality[perm], transform),
        width=warp_nearest(labels.width[perm], transform),
        depth=None if labels.depth is None else warp_nearest(labels.depth[perm], transform),
    )


def _neighbour_entries(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the in-image eight neighbours of the True entries of (..., H, W) ``mask``.

    Returns:
        (M,) destination flat indices and (M,) source flat indices, sources not excluded.
    """
    height, width = mask.shape[-2:]
    src = np.flatnonzero(mask)
    lead, rest = np.divmod(src, height * width)
    v, u = np.divmod(rest, width)
    dst_all, src_all = [], []
    for dv, du in _NEIGHBOURS:
        nv, nu = v + dv, u + du
        inside = (nv >= 0) & (nv < height) & (nu >= 0) & (nu < width)
        dst_all.append((lead[inside] * height + nv[inside]) * width + nu[inside])
        src_all.append(src[inside])
    return np.concatenate(dst_all), np.concatenate(src_all)


def _spread(
    values: np.ndarray, extras: list[np.ndarray], value: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Copy the positive entries of ``values`` to their unlabelled eight neighbours.

    A new entry gets ``value`` times the largest neighbouring value and, for every array of
    ``extras`` (same shape), the mean over the neighbouring labelled entries.
    """
    dst, src = _neighbour_entries(values > 0)
    flat = values.ravel()
    keep = flat[dst] == 0
    dst, src = dst[keep], src[keep]
    out = flat.copy()
    np.maximum.at(out, dst, np.float32(value) * flat[src])
    unique, inverse = np.unique(dst, return_inverse=True)
    count = np.bincount(inverse, minlength=len(unique))
    spread_extras = []
    for extra in extras:
        flat_extra = extra.ravel().copy()
        sums = np.bincount(inverse, weights=extra.ravel()[src], minlength=len(unique))
        flat_extra[unique] = sums / np.maximum(count, 1)
        spread_extras.append(flat_extra.reshape(extra.shape).astype(np.float32, copy=False))
    return out.reshape(values.shape).astype(np.float32, copy=False), spread_extras


def enhance_labels(labels: PixelLabelMaps, value: float = 0.9) -> PixelLabelMaps:
    """Copy every labelled grasp to its eight neighbours (PLGP §IV-B label enhancement).

    An unlabelled (pixel, angle bin) next to labelled ones gets angle quality ``value`` times the
    largest neighbouring angle quality, the mean width (and depth) of those neighbours, and the
    pixel gets quality ``value`` times its largest neighbouring quality. Labelled entries are
    kept; only original labels are copied (no chains). Sparse: the cost grows with the number of
    labelled entries, not the image size.

    Args:
        labels: the labels of one image.
        value: quality of a copied grasp relative to its source, in (0, 1].

    Returns:
        New label maps (inputs are not modified).
    """
    if not 0.0 < value <= 1.0:
        raise ValueError(f"enhancement value must be in (0, 1], got {value}")
    extras = [labels.width] if labels.depth is None else [labels.width, labels.depth]
    angle_quality, spread = _spread(labels.angle_quality, extras, value)
    quality, _ = _spread(labels.quality, [], value)
    return PixelLabelMaps(
        quality=quality,
        angle_quality=angle_quality,
        width=spread[0],
        depth=None if labels.depth is None else spread[1],
    )


def normalize_input(
    depth: np.ndarray | None, rgb: np.ndarray | None, mode: str, depth_scale: float = 1.0
) -> np.ndarray:
    """Network input of one image: mean-subtracted depth and/or colour, (C, H, W) float32.

    Depth (m) has the mean of its valid pixels subtracted, is multiplied by ``depth_scale`` and
    invalid pixels are set to 0 (the mean); colour is scaled to [0, 1] and each channel has its
    mean subtracted. Channel order: depth (``"depth"``, C = 1), R, G, B (``"rgb"``, C = 3),
    R, G, B, depth (``"rgbd"``, C = 4).

    Args:
        depth: (H, W) depth in metres, 0 = invalid (needed for "depth" and "rgbd").
        rgb: (H, W, 3) colour, uint8 or float in [0, 255] (needed for "rgb" and "rgbd").
        mode: "depth", "rgb" or "rgbd".
        depth_scale: factor on the mean-subtracted depth (1 = metres, as PLGP; 10 puts the
            few-centimetre relief of objects on a tray near the unit scale the layers start at).

    Returns:
        (C, H, W) float32.
    """
    if mode not in INPUT_MODES:
        raise ValueError(f"input mode must be one of {INPUT_MODES}, got {mode!r}")
    if depth is not None and rgb is not None and np.shape(depth)[:2] != np.shape(rgb)[:2]:
        raise ValueError(
            f"depth {np.shape(depth)[:2]} and rgb {np.shape(rgb)[:2]} must have the same height and width"
        )
    channels = []
    if mode in ("rgb", "rgbd"):
        if rgb is None or np.ndim(rgb) != 3 or np.shape(rgb)[2] != 3:
            raise ValueError(f"input mode {mode!r} needs an (H, W, 3) rgb image")
        colour = np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / np.float32(255.0)
        channels.append(colour - colour.mean(axis=(1, 2), keepdims=True))
    if mode in ("depth", "rgbd"):
        if depth is None or np.ndim(depth) != 2:
            raise ValueError(f"input mode {mode!r} needs an (H, W) depth image")
        d = np.nan_to_num(np.asarray(depth, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        valid = d > 0
        mean = np.float32(d[valid].mean()) if valid.any() else np.float32(0.0)
        channels.append(np.where(valid, (d - mean) * np.float32(depth_scale), 0.0).astype(np.float32)[None])
    return np.concatenate(channels, axis=0).astype(np.float32)


def input_channels(mode: str) -> int:
    """Channels of the network input for ``mode`` ("depth" 1, "rgb" 3, "rgbd" 4)."""
    if mode not in INPUT_MODES:
        raise ValueError(f"input mode must be one of {INPUT_MODES}, got {mode!r}")
    return {"depth": 1, "rgb": 3, "rgbd": 4}[mode]
