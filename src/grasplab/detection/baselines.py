"""Reference detectors for benchmarks: a ground-truth oracle and a random guesser.

- :class:`OracleDetector` knows the scene (object ids and poses, via :meth:`OracleDetector.bind`)
  and returns the analytic label grasps of its objects (``labels.label_object`` at a coarse
  setting, cached per object, or a dataset's ``grasp_label`` files), without those that collide
  with the other objects, the table or the tray (``GripperModel.collision_and_empty`` against
  points sampled on the posed meshes and a table plane), scored ``1.1 - μ`` as GraspNet does.
  It is an upper reference: it never looks at the image except for the camera pose.
- :class:`RandomDetector` returns random grasps at random observed points with random
  top-down-ish approaches (within ``max_tilt`` of the camera's optical axis): a lower reference.

Both satisfy the :class:`~grasplab.detection.Detector` protocol and return grasps in the camera
frame of the observation (OpenCV, metres), sorted by score descending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trimesh

from grasplab.core import GraspGroup, GripperModel, as_rng, invert_transform, rotation_from_view
from grasplab.core.validation import RngLike
from grasplab.detection.observation import Observation
from grasplab.detection.scene_state import SceneState
from grasplab.labels import (
    ObjectLabelConfig,
    ObjectLabels,
    label_object,
    labels_to_grasps,
    load_object_labels,
    object_labels_complete,
    sample_surface_voxels,
)
from grasplab.scenes import TRAY_FLOOR_Z, TRAY_RIM_HALF_EXTENT, SceneRecord, tray_mesh

__all__ = [
    "COARSE_LABEL_CONFIG",
    "OracleConfig",
    "OracleDetector",
    "RandomDetector",
    "SceneState",
]

logger = logging.getLogger(__name__)

#: Labels coarse enough to make in a few seconds per object (60 views, 6 angles, ≤150 points).
COARSE_LABEL_CONFIG = ObjectLabelConfig(spacing=0.01, num_views=60, num_angles=6, max_points=150)


class _Library(Protocol):
    def load(self, object_id: int) -> Any: ...  # noqa: D102


@dataclass(frozen=True)
class OracleConfig:
    """Settings of :class:`OracleDetector`.

    Attributes:
        label_config: settings of ``label_object`` for objects without stored labels.
        max_mu: largest label μ kept (scores ``1.1 - μ`` ≥ ``1.1 - max_mu``).
        max_per_object: label grasps drawn per object before the collision check.
        max_approach_angle: largest angle between the approach and world -z (rad).
        point_spacing: spacing of the collision points on the posed meshes (m).
        table_extent: half side of the table-plane point grid (m).
        max_grasps: grasps returned.
    """

    label_config: ObjectLabelConfig = field(default_factory=lambda: COARSE_LABEL_CONFIG)
    max_mu: float = 1.0
    max_per_object: int = 1000
    max_approach_angle: float = float(np.deg2rad(45.0))
    point_spacing: float = 0.005
    table_extent: float = 0.35
    max_grasps: int = 100

    def __post_init__(self) -> None:
        for name in ("max_mu", "max_approach_angle", "point_spacing", "table_extent"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"OracleConfig.{name}: expected a positive number, got {value}")
        for name in ("max_per_object", "max_grasps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"OracleConfig.{name}: expected >= 1, got {getattr(self, name)}")


class OracleDetector:
    """Ground-truth label grasps of the bound scene (module docstring).

    Args:
        library: loads objects by id (``.load(id).mesh``, model frame, metres).
        gripper: the gripper of the labels and of the collision check.
        config: :class:`OracleConfig`.
        rng: seed or generator (label sampling, subsampling, tie order).
        label_root: optional dataset root whose ``grasp_label/%03d_labels.npz`` are used
            for the objects they exist for.
    """

    def __init__(self, library: _Library, gripper: GripperModel | None = None,
                 config: OracleConfig | None = None, rng: RngLike = None,
                 label_root: str | Path | None = None) -> None:
        self.library = library
        self.gripper = gripper or GripperModel()
        self.config = config or OracleConfig()
        self.label_root = None if label_root is None else Path(label_root)
        self._rng = as_rng(rng)
        self._labels: dict[int, ObjectLabels] = {}
        self._meshes: dict[int, trimesh.Trimesh] = {}
        self._surface: dict[int, np.ndarray] = {}
        self._world_grasps: GraspGroup | None = None
        self._static: tuple[bytes, np.ndarray] | None = None

    def labels(self, object_id: int) -> ObjectLabels:
        """The labels of one object (stored ones, else computed once and cached)."""
        if object_id not in self._labels:
            root = self.label_root
            if root is not None and object_labels_complete(root, object_id):
                self._labels[object_id] = load_object_labels(root, object_id)
            else:
                logger.debug("labelling object %d", object_id)
                self._labels[object_id] = label_object(
                    self._mesh(object_id), self.gripper, self.config.label_config,
                    rng=int(self._rng.integers(2**31)))
        return self._labels[object_id]

    def _mesh(self, object_id: int) -> trimesh.Trimesh:
        if object_id not in self._meshes:
            self._meshes[object_id] = self.library.load(object_id).mesh
        return self._meshes[object_id]

    def _surface_points(self, object_id: int) -> np.ndarray:
        if object_id not in self._surface:
            self._surface[object_id] = sample_surface_voxels(
                self._mesh(object_id), self.config.point_spacing, self._rng)
        return self._surface[object_id]

    def _static_points(self, state: SceneState) -> np.ndarray:
        """Table-top plane, tray floor plane (its collision top) and tray surface, world frame.

        Cached for the last table and tray poses (they do not move during a benchmark).
        """
        key = state.T_world_table.tobytes() + (b"" if state.T_world_tray is None
                                               else state.T_world_tray.tobytes())
        if self._static is None or self._static[0] != key:
            self._static = (key, self._make_static_points(state))
        return self._static[1]

    def _make_static_points(self, state: SceneState) -> np.ndarray:
        cfg = self.config
        ticks = np.arange(-cfg.table_extent, cfg.table_extent + 1e-9, cfg.point_spacing)
        gx, gy = np.meshgrid(ticks, ticks)
        plane = np.stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)], axis=1)
        parts = [plane @ state.T_world_table[:3, :3].T + state.T_world_table[:3, 3]]
        if state.T_world_tray is not None:
            floor = plane[np.abs(plane[:, :2]).max(axis=1) <= TRAY_RIM_HALF_EXTENT] + (0, 0, TRAY_FLOOR_Z)
            tray = sample_surface_voxels(tray_mesh(), cfg.point_spacing, self._rng)
            for pts in (floor, tray):
                parts.append(pts @ state.T_world_tray[:3, :3].T + state.T_world_tray[:3, 3])
        return np.concatenate(parts)

    def bind(self, state: SceneState | SceneRecord) -> None:
        """Bind to the scene as it is now; grasps are computed here, in the world frame."""
        scene = SceneState.from_record(state) if isinstance(state, SceneRecord) else state
        cfg = self.config
        world_points = [T[:3, :3] @ self._surface_points(oid).T
                        for oid, T in zip(scene.object_ids, scene.T_world_obj, strict=True)]
        world_points = [pts.T + T[:3, 3] for pts, T in zip(world_points, scene.T_world_obj,
                                                            strict=True)]
        static = self._static_points(scene)
        groups = []
        for k, (oid, T) in enumerate(zip(scene.object_ids, scene.T_world_obj, strict=True)):
            try:
                labels = self.labels(oid)
            except ValueError as exc:  # e.g. a mesh too big for the gripper: no label grasps
                logger.warning("object %d has no labels: %s", oid, exc)
                continue
            grasps = labels_to_grasps(labels, T, oid, fric_coef_thresh=cfg.max_mu)
            cos = -grasps.rotations[:, 2, 0] if len(grasps) else np.zeros(0)
            grasps = grasps[cos >= np.cos(cfg.max_approach_angle)]
            if len(grasps) > cfg.max_per_object:
                grasps = grasps[np.sort(self._rng.choice(len(grasps), cfg.max_per_object,
                                                         replace=False))]
            others = np.concatenate([static, *world_points[:k], *world_points[k + 1:]])
            collision, _ = self.gripper.collision_and_empty(grasps, others)
            groups.append(grasps[~collision])
        merged = GraspGroup.concatenate(groups) if groups else GraspGroup.empty()
        order = self._rng.permutation(len(merged))  # random order among equal scores
        self._world_grasps = merged[order].sort_by_score()[: cfg.max_grasps]

    def world_grasps(self) -> GraspGroup:
        """The bound scene's grasps in the world frame, best first (ValueError if unbound)."""
        if self._world_grasps is None:
            raise ValueError("OracleDetector: call bind(scene) before asking for grasps")
        return self._world_grasps

    def detect(self, observation: Observation) -> GraspGroup:
        """The bound scene's label grasps in the observation's camera frame, best first.

        Raises:
            ValueError: no scene bound, or an observation without ``T_world_cam``.
        """
        if observation.T_world_cam is None:
            raise ValueError("observation.T_world_cam is required by OracleDetector")
        return self.world_grasps().transform(invert_transform(observation.T_world_cam))


