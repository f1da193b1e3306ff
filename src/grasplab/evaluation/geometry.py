"""Object and frame geometry of the AP evaluation, built once per object / scene and reused.

- :class:`ObjectModel`: one object's 8 mm voxel model points (model frame), their KD-tree, the
  exact mesh used for the ``exact`` force closure and the signed distance field used for the
  ``reference`` one (the dataset's ``textured.sdf``, else computed from the mesh on first use).
- :class:`SceneObjects`: the objects of one scene plus a single ray caster over all their meshes.
  Each mesh is placed, in its own model frame, at a private offset far from the others (a 3-D
  grid with a spacing larger than any object plus any jaw travel), so that one batched Embree
  query serves every grasp of a frame while each ray can only meet its own object. Translating a
  mesh changes no face normal and no distance, so contacts and force-closure angles are those of
  the object alone (up to Embree's float32 rounding of the offset coordinates, ~1e-7 m).
- :class:`FrameScene`: the objects of a scene with one frame's poses and table pose.

Frames: model points and meshes in model frames; poses ``T_cam_obj`` map them into the frame's
camera (OpenCV); ``T_cam_table`` maps the table frame (top at z = 0) into the camera. Metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from grasplab.evaluation.voxel import TableGrid, voxel_down_sample
from grasplab.objects.sdf import SignedDistanceField, compute_sdf

__all__ = [
    "JAW_REACH",
    "VOXEL_SIZE",
    "FrameScene",
    "ObjectModel",
    "SceneObjects",
    "build_object_model",
]

#: Voxel size of the model point sampling (reference ``voxel_size=0.008``).
VOXEL_SIZE = 0.008
#: Extra clearance between mesh copies in the combined caster, metres (> any jaw travel).
JAW_REACH = 0.5


@dataclass(frozen=True)
class ObjectModel:
    """One object's evaluation geometry.

    Attributes:
        object_id: dataset object id.
        points: (P, 3) voxel-downsampled model points, model frame, metres.
        tree: KD-tree over ``points``.
        mesh: ``trimesh.Trimesh`` for force closure, model frame.
        sdf: the object's signed distance field (model frame), or None to compute it from
            ``mesh`` with the SDFGen/Dex-Net sizing when first needed.
    """

    object_id: int
    points: np.ndarray
    tree: cKDTree
    mesh: Any
    sdf: SignedDistanceField | None = None

    @cached_property
    def signed_distance(self) -> SignedDistanceField:
        """The SDF of the ``reference`` force closure (``sdf``, else computed once)."""
        if self.sdf is not None:
            return self.sdf
        return compute_sdf(self.mesh)

    @property
    def center(self) -> np.ndarray:
        """(3,) centre of the mesh's axis-aligned bounding box, model frame."""
        bounds = np.asarray(self.mesh.bounds, dtype=np.float64)
        center: np.ndarray = bounds.mean(axis=0)
        return center

    @property
    def radius(self) -> float:
        """Radius of the sphere around :attr:`center` holding the mesh (m)."""
        vertices = np.asarray(self.mesh.vertices, dtype=np.float64)
        return float(np.linalg.norm(vertices - self.center, axis=1).max())


def build_object_model(
    object_id: int,
    vertices: np.ndarray,
    mesh: Any,
    voxel_size: float = VOXEL_SIZE,
    sdf: SignedDistanceField | None = None,
) -> ObjectModel:
    """Build the evaluation geometry of one object.

    Args:
        object_id: dataset object id.
        vertices: (V, 3) model vertices (``nontextured.ply``), model frame, metres.
        mesh: ``trimesh.Trimesh`` used for force closure (``textured.obj``), model frame.
        voxel_size: model point sampling (m).
        sdf: the object's SDF (``textured.sdf``), or None to compute it when needed.

    Returns:
        The object model, with voxel points and their KD-tree.

    Raises:
        ValueError: no vertices, or a mesh without faces.
    """
    points = voxel_down_sample(vertices, voxel_size)
    if len(points) == 0:
        raise ValueError(f"object {object_id}: the model has no vertices")
    if len(getattr(mesh, "faces", ())) == 0:
        raise ValueError(f"object {object_id}: the mesh has no faces")
    return ObjectModel(int(object_id), points, cKDTree(points), mesh, sdf)


