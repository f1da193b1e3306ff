"""Mesh processing for the object library: repair, merge of convex parts, the gripper fit rule, mass.

Repair (:func:`repair_mesh`): drop texture/normal data, merge duplicate vertices (tolerance
relative to the mesh size), remove degenerate and duplicate faces, make the winding consistent and
the normals point outwards, fill holes. A mesh that is still not watertight is replaced by its
convex hull with a logged warning (``allow_hull_fallback=True``, the library's default for
pybullet_data meshes, e.g. ``mug`` and ``lego`` whose files are open surfaces) or rejected with a
ValueError (``allow_hull_fallback=False``).

Sources that are sets of convex parts (``random_urdfs``, ``teddy``) are merged by
:func:`merge_convex_parts`: a boolean union with ``manifold3d`` where that package is installed,
else the parts are concatenated unmerged. The concatenation is watertight (every part is closed)
but keeps the parts' internal faces, and its volume counts overlaps twice (about 1 % on the
random_urdfs we measured); the union does neither.

A mesh must also stay watertight once vertices at equal positions are merged
(:func:`is_weld_watertight`), because every mesh reader does that (``trimesh.load``, the
``textured.obj`` that ``grasplab label objects`` reads). ``manifold3d`` returns a union whose
shells touch along an edge (or pinch) as a manifold with separate vertex copies at one position;
merged, that edge bounds four faces (random_urdfs 343 and 378, teddy). :func:`weld_safe`, run on
the final scaled mesh, moves such copies apart (:func:`separate_coincident_vertices`): each by
:data:`SEPARATION` (relative to the largest extent: 1 µm for 10 cm) towards the mean of its own
neighbours, i.e. into its own shell.

Fit rule (:func:`fit_scale`), with e1 <= e2 <= e3 the oriented-bounding-box extents at the
preferred scale s0 (the source's own size, or ``target_size`` / e3): first
``s = clip(s0, MIN_LARGEST_EXTENT / e3, MAX_LARGEST_EXTENT / e3)``, then
``s = min(s, MAX_SMALLEST_EXTENT / e1)``. So the largest extent ends in [0.02, 0.15] m and the
smallest at most 0.07 m, which the 0.1 m gripper opening closes across with margin. The lower
bound is 2 cm rather than 4 cm so that small parts (a 2 cm cube, a 3.5 cm bolt) keep their size.

Mass (:func:`mass_properties`): uniform density over the closed volume. The default density is
500 kg/m³: AnyGrasp (§III-C) assumes "a solid rigid body with uniform density" for the centre of
gravity, and household objects are mostly hollow plastic or light wood (pine is about 500 kg/m³),
so a solid body at water density (1000) would be about twice as heavy as the real objects of the
GraspNet-1Billion set; the value only sets masses, the centre of mass does not depend on it.

Units: metres, kilograms; frame: the object's model frame.
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from grasplab.objects.sources import concatenate

logger = logging.getLogger(__name__)

DEFAULT_DENSITY = 500.0
"""Default uniform density in kg/m³ (see the module docstring for the choice)."""
MIN_LARGEST_EXTENT = 0.02
MAX_LARGEST_EXTENT = 0.15
MAX_SMALLEST_EXTENT = 0.07
FAR_TOO_BIG = 1.0
"""A user mesh whose largest extent exceeds this (metres, after scale) is rejected."""
MIN_RELATIVE_VOLUME = 1e-4
"""Volume / oriented-box volume below this is a zero-volume (flat or empty) mesh."""
SEPARATION = 1e-5
"""Distance, relative to the largest extent, by which coincident vertex copies are moved apart."""


def union_engine() -> str:
    """``"manifold"`` when ``manifold3d`` is importable (boolean union), else ``"concatenate"``."""
    return "manifold" if importlib.util.find_spec("manifold3d") is not None else "concatenate"


def _clean_copy(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Geometry-only copy with exact duplicate vertices merged and bad faces removed."""
    extent = float(np.ptp(mesh.vertices, axis=0).max()) if len(mesh.vertices) else 1.0
    digits = int(np.clip(np.ceil(-np.log10(max(extent, 1e-12) * 1e-7)), 0, 15))
    out = trimesh.Trimesh(
        np.asarray(mesh.vertices, dtype=np.float64).copy(),
        np.asarray(mesh.faces, dtype=np.int64).copy(),
        process=False,
    )
    out.merge_vertices(digits_vertex=digits)
    out.update_faces(out.nondegenerate_faces())
    out.update_faces(out.unique_faces())
    out.remove_unreferenced_vertices()
    return out