class RandomDetector:
    """Random grasps at random observed points, approaching within ``max_tilt`` of the view axis.

    Args:
        rng: seed or generator.
        num_grasps: grasps per frame.
        max_tilt: largest angle between an approach and the camera's +z (rad).
        gripper: bounds the widths (``[0.01, max_width]``) and depths (``[0.01, max_depth]``).
    """

    def __init__(self, rng: RngLike = None, num_grasps: int = 50,
                 max_tilt: float = float(np.deg2rad(30.0)),
                 gripper: GripperModel | None = None) -> None:
        if int(num_grasps) < 1:
            raise ValueError(f"num_grasps: expected >= 1, got {num_grasps}")
        if not 0 <= max_tilt < np.pi / 2:
            raise ValueError(f"max_tilt: expected an angle in [0, pi/2) rad, got {max_tilt}")
        self.num_grasps = int(num_grasps)
        self.max_tilt = float(max_tilt)
        self.gripper = gripper or GripperModel()
        self._rng = as_rng(rng)

    def detect(self, observation: Observation) -> GraspGroup:
        """(num_grasps,) random grasps in the camera frame, sorted by (random) score."""
        points = observation.points(masked=True)
        if len(points) == 0:
            return GraspGroup.empty()
        gen, n = self._rng, self.num_grasps
        picked = points[gen.integers(len(points), size=n)]
        tilt = np.arccos(1 - gen.random(n) * (1 - np.cos(self.max_tilt)))  # uniform on the cap
        azimuth = gen.uniform(0, 2 * np.pi, n)
        approach = np.stack([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth),
                             np.cos(tilt)], axis=1)
        rotations = rotation_from_view(approach, gen.uniform(0, np.pi, n))
        widths = gen.uniform(0.01, self.gripper.max_width, n)
        depths = gen.uniform(0.01, self.gripper.max_depth, n)
        group = GraspGroup.from_components(picked, rotations, widths, depths,
                                           scores=gen.random(n))
        return group.sort_by_score()
