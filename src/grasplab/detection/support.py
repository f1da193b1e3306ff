"""Support plane and container walls: where objects rest, and what is only their bin or table.

A user's frame shows objects together with what holds them: a table, the floor of a bin or box
and its walls and rims. A detector that samples grasp points everywhere puts many of its best
grasps on those walls and rims (long, straight, antipodal edges). This module finds them from
the observed cloud alone (no pose, no segmentation) and returns the points that rest inside or
on the support:

1. sequential RANSAC: fit the dominant plane of the remaining points, keep the largest
   connected patch of its inliers, drop it if its area is below ``min_area`` and repeat;
2. "up" is the direction of the largest total area of mutually parallel planes (the table
   and a bin floor), oriented towards the camera;
3. supports are the near-horizontal planes within ``support_step`` of the lowest one (the top
   support is the highest of them with ``min_support_area``: a bin's floor); walls are the
   tilted planes that are long (``min_wall_length`` across up) and rise at least
   ``min_wall_height`` above the top support; other planes are faces of objects;
4. a point rests inside or on the support when it is on no support or wall, lies
   ``min_height`` above the top support, ``wall_margin`` on the inner side of every wall (the
   side of the floor they bound) and over the footprint of the top support and the walls (the
   convex hull of their points: a table's far parts and a bin's outer faces lie beyond it).

Without a wall (objects on a table) step 4 reduces to "above the table". Frames: all points
in one frame (the camera frame in the detectors, camera centre at the origin), metres.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, QhullError, cKDTree

from grasplab.core import as_array, as_rng
from grasplab.core.validation import RngLike
from grasplab.detection.cloud import fit_plane, voxel_downsample

logger = logging.getLogger(__name__)

#: Plane kinds, in the order :class:`SupportResult` lists them.
_KINDS = ("support", "wall", "other")

_POSITIVE = ("voxel_size", "threshold", "min_area", "min_support_area", "support_step", "min_height",
             "min_wall_length", "min_wall_height", "wall_margin", "horizontal_tolerance",
             "min_wall_tilt")


@dataclass(frozen=True)
class SupportConfig:
    """Settings of :func:`find_support` (metres, square metres, radians).

    Attributes:
        voxel_size: voxel edge of the downsampled cloud (areas are counted in voxels).
        threshold: RANSAC inlier distance.
        num_hypotheses: random three-point planes per RANSAC round.
        max_score_points: hypotheses are scored on at most this many random points.
        max_planes: most planes extracted.
        min_area: smallest plane patch kept (area of its largest connected part).
        min_support_area: the top support is the highest flat plane of at least this area
            (smaller flat patches above it are faces of objects lying flat).
        support_step: planes parallel to up within this height above the lowest one are
            supports (a table and the floor of a bin standing on it).
        min_height: a resting point lies at least this far above the top support.
        horizontal_tolerance: largest angle between a support's normal and up.
        min_wall_tilt: smallest angle between a wall's normal and up.
        min_wall_length: smallest extent of a wall along the support (longer than an object's
            flat face).
        min_wall_height: a wall reaches at least this high above the top support.
        wall_margin: a resting point lies at least this far on the inner side of every wall.
        footprint_slack: a resting point projects at most this far outside the convex hull
            of the top support's and the walls' points (a bin ends at its walls; objects
            hide some of its floor).
        link_factor: points closer than ``link_factor * voxel_size`` are connected.
    """

    voxel_size: float = 0.008
    threshold: float = 0.008
    num_hypotheses: int = 150
    max_score_points: int = 1500
    max_planes: int = 12
    min_area: float = 0.01
    min_support_area: float = 0.03
    support_step: float = 0.03
    min_height: float = 0.008
    horizontal_tolerance: float = float(np.deg2rad(15.0))
    min_wall_tilt: float = float(np.deg2rad(30.0))
    min_wall_length: float = 0.15
    min_wall_height: float = 0.04
    wall_margin: float = 0.01
    footprint_slack: float = 0.03
    link_factor: float = 2.5

    def __post_init__(self) -> None:
        for name in _POSITIVE:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
        for name in ("num_hypotheses", "max_score_points", "max_planes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if not (isinstance(self.footprint_slack, int | float) and 0 <= self.footprint_slack < np.inf):
            raise ValueError(f"footprint_slack: expected metres >= 0, got {self.footprint_slack!r}")
        if not 1.0 <= self.link_factor <= 10.0:
            raise ValueError(f"link_factor: expected a number in [1, 10], got {self.link_factor!r}")
        if self.horizontal_tolerance >= self.min_wall_tilt:
            raise ValueError("horizontal_tolerance must be smaller than min_wall_tilt")


@dataclass(frozen=True)
class Plane:
    """One plane ``normal · p + offset = 0`` found in a cloud.

    Attributes:
        normal: (3,) unit normal (towards the camera for a support; towards the objects for a
            wall).
        offset: metres.
        area: area of its connected patch, square metres (voxel count × voxel area).
        kind: ``"support"``, ``"wall"`` or ``"other"`` (a large flat face of an object).
    """

    normal: np.ndarray
    offset: float
    area: float
    kind: str

    def distance(self, points: np.ndarray) -> np.ndarray:
        """(N,) signed distances of (N, 3) points, positive on the normal's side."""
        return np.asarray(points @ self.normal + self.offset)


