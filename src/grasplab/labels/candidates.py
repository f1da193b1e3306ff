"""Jaw width, self-collision and emptiness of all label candidates at one grasp point.

For a grasp point ``p`` the candidates are every rotation ``R`` (V views × A in-plane angles)
and every depth ``d``. In gripper coordinates ``q = (s - p) @ R`` of the object's surface points
``s`` (reference protocol §1 and §3) the gripper boxes are (fw = finger width, h = height,
db = depth base, pt = palm thickness, w = width):

- slab: ``|z| < h/2`` and ``-db < x < d`` (fingers and inner region share it);
- fingers: slab points with ``w/2 < |y| < w/2 + fw``; palm: ``|z| < h/2``,
  ``-(db + pt) < x < -db`` and ``|y| < w/2 + fw``; inner: slab points with ``|y| ≤ w/2``.

The **width** is the smallest opening that encloses at least ``empty_thresh`` slab points with
the fingers (plus ``margin/2`` on each side) in free space: |y| of the slab points is binned at
``resolution``; the chosen half width ``(b + 1)·resolution + margin/2`` closes over bins ``≤ b``
and needs the bins covering the margin and the finger to be empty. Widths are therefore at most
``2·resolution`` wider than the tightest enclosing opening. When no such opening fits within
``max_width``, the width is ``max_width`` and the exact finger test decides collision there.

The flags equal :meth:`grasplab.core.gripper.GripperModel.collision_and_empty` of the grasps
with these widths (a test checks it; coordinates are float32 here, so a point within about
1e-8 m of a box face may fall on the other side). Speed comes from the grid's structure: the
(rotation, point) pairs inside the 2 cm slab are enumerated from polar coordinates per view
instead of testing all V·A·M pairs, and one histogram per rotation serves all depths and widths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.core.gripper import GripperModel

__all__ = ["CandidateFrames", "CandidateGeometry", "WidthRule", "point_candidate_geometry"]


@dataclass(frozen=True)
class WidthRule:
    """How jaw widths are chosen.

    Attributes:
        margin: total extra opening added to the tightest enclosing width, metres (half on
            each side).
        resolution: bin size of the |y| histogram, metres.
    """

    margin: float = 0.01
    resolution: float = 0.001


@dataclass(frozen=True)
class CandidateGeometry:
    """Per-candidate results at one grasp point; R = V·A rotations, D depths.

    Attributes:
        widths: (R, D) float64 jaw openings, metres.
        collision: (R, D) bool, a surface point in a finger or the palm.
        empty: (R, D) bool, fewer than ``empty_thresh`` points between the jaws.
    """

    widths: np.ndarray
    collision: np.ndarray
    empty: np.ndarray


def _bin_layout(gripper: GripperModel, rule: WidthRule) -> tuple[int, int, int]:
    """``(b_hi, window, num_bins)``: last admissible bin, free bins needed, histogram size."""
    window = int(np.ceil((rule.margin / 2 + gripper.finger_width) / rule.resolution - 1e-9))
    b_hi = int(np.floor((gripper.max_width / 2 - rule.margin / 2) / rule.resolution + 1e-9)) - 1
    return b_hi, max(window, 1), max(b_hi, 0) + max(window, 1) + 1


@dataclass(frozen=True)
class CandidateFrames:
    """The rotation grid of the candidates, factored as views × in-plane angles.

    Rotation ``[v, i]`` has columns ``a_v``, ``cos θ_i b_v + sin θ_i c_v`` and
    ``-sin θ_i b_v + cos θ_i c_v`` (reference ``V = [a b c]·Rx(θ)``), with the angles on the
    uniform grid ``θ_i = i·π/A``.

    Attributes:
        basis: (3, V, 3) rows ``a_v``, ``b_v``, ``c_v`` (the rotation at angle 0).
        num_angles: A.
    """

    basis: np.ndarray
    num_angles: int

    @classmethod
    def from_rotations(cls, rotations: np.ndarray) -> CandidateFrames:
        """Factor (V, A, 3, 3) rotations built on the angle grid ``i·π/A`` (angle 0 first)."""
        return cls(basis=np.moveaxis(rotations[:, 0], 2, 0).copy(), num_angles=rotations.shape[1])


def point_candidate_geometry(
    local_points: np.ndarray,
    frames: CandidateFrames,
    depths: np.ndarray,
    gripper: GripperModel,
    rule: WidthRule,
) -> CandidateGeometry:
    """Widths, collision and emptiness of all candidates at one grasp point.

    Args:
        local_points: (M, 3) object surface points minus the grasp point, metres.
        frames: the V × A rotation grid.
        depths: (D,) ascending fingertip depths, metres.
        gripper: gripper geometry (finger width, height, depth base, palm, max width,
            empty threshold).
        rule: width margin and resolution.

    Returns:
        :class:`CandidateGeometry` with (R, D) arrays, R = V·A (view-major).
    """
    num_rot = frames.basis.shape[1] * frames.num_angles
    db = gripper.depth_base
    rows, x, ay = _strip_entries(local_points, frames, -(db + gripper.palm_thickness),
                                 float(depths[-1]), gripper.height / 2)
    palm = x < -db
    palm_min = np.full(num_rot, np.inf, dtype=ay.dtype)  # same dtype: the fast ufunc.at path
    np.minimum.at(palm_min, rows[palm], ay[palm])
    slab = x > -db
    rows, x, ay = rows[slab], x[slab], ay[slab]
    bucket = np.zeros(len(x), dtype=np.int64)  # the point counts for depths index >= bucket
    for depth in depths[:-1]:
        bucket += x >= depth
    cum = _cumulative_histogram(rows, bucket, ay, num_rot, len(depths), gripper, rule)
    chosen, has = _choose_bins(cum, gripper, rule)
    widths = np.where(has, 2 * ((chosen + 1) * rule.resolution + rule.margin / 2),
                      gripper.max_width)
    finger, inner = _max_width_counts(rows, bucket, ay, num_rot, len(depths), gripper)
    palm_hit = palm_min[:, None] < widths / 2 + gripper.finger_width
    return CandidateGeometry(
        widths=widths,
        collision=(~has & (finger > 0)) | palm_hit,
        empty=~has & (inner < gripper.empty_thresh),
    )


def _max_width_counts(
    rows: np.ndarray, bucket: np.ndarray, ay: np.ndarray, num_rot: int, num_depths: int,
    gripper: GripperModel,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (R, D) counts of slab points in the fingers and between the jaws at max width."""
    wmax2 = gripper.max_width / 2
    index = rows * num_depths + bucket
    size = num_rot * num_depths
    in_finger = (ay > wmax2) & (ay < wmax2 + gripper.finger_width)
    finger = np.bincount(index[in_finger], minlength=size).reshape(num_rot, num_depths)
    inner = np.bincount(index[ay <= wmax2], minlength=size).reshape(num_rot, num_depths)
    for k in range(1, num_depths):  # a point counts for every depth beyond its x
        finger[:, k] += finger[:, k - 1]
        inner[:, k] += inner[:, k - 1]
    return finger, inner