def repair_mesh(
    mesh: trimesh.Trimesh, name: str, allow_hull_fallback: bool = True
) -> tuple[trimesh.Trimesh, bool]:
    """Make a mesh watertight with outward normals (see the module docstring for the steps).

    Args:
        mesh: input surface (not modified).
        name: object name for messages.
        allow_hull_fallback: replace a mesh that stays open by its convex hull (logged warning)
            instead of raising.

    Returns:
        ``(mesh, used_hull)``: a new watertight mesh with positive volume, and whether it is the
        convex-hull fallback.

    Raises:
        ValueError: empty, non-finite or zero-volume mesh, or still open without the fallback.
    """
    check_nonempty(mesh, name)
    out = _clean_copy(mesh)
    with np.errstate(invalid="ignore", divide="ignore"):  # zero-volume meshes: 0/0 in trimesh
        trimesh.repair.fix_winding(out)
        trimesh.repair.fix_inversion(out, multibody=True)
        if not out.is_watertight:
            trimesh.repair.fill_holes(out)
            trimesh.repair.fix_normals(out, multibody=True)
        closed = out.is_watertight and out.is_winding_consistent and out.volume > 0
    if closed:
        check_volume(out, name)
        return out, False
    check_volume(mesh, name)
    if not allow_hull_fallback:
        raise ValueError(
            f"mesh of object {name!r} is not watertight after repair "
            f"(merge vertices, fix winding/normals, fill holes); "
            f"pass allow_hull_fallback=True to use its convex hull instead"
        )
    logger.warning("object %r: mesh not watertight after repair, using its convex hull", name)
    return convex_hull(out, name), True


def convex_hull(mesh: trimesh.Trimesh, name: str) -> trimesh.Trimesh:
    """Convex hull of a mesh as a new watertight mesh, or ValueError if it is flat."""
    try:
        hull = mesh.convex_hull
    except Exception as exc:  # qhull fails on flat or degenerate input
        raise ValueError(f"object {name!r} has zero volume (flat or degenerate mesh)") from exc
    if not hull.is_watertight or hull.volume <= 0:
        raise ValueError(f"object {name!r} has zero volume (flat or degenerate mesh)")
    return trimesh.Trimesh(hull.vertices.copy(), hull.faces.copy(), process=True)


def check_nonempty(mesh: trimesh.Trimesh, name: str) -> None:
    """Raise ValueError if the mesh has no faces or non-finite vertices."""
    if len(mesh.faces) == 0 or len(mesh.vertices) < 4:
        raise ValueError(f"mesh of object {name!r} is empty (no faces)")
    if not np.isfinite(mesh.vertices).all():
        raise ValueError(f"mesh of object {name!r} has non-finite vertex coordinates")


def check_volume(mesh: trimesh.Trimesh, name: str) -> None:
    """Raise ValueError if the mesh (or its hull) is flat: volume ≪ its oriented box volume."""
    extents = oriented_extents(mesh, name)
    box_volume = float(np.prod(extents))
    with np.errstate(invalid="ignore", divide="ignore"):
        volume = abs(float(mesh.volume)) if mesh.is_watertight else box_volume
    if box_volume <= 0 or extents[0] < 1e-6 * extents[2] or volume < MIN_RELATIVE_VOLUME * box_volume:
        raise ValueError(
            f"object {name!r} has zero volume (oriented extents {np.round(extents, 6).tolist()})"
        )


