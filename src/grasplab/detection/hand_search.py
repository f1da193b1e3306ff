"""Vectorized hand search: width, centring, collision, emptiness and antipodal score per grasp.

Input is a batch of P candidate hand frames, each given by the cloud points around its grasp
point expressed in the gripper frame (x approach, y jaw axis, z finger height; reference §1),
and D candidate depths. For every (candidate, depth) the search

1. histograms the points of the finger slab (``|z| < h/2``, ``-depth_base < x < depth``) and of
   the palm slab (``-(depth_base + palm) < x < -depth_base``) over bins of the jaw coordinate y;
2. grows the cluster of occupied bins that contains the grasp point (y = 0) until, on each side,
   a gap wide enough for a finger plus the margin opens;
3. sets the width to the cluster's extent plus a margin on each side and shifts the hand along
   the jaw axis onto the cluster's middle (the grasp is centred, as in AnyGrasp §IV-D);
4. rejects it when it is wider than the gripper, when the palm box holds a point, or when fewer
   than ``empty_thresh`` points lie between the jaws (reference §3 semantics: the fingers lie in
   empty gaps by construction);
5. scores it by an antipodal test: for the points in a band next to each jaw (optionally only
   those near the jaw line, ``|z| < contact_height / 2``, in the ``contact_levels`` depth levels
   next to the fingertips, where a closing jaw makes contact), the best alignment
   of their outward normals with the direction towards that jaw gives the friction coefficient
   that side needs (``tan`` of the angle), mapped to [0, 1] against ``friction_coef``; the two
   sides are averaged, so a side hidden from the camera costs half the score rather than all
   of it. A clearance term rewards free space beyond the fingers, and ``tip_points`` counts the
   points between the jaws in the fingertip band (is the object there at all?).

Bins are conservative: a width or gap is never smaller than the points require. Everything is
one pass of ``np.bincount``/``ufunc.at`` over the points and (P, D, bins) array algebra.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.core import GripperModel


@dataclass(frozen=True)
class HandSearchParams:
    """Parameters of the hand search (metres unless stated).

    Attributes:
        depths: (D,) increasing fingertip depths past the grasp point.
        bin_size: resolution of the jaw-axis histogram.
        width_margin: free space added between the object and each jaw.
        contact_band: thickness of the band next to each jaw whose normals are scored.
        friction_coef: friction coefficient at which a side's score reaches 0.
        clearance_cap: free space beyond the gap a finger needs (finger width + margin) that
            earns the full clearance term.
        contact_levels: depth levels next to the fingertips whose normals are scored (1 = the
            fingertip band only, where force closure is judged); 0 scores every level of the
            finger slab.
        contact_height: only points with ``|z| < contact_height / 2`` (near the jaw line, where
            the contacts of a closing parallel jaw lie) are scored; None uses the finger height.
    """

    depths: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04)
    bin_size: float = 0.002
    width_margin: float = 0.005
    contact_band: float = 0.005
    friction_coef: float = 1.0
    clearance_cap: float = 0.01
    contact_levels: int = 0
    contact_height: float | None = None

    def half_range(self, gripper: GripperModel) -> float:
        """Half extent Y of the jaw-axis window searched around each grasp point."""
        return gripper.max_width / 2 + gripper.finger_width + self.width_margin

    def reach(self, gripper: GripperModel) -> float:
        """Radius around a grasp point that contains every region the search looks at."""
        depth = max(max(self.depths), gripper.depth_base + gripper.palm_thickness)
        return float(np.sqrt(self.half_range(gripper) ** 2 + depth**2 + (gripper.height / 2) ** 2))


@dataclass(frozen=True)
class HandSearchResult:
    """Per (candidate, depth) outcome of :func:`search_hands`; all arrays are (P, D).

    Attributes:
        valid: collision-free, non-empty and no wider than the gripper.
        offsets: shift of the grasp point along the jaw axis that centres the hand, metres.
        widths: jaw opening, metres.
        antipodal: antipodal score in [0, 1].
        clearance: clearance score in [0, 1].
        tip_points: points between the jaws in the deepest 1-level band of the fingers
            (``depths[j-1] <= x < depths[j]``; ``-depth_base < x < depths[0]`` for j = 0):
            with none there, the fingertip line (where force closure is judged) likely misses
            the object.
    """

    valid: np.ndarray
    offsets: np.ndarray
    widths: np.ndarray
    antipodal: np.ndarray
    clearance: np.ndarray
    tip_points: np.ndarray


def _histograms(
    local: np.ndarray, normal_y: np.ndarray, gripper: GripperModel, params: HandSearchParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, max and min normal-y per (candidate, level, bin); level 0 = palm, 1 + j = depth j.

    Candidates are numbered ``s * R + r`` for ``local`` of shape (S, K, R, 3).
    """
    num, k, num_rot, _ = local.shape
    depths = np.asarray(params.depths, dtype=np.float32)
    half = params.half_range(gripper)
    num_bins = int(np.ceil(2 * half / params.bin_size - 1e-9))
    num_levels = 1 + len(depths)
    flat = local.reshape(-1, 3)
    # The thin z slab holds a small fraction of the points: compact them first.
    index = np.flatnonzero(np.abs(flat[:, 2]) < gripper.height / 2)
    x, y = flat[index, 0], flat[index, 1]
    db = gripper.depth_base
    bins = np.floor((y + half) / params.bin_size).astype(np.int64)
    finger = (x > -db) & (x < depths[-1])
    palm = (x > -(db + gripper.palm_thickness)) & (x < -db)
    keep = (finger | palm) & (bins >= 0) & (bins < num_bins)
    index, bins, x, finger = index[keep], bins[keep], x[keep], finger[keep]
    level = np.where(finger, 1 + np.searchsorted(depths, x, side="right"), 0)
    rows = (index // (k * num_rot)) * num_rot + index % num_rot
    cells = (rows * num_levels + level) * num_bins + bins
    size = num * num_rot * num_levels * num_bins
    counts = np.bincount(cells, minlength=size)
    values = normal_y.reshape(-1)[index]
    if params.contact_height is not None:  # only points near the jaw line (z = 0) score
        near = np.abs(flat[index, 2]) < params.contact_height / 2
        cells = cells[near]
        values = values[near]
    ny_max = np.full(size, -np.inf, dtype=np.float32)
    ny_min = np.full(size, np.inf, dtype=np.float32)
    np.maximum.at(ny_max, cells, values)
    np.minimum.at(ny_min, cells, values)
    shape = (num * num_rot, num_levels, num_bins)
    return counts.reshape(shape), ny_max.reshape(shape), ny_min.reshape(shape)


def _prefix_sum(values: np.ndarray) -> np.ndarray:
    """Exclusive prefix sum over the last axis: (..., B) -> (..., B + 1) int64."""
    out = np.zeros(values.shape[:-1] + (values.shape[-1] + 1,), dtype=np.int64)
    np.cumsum(values, axis=-1, out=out[..., 1:])
    return out


def _cluster_bounds(csum: np.ndarray, centre: int, gap: int) -> tuple[np.ndarray, ...]:
    """First/last+1 bin of the occupied cluster around ``centre`` closed by ``gap`` empty bins.

    Args:
        csum: (P, D, B + 1) exclusive prefix sum of the slab occupancy.
        centre: bin of the grasp point.
        gap: empty bins that close the cluster on each side.

    Returns:
        ``(found (P, D) bool, lo (P, D), hi (P, D))`` bin indices, cluster = bins [lo, hi).
    """
    empty_window = (csum[..., gap:] - csum[..., :-gap]) == 0  # window [s, s + gap) empty
    right = empty_window[..., centre + 1 :]
    left = empty_window[..., : centre - gap + 1][..., ::-1]
    found = right.any(-1) & left.any(-1)
    hi = centre + 1 + np.argmax(right, axis=-1)
    lo = (centre - gap) - np.argmax(left, axis=-1) + gap
    return found, lo, hi


def _range_sum(csum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum over bins [lo, hi) given an exclusive prefix sum ``csum`` (..., B + 1)."""
    return np.take_along_axis(csum, hi[..., None], -1)[..., 0] - np.take_along_axis(
        csum, lo[..., None], -1
    )[..., 0]


def _side_scores(cos: np.ndarray, friction_coef: float) -> np.ndarray:
    """Map the best normal alignment of a side to [0, 1]: 1 - (tan of its angle) / mu."""
    c = np.clip(cos, 0.0, 1.0)
    # c > 0 test also catches -0.0, for which the division would give -inf (a perfect score)
    mu = np.where(c > 0, np.sqrt(1.0 - c**2) / np.maximum(c, 1e-12), np.inf)
    return np.clip(1.0 - mu / friction_coef, 0.0, 1.0)


def _contact_alignment(
    ny_max: np.ndarray, ny_min: np.ndarray, lo: np.ndarray, hi: np.ndarray, band: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best outward-normal alignment with the left (-y) and right (+y) jaw in the contact bands."""
    steps = np.arange(band)
    last = ny_max.shape[-1] - 1
    left_bins = np.clip(lo[..., None] + steps, 0, last)
    right_bins = np.clip(hi[..., None] - 1 - steps, 0, last)
    left_ok = left_bins < hi[..., None]
    right_ok = right_bins >= lo[..., None]
    left = np.where(left_ok, -np.take_along_axis(ny_min, left_bins, -1), -np.inf).max(-1)
    right = np.where(right_ok, np.take_along_axis(ny_max, right_bins, -1), -np.inf).max(-1)
    return left, right


def _free_bins(csum: np.ndarray, lo: np.ndarray, hi: np.ndarray, gap: int, cap: int
               ) -> np.ndarray:
    """(P, D) empty bins beyond each finger's gap on the tighter side, at most ``cap``.

    ``csum`` is the exclusive prefix sum of the occupancy (..., B + 1); bins outside the
    searched window count as empty.
    """
    last = csum.shape[-1] - 1
    free = np.zeros(lo.shape, dtype=np.int64)
    for extra in range(1, cap + 1):
        width = gap + extra
        right = _range_sum(csum, np.minimum(hi, last), np.minimum(hi + width, last)) == 0
        left = _range_sum(csum, np.maximum(lo - width, 0), np.maximum(lo, 0)) == 0
        free += right & left & (free == extra - 1)
    return free


def _accumulate_levels(values: np.ndarray, op: np.ufunc) -> np.ndarray:
    """Running ``op`` over axis 1 (a handful of depth levels), one vectorized step per level."""
    out = values.copy()
    for j in range(1, out.shape[1]):
        op(out[:, j - 1], out[:, j], out=out[:, j])
    return out


def _window_levels(values: np.ndarray, op: np.ufunc, window: int) -> np.ndarray:
    """``op`` over the last ``window`` levels up to each level of axis 1 (0: all levels)."""
    if window <= 0 or window >= values.shape[1]:
        return _accumulate_levels(values, op)
    out = values.copy()
    for shift in range(1, window):
        op(out[:, shift:], values[:, :-shift], out=out[:, shift:])
    return out


def search_hands(
    local: np.ndarray,
    normal_y: np.ndarray,
    gripper: GripperModel,
    params: HandSearchParams,
) -> HandSearchResult:
    """Search width, centring, validity and score for P = S * R hand frames at D depths.

    Args:
        local: (S, K, R, 3) float points: neighbour k of grasp point s in the gripper frame of
            its candidate rotation r (``q = (p - t) @ R``), metres; padding points must lie far
            outside (e.g. 1e3). Candidate ``p = s * R + r``, P = S * R.
        normal_y: (S, K, R) component of each point's outward unit normal along the jaw axis.
        gripper: gripper geometry (finger width, height, depth base, palm, max width,
            empty threshold).
        params: search parameters.

    Returns:
        :class:`HandSearchResult` with (P, D) arrays.
    """
    counts, ny_max, ny_min = _histograms(local, normal_y, gripper, params)
    half, size = params.half_range(gripper), params.bin_size
    centre = int(np.floor(half / size))
    gap = int(np.ceil((gripper.finger_width + params.width_margin) / size - 1e-9))
    slab = _accumulate_levels(counts[:, 1:], np.add)  # (P, D, B): finger slab of depth j
    occ_csum = _prefix_sum(slab > 0)
    found, lo, hi = _cluster_bounds(occ_csum, centre, gap)
    y_lo, y_hi = lo * size - half, hi * size - half
    widths = y_hi - y_lo + 2 * params.width_margin
    offsets = (y_lo + y_hi) / 2

    inner = _range_sum(_prefix_sum(slab), lo, hi)
    tip_points = _range_sum(_prefix_sum(counts[:, 1:]), lo, hi)
    reach = params.width_margin + gripper.finger_width
    palm_lo = np.clip(np.floor((y_lo - reach + half) / size).astype(np.int64), 0, counts.shape[-1])
    palm_hi = np.clip(np.ceil((y_hi + reach + half) / size).astype(np.int64), 0, counts.shape[-1])
    palm_csum = _prefix_sum(counts[:, 0])
    palm_csum = np.broadcast_to(palm_csum[:, None, :], slab.shape[:-1] + (palm_csum.shape[-1],))
    palm_hits = _range_sum(palm_csum, palm_lo, palm_hi)
    valid = (
        found
        & (widths <= gripper.max_width + 1e-9)
        & (inner >= gripper.empty_thresh)
        & (palm_hits == 0)
    )

    band = max(1, int(np.ceil(params.contact_band / size - 1e-9)))
    max_acc = _window_levels(ny_max[:, 1:], np.maximum, params.contact_levels)
    min_acc = _window_levels(ny_min[:, 1:], np.minimum, params.contact_levels)
    left, right = _contact_alignment(max_acc, min_acc, lo, hi, band)
    antipodal = 0.5 * (
        _side_scores(left, params.friction_coef) + _side_scores(right, params.friction_coef)
    )
    cap = max(1, int(np.ceil(params.clearance_cap / size - 1e-9)))
    clearance = _free_bins(occ_csum, lo, hi, gap, cap) / cap
    return HandSearchResult(
        valid=valid,
        offsets=np.where(valid, offsets, 0.0),
        widths=np.minimum(widths, gripper.max_width),
        antipodal=np.where(valid, antipodal, 0.0),
        clearance=np.where(valid, clearance, 0.0),
        tip_points=np.where(valid, tip_points, 0),
    )
