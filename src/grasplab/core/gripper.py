"""The parallel-jaw gripper model: region masks, collision and emptiness, box geometry.

Gripper frame (graspnetAPI, reference protocol §1 and §3): a grasp is ``(R, t)`` with ``R``'s
columns the approach axis x, the jaw axis y and the finger-height axis z, all expressed in the
scene frame (camera or world); ``t`` is the grasp point. A scene point ``p`` has gripper
coordinates ``q = (p - t) @ R``. The fingertips are at ``x = depth``, the finger bases and the
palm face at ``x = -depth_base``, and the jaws' inner faces at ``y = ±width / 2``.

The evaluation boxes (metres; w = width clipped to ``[0, max_width]``, d = grasp depth,
fw = ``finger_width``, h = ``height``, db = ``depth_base``, pt = ``palm_thickness``):

=========== ======================= ========================= ===============
region      x                       y                         z
=========== ======================= ========================= ===============
left        (-db, d)                (-(w/2 + fw), -w/2)       (-h/2, h/2)
right       (-db, d)                (w/2, w/2 + fw)           (-h/2, h/2)
palm        (-(db + pt), -db)       (-(w/2 + fw), w/2 + fw)   (-h/2, h/2)
inner       (-db, d)                [-w/2, w/2] (closed)      (-h/2, h/2)
=========== ======================= ========================= ===============

All intervals are open except the inner region's y interval, exactly as the reference
evaluation (graspnetAPI ``collision_detection``) tests them. A grasp *collides* when any point
lies in the left finger, the right finger or the palm; it is *empty* when fewer than
``empty_thresh`` points lie in the inner region.

PLGP gripper size ``[L1, L2, L3, L4]`` (papers/plgp-pixel-level.txt §III-C/D, Fig. 3c): L1 is
the finger width (thickness along the jaw axis), L2 the finger height (extent along z), L3 the
maximum grasp depth (the depth grid is ``{k g : k g < L3}``) and L4 the maximum opening (the
width map is multiplied by L4).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core.validation import as_array

#: Upper bound on padded (grasp, point) pairs processed at once (memory ~ 24 bytes each).
_PAIR_BUDGET = 2_000_000


class GraspLike(Protocol):
    """Anything with batched grasp accessors (``GraspGroup``, :class:`GraspPoses`)."""

    @property
    def rotations(self) -> np.ndarray: ...  # noqa: D102

    @property
    def translations(self) -> np.ndarray: ...  # noqa: D102

    @property
    def widths(self) -> np.ndarray: ...  # noqa: D102

    @property
    def depths(self) -> np.ndarray: ...  # noqa: D102


@dataclass(frozen=True)
class GraspPoses:
    """Explicit grasp arrays, for callers without a ``GraspGroup``.

    Attributes:
        rotations: (N, 3, 3) gripper axes (columns x approach, y jaw, z height), scene frame.
        translations: (N, 3) grasp points, metres, scene frame.
        widths: (N,) jaw openings, metres.
        depths: (N,) fingertip depths past the grasp point along x, metres.
    """

    rotations: np.ndarray
    translations: np.ndarray
    widths: np.ndarray
    depths: np.ndarray

    def __post_init__(self) -> None:
        rotations = as_array(self.rotations, "rotations", (None, 3, 3))
        n = len(rotations)
        object.__setattr__(self, "rotations", rotations)
        translations = as_array(self.translations, "translations", (n, 3))
        object.__setattr__(self, "translations", translations)
        object.__setattr__(self, "widths", as_array(self.widths, "widths", (n,)))
        object.__setattr__(self, "depths", as_array(self.depths, "depths", (n,)))

    def __len__(self) -> int:
        return len(self.rotations)


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


def _grasp_arrays(grasps: GraspLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read and check ``(R (N,3,3), t (N,3), width (N,), depth (N,))`` from a grasp set."""
    for attr in ("rotations", "translations", "widths", "depths"):
        if not hasattr(grasps, attr):
            raise ValueError(
                f"grasps: expected a GraspGroup or GraspPoses (with .rotations, .translations, "
                f".widths, .depths), got {type(grasps).__name__} without .{attr}"
            )
    rotations = as_array(grasps.rotations, "grasps.rotations", (None, 3, 3))
    n = len(rotations)
    translations = as_array(grasps.translations, "grasps.translations", (n, 3))
    widths = as_array(grasps.widths, "grasps.widths", (n,))
    depths = as_array(grasps.depths, "grasps.depths", (n,))
    if n:
        smallest = np.linalg.svd(rotations, compute_uv=False)[:, -1]
        bad = np.flatnonzero(smallest < 1e-3)
        if len(bad):
            raise ValueError(
                f"grasps.rotations[{int(bad[0])}] is singular (smallest singular value "
                f"{smallest[bad[0]]:.2e}); expected a rotation matrix"
            )
    return rotations, translations, widths, depths