@dataclass(frozen=True)
class SceneObjects:
    """The objects of a scene and one ray caster over all their meshes.

    Attributes:
        models: the K objects, in the order poses are given.
        caster: a ``grasplab.labels.MeshRayCaster`` over the combined mesh.
        offsets: (K, 3) translation of each object's model frame inside the combined mesh.
        radii: (K,) bounding radius of each mesh about its centre (m).
        centers: (K, 3) bounding-box centre of each mesh, model frame.
    """

    models: tuple[ObjectModel, ...]
    caster: Any
    offsets: np.ndarray
    radii: np.ndarray
    centers: np.ndarray

    @classmethod
    def build(cls, models: tuple[ObjectModel, ...] | list[ObjectModel]) -> SceneObjects:
        """Combine the meshes of ``models`` into one ray caster (see the module docstring)."""
        import trimesh

        from grasplab.labels.raycast import MeshRayCaster

        models = tuple(models)
        if not models:
            return cls((), None, np.zeros((0, 3)), np.zeros(0), np.zeros((0, 3)))
        centers = np.stack([m.center for m in models])
        radii = np.array([m.radius for m in models])
        spacing = 2.0 * float(radii.max()) + JAW_REACH
        side = int(np.ceil(len(models) ** (1.0 / 3.0) - 1e-9))
        cells = np.array([(k % side, (k // side) % side, k // side**2) for k in range(len(models))])
        offsets = cells * spacing - centers
        parts = [
            trimesh.Trimesh(
                vertices=np.asarray(m.mesh.vertices, dtype=np.float64) + offset,
                faces=np.asarray(m.mesh.faces),
                process=False,
            )
            for m, offset in zip(models, offsets, strict=True)
        ]
        combined = trimesh.util.concatenate(parts)
        return cls(models, MeshRayCaster(combined), offsets, radii, centers)


@dataclass(frozen=True)
class FrameScene:
    """The geometry of one annotated frame.

    Attributes:
        objects: the scene's objects (shared by all its frames).
        T_cam_obj: (K, 4, 4) object poses in this frame's camera.
        T_cam_table: (4, 4) table pose in this frame's camera, or None for no table.
        table: the table grid (the reference one by default).
    """

    objects: SceneObjects
    T_cam_obj: np.ndarray
    T_cam_table: np.ndarray | None
    table: TableGrid = field(default_factory=TableGrid.reference)

    def __post_init__(self) -> None:
        poses = np.asarray(self.T_cam_obj, dtype=np.float64).reshape(-1, 4, 4)
        if len(poses) != len(self.objects.models):
            raise ValueError(
                f"{len(self.objects.models)} object models but {len(poses)} poses"
            )
        object.__setattr__(self, "T_cam_obj", poses)

    @property
    def models(self) -> tuple[ObjectModel, ...]:
        """The K objects."""
        return self.objects.models

    @cached_property
    def camera_points(self) -> tuple[np.ndarray, ...]:
        """Each object's voxel points in this frame's camera, (P_k, 3) each (computed once)."""
        return tuple(
            m.points @ pose[:3, :3].T + pose[:3, 3]
            for m, pose in zip(self.models, self.T_cam_obj, strict=True)
        )

    @cached_property
    def object_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(K, 3) lower and upper corners of each object's camera-frame voxel-point bbox."""
        if not self.models:
            return np.zeros((0, 3)), np.zeros((0, 3))
        lower = np.stack([p.min(axis=0) for p in self.camera_points])
        upper = np.stack([p.max(axis=0) for p in self.camera_points])
        return lower, upper
