"""The vectorised grasp search of PLGP pixel labels over (pixels x depths) at one angle.

Helpers of :mod:`grasplab.labels.pixel_labels` (see its docstring for the method). Profiles are
sampled from the parallel depth image ``I_p`` (float32 metres, ``inf`` = free space) padded with
``inf``; pixel indices are flat indices into the padded image; lengths along the jaw are in
parallel-image pixels (``1 / eta`` metres each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SearchGeometry", "band_min", "best_grasps_at_angle", "line_offsets", "padded"]


@dataclass(frozen=True)
class SearchGeometry:
    """Gripper and image constants in parallel-image pixels (rho = 1 / eta metres per pixel).

    Attributes:
        eta: parallel projection ratio, pixels per metre.
        half_span: S, profile samples on each side of the centre (covers L4 / 2 + L1).
        finger_px: samples of a finger footprint along the jaw (L1).
        band: (B,) offsets across the finger height (L2), pixels.
        rows: (T,) offsets of the contact rows across the finger height, pixels.
        depths: (J,) grasp depth grid, metres.
        max_width: L4, metres.
        tolerance: width tolerance added to the contact width, metres.
        friction: mu of the force-closure check.
        flatness_tol: largest residual standard deviation of the contact points, metres.
        depth_step: g, metres.
        clearance: free height required under the fingertips, metres.
    """

    eta: float
    half_span: int
    finger_px: int
    band: np.ndarray
    rows: np.ndarray
    depths: np.ndarray
    max_width: float
    tolerance: float
    friction: float
    flatness_tol: float
    depth_step: float
    clearance: float


def padded(image: np.ndarray, pad: int) -> np.ndarray:
    """The image with ``pad`` pixels of ``inf`` (free space) on every side."""
    return np.pad(image, pad, mode="constant", constant_values=np.inf)


def band_min(free: np.ndarray, offsets: np.ndarray, pad: int) -> np.ndarray:
    """Minimum of the image over integer shifts ``offsets`` (B, 2) (row, col); padded result."""
    h, w = free.shape
    big = padded(free, pad)
    out = np.full((h, w), np.inf, dtype=np.float32)
    for dr, dc in offsets:
        np.minimum(out, big[pad + dr:pad + dr + h, pad + dc:pad + dc + w], out=out)
    return padded(out, pad)


def _running_max(side: np.ndarray, axis: int) -> np.ndarray:
    """Running maximum along ``axis`` (0 or 1); a loop of whole-row maxima beats accumulate."""
    out = np.empty_like(side)
    src, dst = np.moveaxis(side, axis, 0), np.moveaxis(out, axis, 0)
    dst[0] = src[0]
    for i in range(1, len(src)):
        np.maximum(dst[i - 1], src[i], out=dst[i])
    return out


def _first_free(side: np.ndarray, z0: np.ndarray, geo: SearchGeometry) -> np.ndarray:
    """First 1-based index along axis 0 where ``side >= z0 + d_j``, for every depth j.

    The running maximum of the profile is monotone, so the count of its samples below each
    threshold is a cumulative histogram of the smallest depth index above each sample.

    Args:
        side: (S, M) profiles outward from the centre (row 0 is one pixel out), metres.
        z0: (M,) surface depth at the centre, metres.
        geo: constants (the depth grid is uniform: ``d_j = j g``).

    Returns:
        (M, J) int64 in ``[1, S + 1]`` (S + 1: no free sample within the profile).
    """
    m = side.shape[1]
    num_j = geo.depths.size
    running = _running_max(side, 0)
    with np.errstate(invalid="ignore", over="ignore"):
        level = (running - z0) * np.float32(1.0 / geo.depth_step)
    level = np.clip(np.floor(level, out=level) + 1, 0, num_j, out=level)  # inf -> J
    flat = (level.astype(np.int64) + np.arange(m) * (num_j + 1)).ravel()
    hist = np.bincount(flat, minlength=m * (num_j + 1)).reshape(m, num_j + 1)
    return np.cumsum(hist[:, :num_j], axis=1) + 1


def _contact_checks(
    rows_profile: np.ndarray, tau: np.ndarray, geo: SearchGeometry, sign: int
) -> np.ndarray:
    """Flatness and force closure of one side's contacts at one depth per pixel, (N,) bool.

    Args:
        rows_profile: (T, 2S + 1, N) per-row profiles along the jaw, centre at index S.
        tau: (N,) fingertip depth of each pixel's grasp, metres.
        geo: constants.
        sign: +1 for the side of increasing jaw coordinate, -1 for the other.
    """
    s = geo.half_span
    side = rows_profile[:, s + 1:] if sign > 0 else rows_profile[:, s - 1::-1]
    running = _running_max(side, 1)
    first = (running < tau).sum(axis=1) + 1  # (T, N) first free sample, 1-based
    valid = (rows_profile[:, s] < tau) & (first <= s)
    idx = np.minimum(first, s)[:, None, :]
    outer = np.take_along_axis(rows_profile, s + sign * idx, axis=1)[:, 0]
    inner = np.take_along_axis(rows_profile, s + sign * (idx - 1), axis=1)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        tan_alpha = np.where(valid, (1.0 / geo.eta) / (outer - inner), 0.0)
    weight = valid.astype(np.float64)
    pos = first - 0.5  # contact position (pixel edge), pixels
    rows = geo.rows[:, None]
    sw = weight.sum(axis=0)
    st, sp = geo.rows @ weight, (weight * pos).sum(axis=0)
    stt, stp = geo.rows**2 @ weight, (weight * rows * pos).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = sw * stt - st**2
        slope = np.where(denom > 1e-9, (sw * stp - st * sp) / denom, 0.0)
        icpt = (sp - slope * st) / sw
        resid = (weight * (pos - icpt - slope * rows) ** 2).sum(axis=0) / sw
        mean_tan = tan_alpha.sum(axis=0) / sw
    flat = np.sqrt(np.maximum(resid, 0.0)) / geo.eta <= geo.flatness_tol
    closure = (1 + mean_tan**2) * (1 + slope**2) <= 1 + geo.friction**2
    return np.asarray((sw >= 2) & flat & closure)


def _window_min(side: np.ndarray, length: int) -> np.ndarray:
    """(S - length + 1, M) minimum of ``side`` (S, M) over windows of ``length`` samples."""
    count = side.shape[0] - length + 1
    out = side[:count].copy()
    for q in range(1, length):
        np.minimum(out, side[q:q + count], out=out)
    return out


def line_offsets(theta: float, geo: SearchGeometry, row_stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat index offsets of the jaw line (2S + 1,) and of the contact rows (T, 2S + 1)."""
    s = geo.half_span
    steps = np.arange(-s, s + 1, dtype=np.float64)
    u = np.array([-np.sin(theta), np.cos(theta)])  # jaw axis, (row, col)
    v = np.array([np.cos(theta), np.sin(theta)])  # finger height axis, (row, col)
    line = np.rint(steps * u[0]).astype(np.int64) * row_stride + np.rint(steps * u[1]).astype(
        np.int64)
    r = np.rint(steps[None, :] * u[0] + geo.rows[:, None] * v[0]).astype(np.int64)
    c = np.rint(steps[None, :] * u[1] + geo.rows[:, None] * v[1]).astype(np.int64)
    return line, r * row_stride + c