@dataclass(frozen=True)
class GripperModel:
    """Parallel-jaw gripper geometry in metres.

    The defaults are the reference evaluation gripper (graspnetAPI ``collision_detection``:
    finger width 0.01, height 0.02, depth base 0.02, 1 cm palm, widths clipped to 0.1, empty
    below 10 points). ``finger_length`` is the length of a finger from the palm face to its
    tip, used by the simulated gripper; 0.06 = ``depth_base`` + 0.04, so that a finger reaches
    the deepest reference label depth (0.04 m), and the same value graspnet-baseline's
    model-free collision detector uses.

    Attributes:
        finger_width: finger thickness along the jaw axis y (PLGP L1).
        height: finger and palm extent along z (PLGP L2).
        depth_base: distance from the grasp point back to the finger bases / palm face.
        palm_thickness: palm extent along x behind the palm face.
        max_width: largest jaw opening; widths are clipped to ``[0, max_width]`` (PLGP L4).
        finger_length: finger length from palm face to fingertip.
        empty_thresh: a grasp with fewer inner points than this is empty.
    """

    finger_width: float = 0.01
    height: float = 0.02
    depth_base: float = 0.02
    palm_thickness: float = 0.01
    max_width: float = 0.1
    finger_length: float = 0.06
    empty_thresh: int = 10

    def __post_init__(self) -> None:
        for name in ("finger_width", "height", "depth_base", "palm_thickness", "max_width",
                     "finger_length"):
            value = getattr(self, name)
            is_number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            if not is_number or not np.isfinite(value) or value <= 0:
                raise ValueError(f"GripperModel.{name}: expected a positive length in metres, "
                                 f"got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.finger_length <= self.depth_base:
            raise ValueError(f"GripperModel.finger_length: expected more than depth_base "
                             f"({self.depth_base}) so that the fingertips pass the grasp point, "
                             f"got {self.finger_length}")
        thresh = self.empty_thresh
        if isinstance(thresh, bool) or not isinstance(thresh, int | np.integer) or thresh < 0:
            raise ValueError(f"GripperModel.empty_thresh: expected an integer >= 0, got {thresh!r}")
        object.__setattr__(self, "empty_thresh", int(thresh))

    @property
    def max_depth(self) -> float:
        """Deepest fingertip position past the grasp point: ``finger_length - depth_base``."""
        return self.finger_length - self.depth_base

    @property
    def pdg_size(self) -> tuple[float, float, float, float]:
        """PLGP gripper size ``[L1, L2, L3, L4]`` (Fig. 3c).

        L1 = finger width, L2 = finger height, L3 = maximum grasp depth (:attr:`max_depth`,
        the fingertip reach past the grasp point with the palm face ``depth_base`` behind it),
        L4 = maximum opening.

        >>> GripperModel().pdg_size
        (0.01, 0.02, 0.04, 0.1)
        """
        return (self.finger_width, self.height, round(self.max_depth, 12), self.max_width)

    def clip_widths(self, widths: ArrayLike) -> np.ndarray:
        """Clip widths to ``[0, max_width]`` as the evaluation does; returns a new array."""
        return np.clip(as_array(widths, "widths"), 0.0, self.max_width)

    def box_bounds(self, grasps: GraspLike) -> np.ndarray:
        """Gripper-frame bounds of the left finger, right finger and palm boxes.

        Args:
            grasps: N grasps (``GraspGroup`` or :class:`GraspPoses`).

        Returns:
            (N, 3, 2, 3) float64: ``[n, box, 0]`` the lower and ``[n, box, 1]`` the upper
            (x, y, z) corner, box order left, right, palm; metres, gripper frame.
        """
        _, _, widths, depths = _grasp_arrays(grasps)
        return self._bounds(self.clip_widths(widths), depths)

    def _bounds(self, widths: np.ndarray, depths: np.ndarray) -> np.ndarray:
        n = len(widths)
        half, outer = widths / 2, widths / 2 + self.finger_width
        h2, db = self.height / 2, self.depth_base
        bounds = np.empty((n, 3, 2, 3))
        bounds[:, :, 0, 2], bounds[:, :, 1, 2] = -h2, h2
        bounds[:, :2, 0, 0], bounds[:, :2, 1, 0] = -db, depths[:, None]
        bounds[:, 0, 0, 1], bounds[:, 0, 1, 1] = -outer, -half
        bounds[:, 1, 0, 1], bounds[:, 1, 1, 1] = half, outer
        bounds[:, 2, 0, 0], bounds[:, 2, 1, 0] = -(db + self.palm_thickness), -db
        bounds[:, 2, 0, 1], bounds[:, 2, 1, 1] = -outer, outer
        return bounds

    def box_corners(self, grasps: GraspLike) -> np.ndarray:
        """Corners of the left finger, right finger and palm boxes in the grasps' frame.

        Corner ``k = 4 i + 2 j + l`` takes the lower (0) or upper (1) bound of x (i), y (j)
        and z (l), the vertex order of ``trimesh.creation.box``.

        Args:
            grasps: N grasps (``GraspGroup`` or :class:`GraspPoses`), scene frame.

        Returns:
            (N, 3, 8, 3) float64 corners in metres, scene frame (``t + R q``).
        """
        rotations, translations, widths, depths = _grasp_arrays(grasps)
        bounds = self._bounds(self.clip_widths(widths), depths)
        bits = np.array(list(itertools.product((0, 1), repeat=3)))  # (8, 3)
        local = bounds[:, :, bits, np.arange(3)]  # (N, 3, 8, 3)
        return np.einsum("nij,nbkj->nbki", rotations, local) + translations[:, None, None, :]

    def region_masks(self, grasps: GraspLike, points: ArrayLike) -> GripperRegions:
        """Dense masks of the scene points in each gripper region.

        Args:
            grasps: N grasps (``GraspGroup`` or :class:`GraspPoses`), scene frame.
            points: (M, 3) scene points, metres, same frame.

        Returns:
            :class:`GripperRegions` with (N, M) bool masks (strict inequalities of the module
            table, widths clipped to ``[0, max_width]``).
        """
        arrays = _grasp_arrays(grasps)
        pts = as_array(points, "points", (None, 3))
        masks = np.zeros((4, len(arrays[0]), len(pts)), dtype=bool)
        for grasp_ids, index, valid, flags in self._padded_flags(*arrays, pts):
            rows, cols = np.nonzero(valid)
            masks[:, grasp_ids[rows], index[rows, cols]] = flags[:, rows, cols]
        return GripperRegions(left=masks[0], right=masks[1], palm=masks[2], inner=masks[3])

    def collision_and_empty(
        self, grasps: GraspLike, points: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """Flag each grasp as colliding and/or empty against a point cloud (reference rules).

        Args:
            grasps: N grasps (``GraspGroup`` or :class:`GraspPoses`), scene frame.
            points: (M, 3) scene points, metres, same frame.

        Returns:
            ``(collision (N,) bool, empty (N,) bool)``: collision is any point in a finger
            or the palm; empty is fewer than ``empty_thresh`` points in the inner region.
            The reference evaluation's ``collision_mask`` is ``collision | empty``.
        """
        arrays = _grasp_arrays(grasps)
        pts = as_array(points, "points", (None, 3))
        n = len(arrays[0])
        collision = np.zeros(n, dtype=bool)
        inner = np.zeros(n, dtype=np.int64)
        for grasp_ids, _, valid, flags in self._padded_flags(*arrays, pts):
            collision[grasp_ids] = ((flags[0] | flags[1] | flags[2]) & valid).any(axis=1)
            inner[grasp_ids] = (flags[3] & valid).sum(axis=1)
        return collision, inner < self.empty_thresh

    def _crop(
        self, tree: cKDTree, rotations: np.ndarray, translations: np.ndarray,
        widths: np.ndarray, depths: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate points per grasp: a ball around each gripper's bounding box.

        Returns:
            ``(counts (n,), flat (K,))``: grasp i's candidates are the next ``counts[i]``
            point indices of ``flat``, a superset of the points in any of its regions.
        """
        lo = -(self.depth_base + self.palm_thickness)
        hi = np.maximum(depths, -self.depth_base)
        local_centre = np.zeros((len(widths), 3))
        local_centre[:, 0] = (lo + hi) / 2
        half = np.stack([(hi - lo) / 2, widths / 2 + self.finger_width,
                         np.full(len(widths), self.height / 2)], axis=1)
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

    def _padded_flags(
        self, rotations: np.ndarray, translations: np.ndarray, widths: np.ndarray,
        depths: np.ndarray, pts: np.ndarray,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Region flags of each grasp's candidate points, in chunks of grasps.

        Yields:
            ``(grasp_ids (n,), index (n, L), valid (n, L), flags (4, n, L))``: the grasps of
            the chunk, their candidate point indices padded to a common length L, which
            entries are real candidates, and the left/right/palm/inner flags. Points that
            are not candidates lie outside every region.
        """
        if len(rotations) == 0 or len(pts) == 0:
            return
        widths = self.clip_widths(widths)
        tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
        # A small first block measures the candidates per grasp before larger ones.
        first, block = 0, 32
        while first < len(rotations):
            ids = np.arange(first, min(first + block, len(rotations)))
            counts, flat = self._crop(tree, rotations[ids], translations[ids], widths[ids],
                                      depths[ids])
            # Size the next block of grasps so that its candidate pairs fit the budget.
            per_grasp = max(len(flat) / len(ids), 1.0)
            first, block = ids[-1] + 1, int(np.clip(_PAIR_BUDGET / per_grasp, 16, 65535))
            starts = np.concatenate([[0], np.cumsum(counts)])
            for chunk in _chunks(counts):
                grasp_ids = ids[chunk]
                index, valid = _padded_lists(flat, starts[chunk], counts[chunk])
                # The reference's batched product (n, L, 3) @ (n, 3, 3), bit for bit.
                q = np.matmul(pts[index] - translations[grasp_ids, None, :],
                              rotations[grasp_ids])
                flags = self._flags(q, widths[grasp_ids, None], depths[grasp_ids, None])
                yield grasp_ids, index, valid, flags

    def _flags(self, q: np.ndarray, widths: np.ndarray, depths: np.ndarray) -> np.ndarray:
        """(4, n, L) left/right/palm/inner flags of gripper-frame points ``q`` (n, L, 3).

        Uses ``|y|``: ``-(a) < y < -b`` is ``y < 0 and b < |y| < a`` exactly (negation is
        exact in floating point), so the flags equal the reference's signed tests.
        """
        x, y, z = q[..., 0], q[..., 1], q[..., 2]
        half = widths / 2
        outer = widths / 2 + self.finger_width
        abs_y = np.abs(y)
        slab = (z > -self.height / 2) & (z < self.height / 2)
        inside_outer = abs_y < outer
        along = slab & (x > -self.depth_base) & (x < depths)
        finger = along & inside_outer & (abs_y > half)
        negative = y < 0
        palm_x = (x > -(self.depth_base + self.palm_thickness)) & (x < -self.depth_base)
        palm = slab & palm_x & inside_outer
        inner = along & (abs_y <= half)
        return np.stack([finger & negative, finger & ~negative, palm, inner])


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


def as_grasp_poses(
    rotations: ArrayLike, translations: ArrayLike, widths: ArrayLike, depths: ArrayLike
) -> GraspPoses:
    """Bundle explicit grasp arrays (checked copies) for :class:`GripperModel` methods.

    >>> len(as_grasp_poses(np.eye(3)[None], [[0, 0, 0]], [0.05], [0.02]))
    1
    """
    return GraspPoses(*(np.asarray(a) for a in (rotations, translations, widths, depths)))


#: The graspnetAPI evaluation gripper (the defaults).
REFERENCE_GRIPPER = GripperModel()

__all__ = [
    "REFERENCE_GRIPPER",
    "GraspLike",
    "GraspPoses",
    "GripperModel",
    "GripperRegions",
    "as_grasp_poses",
]
