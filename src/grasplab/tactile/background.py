"""The untouched GelSight image and its marker dots (pure numpy, pad frame, see ``config``).

- :func:`background_image`: the flat membrane lit by the lights (a smooth colour gradient toward
  each light and a vignette) times a grid of dark marker dots; this is what a pad shows without
  contact, and the base every image is shaded on;
- :func:`move_markers`: the dots in a contact move rigidly with the gel's shear.

Images are (H, W, 3) float32 RGB in ``[0, 1]``; positions in metres or pixels as named.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from grasplab.tactile.config import GelSightConfig

__all__ = ["background_image", "membrane_image", "move_markers"]


@lru_cache(maxsize=8)
def membrane_image(config: GelSightConfig) -> np.ndarray:
    """(H, W, 3) float32 flat membrane lit by the lights (a gradient toward each), no markers.

    Read-only (shared).
    """
    x, y = config.pixel_coordinates()
    half = max(config.pad_size) / 2
    xx, yy = np.meshgrid(x / half, y / half)
    image = np.broadcast_to(np.asarray(config.background_color), xx.shape + (3,)).copy()
    for light, color in zip(config.light_directions, config.light_colors, strict=True):
        d = np.asarray(light[:2]) / max(np.linalg.norm(light[:2]), 1e-12)
        toward = 0.5 * (1 + np.clip(xx * d[0] + yy * d[1], -1, 1))
        image += config.background_gradient * toward[..., None] ** 2 * np.asarray(color)
    vignette = 1 - 0.12 * (xx**2 + yy**2)
    out = (image * vignette[..., None]).astype(np.float32)
    out.setflags(write=False)
    return out


def _marker_darkening(config: GelSightConfig, dx: np.ndarray | None = None,
                      dy: np.ndarray | None = None,
                      window: tuple[slice, slice] | None = None) -> np.ndarray:
    """(h, w) fraction of light removed by the marker dots, moved by ``(dx, dy)`` (m)."""
    x, y = config.pixel_coordinates()
    rows, cols = window or (slice(None), slice(None))
    xx, yy = np.meshgrid(x[cols].astype(np.float32), y[rows].astype(np.float32))
    if dx is not None and dy is not None:
        xx, yy = xx - dx, yy - dy
    s = np.float32(config.marker_spacing)
    ux = xx - (np.floor(xx / s) + np.float32(0.5)) * s
    uy = yy - (np.floor(yy / s) + np.float32(0.5)) * s
    dist = np.sqrt(ux * ux + uy * uy)
    edge = np.clip((config.marker_radius - dist) / config.pixel_pitch + 0.5, 0.0, 1.0)
    return (config.marker_darkness * edge).astype(np.float32)


@lru_cache(maxsize=8)
def background_image(config: GelSightConfig) -> np.ndarray:
    """(H, W, 3) float32 image of the untouched pad (lit membrane and markers). Read-only."""
    image = membrane_image(config)
    if config.markers:
        image = image * (1 - _marker_darkening_full(config))[..., None]
    out = np.clip(image, 0.0, 1.0).astype(np.float32)
    out.setflags(write=False)
    return out


def move_markers(image: np.ndarray, gel: np.ndarray, shear: np.ndarray,
                  config: GelSightConfig) -> None:
    """Move the marker dots with the gel (in place).

    Each dot shifts rigidly by ``shear`` times the gel's weight at its centre,
    ``min(1, gel / (0.5 max gel))`` (1 in the contact, fading with the skirt); dots moving less
    than 0.1 px stay. Only the pixels of the moved dots' old and new discs are redrawn; discs
    pushed onto each other are drawn one over the other.
    """
    pitch = config.pixel_pitch
    height, width = gel.shape
    centres = _marker_centres(config)  # (M, 2) rows, columns (px)
    at = np.rint(centres).astype(np.intp)
    inside = (at[:, 0] >= 0) & (at[:, 0] < height) & (at[:, 1] >= 0) & (at[:, 1] < width)
    weight = np.zeros(len(centres))
    weight[inside] = np.minimum(gel[at[inside, 0], at[inside, 1]] / (0.5 * gel.max()), 1.0)
    shift = weight[:, None] * (np.asarray(shear)[::-1] / pitch)  # (row, column) px
    moving = np.linalg.norm(shift, axis=1) > 0.1
    if not moving.any():
        return
    radius_px = config.marker_radius / pitch
    offsets = np.arange(int(np.ceil(radius_px + 1.5)) * 2 + 1) - int(np.ceil(radius_px + 1.5))
    old_r, old_c, old_ok = _patch(at[moving], offsets, gel.shape)
    old_r, old_c = old_r[old_ok], old_c[old_ok]
    new_centres = centres[moving] + shift[moving]
    new_r, new_c, valid = _patch(np.rint(new_centres).astype(np.intp), offsets, gel.shape)
    still = _marker_darkening_full(config)
    dark = still.copy()
    dark[old_r, old_c] = 0.0
    k = np.repeat(np.arange(len(new_centres)), offsets.size**2).reshape(new_r.shape)
    dist = np.hypot(new_r - new_centres[k, 0], new_c - new_centres[k, 1])
    value = config.marker_darkness * np.clip(radius_px - dist + 0.5, 0.0, 1.0)
    new_r, new_c, value = new_r[valid], new_c[valid], value[valid].astype(np.float32)
    dark[new_r, new_c] = np.maximum(dark[new_r, new_c], value)
    touched = np.zeros(height * width, dtype=bool)
    touched[old_r * width + old_c] = True
    touched[new_r * width + new_c] = True
    flat = np.flatnonzero(touched)
    pixels = image.reshape(-1, 3)
    change = still.ravel()[flat] - dark.ravel()[flat]
    pixels[flat] += membrane_image(config).reshape(-1, 3)[flat] * change[:, None]


def _patch(centres: np.ndarray, offsets: np.ndarray,
           shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, P, P) row and column indices of square patches around integer centres.

    Also returns which of them lie inside an image of ``shape``.
    """
    rows = centres[:, 0, None, None] + offsets[None, :, None]
    cols = centres[:, 1, None, None] + offsets[None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    valid = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return rows, cols, valid


@lru_cache(maxsize=8)
def _marker_centres(config: GelSightConfig) -> np.ndarray:
    """(M, 2) float (row, column) pixel positions of the marker dots' centres at rest."""
    s, pitch = config.marker_spacing, config.pixel_pitch
    half_w, half_h = config.pad_size[0] / 2, config.pad_size[1] / 2
    kx = np.arange(np.floor(-half_w / s) - 1, np.ceil(half_w / s) + 1)
    ky = np.arange(np.floor(-half_h / s) - 1, np.ceil(half_h / s) + 1)
    xx, yy = np.meshgrid((kx + 0.5) * s, (ky + 0.5) * s)
    width, height = config.resolution
    cols = xx.ravel() / pitch + (width - 1) / 2
    rows = yy.ravel() / pitch + (height - 1) / 2
    out = np.stack([rows, cols], axis=1)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=8)
def _marker_darkening_full(config: GelSightConfig) -> np.ndarray:
    out = _marker_darkening(config)
    out.setflags(write=False)
    return out
