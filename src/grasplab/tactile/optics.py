"""The GelSight optics as pure functions: pressed height map → elastomer → shading → image.

Everything here is numpy (and ``scipy.ndimage`` blurs) on (H, W) maps in the pad frame
(:mod:`grasplab.tactile.config`); nothing knows about physics, so each step is unit-testable.

1. :func:`press`: the object's distance to the gel face (``gap``, m) pressed in by a depth gives
   the raw indentation ``clip(depth - gap, 0, thickness)``; :func:`pressing_depth` finds the
   depth at which the gel's foundation pressure balances a normal force (Winkler model).
2. :func:`deform_gel`: the elastomer's smooth deformation, Taxim-style: Gaussian blurs from the
   largest scale to the smallest, each followed by ``max(blurred, raw)`` (the gel cannot pass
   through the object), large scales on a coarser level of an image pyramid for speed.
3. :func:`shading_table`: Phong shading of the membrane by coloured directional lights as a
   function of its slope ``(∂h/∂x, ∂h/∂y)``, tabulated once per config; :func:`shade` looks the
   slopes up (an orthographic camera and directional lights make the colour a function of the
   normal only). The image is ``background + shading(n) - shading(flat)``, so an untouched gel
   shows exactly the background.
4. :func:`render_tactile`: the shading added to :func:`~grasplab.tactile.background.background_image`
   (the lit membrane with its marker dots), the markers inside the contact moved by the shear
   (:func:`~grasplab.tactile.background.move_markers`) and pixel noise drawn from ``rng``.

Heights ``h`` are indentations (m, ≥ 0): the membrane moves by ``h`` toward the camera.
Images are (H, W, 3) float32 RGB in ``[0, 1]``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage

from grasplab.core.validation import RngLike, as_rng
from grasplab.tactile.background import background_image, move_markers
from grasplab.tactile.config import GelSightConfig

__all__ = [
    "deform_gel",
    "phong_shading",
    "press",
    "pressing_depth",
    "render_tactile",
    "shade",
    "shading_table",
    "to_uint8",
]

#: Slopes tabulated by :func:`shading_table` (steeper slopes are clipped to this).
MAX_SLOPE = 4.0
#: Entries per axis of the slope table.
TABLE_SIZE = 1025
#: Largest pyramid level factor used by :func:`deform_gel`.
_MAX_LEVEL = 8


def _check_map(values: ArrayLike, name: str, shape: tuple[int, int] | None = None,
               dtype: type = np.float64) -> np.ndarray:
    arr: np.ndarray = np.asarray(values, dtype=dtype)
    if arr.ndim != 2 or (shape is not None and arr.shape != shape):
        want = "(H, W)" if shape is None else str(shape)
        raise ValueError(f"{name}: expected a {want} map, got shape {arr.shape}")
    return arr


def press(gap: ArrayLike, depth: float, thickness: float) -> np.ndarray:
    """Raw indentation of the gel by an object pressed in by ``depth``.

    Args:
        gap: (H, W) distance (m) from the gel face to the object along the pad normal, measured
            from the object's closest point (0 there); ``inf`` where no object is seen.
        depth: pressing depth (m, ≥ 0).
        thickness: gel thickness (m); deeper indentations are clipped (the rigid backing).

    Returns:
        (H, W) float32 indentation (m).

    >>> press([[0.0, 0.5e-3, np.inf]], 1e-3, 2e-3).tolist()
    [[0.0010000000474974513, 0.0005000000237487257, 0.0]]
    """
    g = _check_map(gap, "gap")
    if not np.isfinite(depth) or depth < 0 or not np.isfinite(thickness) or thickness <= 0:
        raise ValueError(f"press: expected depth >= 0 and thickness > 0, got {depth}, {thickness}")
    with np.errstate(invalid="ignore"):
        h = np.clip(depth - g, 0.0, thickness)
    return np.nan_to_num(h, nan=0.0).astype(np.float32)


def pressing_depth(gap: ArrayLike, force: float, pixel_area: float, config: GelSightConfig) -> float:
    """The depth at which the gel's foundation pressure balances a normal force (Winkler model).

    Solves ``force = gel_modulus / gel_thickness * sum(press(gap, depth)) * pixel_area`` by
    bisection; a force too large for the visible gel gives the gel thickness.

    Args:
        gap: (H, W) object distance from its closest point (m), ``inf`` where none (a strided
            grid is fine: scale ``pixel_area`` to match).
        force: normal force (N, ≥ 0).
        pixel_area: area (m²) one entry of ``gap`` stands for.
        config: gel thickness and modulus.

    Returns:
        Pressing depth (m) in ``[0, gel_thickness]``.
    """
    g = _check_map(gap, "gap")
    if not np.isfinite(force) or force < 0 or not pixel_area > 0:
        raise ValueError(f"pressing_depth: expected force >= 0 and pixel_area > 0, got {force}, "
                         f"{pixel_area}")
    thickness = config.gel_thickness
    g = np.sort(g[np.isfinite(g) & (g < thickness)].astype(np.float32))
    if force == 0 or len(g) == 0:
        return 0.0
    stiffness = config.gel_modulus / thickness * pixel_area
    cum = np.concatenate([[0.0], np.cumsum(g, dtype=np.float64)])

    def pushback(depth: float) -> float:
        # sum(clip(depth - g, 0, thickness)) over the sorted g with prefix sums
        i1 = int(np.searchsorted(g, depth - thickness, side="right"))
        i2 = int(np.searchsorted(g, depth, side="left"))
        return stiffness * (thickness * i1 + depth * (i2 - i1) - (cum[i2] - cum[i1]))

    low, high = 0.0, thickness
    if pushback(high) <= force:
        return thickness
    for _ in range(50):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if pushback(mid) < force else (low, mid)
    return 0.5 * (low + high)


def _downsample(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` × ``factor`` blocks (a power of two; sides divisible by it)."""
    out = values
    while factor > 1:
        out = 0.25 * ((out[0::2, 0::2] + out[1::2, 0::2]) + (out[0::2, 1::2] + out[1::2, 1::2]))
        factor //= 2
    return out


