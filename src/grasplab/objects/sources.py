"""Raw geometry of library objects: pybullet_data files and trimesh primitives, before processing.

Nothing here repairs or rescales for the gripper; :mod:`grasplab.objects.processing` does. The
returned geometry is in the source's model frame, multiplied by the source's own scale (the scale
in pybullet_data's URDF, or 1 for primitives, which are built in metres).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from grasplab._optional import require
from grasplab.objects.splits import (
    NAMED_MESHES,
    NOVEL_START,
    NUM_RANDOM_URDFS,
    PRIMITIVES,
    PrimitiveEntry,
    object_spec,
)

_SCALE_RE = re.compile(r'<mesh\s+filename="[^"]+"\s+scale="([^"]+)"')


@dataclass(frozen=True, eq=False)
class RawGeometry:
    """Unprocessed geometry of one object.

    Attributes:
        mesh: the surface, possibly not watertight, in source units times the source scale.
        convex_parts: the source's own convex decomposition (same frame and scale), or ``None``.
        target_size: wanted largest oriented-bounding-box extent in metres, or ``None`` to keep
            the current size (the fit rule still applies).
    """

    mesh: trimesh.Trimesh
    convex_parts: tuple[trimesh.Trimesh, ...] | None
    target_size: float | None


def pybullet_data_dir() -> Path:
    """The folder of the installed ``pybullet_data`` package."""
    return Path(require("pybullet_data").getDataPath())


def read_obj_parts(path: Path) -> list[trimesh.Trimesh]:
    """Read an OBJ file as one mesh per ``o``/``g`` object, without merging anything.

    Polygons are fan-triangulated; texture and normal indices are ignored; negative (relative)
    indices are supported.

    Args:
        path: OBJ file.

    Returns:
        One mesh per object that has faces, in file order (vertex-unmerged, unprocessed).

    Raises:
        ValueError: the file holds no faces.
    """
    vertices: list[list[float]] = []
    groups: list[list[list[int]]] = [[]]
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("v "):
                vertices.append([float(x) for x in line.split()[1:4]])
            elif line.startswith(("o ", "g ")):
                if groups[-1]:
                    groups.append([])
            elif line.startswith("f "):
                idx = [int(tok.split("/")[0]) for tok in line.split()[1:]]
                idx = [i - 1 if i > 0 else len(vertices) + i for i in idx]
                groups[-1].extend([idx[0], idx[j], idx[j + 1]] for j in range(1, len(idx) - 1))
    verts = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    parts = []
    for faces in groups:
        if not faces:
            continue
        f_arr = np.asarray(faces, dtype=np.int64)
        used, inverse = np.unique(f_arr, return_inverse=True)
        parts.append(
            trimesh.Trimesh(verts[used], inverse.reshape(-1, 3), process=False, validate=False)
        )
    if not parts:
        raise ValueError(f"OBJ file {path} holds no faces")
    return parts


def concatenate(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh holding all ``meshes`` as separate bodies (nothing merged; inputs unchanged)."""
    if not meshes:
        raise ValueError("concatenate needs at least one mesh")
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    vertices = np.concatenate([np.asarray(m.vertices, dtype=np.float64) for m in meshes])
    faces = np.concatenate(
        [np.asarray(m.faces, dtype=np.int64) + o for m, o in zip(meshes, offsets, strict=True)]
    )
    return trimesh.Trimesh(vertices, faces, process=False, validate=False)


def _urdf_mesh_scale(urdf_path: Path) -> np.ndarray:
    """Per-axis mesh scale of the first ``<mesh scale=...>`` of a URDF (ones when absent)."""
    match = _SCALE_RE.search(urdf_path.read_text(encoding="utf-8"))
    if match is None:
        return np.ones(3)
    return np.asarray([float(x) for x in match.group(1).split()], dtype=np.float64)


def _scaled(meshes: list[trimesh.Trimesh], scale: np.ndarray) -> list[trimesh.Trimesh]:
    return [
        trimesh.Trimesh(m.vertices * scale, m.faces, process=False, validate=False)
        for m in meshes
    ]


def load_random_urdf(index: int) -> RawGeometry:
    """Raw geometry of ``random_urdfs/NNN``: its OBJ is a set of convex parts (one per object).

    The URDF's mesh scale (0.015 for all 1000) is applied.
    """
    if not 0 <= index < NUM_RANDOM_URDFS:
        raise ValueError(f"random_urdf index {index} outside 0-{NUM_RANDOM_URDFS - 1}")
    folder = pybullet_data_dir() / "random_urdfs" / f"{index:03d}"
    scale = _urdf_mesh_scale(folder / f"{index:03d}.urdf")
    parts = _scaled(read_obj_parts(folder / f"{index:03d}.obj"), scale)
    return RawGeometry(concatenate(parts), tuple(parts), None)


def load_named_mesh(position: int) -> RawGeometry:
    """Raw geometry of the ``position``-th entry of :data:`NAMED_MESHES`.

    The file's coordinates are scaled by ``source_scale`` and moved so that the axis-aligned
    bounding box is centred at the origin (some files sit far from their origin).
    """
    entry = NAMED_MESHES[position]
    path = pybullet_data_dir() / entry.path
    scale = np.asarray(entry.source_scale, dtype=np.float64)
    parts = _scaled(read_obj_parts(path), scale)
    mesh = concatenate(parts)
    center = mesh.bounds.mean(axis=0)
    parts = [trimesh.Trimesh(p.vertices - center, p.faces, process=False) for p in parts]
    mesh = concatenate(parts)
    return RawGeometry(mesh, tuple(parts) if entry.convex_parts else None, entry.target_size)


def build_primitive(entry: PrimitiveEntry) -> trimesh.Trimesh:
    """Build a primitive with ``trimesh.creation`` (metres, centred at the origin)."""
    p = dict(entry.params)
    if entry.kind == "box":
        return trimesh.creation.box(extents=(p["x"], p["y"], p["z"]))
    if entry.kind == "cylinder":
        return trimesh.creation.cylinder(radius=p["radius"], height=p["height"], sections=48)
    if entry.kind == "torus":
        return trimesh.creation.torus(
            major_radius=p["major_radius"],
            minor_radius=p["minor_radius"],
            major_sections=48,
            minor_sections=16,
        )
    if entry.kind == "annulus":
        return trimesh.creation.annulus(
            r_min=p["r_min"], r_max=p["r_max"], height=p["height"], sections=int(p.get("sections", 48))
        )
    if entry.kind == "icosphere":
        return trimesh.creation.icosphere(subdivisions=int(p["subdivisions"]), radius=p["radius"])
    if entry.kind == "capsule":
        return trimesh.creation.capsule(height=p["height"], radius=p["radius"], count=(24, 24))
    if entry.kind == "cone":
        return trimesh.creation.cone(radius=p["radius"], height=p["height"], sections=48)
    raise ValueError(f"unknown primitive kind {entry.kind!r} for {entry.name!r}")


def load_raw_geometry(object_id: int) -> RawGeometry:
    """Raw geometry of any library object id.

    Raises:
        ValueError: unknown id (the message names it).
    """
    spec = object_spec(object_id)
    if spec.source == "random_urdf":
        return load_random_urdf(spec.object_id)
    k = spec.object_id - NOVEL_START
    if spec.source == "named_mesh":
        return load_named_mesh(k)
    mesh = build_primitive(PRIMITIVES[k - len(NAMED_MESHES)])
    return RawGeometry(mesh, None, None)