def oriented_extents(mesh: trimesh.Trimesh, name: str = "mesh") -> np.ndarray:
    """Sorted extents (3,) e1 <= e2 <= e3 of the minimum-volume oriented bounding box."""
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            obb = mesh.bounding_box_oriented
        extents = np.asarray(obb.primitive.extents, dtype=np.float64)
    except Exception as exc:  # qhull fails on flat input
        raise ValueError(f"object {name!r} has zero volume (flat or degenerate mesh)") from exc
    return np.sort(extents)


def merge_convex_parts(
    parts: tuple[trimesh.Trimesh, ...], name: str
) -> tuple[trimesh.Trimesh, list[trimesh.Trimesh]]:
    """One watertight mesh from a set of convex parts (see the module docstring).

    Args:
        parts: convex parts in one frame (not modified).
        name: object name for messages.

    Returns:
        ``(mesh, hulls)``: the union (``manifold3d``) or the unmerged concatenation of the
        parts' hulls, and those hulls (flat parts dropped).

    Raises:
        ValueError: no part has a positive volume.
    """
    closed = []
    for k, part in enumerate(parts):
        try:
            closed.append(convex_hull(_clean_copy(part), f"{name}/part{k}"))
        except ValueError:
            logger.debug("object %r: dropping flat convex part %d", name, k)
    if not closed:
        raise ValueError(f"object {name!r} has zero volume (all convex parts are flat)")
    if len(closed) == 1:
        return closed[0], closed
    if union_engine() == "manifold":
        merged = trimesh.boolean.union(closed, engine="manifold")
        if merged.is_watertight and merged.volume > 0:
            # process=False: touching shells keep separate vertex copies at one position
            # (see separate_coincident_vertices); merging them here would break edges
            mesh = trimesh.Trimesh(merged.vertices.copy(), merged.faces.copy(), process=False)
            return mesh, closed
        logger.warning("object %r: boolean union failed, concatenating the parts", name)
    return concatenate(closed), closed


def separate_coincident_vertices(
    mesh: trimesh.Trimesh, separation: float = SEPARATION
) -> trimesh.Trimesh:
    """A new mesh whose unconnected vertices at (nearly) one position are moved apart.

    Args:
        mesh: a closed mesh whose touching shells keep separate vertex copies (not modified).
        separation: distance relative to the largest axis-aligned extent.

    Returns:
        The same faces; every vertex closer than ``separation * extent`` to another vertex that
        is not its neighbour moves by that distance towards the mean of its own neighbours (into
        its own shell). Close vertices joined by an edge stay: welding collapses that edge.
    """
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    distance = separation * float(np.ptp(vertices, axis=0).max())
    pairs = np.sort(cKDTree(vertices).query_pairs(distance, output_type="ndarray"), axis=1)
    edges = np.sort(np.asarray(mesh.edges_unique), axis=1)
    n = len(vertices)
    pairs = pairs[~np.isin(pairs[:, 0] * n + pairs[:, 1], edges[:, 0] * n + edges[:, 1])]
    moved = vertices.copy()
    neighbors = mesh.vertex_neighbors if len(pairs) else []
    for i in np.unique(pairs):
        direction = vertices[neighbors[i]].mean(axis=0) - vertices[i]
        norm = float(np.linalg.norm(direction))
        if norm > 0:
            moved[i] = vertices[i] + direction * (distance / norm)
    return trimesh.Trimesh(moved, np.asarray(mesh.faces).copy(), process=False)


def welded(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """A copy with vertices merged at ``trimesh.tol.merge`` and the faces this collapses removed.

    This is what a mesh reader makes of ``mesh`` (``trimesh.load`` merges vertices).
    """
    out = trimesh.Trimesh(
        np.asarray(mesh.vertices, dtype=np.float64).copy(),
        np.asarray(mesh.faces, dtype=np.int64).copy(),
        process=False,
    )
    out.merge_vertices()
    f = out.faces
    # only faces collapsed by the merge: zero-area slivers with 3 distinct corners close the surface
    out.update_faces((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2]))
    out.remove_unreferenced_vertices()
    return out