def _upsample(values: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear upsampling by a power of two (samples at block centres, edges held)."""
    out = values
    while factor > 1:
        h, w = out.shape
        rows = np.empty((2 * h, w), dtype=out.dtype)
        rows[0::2] = out
        rows[2::2] = 0.25 * out[:-1] + 0.75 * out[1:]
        rows[1:-1:2] = 0.75 * out[:-1] + 0.25 * out[1:]
        rows[-1] = out[-1]
        out = np.empty((2 * h, 2 * w), dtype=out.dtype)
        out[:, 0::2] = rows
        out[:, 2::2] = 0.25 * rows[:, :-1] + 0.75 * rows[:, 1:]
        out[:, 1:-1:2] = 0.75 * rows[:, :-1] + 0.25 * rows[:, 1:]
        out[:, -1] = rows[:, -1]
        factor //= 2
    return out


def _bounding_box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """Rows and columns of the box around ``mask``'s True entries plus ``margin``, or None."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (slice(max(0, rows[0] - margin), min(mask.shape[0], rows[-1] + 1 + margin)),
            slice(max(0, cols[0] - margin), min(mask.shape[1], cols[-1] + 1 + margin)))


def deform_gel(height: ArrayLike, config: GelSightConfig) -> np.ndarray:
    """The elastomer's smooth deformation around a raw indentation (module docstring, step 2).

    Each blur scale runs on the pyramid level where it spans 1-2 pixels (at most 8× coarser);
    the result is upsampled bilinearly and combined with the raw indentation at full size.
    Only the bounding box of the contact (plus three times the largest blur) is processed.

    Args:
        height: (H, W) raw indentation (m) from :func:`press`.
        config: blur scales (m), pixel pitch, gel thickness.

    Returns:
        (H, W) float32 deformed membrane height (m), ≥ ``height`` everywhere, ≤ the thickness.
    """
    raw = _check_map(height, "height", dtype=np.float32)
    out = np.zeros_like(raw)
    pitch = config.pixel_pitch
    box = _bounding_box(raw > 0, int(np.ceil(3 * config.blur_sigmas[0] / pitch)) + _MAX_LEVEL)
    if box is None:
        return out
    crop = _pad_to(raw[box], _MAX_LEVEL)
    pyramid = {1: crop}
    h, level = crop, 1
    for sigma in config.blur_sigmas:
        sigma_px = sigma / pitch
        if sigma_px < 0.5:
            continue
        want = int(min(_MAX_LEVEL, 2 ** max(0, int(np.floor(np.log2(sigma_px))))))
        if want not in pyramid:
            pyramid[want] = _downsample(pyramid[max(k for k in pyramid if k < want)],
                                        want // max(k for k in pyramid if k < want))
        if want > level:
            h = _downsample(h, want // level)
        elif want < level:
            h = np.maximum(_upsample(h, level // want), pyramid[want])
        level = want
        h = ndimage.gaussian_filter(h, sigma_px / level, truncate=3.0, mode="nearest")
        h = np.maximum(h, pyramid[level])
    h = np.maximum(_upsample(h, level), crop)
    size = (box[0].stop - box[0].start, box[1].stop - box[1].start)
    out[box] = np.minimum(h[: size[0], : size[1]], np.float32(config.gel_thickness))
    return out


def _pad_to(values: np.ndarray, multiple: int) -> np.ndarray:
    h, w = values.shape
    return np.pad(values, ((0, -h % multiple), (0, -w % multiple)), mode="edge")


def phong_shading(normals: ArrayLike, config: GelSightConfig) -> np.ndarray:
    """Phong shading of unit normals by the config's directional lights (viewer along +z).

    ``sum_l color_l * (kd * max(n·L, 0) + ks * max(R·V, 0) ** alpha)`` with ``R = 2 (n·L) n - L``
    and ``V = (0, 0, 1)``.

    Args:
        normals: (..., 3) unit normals in the camera-facing frame (z toward the camera).
        config: lights and Phong coefficients.

    Returns:
        (..., 3) float64 RGB.
    """
    n = np.asarray(normals, dtype=np.float64)
    lights = np.asarray(config.light_directions, dtype=np.float64)
    lights /= np.linalg.norm(lights, axis=1, keepdims=True)
    colors = np.asarray(config.light_colors, dtype=np.float64)
    out = np.zeros(n.shape[:-1] + (3,))
    for light, color in zip(lights, colors, strict=True):
        n_dot_l = n @ light
        r_dot_v = 2 * n_dot_l * n[..., 2] - light[2]
        value = config.diffuse * np.maximum(n_dot_l, 0.0)
        value = value + config.specular * np.maximum(r_dot_v, 0.0) ** config.shininess
        out += value[..., None] * color
    return out


@lru_cache(maxsize=8)
def shading_table(config: GelSightConfig) -> np.ndarray:
    """(TABLE_SIZE², 3) float32 shading minus the flat membrane's, over slopes in ±MAX_SLOPE.

    Entry ``iy * TABLE_SIZE + ix`` holds slope ``(gx, gy) = (s[ix], s[iy])`` with ``s`` the
    ``TABLE_SIZE`` evenly spaced values from ``-MAX_SLOPE`` to ``MAX_SLOPE``. Read-only (shared).
    """
    s = np.linspace(-MAX_SLOPE, MAX_SLOPE, TABLE_SIZE)
    gx, gy = np.meshgrid(s, s)
    n = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    flat = phong_shading(np.array([0.0, 0.0, 1.0]), config)
    table = (phong_shading(n, config) - flat).reshape(-1, 3).astype(np.float32)
    table.setflags(write=False)
    return table


def shade(height: ArrayLike, config: GelSightConfig) -> np.ndarray:
    """Colour change (H, W, 3) of the membrane with this deformed height (0 where flat).

    Slopes come from central differences of ``height`` (m) over the pixel pitch and are looked up
    in :func:`shading_table` (nearest entry, step ``2 MAX_SLOPE / (TABLE_SIZE - 1)`` = 0.008).
    """
    h = _check_map(height, "height", dtype=np.float32)
    scale = np.float32((TABLE_SIZE - 1) / (2 * MAX_SLOPE) / (2 * config.pixel_pitch))
    centre = np.float32((TABLE_SIZE - 1) / 2 + 0.5)  # + 0.5: truncation rounds to nearest
    ix = np.full(h.shape, centre, dtype=np.float32)
    iy = np.full(h.shape, centre, dtype=np.float32)
    np.subtract(h[:, 2:], h[:, :-2], out=ix[:, 1:-1])
    np.subtract(h[2:, :], h[:-2, :], out=iy[1:-1, :])
    for g in (ix[:, 1:-1], iy[1:-1, :]):
        g *= scale
        g += centre
    top = np.float32(TABLE_SIZE - 1)
    index = np.clip(iy, 0, top, out=iy).astype(np.intp) * TABLE_SIZE
    index += np.clip(ix, 0, top, out=ix).astype(np.intp)
    return np.take(shading_table(config), index, axis=0)


def render_tactile(height: ArrayLike, config: GelSightConfig, *,
                   shear: ArrayLike = (0.0, 0.0), rng: RngLike = None,
                   deformed: bool = False) -> np.ndarray:
    """Render the GelSight image of a pressed height map.

    Args:
        height: (H, W) indentation (m) with ``(H, W) = config.image_shape``: raw from
            :func:`press`, or already deformed (``deformed=True``).
        config: the pad.
        shear: (2,) tangential displacement (m, pad x and y) of the gel in contact: markers
            inside the contact move by it, fading out with the deformation.
        rng: draws the pixel noise (``config.noise_std``; none when it is 0).
        deformed: ``height`` is already the output of :func:`deform_gel`.

    Returns:
        (H, W, 3) float32 RGB in ``[0, 1]``; exactly :func:`background_image` for a zero
        height map without noise.

    Raises:
        ValueError: wrong shape, negative or non-finite heights.
    """
    h = _check_map(height, "height", config.image_shape, dtype=np.float32)
    if not np.all(np.isfinite(h)) or h.min(initial=0.0) < 0:
        raise ValueError("height: expected finite indentations >= 0 (m)")
    shear_xy = np.asarray(shear, dtype=np.float64).reshape(-1)
    if shear_xy.shape != (2,) or not np.all(np.isfinite(shear_xy)):
        raise ValueError(f"shear: expected 2 finite numbers (m), got {shear!r}")
    gel = h if deformed else deform_gel(h, config)
    image = background_image(config)
    window = _bounding_box(gel > 0, 1)
    if window is not None:
        image = image.copy()
        image[window] += shade(gel[window], config)
        if config.markers and np.any(shear_xy != 0):
            move_markers(image, gel, shear_xy, config)
    if config.noise_std > 0:
        gen = as_rng(rng)
        noise = gen.random(image.shape, dtype=np.float32)
        noise -= np.float32(0.5)
        noise *= np.float32(config.noise_std * np.sqrt(12.0))
        noise += image
        image = noise
    return np.clip(image, 0.0, 1.0, out=image if image.flags.writeable else None)


def to_uint8(image: ArrayLike) -> np.ndarray:
    """(H, W, 3) float image in ``[0, 1]`` → uint8 (rounded, clipped).

    >>> to_uint8(np.array([[[0.0, 0.5, 1.2]]])).tolist()
    [[[0, 128, 255]]]
    """
    arr = np.asarray(image, dtype=np.float64)
    return np.clip(np.rint(arr * 255), 0, 255).astype(np.uint8)
