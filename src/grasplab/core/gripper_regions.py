"""The batched gripper-region engine: which scene points lie in which gripper box.

The region boxes and their (strict, reference) inequalities are those of the table in
:mod:`grasplab.core.gripper`; lengths in metres, points and grasps in one scene frame, ``q``
in the gripper frame (x approach, y jaw axis, z finger height). Three layers, each usable alone:

* :func:`region_flags`: the left / right / palm / inner tests of gripper-frame points, any
  batch shape (the one place these inequalities are written);
* :func:`gripper_extent`: the gripper-frame box holding every region of a grasp;
* :func:`iter_region_flags`: for N grasps and M points, the flags of each grasp's candidate
  points only (a KD-tree ball around the gripper), chunked under a memory budget. It backs
  ``GripperModel.region_masks`` and ``GripperModel.collision_and_empty``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from grasplab.core.gripper import GripperModel

#: Upper bound on padded (grasp, point) pairs processed at once (memory ~ 24 bytes each).
_PAIR_BUDGET = 2_000_000


@dataclass(frozen=True)
class GripperRegions:
    """Which scene points lie in which gripper region.

    Attributes:
        left: (N, M) bool, point m strictly inside grasp n's left finger box (y < 0 side).
        right: (N, M) bool, inside the right finger box (y > 0 side).
        palm: (N, M) bool, inside the palm box behind the finger bases.
        inner: (N, M) bool, inside the closing region between the jaws.
    """

    left: np.ndarray
    right: np.ndarray
    palm: np.ndarray
    inner: np.ndarray

    @property
    def collision(self) -> np.ndarray:
        """(N,) bool: any point in a finger or the palm."""
        return np.any(self.left | self.right | self.palm, axis=1)

    def inner_counts(self) -> np.ndarray:
        """(N,) int64: number of points in each grasp's inner region."""
        return self.inner.sum(axis=1, dtype=np.int64)


def region_flags(
    gripper: GripperModel, q: np.ndarray, widths: np.ndarray, depths: np.ndarray
) -> np.ndarray:
    """Left / right / palm / inner flags of gripper-frame points (reference inequalities).

    Uses ``|y|``: ``-(a) < y < -b`` is ``y < 0 and b < |y| < a`` exactly (negation is exact
    in floating point), so the flags equal the reference's signed tests.

    Args:
        gripper: the gripper dimensions.
        q: (..., 3) points in the gripper frame, metres.
        widths: jaw openings, metres, already clipped to ``[0, max_width]``, broadcastable
            against ``q[..., 0]``.
        depths: fingertip depths, metres, broadcastable against ``q[..., 0]``.

    Returns:
        (4, ...) bool: left finger, right finger, palm, inner region.
    """
    x, y, z = q[..., 0], q[..., 1], q[..., 2]
    half = widths / 2
    outer = widths / 2 + gripper.finger_width
    abs_y = np.abs(y)
    slab = (z > -gripper.height / 2) & (z < gripper.height / 2)
    inside_outer = abs_y < outer
    along = slab & (x > -gripper.depth_base) & (x < depths)
    finger = along & inside_outer & (abs_y > half)
    negative = y < 0
    palm_x = (x > -(gripper.depth_base + gripper.palm_thickness)) & (x < -gripper.depth_base)
    palm = slab & palm_x & inside_outer
    inner = along & (abs_y <= half)
    return np.stack([finger & negative, finger & ~negative, palm, inner])