def is_weld_watertight(mesh: trimesh.Trimesh) -> bool:
    """Whether ``mesh`` stays watertight once vertices at equal positions are merged.

    Mesh readers merge vertices by position (``trimesh.load`` at ``trimesh.tol.merge``), so a
    mesh that is watertight only through separate copies of one position (shells touching along
    an edge) is not watertight once written and read back. ``mesh`` is not modified.

    >>> is_weld_watertight(trimesh.creation.box())
    True
    >>> a, b = trimesh.creation.box(), trimesh.creation.box()
    >>> b = b.apply_translation([1.0, 1.0, 0.0])  # the two unit cubes share one edge
    >>> is_weld_watertight(concatenate([a, b]))
    False
    """
    out = trimesh.Trimesh(
        np.asarray(mesh.vertices, dtype=np.float64).copy(),
        np.asarray(mesh.faces, dtype=np.int64).copy(),
        process=False,
    )
    out.merge_vertices()
    return bool(out.is_watertight)


def weld_safe(mesh: trimesh.Trimesh, name: str) -> trimesh.Trimesh:
    """``mesh`` if it survives vertex merging, else a repaired copy; ValueError if neither.

    The repair separates touching shells (:func:`separate_coincident_vertices`), then welds
    (:func:`welded`, which collapses zero-length edges). Call it on the final scaled mesh:
    merging rounds positions to ``trimesh.tol.merge``, so what merges depends on the scale.
    """
    if is_weld_watertight(mesh):
        return mesh
    out = welded(separate_coincident_vertices(mesh))
    if out.is_watertight and out.is_winding_consistent and out.volume > 0:
        logger.debug("object %r: moved touching shells apart and welded", name)
        return out
    raise ValueError(
        f"object {name!r}: processed mesh is not watertight once vertices at equal positions "
        "are merged (shells touching along an edge), so it could not be labelled from a file"
    )


def fit_scale(extents: np.ndarray, preferred: float = 1.0) -> float:
    """The uniform scale of the fit rule (module docstring) for oriented extents at scale 1.

    Args:
        extents: (3,) oriented-bounding-box extents at scale 1, any order, positive.
        preferred: the scale the source asks for.

    Returns:
        The scale to apply.

    >>> fit_scale(np.array([0.03, 0.05, 0.10]))
    1.0
    >>> round(fit_scale(np.array([1.0, 1.0, 1.0])), 6)  # a unit cube becomes a 7 cm cube
    0.07
    >>> round(fit_scale(np.array([0.001, 0.002, 0.5])), 6)  # a 0.5 m stick becomes 0.15 m
    0.3
    """
    e = np.sort(np.asarray(extents, dtype=np.float64))
    if e.shape != (3,) or not np.all(e > 0) or not np.isfinite(e).all():
        raise ValueError(f"extents must be 3 positive finite numbers, got {extents!r}")
    s = float(np.clip(preferred, MIN_LARGEST_EXTENT / e[2], MAX_LARGEST_EXTENT / e[2]))
    return min(s, MAX_SMALLEST_EXTENT / float(e[0]))


def scale_mesh(mesh: trimesh.Trimesh, scale: float) -> trimesh.Trimesh:
    """A new mesh with vertices multiplied by ``scale`` about the model-frame origin."""
    return trimesh.Trimesh(mesh.vertices * scale, mesh.faces.copy(), process=False)


def mass_properties(
    mesh: trimesh.Trimesh, density: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass, centre of mass and inertia of a closed mesh at a uniform density.

    Args:
        mesh: watertight mesh in metres.
        density: kg/m³, positive.

    Returns:
        ``(mass kg, center_of_mass (3,) m in the model frame, inertia (3, 3) kg·m² about the
        centre of mass, axes of the model frame)``.
    """
    props = trimesh.triangles.mass_properties(mesh.triangles, density=density)
    mass = float(props.mass)
    com = np.asarray(props.center_mass, dtype=np.float64).copy()
    inertia = np.asarray(props.inertia, dtype=np.float64).copy()
    return mass, com, inertia
