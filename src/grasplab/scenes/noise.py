"""Depth-sensor noise models for rendered depth images (metres, 0 = invalid).

Pure functions: they return new float32 images and never touch their input, so callers keep the
noise-free depth. Invalid pixels (0) stay invalid.

- :func:`gaussian_depth_noise`: i.i.d. zero-mean Gaussian noise on valid pixels, the usual
  augmentation (AnyGrasp §VII-A, GG-CNN).
- :func:`plgp_depth_noise`: PLGP §III-B, eq. 5 and the two steps after it: (1) each pixel is zeroed
  with probability ``f(grad)``, a linear map of the local depth-gradient magnitude to [0, 1], so
  depth edges lose pixels as real sensors do; (2) zero-mean Gaussian noise; (3) the image is
  scaled down by ``n`` and back up, which removes fine depth detail a real camera does not see.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage

from grasplab.core.validation import RngLike, as_rng, check_depth_image

__all__ = ["depth_gradient", "gaussian_depth_noise", "plgp_depth_noise", "resample_depth"]


def _check_sigma(sigma: float, name: str = "sigma") -> float:
    value = float(sigma)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (metres), got {sigma}")
    return value


def gaussian_depth_noise(depth: ArrayLike, sigma: float, rng: RngLike = None) -> np.ndarray:
    """Add zero-mean Gaussian noise of standard deviation ``sigma`` (m) to the valid pixels.

    Args:
        depth: (H, W) depth in metres, 0 = invalid.
        sigma: noise standard deviation in metres (≥ 0).
        rng: random generator or seed.

    Returns:
        (H, W) float32 new image; invalid pixels stay 0 and a pixel pushed to ≤ 0 becomes 0.
    """
    d = check_depth_image(depth)
    s = _check_sigma(sigma)
    valid = d > 0
    noisy = d.astype(np.float64)
    noisy[valid] += as_rng(rng).normal(0.0, s, size=int(valid.sum()))
    noisy[noisy <= 0] = 0.0
    return noisy.astype(np.float32)


def depth_gradient(depth: ArrayLike) -> np.ndarray:
    """(H, W) float64 magnitude of the central-difference depth gradient (metres per pixel).

    Invalid (0) pixels take part as zeros, so the border of a hole has a large gradient.
    """
    d = np.asarray(depth, dtype=np.float64)
    gy, gx = np.gradient(d)
    return np.asarray(np.hypot(gx, gy))


def resample_depth(depth: ArrayLike, factor: int) -> np.ndarray:
    """Scale a depth image down by ``factor`` and back up to its size, ignoring invalid pixels.

    Down: the mean of the valid pixels of each ``factor × factor`` block (a block with fewer than
    half valid pixels becomes invalid). Up: bilinear interpolation of the block means at the pixel
    centres, normalized by the interpolated validity; a pixel invalid before stays invalid.

    Returns:
        (H, W) float32 new image.
    """
    d = np.asarray(depth, dtype=np.float64)
    n = int(factor)
    if n < 1 or n != factor:
        raise ValueError(f"factor must be an integer >= 1, got {factor}")
    if n == 1:
        return d.astype(np.float32)
    h, w = d.shape
    hb, wb = -(-h // n), -(-w // n)
    valid = (d > 0).astype(np.float64)
    padded = np.zeros((hb * n, wb * n))
    pvalid = np.zeros_like(padded)
    padded[:h, :w], pvalid[:h, :w] = d * valid, valid
    sums = padded.reshape(hb, n, wb, n).sum(axis=(1, 3))
    counts = pvalid.reshape(hb, n, wb, n).sum(axis=(1, 3))
    area = np.minimum(n, h - n * np.arange(hb))[:, None] * np.minimum(n, w - n * np.arange(wb))[None]
    block_ok = counts >= 0.5 * area
    means = np.where(block_ok, sums / np.maximum(counts, 1.0), 0.0)
    rows = (np.arange(h) + 0.5) / n - 0.5
    cols = (np.arange(w) + 0.5) / n - 0.5
    coords = np.stack(np.meshgrid(rows, cols, indexing="ij"))
    num = ndimage.map_coordinates(means, coords, order=1, mode="nearest")
    den = ndimage.map_coordinates(block_ok.astype(np.float64), coords, order=1, mode="nearest")
    out = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0)
    out[d <= 0] = 0.0
    return out.astype(np.float32)


def plgp_depth_noise(
    depth: ArrayLike,
    rng: RngLike = None,
    *,
    sigma: float = 0.002,
    downsample: int = 2,
    gradient_scale: float | None = None,
    dropout_scale: float = 1.0,
) -> np.ndarray:
    """PLGP's depth noise (§III-B, eq. 5): gradient dropout, Gaussian noise, down/up-sampling.

    Args:
        depth: (H, W) noise-free depth in metres, 0 = invalid.
        rng: random generator or seed.
        sigma: standard deviation of the Gaussian noise ε (m).
        downsample: ``n``, the down-sampling factor of step (3) (1 = skip).
        gradient_scale: gradient magnitude (m/pixel) that maps to a dropout probability of 1;
            None scales by the largest gradient of the image, i.e. ``f`` maps the image's
            gradients linearly onto [0, 1] as in the paper.
        dropout_scale: multiplies ``f(grad)`` (≥ 0; 0 disables step 1).

    Returns:
        (H, W) float32 new noisy depth (0 = invalid).

    Raises:
        ValueError: bad depth image or parameters.
    """
    d = check_depth_image(depth)
    gen = as_rng(rng)
    s = _check_sigma(sigma)
    if not np.isfinite(dropout_scale) or dropout_scale < 0:
        raise ValueError(f"dropout_scale must be a finite number >= 0, got {dropout_scale}")
    grad = depth_gradient(d)
    if gradient_scale is None:
        top = float(grad.max())
        scale = top if top > 0 else 1.0
    else:
        scale = _check_sigma(gradient_scale, "gradient_scale")
        if scale == 0:
            raise ValueError("gradient_scale must be > 0")
    prob = np.clip(grad / scale, 0.0, 1.0) * dropout_scale
    dropped = np.where(gen.random(d.shape) < prob, 0.0, d)  # eq. 5: I_1
    valid = dropped > 0
    noisy = dropped.astype(np.float64)
    noisy[valid] += gen.normal(0.0, s, size=int(valid.sum()))  # I_2 = I_1 + eps
    noisy[noisy <= 0] = 0.0
    return resample_depth(noisy, downsample)