def gripper_extent(
    gripper: GripperModel, widths: np.ndarray, depths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The gripper-frame box holding all regions of each grasp.

    Args:
        gripper: the gripper dimensions.
        widths: (N,) jaw openings, metres, already clipped.
        depths: (N,) fingertip depths, metres.

    Returns:
        ``(lower (N, 3), upper (N, 3))`` corners, metres, gripper frame: x from the palm's
        back to the fingertips (or the palm face if deeper), y over both fingers, z over the
        finger height.
    """
    reach = widths / 2 + gripper.finger_width
    num = len(widths)
    lower = np.stack(
        [np.full(num, -(gripper.depth_base + gripper.palm_thickness)), -reach,
         np.full(num, -gripper.height / 2)],
        axis=1,
    )
    upper = np.stack(
        [np.maximum(depths, -gripper.depth_base), reach, np.full(num, gripper.height / 2)], axis=1
    )
    return lower, upper


def iter_region_flags(
    gripper: GripperModel, rotations: np.ndarray, translations: np.ndarray,
    widths: np.ndarray, depths: np.ndarray, pts: np.ndarray,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Region flags of each grasp's candidate points, in chunks of grasps.

    Args:
        gripper: the gripper dimensions; widths are clipped to its ``max_width`` here.
        rotations: (N, 3, 3) gripper axes (columns x, y, z), scene frame, non-singular.
        translations: (N, 3) grasp points, metres, scene frame.
        widths: (N,) jaw openings, metres.
        depths: (N,) fingertip depths, metres.
        pts: (M, 3) scene points, metres, scene frame.

    Yields:
        ``(grasp_ids (n,), index (n, L), valid (n, L), flags (4, n, L))``: the grasps of
        the chunk, their candidate point indices padded to a common length L, which
        entries are real candidates, and the left/right/palm/inner flags. Points that
        are not candidates lie outside every region. Nothing for N = 0 or M = 0.
    """
    if len(rotations) == 0 or len(pts) == 0:
        return
    widths = gripper.clip_widths(widths)
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    # A small first block measures the candidates per grasp before larger ones.
    first, block = 0, 32
    while first < len(rotations):
        ids = np.arange(first, min(first + block, len(rotations)))
        counts, flat = _crop(gripper, tree, rotations[ids], translations[ids], widths[ids],
                             depths[ids])
        # Size the next block of grasps so that its candidate pairs fit the budget.
        per_grasp = max(len(flat) / len(ids), 1.0)
        first, block = ids[-1] + 1, int(np.clip(_PAIR_BUDGET / per_grasp, 16, 65535))
        starts = np.concatenate([[0], np.cumsum(counts)])
        for chunk in _chunks(counts):
            grasp_ids = ids[chunk]
            index, valid = _padded_lists(flat, starts[chunk], counts[chunk])
            # The reference's batched product (n, L, 3) @ (n, 3, 3), bit for bit.
            q = np.matmul(pts[index] - translations[grasp_ids, None, :], rotations[grasp_ids])
            flags = region_flags(gripper, q, widths[grasp_ids, None], depths[grasp_ids, None])
            yield grasp_ids, index, valid, flags


def _crop(
    gripper: GripperModel, tree: cKDTree, rotations: np.ndarray, translations: np.ndarray,
    widths: np.ndarray, depths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate points per grasp: a ball around each gripper's bounding box.

    Returns:
        ``(counts (n,), flat (K,))``: grasp i's candidates are the next ``counts[i]``
        point indices of ``flat``, a superset of the points in any of its regions.
    """
    lower, upper = gripper_extent(gripper, widths, depths)
    local_centre = np.zeros((len(widths), 3))
    local_centre[:, 0] = (lower[:, 0] + upper[:, 0]) / 2
    half = np.stack([(upper[:, 0] - lower[:, 0]) / 2, upper[:, 1], upper[:, 2]], axis=1)
    # p - t = R^-T q, so |p - c| <= |q - c_local| / sigma_min(R) with c = t + R^-T c_local.
    sigma_min = np.linalg.svd(rotations, compute_uv=False)[:, -1]
    radius = np.linalg.norm(half, axis=1) / sigma_min * (1 + 1e-9) + 1e-12
    centres = translations + np.linalg.solve(
        np.swapaxes(rotations, 1, 2), local_centre[:, :, None])[:, :, 0]
    pairs = cKDTree(centres).sparse_distance_matrix(
        tree, float(radius.max()), output_type="ndarray")
    keep = pairs["v"] <= radius[pairs["i"]]
    grasp_idx = pairs["i"][keep]
    # Group pairs by grasp; a 16-bit key (blocks hold <= 65535 grasps) makes numpy's
    # stable sort a fast radix sort.
    order = np.argsort(grasp_idx.astype(np.uint16), kind="stable")
    counts = np.bincount(grasp_idx, minlength=len(widths))
    return counts, pairs["j"][keep][order]


def _padded_lists(
    flat: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pad the lists ``flat[starts[i] : starts[i] + counts[i]]`` to a common length.

    Returns:
        ``(index (n, L), valid (n, L))``; padding entries are 0 and not valid. L is at least
        2 because numpy takes another (non-BLAS) path for 1-row matrix products.
    """
    length = max(int(counts.max()), 2)
    valid = np.arange(length) < counts[:, None]
    offsets = np.minimum(np.arange(length) + starts[:, None], len(flat) - 1)
    return np.where(valid, flat[offsets], 0), valid


def _chunks(counts: np.ndarray) -> list[np.ndarray]:
    """Group grasps with similar candidate counts (within 2x) under the pair budget.

    Padding every grasp of a group to the group's longest list wastes at most half the work.
    """
    ids = np.flatnonzero(counts)
    if len(ids) == 0:
        return []
    order = ids[np.argsort(counts[ids], kind="stable")]
    level = np.floor(np.log2(counts[order])).astype(np.int64)
    groups: list[np.ndarray] = []
    for group in np.split(order, np.flatnonzero(np.diff(level)) + 1):
        per_chunk = max(1, _PAIR_BUDGET // max(int(counts[group].max()), 2))
        groups.extend(group[i:i + per_chunk] for i in range(0, len(group), per_chunk))
    return groups


__all__ = ["GripperRegions", "gripper_extent", "iter_region_flags", "region_flags"]
