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
``empty_thresh`` points lie in the inner region. The batched engine that applies these tests
lives in :mod:`grasplab.core.gripper_regions`.

PLGP gripper size ``[L1, L2, L3, L4]`` (papers/plgp-pixel-level.txt §III-C/D, Fig. 3c): L1 is
the finger width (thickness along the jaw axis), L2 the finger height (extent along z), L3 the
maximum grasp depth (the depth grid is ``{k g : k g < L3}``) and L4 the maximum opening (the
width map is multiplied by L4).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.gripper_regions import GripperRegions, iter_region_flags
from grasplab.core.plausibility import check_points
from grasplab.core.validation import UNIT_CHECK_SAMPLES, as_array

logger = logging.getLogger(__name__)


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
        for grasp_ids, index, valid, flags in iter_region_flags(self, *arrays, pts):
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
        if len(pts):  # points in millimetres would make every grasp empty: refuse them
            # (the units show in a strided sample's median distance)
            for warning in check_points(pts[:: max(1, len(pts) // UNIT_CHECK_SAMPLES)]):
                logger.warning("collision_and_empty: %s", warning)
        n = len(arrays[0])
        collision = np.zeros(n, dtype=bool)
        inner = np.zeros(n, dtype=np.int64)
        for grasp_ids, _, valid, flags in iter_region_flags(self, *arrays, pts):
            collision[grasp_ids] = ((flags[0] | flags[1] | flags[2]) & valid).any(axis=1)
            inner[grasp_ids] = (flags[3] & valid).sum(axis=1)
        return collision, inner < self.empty_thresh


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