def best_grasps_at_angle(
    band_img: np.ndarray, free_img: np.ndarray, centres: np.ndarray, z0: np.ndarray,
    offsets: tuple[np.ndarray, np.ndarray], geo: SearchGeometry,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best grasp of N aligned pixels at one angle: ``(ok (N,), width (N,) m, depth (N,) m)``.

    ``centres`` are flat indices into the padded images; ``offsets`` from :func:`line_offsets`.
    """
    s = geo.half_span
    profile = band_img.ravel()[offsets[0][:, None] + centres[None, :]]  # (2S + 1, N)
    tau = z0[:, None] + geo.depths[None, :]  # (N, J)
    right, left = profile[s + 1:], profile[s - 1::-1]
    r_end, l_end = _first_free(right, z0, geo), _first_free(left, z0, geo)
    contact_width = (2 * np.maximum(r_end, l_end) - 1) / geo.eta
    ok = (profile[s][:, None] < tau) & (r_end <= s) & (l_end <= s)
    ok &= contact_width <= geo.max_width
    width = np.minimum(contact_width + geo.tolerance, geo.max_width)
    start = np.clip(np.ceil(width / 2 * geo.eta - 1e-9).astype(np.int64), 1, None) - 1
    for side in (right, left):
        windows = _window_min(side, geo.finger_px).T  # (N, S - L + 1)
        start_c = np.minimum(start, windows.shape[1] - 1)
        ok &= np.take_along_axis(windows, start_c, axis=1) >= tau + geo.clearance
    # The deepest depth that passes width and collision is checked for flatness and closure.
    found = ok.any(axis=1)
    best = geo.depths.size - 1 - np.argmax(ok[:, ::-1], axis=1)
    keep = np.flatnonzero(found)
    if len(keep):
        rows_profile = free_img.ravel()[offsets[1][:, :, None] + centres[keep]]  # (T, 2S+1, K)
        tau_best = (z0[keep] + geo.depths[best[keep]]).astype(np.float32)
        for sign in (1, -1):
            found[keep] &= _contact_checks(rows_profile, tau_best, geo, sign)
    pick = np.arange(len(ok))
    return found, width[pick, best], geo.depths[best]