@dataclass(frozen=True)
class SupportResult:
    """What :func:`find_support` found in a cloud.

    Attributes:
        planes: every plane kept, supports first, then walls, then others.
        up: (3,) unit "up" (the supports' normal, towards the camera); zeros without a support.
        resting: (N,) bool per input point: rests inside or on the support (all True when
            no support was found: then nothing can be told apart).
        obstacle: (N,) bool per input point: on a support or a wall.
        plane_of_point: (N,) int64 index into ``planes`` of each input point's plane (-1 for
            none; by voxel of ``voxel_size``).
    """

    planes: tuple[Plane, ...]
    up: np.ndarray
    resting: np.ndarray
    obstacle: np.ndarray
    plane_of_point: np.ndarray = field(repr=False)

    @property
    def supports(self) -> tuple[Plane, ...]:
        """The support planes (table, bin floor)."""
        return tuple(p for p in self.planes if p.kind == "support")

    @property
    def walls(self) -> tuple[Plane, ...]:
        """The container's walls (empty for objects on a table)."""
        return tuple(p for p in self.planes if p.kind == "wall")


def _largest_patch(points: np.ndarray, link: float) -> np.ndarray:
    """(N,) bool: the largest connected part of ``points`` (neighbours closer than ``link``)."""
    if len(points) < 2:
        return np.ones(len(points), dtype=bool)
    pairs = cKDTree(points).query_pairs(link, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(points), len(points)))
    _, component = connected_components(graph, directed=False)
    return np.asarray(component == np.argmax(np.bincount(component)))


def _refine(
    pts: np.ndarray, normal: np.ndarray, offset: float, threshold: float, iterations: int = 3,
) -> tuple[np.ndarray, float]:
    """Refit a plane by least squares on the points within ``threshold / 4`` of it, repeatedly.

    Args:
        pts: (N, 3) points of one connected patch.
        normal: (3,) unit normal of the initial plane.
        offset: its offset (``normal · p + offset = 0``).
        threshold: the RANSAC inlier distance.
        iterations: refits.

    Returns:
        ``(normal, offset)`` of the refined plane.
    """
    for _ in range(iterations):
        core = np.abs(pts @ normal + offset) < threshold / 4
        if core.sum() < 3:
            break
        centre = pts[core].mean(axis=0)
        _, _, vt = np.linalg.svd(pts[core] - centre, full_matrices=False)
        normal, offset = vt[-1], -float(vt[-1] @ centre)
    return normal, offset