def _strip_entries(
    local_points: np.ndarray, frames: CandidateFrames, x_lo: float, x_hi: float, h2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (rotation, point) pairs with ``x_lo < x < x_hi`` and ``|z| < h2``.

    In the (b, c) plane of view v a point has polar coordinates (ρ, φ); at angle θ its gripper
    coordinates are ``y = ρ cos(φ - θ)``, ``z = ρ sin(φ - θ)``. ``|z| < h2`` holds for the
    angles within ``arcsin(h2/ρ)`` of φ (mod π), so the angles of each point are enumerated
    directly (slightly widened, then filtered exactly) instead of testing all V·A·M pairs.

    Returns:
        ``(rows (E,) int64 = v·A + i, x (E,), |y| (E,))``, coordinates float32.
    """
    num_angles = frames.num_angles
    num_views = frames.basis.shape[1]
    q = np.asarray(local_points, dtype=np.float32)
    proj = (frames.basis.reshape(-1, 3).astype(np.float32) @ q.T).reshape(3, num_views, -1)
    view, point = np.nonzero((proj[0] > x_lo) & (proj[0] < x_hi))
    x, u, w = (proj[k, view, point] for k in range(3))
    step = np.float32(np.pi / num_angles)
    phi = np.arctan2(w, u)
    rho = np.hypot(u, w)
    with np.errstate(divide="ignore"):
        delta = np.arcsin(np.minimum(np.float32(1.0), np.float32(h2) / rho))
    # Angles i with |φ - i·step| < δ, widened by 1e-4 steps; exact |z| test below.
    first = np.ceil((phi - delta) / step - np.float32(1e-4)).astype(np.int32)
    count = np.floor((phi + delta) / step + np.float32(1e-4)).astype(np.int32) - first + 1
    count = np.clip(count, 0, num_angles)
    pair = np.repeat(np.arange(len(view), dtype=np.int32), count)
    ends = np.cumsum(count, dtype=np.int32)
    k = first[pair] + np.arange(len(pair), dtype=np.int32) - np.repeat(ends - count, count)
    psi = phi[pair] - k.astype(np.float32) * step  # φ - θ
    r = rho[pair]
    keep = np.abs(r * np.sin(psi)) < h2
    y = np.abs(r * np.cos(psi))
    rows = view[pair] * num_angles + k % num_angles
    x = x[pair]
    if not keep.all():
        rows, x, y = rows[keep], x[keep], y[keep]
    return rows, x, y


def _cumulative_histogram(
    rows: np.ndarray, bucket: np.ndarray, ay: np.ndarray, num_rot: int, num_depths: int,
    gripper: GripperModel, rule: WidthRule,
) -> np.ndarray:
    """(nb, D, R) int32 counts of slab points with |y| bin ≤ b, at each depth and rotation.

    Loops of slice additions replace ``np.cumsum`` along inner axes, which is several times
    slower on these shapes.
    """
    _, _, num_bins = _bin_layout(gripper, rule)
    bins = (ay * np.float32(1.0 / rule.resolution)).astype(np.int64)
    keep = bins < num_bins
    flat = (bins[keep] * num_depths + bucket[keep]) * num_rot + rows[keep]
    hist = np.bincount(flat, minlength=num_bins * num_depths * num_rot).astype(np.int32)
    hist = hist.reshape(num_bins, num_depths, num_rot)
    for k in range(1, num_depths):
        hist[:, k] += hist[:, k - 1]
    for b in range(1, num_bins):
        hist[b] += hist[b - 1]
    return hist


def _choose_bins(
    cum: np.ndarray, gripper: GripperModel, rule: WidthRule
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest bin b with enough enclosed points and free finger bins.

    Args:
        cum: (nb, D, R) cumulative counts (:func:`_cumulative_histogram`).

    Returns:
        ``(b (R, D) int64, found (R, D) bool)``.
    """
    b_hi, window, _ = _bin_layout(gripper, rule)
    chosen = np.zeros(cum.shape[1:], dtype=np.int64)
    found = np.zeros(cum.shape[1:], dtype=bool)
    need = max(gripper.empty_thresh, 1)
    for b in range(b_hi, -1, -1):  # descending, so the smallest valid b is written last
        valid = (cum[b] >= need) & (cum[b + window] == cum[b])
        chosen[valid] = b
        found |= valid
    return chosen.T, found.T
