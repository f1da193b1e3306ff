"""Dense analytic grasp labels of one object (GraspNet-1Billion §3.3, AnyGrasp §IV-A).

Pipeline, all in the object (model) frame, metres:

1. **Grasp points**: a dense area-uniform surface sample reduced to one point per voxel of edge
   ``spacing`` (:mod:`grasplab.labels.sampling`).
2. **Candidates** per point: V approach views of the reference Fibonacci sphere (approach =
   -view, reference §8.4) × A in-plane angles ``i·π/A`` × D depths; the rotation is the
   reference ``batch_viewpoint_params_to_matrix`` (:func:`grasplab.core.rotation_from_view`).
3. **Width, self-collision, emptiness** against the object's surface points
   (:mod:`grasplab.labels.candidates`; the flags are the reference gripper test).
4. **Score** (eq. 2): the smallest μ of the label grid (0.1 … 1.0) at which the grasp is
   force-closure on the exact mesh (:mod:`grasplab.labels.force_closure`), -1 if none. Empty
   grasps score -1. Colliding grasps keep their force-closure score and are flagged in
   ``collision``, which is the reference file's meaning of that field (self collision).
5. **Stable score** (AnyGrasp): normalised distance from the centre of mass to the gripper plane
   (:mod:`grasplab.labels.stable`), one per (point, view, angle).
6. **Tolerance** (grasp affinity fields, GraspNet §4.4; :mod:`grasplab.labels.tolerance`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from grasplab.core.gripper import GripperModel
from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.core.validation import RngLike, as_array, as_rng
from grasplab.labels.candidates import CandidateFrames, WidthRule, point_candidate_geometry
from grasplab.labels.force_closure import LABEL_MU_GRID, force_closure
from grasplab.labels.raycast import MeshRayCaster
from grasplab.labels.sampling import sample_surface_voxels
from grasplab.labels.stable import gripper_plane_distances, normalize_stable_scores
from grasplab.labels.tolerance import grasp_tolerance

__all__ = [
    "ANYGRASP_DEPTHS",
    "GRASPNET_DEPTHS",
    "ObjectLabelConfig",
    "ObjectLabels",
    "candidate_rotations",
    "check_labelable_mesh",
    "label_object",
    "sample_grasp_points",
]

logger = logging.getLogger(__name__)

#: Label depths of GraspNet-1Billion (metres).
GRASPNET_DEPTHS: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04)
#: AnyGrasp adds a 0.5 cm depth for small objects (§IV-A).
ANYGRASP_DEPTHS: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.04)


@dataclass(frozen=True)
class ObjectLabelConfig:
    """Settings of :func:`label_object` (metres, radians).

    Attributes:
        spacing: voxel edge of the grasp point sampling.
        collision_spacing: voxel edge of the surface points used for widths and collision.
        samples_per_voxel: dense samples per voxel face area before downsampling.
        num_views: approach views V (reference Fibonacci sphere).
        num_angles: in-plane angles A (``i·π/A``).
        depths: ascending fingertip depths D.
        mu_grid: friction coefficients of the score, ascending (default 0.1 … 1.0).
        width_margin: extra opening over the tightest enclosing width (half per side).
        width_resolution: width quantisation step.
        max_points: if set, keep a random subset of at most this many grasp points.
        tolerance_max_radius: largest tolerance radius searched.
        tolerance_step: tolerance radius grid step.
        tolerance_pos_ratio: fraction of neighbours that must stay good (1 = all).
    """

    spacing: float = 0.005
    collision_spacing: float = 0.004
    samples_per_voxel: float = 8.0
    num_views: int = 300
    num_angles: int = 12
    depths: tuple[float, ...] = GRASPNET_DEPTHS
    mu_grid: tuple[float, ...] = field(default=LABEL_MU_GRID)
    width_margin: float = 0.01
    width_resolution: float = 0.001
    max_points: int | None = None
    tolerance_max_radius: float = 0.05
    tolerance_step: float = 0.001
    tolerance_pos_ratio: float = 1.0

    def __post_init__(self) -> None:
        positive = ("spacing", "collision_spacing", "samples_per_voxel", "width_resolution",
                    "tolerance_max_radius", "tolerance_step")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"ObjectLabelConfig.{name}: expected a positive number, "
                                 f"got {value!r}")
        for name in ("num_views", "num_angles"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ObjectLabelConfig.{name}: expected a positive integer, "
                                 f"got {value!r}")
        self._check_sequences()
        if not np.isfinite(self.width_margin) or self.width_margin < 0:
            raise ValueError(f"ObjectLabelConfig.width_margin: expected >= 0 m, "
                             f"got {self.width_margin!r}")
        if self.max_points is not None and (int(self.max_points) != self.max_points
                                            or self.max_points < 1):
            raise ValueError(f"ObjectLabelConfig.max_points: expected None or a positive "
                             f"integer, got {self.max_points!r}")
        if not 0 < self.tolerance_pos_ratio <= 1:
            raise ValueError(f"ObjectLabelConfig.tolerance_pos_ratio: expected a fraction in "
                             f"(0, 1], got {self.tolerance_pos_ratio!r}")

    def _check_sequences(self) -> None:
        depths = tuple(float(d) for d in self.depths)
        if not depths or any(not np.isfinite(d) or d <= 0 for d in depths) or any(
            b <= a for a, b in zip(depths, depths[1:], strict=False)
        ):
            raise ValueError(f"ObjectLabelConfig.depths: expected strictly ascending positive "
                             f"depths in metres, got {self.depths!r}")
        mus = tuple(float(m) for m in self.mu_grid)
        if not mus or any(not np.isfinite(m) or m <= 0 for m in mus) or any(
            b <= a for a, b in zip(mus, mus[1:], strict=False)
        ):
            raise ValueError(f"ObjectLabelConfig.mu_grid: expected strictly ascending positive "
                             f"friction coefficients, got {self.mu_grid!r}")
        object.__setattr__(self, "depths", depths)
        object.__setattr__(self, "mu_grid", mus)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-serialisable dict of the settings."""
        out = asdict(self)
        out["depths"], out["mu_grid"] = list(self.depths), list(self.mu_grid)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectLabelConfig:
        """Build a config from :meth:`to_dict` output; unknown keys are errors."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"ObjectLabelConfig: unknown keys {unknown}; expected some of "
                             f"{sorted(known)}")
        values = dict(data)
        for key in ("depths", "mu_grid"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class ObjectLabels:
    """Dense labels of one object in the GraspNet-1Billion layout (object frame, metres).

    The arrays are read-only views of the given ones (no copy when the dtype already matches:
    a full label set is hundreds of megabytes).

    Attributes:
        points: (Np, 3) float32 grasp points.
        offsets: (Np, V, A, D, 3) float32 ``[in-plane angle (rad), depth (m), width (m)]``.
        scores: (Np, V, A, D) float32 minimal force-closure μ (lower is better), -1 bad.
        collision: (Np, V, A, D) bool, the gripper collides with the object itself.
        stable: (Np, V, A) float32 AnyGrasp stable score in [0, 1] (lower is more stable), or
            None (e.g. labels read from the original dataset).
        tolerance: (Np, V, A, D) float32 tolerance radius in metres, or None.
    """

    points: np.ndarray
    offsets: np.ndarray
    scores: np.ndarray
    collision: np.ndarray
    stable: np.ndarray | None = None
    tolerance: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = _frozen_view(self.points, "points", (None, 3), np.float32)
        scores = _frozen_view(self.scores, "scores", (len(points), None, None, None), np.float32)
        grid = scores.shape
        arrays: dict[str, np.ndarray | None] = {
            "points": points,
            "offsets": _frozen_view(self.offsets, "offsets", (*grid, 3), np.float32),
            "scores": scores,
            "collision": _frozen_view(self.collision, "collision", grid, np.bool_),
            "stable": None if self.stable is None
            else _frozen_view(self.stable, "stable", grid[:3], np.float32),
            "tolerance": None if self.tolerance is None
            else _frozen_view(self.tolerance, "tolerance", grid, np.float32),
        }
        for name, value in arrays.items():
            object.__setattr__(self, name, value)

    @property
    def grid_shape(self) -> tuple[int, int, int, int]:
        """``(Np, V, A, D)``."""
        np_, v, a, d = self.scores.shape
        return int(np_), int(v), int(a), int(d)


def _frozen_view(
    value: ArrayLike, name: str, shape: tuple[int | None, ...], dtype: type[np.generic]
) -> np.ndarray:
    """A read-only view of ``value`` as ``dtype`` (copied only when the dtype differs).

    Label arrays reach hundreds of megabytes, so they are not copied; the caller's own array
    stays writable (the view is not).
    """
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, arr.shape,
                                                                             strict=True)):
        expected = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {expected}, got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name}: non-finite values; expected finite label values")
    view = arr.view()
    view.flags.writeable = False
    return view


def candidate_rotations(num_views: int, num_angles: int) -> np.ndarray:
    """Rotations of all (view, angle) label candidates, as the reference builds them.

    Args:
        num_views: V views of the reference Fibonacci sphere.
        num_angles: A in-plane angles ``i·π/A``.

    Returns:
        (V, A, 3, 3) float64; ``[v, a]`` = ``rotation_from_view(-view_v, angle_a)``.
    """
    views = approach_views(num_views)
    angles = np.arange(num_angles) * np.pi / num_angles
    rot = rotation_from_view(np.repeat(-views, num_angles, axis=0), np.tile(angles, num_views))
    return rot.reshape(num_views, num_angles, 3, 3)


def check_labelable_mesh(mesh: Any, gripper: GripperModel | None = None) -> None:
    """Raise ValueError when a mesh cannot be labelled (what is wrong and what to do).

    Args:
        mesh: a ``trimesh.Trimesh`` in metres.
        gripper: gripper whose ``max_width`` bounds the graspable thickness.

    Raises:
        ValueError: not a triangle mesh, no faces, not watertight, zero or negative volume, or
            too big for the gripper (smallest oriented extent larger than the max width).
    """
    grip = gripper or GripperModel()
    if not hasattr(mesh, "faces") or not hasattr(mesh, "is_watertight"):
        raise ValueError(f"mesh: expected a trimesh.Trimesh, got {type(mesh).__name__} "
                         "(a scene or point cloud? merge it into one mesh first)")
    if len(mesh.faces) == 0:
        raise ValueError("mesh: no faces; expected a closed triangle mesh")
    if not mesh.is_watertight:
        raise ValueError("mesh: not watertight; force closure and the centre of mass need a "
                         "closed surface (repair it, e.g. trimesh.repair.fill_holes)")
    if not mesh.volume > 1e-12:
        raise ValueError(f"mesh: volume {float(mesh.volume):.3g} m^3 is not positive; expected "
                         "a closed, outward-oriented mesh (check face winding)")
    smallest = float(np.min(mesh.bounding_box_oriented.primitive.extents))
    if smallest > grip.max_width:
        raise ValueError(
            f"mesh: too big for the gripper: its smallest extent is {smallest:.3g} m but the "
            f"gripper opens {grip.max_width:.3g} m at most (wrong units? meshes must be in "
            "metres; scale millimetres by 0.001)"
        )


def label_object(
    mesh: Any,
    gripper: GripperModel | None = None,
    config: ObjectLabelConfig | None = None,
    rng: RngLike = None,
    *,
    center_of_mass: ArrayLike | None = None,
    points: ArrayLike | None = None,
    progress: Callable[[int], None] | None = None,
) -> ObjectLabels:
    """Compute dense analytic grasp labels of one object (module docstring).

    Args:
        mesh: watertight ``trimesh.Trimesh`` in metres, object frame.
        gripper: gripper geometry (default: the reference gripper).
        config: label settings (default :class:`ObjectLabelConfig`).
        rng: random generator or seed (surface sampling).
        center_of_mass: (3,) centre of mass for the stable score; default the mesh's own at
            uniform density.
        points: (Np, 3) grasp points to label (on the surface, object frame); default
            :func:`sample_grasp_points` with ``rng``. Passing the points sampled with a
            generator together with that same generator reproduces the default exactly.
        progress: optional callback, called with the number of grasp points just scored.

    Returns:
        :class:`ObjectLabels` with Np grasp points and the (V, A, D) candidate grid.

    Raises:
        ValueError: a mesh that cannot be labelled (:func:`check_labelable_mesh`).
    """
    grip = gripper or GripperModel()
    cfg = config or ObjectLabelConfig()
    check_labelable_mesh(mesh, grip)
    generator = as_rng(rng)
    if points is None:
        points = sample_grasp_points(mesh, cfg, generator)
    points = as_array(points, "points", (None, 3))
    surface = sample_surface_voxels(mesh, cfg.collision_spacing, generator, cfg.samples_per_voxel)
    rotations = candidate_rotations(cfg.num_views, cfg.num_angles)
    widths, collision, scores = _score_points(
        MeshRayCaster(mesh), points, surface, rotations, grip, cfg, progress)
    com = as_array(mesh.center_mass if center_of_mass is None else center_of_mass,
                   "center_of_mass", (3,))
    distances = gripper_plane_distances(points, rotations[..., 2].reshape(-1, 3), com)
    stable = normalize_stable_scores(distances).reshape(len(points), cfg.num_views,
                                                        cfg.num_angles)
    tolerance = grasp_tolerance(points, scores, cfg.tolerance_max_radius, cfg.tolerance_step,
                                cfg.tolerance_pos_ratio)
    offsets = np.empty((*scores.shape, 3), dtype=np.float32)
    offsets[..., 0] = (np.arange(cfg.num_angles) * np.pi / cfg.num_angles)[:, None]
    offsets[..., 1] = np.asarray(cfg.depths)
    offsets[..., 2] = widths
    logger.debug("labelled %d points x %d candidates: %.1f%% force-closure, %.1f%% self collision",
                 len(points), scores[0].size, 100 * float((scores > 0).mean()),
                 100 * float(collision.mean()))
    return ObjectLabels(points=points, offsets=offsets, scores=scores, collision=collision,
                        stable=stable, tolerance=tolerance)


def sample_grasp_points(
    mesh: Any, config: ObjectLabelConfig | None = None, rng: RngLike = None
) -> np.ndarray:
    """The grasp points :func:`label_object` labels: voxel-uniform surface samples.

    Args:
        mesh: ``trimesh.Trimesh`` in metres.
        config: uses ``spacing``, ``samples_per_voxel`` and ``max_points``.
        rng: random generator or seed.

    Returns:
        (Np, 3) float64 surface points, object frame.
    """
    cfg = config or ObjectLabelConfig()
    generator = as_rng(rng)
    points = sample_surface_voxels(mesh, cfg.spacing, generator, cfg.samples_per_voxel)
    if cfg.max_points is not None and len(points) > cfg.max_points:
        keep = np.sort(generator.choice(len(points), size=int(cfg.max_points), replace=False))
        points = points[keep]
    return points


def _score_points(
    caster: MeshRayCaster,
    points: np.ndarray,
    surface: np.ndarray,
    rotations: np.ndarray,
    gripper: GripperModel,
    cfg: ObjectLabelConfig,
    progress: Callable[[int], None] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Widths, collision flags and min-μ scores, each (Np, V, A, D)."""
    num_v, num_a = rotations.shape[:2]
    depths = np.asarray(cfg.depths)
    shape = (len(points), num_v, num_a, len(depths))
    widths = np.empty(shape, dtype=np.float32)
    collision = np.empty(shape, dtype=bool)
    scores = np.empty(shape, dtype=np.float32)
    axes = np.moveaxis(rotations.reshape(-1, 3, 3), 2, 0)  # (3, R, 3): x, y, z rows
    frames = CandidateFrames.from_rotations(rotations)
    rule = WidthRule(margin=cfg.width_margin, resolution=cfg.width_resolution)
    tree = cKDTree(surface)
    reach = np.linalg.norm([max(gripper.depth_base + gripper.palm_thickness, depths[-1]),
                            gripper.max_width / 2 + gripper.finger_width, gripper.height / 2])
    for i, point in enumerate(points):
        near = np.asarray(tree.query_ball_point(point, r=reach * (1 + 1e-6)), dtype=np.int64)
        geom = point_candidate_geometry(surface[near] - point, frames, depths, gripper, rule)
        mu = np.full(geom.widths.shape, -1.0)
        todo = np.nonzero(~geom.empty)
        if len(todo[0]):
            centers = point + depths[todo[1], None] * axes[0][todo[0]]
            result = force_closure(caster, centers, axes[1][todo[0]], geom.widths[todo],
                                   cfg.mu_grid)
            mu[todo] = result.min_mu
        widths[i] = geom.widths.reshape(num_v, num_a, -1)
        collision[i] = geom.collision.reshape(num_v, num_a, -1)
        scores[i] = mu.reshape(num_v, num_a, -1)
        if progress is not None:
            progress(1)
    return widths, collision, scores