def extract_planes(
    points: ArrayLike, config: SupportConfig | None = None, rng: RngLike = None,
) -> tuple[list[tuple[np.ndarray, float, float]], np.ndarray]:
    """Sequential RANSAC: planes of at least ``min_area`` in a voxelized cloud, largest first.

    Args:
        points: (M, 3) voxel centroids, metres.
        config: settings (default :class:`SupportConfig`).
        rng: random generator or seed.

    Returns:
        ``(planes, plane_of_point)``: a list of ``(normal (3,), offset, area m²)`` and (M,)
        int64 index of each point's plane (-1 for none). A plane holds only the largest
        connected patch of its inliers (coplanar faces elsewhere stay free).
    """
    cfg = SupportConfig() if config is None else config
    pts = as_array(points, "points", (None, 3))
    gen = as_rng(rng)
    label = np.full(len(pts), -1, dtype=np.int64)
    planes: list[tuple[np.ndarray, float, float]] = []
    min_voxels = cfg.min_area / cfg.voxel_size**2
    free = np.arange(len(pts))
    misses = 0
    while len(planes) < cfg.max_planes and len(free) >= max(min_voxels, 3) and misses < 3:
        try:
            normal, offset, inliers = fit_plane(pts[free], cfg.threshold, cfg.num_hypotheses, gen,
                                                max_points=cfg.max_score_points)
        except ValueError:  # collinear remainder
            break
        link = cfg.link_factor * cfg.voxel_size
        members = free[inliers]
        members = members[_largest_patch(pts[members], link)]
        # RANSAC may tilt a plane to catch a far patch too (a bin floor and the table beyond
        # its walls): refit on the largest patch alone, then take its inliers again
        normal, offset = _refine(pts[members], normal, offset, cfg.threshold)
        members = free[np.abs(pts[free] @ normal + offset) < cfg.threshold]
        members = members[_largest_patch(pts[members], link)]
        if len(members) < min_voxels:
            misses += 1  # the best plane is fragmented: try again with new hypotheses
            continue
        label[members] = len(planes)
        planes.append((normal, offset, len(members) * cfg.voxel_size**2))
        free = free[label[free] < 0]
    return planes, label


def _up_direction(planes: list[tuple[np.ndarray, float, float]], tolerance: float) -> np.ndarray:
    """Unit normal of the largest total area of parallel planes, towards the camera (origin)."""
    normals = np.array([n if off > 0 else -n for n, off, _ in planes])  # origin on + side
    areas = np.array([a for _, _, a in planes])
    parallel = np.abs(normals @ normals.T) > np.cos(tolerance)
    best = int(np.argmax(parallel.astype(float) @ areas))
    return np.asarray(normals[best])


def _horizontal_length(members: np.ndarray, up: np.ndarray) -> float:
    """Extent of a patch along its main direction perpendicular to ``up``, metres."""
    flat = members - np.outer(members @ up, up)
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    return float(np.ptp(flat @ vt[0]))


def _classify(
    pts: np.ndarray, planes: list[tuple[np.ndarray, float, float]], label: np.ndarray,
    cfg: SupportConfig,
) -> tuple[list[Plane], np.ndarray, int, np.ndarray]:
    """Label each plane support / wall / other.

    Returns:
        The planes (input order), up, the index of the top support and a (P,) bool of the
        supports at its level (a floor cut in pieces by the objects on it).
    """
    up = _up_direction(planes, cfg.horizontal_tolerance)
    tilt = np.array([np.arccos(min(abs(float(n @ up)), 1.0)) for n, _, _ in planes])
    area = np.array([a for _, _, a in planes])
    flat = tilt < cfg.horizontal_tolerance
    if not np.any(flat):
        return [], up, -1, flat
    # heights are measured from the largest flat plane (the best-fitted normal), at each
    # plane's own points: thin far strips of a table have poor normals of their own
    ref = _oriented(planes[int(np.argmax(np.where(flat, area, -1.0)))], up)
    level = np.array([np.median(pts[label == i] @ ref[0]) for i in range(len(planes))]) + ref[1]
    low = flat & (level <= level[flat].min() + cfg.support_step)
    large = low & (area >= cfg.min_support_area)
    pool = large if np.any(large) else low
    top = int(np.flatnonzero(pool)[np.argmax(level[pool])])
    support = low & (level <= level[top] + cfg.threshold)  # small flat faces above: objects'
    top_plane = (ref[0], ref[1] - float(level[top]))
    top_level = support & (level >= level[top] - cfg.threshold)
    # walls face the floor they bound: its centre is on their inner side
    inside = pts[np.isin(label, np.flatnonzero(top_level))].mean(axis=0)
    result = []
    for i, (normal, offset, area_i) in enumerate(planes):
        if i == top:
            result.append(Plane(top_plane[0], top_plane[1], area_i, "support"))
            continue
        if support[i]:
            n, o = _oriented(planes[i], up)
            result.append(Plane(n, o, area_i, "support"))
            continue
        members = pts[label == i]
        rise = float((members @ top_plane[0] + top_plane[1]).max())
        kind = "other"
        if (tilt[i] >= cfg.min_wall_tilt and rise >= cfg.min_wall_height
                and _horizontal_length(members, up) >= cfg.min_wall_length):
            kind = "wall"
        sign = 1.0 if float(inside @ normal + offset) >= 0 else -1.0
        result.append(Plane(sign * normal, sign * float(offset), area_i, kind))
    return result, up, top, top_level


