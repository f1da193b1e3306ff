"""Batched first-hit ray casting against a triangle mesh with Embree (through ``embreex``).

The caster wraps ``trimesh.ray.ray_pyembree.RayMeshIntersector``. trimesh's default engine is
about 1000× slower and needs gigabytes for 1e5 rays (DESIGN.md §7), so there is no silent
fallback: without ``embreex`` the constructor raises :class:`grasplab._optional.MissingExtraError`.

Frames and units: rays, hits and normals are in the mesh's own frame, in metres. Normals are the
mesh's outward face normals (trimesh winding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from grasplab._optional import MissingExtraError
from grasplab.core.validation import as_array

__all__ = ["MeshRayCaster", "RayHits"]


@dataclass(frozen=True)
class RayHits:
    """First hits of a batch of rays.

    Attributes:
        hit: (N,) bool, the ray hits a face within its maximum distance.
        distances: (N,) float64 distance along the unit ray to the hit (inf where no hit).
        locations: (N, 3) float64 hit points (NaN where no hit).
        normals: (N, 3) float64 outward unit face normals at the hit (NaN where no hit).
        faces: (N,) int64 face index (-1 where no hit).
        front: (N,) bool, the ray enters the surface there (normal · direction < 0); a first
            hit on a back face means the ray started inside a closed mesh.
    """

    hit: np.ndarray
    distances: np.ndarray
    locations: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    front: np.ndarray


def _embree_intersector(mesh: Any) -> Any:
    """Build trimesh's Embree intersector or raise naming ``embreex``."""
    try:
        import trimesh.ray  # noqa: PLC0415 - import only when needed

        if not getattr(trimesh.ray, "has_embree", False):
            raise ImportError("trimesh.ray.has_embree is False")
        from trimesh.ray.ray_pyembree import RayMeshIntersector  # noqa: PLC0415

        return RayMeshIntersector(mesh)
    except ImportError as exc:
        raise MissingExtraError(
            "MeshRayCaster needs the Embree ray tracer through the package 'embreex' "
            "(trimesh.ray.ray_pyembree); install it with: pip install embreex. grasplab does "
            "not fall back to trimesh's default ray engine (about 1000x slower)."
        ) from exc


class MeshRayCaster:
    """First-hit ray queries on one triangle mesh with the Embree engine.

    Args:
        mesh: a ``trimesh.Trimesh`` in metres (any frame; queries use the same frame).

    Raises:
        MissingExtraError: ``embreex`` is not installed.
        ValueError: ``mesh`` is not a triangle mesh with at least one face.
    """

    def __init__(self, mesh: Any) -> None:
        faces = getattr(mesh, "faces", None)
        vertices = getattr(mesh, "vertices", None)
        if faces is None or vertices is None or len(faces) == 0:
            raise ValueError(
                f"mesh: expected a trimesh.Trimesh with at least one face, got {type(mesh).__name__}"
            )
        self.mesh = mesh
        self._intersector = _embree_intersector(mesh)
        self._normals = np.asarray(mesh.face_normals, dtype=np.float64)
        self._anchors = np.asarray(mesh.triangles[:, 0, :], dtype=np.float64)

    @property
    def num_faces(self) -> int:
        """Number of triangles of the mesh."""
        return len(self._normals)

    def first_hits(
        self, origins: ArrayLike, directions: ArrayLike, max_distance: ArrayLike | None = None
    ) -> RayHits:
        """Cast rays and return each ray's first hit within ``max_distance``.

        Embree reports the first face along the infinite ray; the distance is then recomputed in
        float64 from the face plane, and hits farther than ``max_distance`` count as misses.

        Args:
            origins: (N, 3) ray origins, metres, mesh frame.
            directions: (N, 3) ray directions (normalised here; must be non-zero).
            max_distance: scalar or (N,) largest accepted hit distance, metres; None = no limit.

        Returns:
            :class:`RayHits` with per-ray arrays of length N.

        Raises:
            ValueError: wrong shapes, non-finite values or zero directions.
        """
        o = as_array(origins, "origins", (None, 3))
        d = as_array(directions, "directions", (len(o), 3))
        norm = np.linalg.norm(d, axis=1)
        if np.any(norm == 0):
            raise ValueError(f"directions: zero vector at index {int(np.argmax(norm == 0))}")
        d /= norm[:, None]
        limit = np.full(len(o), np.inf)
        if max_distance is not None:
            limit = np.broadcast_to(as_array(max_distance, "max_distance"), (len(o),)).copy()
        faces = np.full(len(o), -1, dtype=np.int64)
        if len(o):
            faces = np.asarray(self._intersector.intersects_first(o, d), dtype=np.int64)
        return self._resolve(o, d, faces, limit)

    def _resolve(
        self, o: np.ndarray, d: np.ndarray, faces: np.ndarray, limit: np.ndarray
    ) -> RayHits:
        """Turn Embree face indices into float64 distances, points and normals."""
        hit = faces >= 0
        idx = np.where(hit, faces, 0)
        n = self._normals[idx]
        denom = np.einsum("ij,ij->i", n, d)
        numer = np.einsum("ij,ij->i", n, self._anchors[idx] - o)
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.where(np.abs(denom) > 1e-12, numer / denom, 0.0)
        # A grazing ray hitting a face edge-on gets distance 0 from the plane formula; clip
        # tiny negative values (origin on the face within float32 precision) to 0.
        dist = np.maximum(dist, 0.0)
        hit &= dist <= limit
        distances = np.where(hit, dist, np.inf)
        locations = np.where(hit[:, None], o + d * np.where(hit, dist, 0.0)[:, None], np.nan)
        normals = np.where(hit[:, None], n, np.nan)
        return RayHits(
            hit=hit,
            distances=distances,
            locations=locations,
            normals=normals,
            faces=np.where(hit, faces, -1),
            front=hit & (denom < 0),
        )