def _oriented(plane: tuple[np.ndarray, float, float], up: np.ndarray) -> tuple[np.ndarray, float]:
    """``(normal, offset)`` of a plane with the normal on the side of ``up``."""
    normal, offset, _ = plane
    sign = 1.0 if float(normal @ up) >= 0 else -1.0
    return sign * normal, sign * float(offset)


def _over_footprint(
    points: np.ndarray, support: np.ndarray, up: np.ndarray, slack: float,
) -> np.ndarray:
    """(N,) bool: points whose projection along ``up`` lies in the support's convex hull.

    The hull is grown by ``slack`` (objects hide the floor behind them); all True when it is
    degenerate.
    """
    axis = np.linalg.svd(np.eye(3) - np.outer(up, up))[0][:, :2]  # two axes across up
    try:
        hull = ConvexHull(support @ axis)
    except QhullError:
        return np.ones(len(points), dtype=bool)
    flat = points @ axis
    return np.asarray(np.all(flat @ hull.equations[:, :2].T + hull.equations[:, 2] < slack,
                             axis=1))


def find_support(
    points: ArrayLike, config: SupportConfig | None = None, rng: RngLike = None,
) -> SupportResult:
    """Find the support plane and container walls of a cloud and the points resting on it.

    Args:
        points: (N, 3) cloud in metres (camera frame: the camera centre at the origin).
        config: settings (default :class:`SupportConfig`).
        rng: random generator or seed (RANSAC).

    Returns:
        A :class:`SupportResult` over the input points. Without a near-horizontal plane of at
        least ``min_area`` nothing is known: every point rests, none is an obstacle.

    Raises:
        ValueError: points not of shape (N, 3) or not finite.
    """
    cfg = SupportConfig() if config is None else config
    pts = as_array(points, "points", (None, 3))
    if not np.all(np.isfinite(pts)):
        raise ValueError("points: expected finite coordinates")
    centroids, voxel = voxel_downsample(pts, cfg.voxel_size)
    planes, label = extract_planes(centroids, cfg, rng)
    nothing = SupportResult((), np.zeros(3), np.ones(len(pts), dtype=bool),
                            np.zeros(len(pts), dtype=bool), np.full(len(pts), -1, np.int64))
    if not planes:
        return nothing
    kinds, up, top, top_level = _classify(centroids, planes, label, cfg)
    if top < 0:
        return nothing
    order = sorted(range(len(kinds)), key=lambda i: _KINDS.index(kinds[i].kind))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    plane_of = np.where(label >= 0, rank[np.maximum(label, 0)], -1)[voxel]
    ordered = tuple(kinds[i] for i in order)
    obstacle = np.isin(plane_of, [i for i, p in enumerate(ordered) if p.kind != "other"])
    resting = ~obstacle & (kinds[top].distance(pts) > cfg.min_height)
    # the bin: its floor (maybe in pieces) and walls; objects may lean on the sloping walls
    walls = np.array([p.kind == "wall" for p in kinds])
    floor = np.isin(label, np.flatnonzero(top_level | walls))
    resting[resting] = _over_footprint(pts[resting], centroids[floor], up, cfg.footprint_slack)
    for wall in (p for p in ordered if p.kind == "wall"):
        resting &= wall.distance(pts) > cfg.wall_margin
    logger.debug("support: %d planes (%s), %d of %d points resting", len(ordered),
                 ", ".join(p.kind for p in ordered), int(resting.sum()), len(pts))
    return SupportResult(ordered, up, resting, obstacle, plane_of)

