"""The object catalogue and its splits: the ONE place where object ids and splits are defined.

Global object ids (DESIGN.md §4), fixed in code and versioned by :data:`SPLITS_VERSION`:

- ``0-699``   ``pybullet_data/random_urdfs/000-699``  split ``"seen"``;
- ``700-999`` ``pybullet_data/random_urdfs/700-999``  split ``"similar"``;
- ``1000+``   split ``"novel"``: first the named meshes shipped in ``pybullet_data``
  (:data:`NAMED_MESHES`, in order), then the primitives made with ``trimesh.creation``
  (:data:`PRIMITIVES`, in order).

Changing any of these tables (adding, removing or reordering an entry) changes object ids or
splits and MUST bump :data:`SPLITS_VERSION`. Appending new novel objects at the end keeps the
old ids but still bumps the version.

Sizes in the tables are metres.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

SPLITS_VERSION = "1.1"
"""Version of the id → object/split tables below; bump it on any change to them."""

SPLITS: tuple[str, ...] = ("seen", "similar", "novel")
"""The split names, in id order."""

NUM_RANDOM_URDFS = 1000
"""Number of procedural meshes in ``pybullet_data/random_urdfs`` (ids 0-999)."""

SEEN_RANGE = range(0, 700)
SIMILAR_RANGE = range(700, NUM_RANDOM_URDFS)
NOVEL_START = 1000

EXCLUDED_RANDOM_URDFS: frozenset[int] = frozenset({168})
"""random_urdfs left out of every split: their meshes are degenerate (all convex parts flat, zero
volume; found by loading all 1000). Their ids stay valid, but loading them raises ValueError."""


@dataclass(frozen=True)
class NamedMeshEntry:
    """A named mesh shipped in ``pybullet_data``.

    Attributes:
        name: object name, unique in the library.
        path: path relative to ``pybullet_data.getDataPath()``.
        source_scale: per-axis scale applied to the file's coordinates before the fit rule
            (the scale of pybullet_data's own URDF where it has one, else 1).
        target_size: wanted largest oriented-bounding-box extent in metres, or ``None`` to keep
            the size given by ``source_scale``; the fit rule (:mod:`grasplab.objects.processing`)
            is applied afterwards either way.
        convex_parts: the file is already a convex decomposition (one OBJ object per part).
    """

    name: str
    path: str
    source_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    target_size: float | None = None
    convex_parts: bool = False


@dataclass(frozen=True)
class PrimitiveEntry:
    """A primitive built with ``trimesh.creation`` (dimensions in metres).

    Attributes:
        name: object name, unique in the library.
        kind: one of ``"box"``, ``"cylinder"``, ``"torus"``, ``"annulus"``, ``"icosphere"``,
            ``"capsule"``, ``"cone"``.
        params: keyword arguments of the matching builder, as ``(key, value)`` pairs.
    """

    name: str
    kind: str
    params: tuple[tuple[str, float | int], ...]


NAMED_MESHES: tuple[NamedMeshEntry, ...] = (
    NamedMeshEntry("duck", "duck.obj", target_size=0.10),
    NamedMeshEntry("teddy", "teddy2_VHACD_CHs.obj", target_size=0.12, convex_parts=True),
    NamedMeshEntry("bunny", "bunny.obj", target_size=0.10),
    NamedMeshEntry("mug", "objects/mug.obj", target_size=0.11),
    NamedMeshEntry("soccerball", "soccerball.obj", target_size=0.07),
    NamedMeshEntry("torus", "torus/torus_textured.obj", target_size=0.09),
    NamedMeshEntry("lego", "lego/lego.obj", target_size=0.06),
    NamedMeshEntry("jenga", "jenga/jenga.obj", source_scale=(0.15, 0.05, 0.03)),
    NamedMeshEntry("domino", "domino/domino.obj"),
    NamedMeshEntry("toy_cube", "toys/cube.obj"),
    NamedMeshEntry("toy_cylinder", "toys/cylinder.obj"),
    NamedMeshEntry("toy_prism", "toys/prism.obj"),
    NamedMeshEntry("shape_sorter", "toys/shape_sorter.obj", target_size=0.09),
    NamedMeshEntry("concave_box", "toys/concave_box.obj", target_size=0.14),
    NamedMeshEntry("stone", "stone.obj", target_size=0.08),
    NamedMeshEntry("sphere", "sphere_smooth.obj", target_size=0.06),
    NamedMeshEntry("motor", "quadruped/tmotor3.obj"),
)
"""Named ``pybullet_data`` meshes, ids ``1000 ..`` in this order."""

PRIMITIVES: tuple[PrimitiveEntry, ...] = (
    PrimitiveEntry("plate_thin", "box", (("x", 0.12), ("y", 0.08), ("z", 0.005))),
    PrimitiveEntry("plate_square", "box", (("x", 0.09), ("y", 0.09), ("z", 0.008))),
    PrimitiveEntry("box_block", "box", (("x", 0.06), ("y", 0.04), ("z", 0.03))),
    PrimitiveEntry("box_long", "box", (("x", 0.14), ("y", 0.03), ("z", 0.03))),
    PrimitiveEntry("cube_small", "box", (("x", 0.02), ("y", 0.02), ("z", 0.02))),
    PrimitiveEntry("cylinder_tall", "cylinder", (("radius", 0.025), ("height", 0.12))),
    PrimitiveEntry("cylinder_puck", "cylinder", (("radius", 0.035), ("height", 0.03))),
    PrimitiveEntry("bolt_short", "cylinder", (("radius", 0.006), ("height", 0.035))),
    PrimitiveEntry("ring_torus", "torus", (("major_radius", 0.035), ("minor_radius", 0.008))),
    PrimitiveEntry("ring_small", "torus", (("major_radius", 0.02), ("minor_radius", 0.005))),
    PrimitiveEntry(
        "washer", "annulus", (("r_min", 0.012), ("r_max", 0.025), ("height", 0.004))
    ),
    PrimitiveEntry(
        "hex_nut",
        "annulus",
        (("r_min", 0.005), ("r_max", 0.011), ("height", 0.008), ("sections", 6)),
    ),
    PrimitiveEntry("ball", "icosphere", (("radius", 0.03), ("subdivisions", 3))),
    PrimitiveEntry("capsule", "capsule", (("radius", 0.015), ("height", 0.08))),
    PrimitiveEntry("cone", "cone", (("radius", 0.03), ("height", 0.07))),
)
"""Primitives, ids right after the named meshes, in this order."""


@dataclass(frozen=True)
class ObjectSpec:
    """What an object id refers to (no geometry is loaded).

    Attributes:
        object_id: global object id.
        name: unique name, e.g. ``"random_042"``, ``"duck"``, ``"ring_torus"``.
        source: ``"random_urdf"``, ``"named_mesh"``, ``"primitive"`` or ``"user_mesh"``.
        split: ``"seen"``, ``"similar"``, ``"novel"`` (``"user"`` for user meshes).
    """

    object_id: int
    name: str
    source: str
    split: str


def _check_id(object_id: int | np.integer) -> int:
    if isinstance(object_id, bool) or not isinstance(object_id, int | np.integer):
        raise ValueError(f"object id must be an integer, got {object_id!r}")
    oid = int(object_id)
    if oid < 0 or oid >= num_objects():
        raise ValueError(
            f"unknown object id {oid}: valid ids are 0-{num_objects() - 1} "
            f"(splits version {SPLITS_VERSION})"
        )
    return oid


def num_objects() -> int:
    """Total number of objects in the library (random_urdfs + named meshes + primitives)."""
    return NOVEL_START + len(NAMED_MESHES) + len(PRIMITIVES)


def object_spec(object_id: int | np.integer) -> ObjectSpec:
    """The spec of a library object.

    Args:
        object_id: global object id.

    Returns:
        Its :class:`ObjectSpec`.

    Raises:
        ValueError: ``object_id`` is not a library id; the message names it.

    >>> object_spec(5).name, object_spec(5).split
    ('random_005', 'seen')
    >>> object_spec(1000).name, object_spec(1000).split
    ('duck', 'novel')
    """
    oid = _check_id(object_id)
    if oid < NUM_RANDOM_URDFS:
        split = "seen" if oid in SEEN_RANGE else "similar"
        return ObjectSpec(oid, f"random_{oid:03d}", "random_urdf", split)
    k = oid - NOVEL_START
    if k < len(NAMED_MESHES):
        return ObjectSpec(oid, NAMED_MESHES[k].name, "named_mesh", "novel")
    return ObjectSpec(oid, PRIMITIVES[k - len(NAMED_MESHES)].name, "primitive", "novel")


def split_object_ids(split: str) -> list[int]:
    """The object ids of a split, ascending.

    Args:
        split: ``"seen"``, ``"similar"`` or ``"novel"``.

    Returns:
        List of global object ids.

    Raises:
        ValueError: unknown split; the message names it and lists the valid ones.

    >>> len(split_object_ids("seen")), split_object_ids("similar")[0]
    (699, 700)
    """
    if split == "seen":
        return [i for i in SEEN_RANGE if i not in EXCLUDED_RANDOM_URDFS]
    if split == "similar":
        return [i for i in SIMILAR_RANGE if i not in EXCLUDED_RANDOM_URDFS]
    if split == "novel":
        return list(range(NOVEL_START, num_objects()))
    raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")


def object_id_by_name(name: str) -> int:
    """The global id of a named library object (e.g. ``"duck"`` or ``"random_042"``).

    Raises:
        ValueError: no object has that name.
    """
    if name.startswith("random_") and name[7:].isdigit() and len(name) == 10:
        return _check_id(int(name[7:]))
    names = [e.name for e in NAMED_MESHES] + [e.name for e in PRIMITIVES]
    if name not in names:
        raise ValueError(f"unknown object name {name!r}")
    return NOVEL_START + names.index(name)


def catalogue_digest() -> str:
    """Short SHA-256 of the novel-object tables (a test pins it to :data:`SPLITS_VERSION`)."""
    named = [
        [e.name, e.path, list(e.source_scale), e.target_size, e.convex_parts] for e in NAMED_MESHES
    ]
    prims = [[e.name, e.kind, [list(p) for p in e.params]] for e in PRIMITIVES]
    excluded = sorted(EXCLUDED_RANDOM_URDFS)
    key = json.dumps([NOVEL_START, NUM_RANDOM_URDFS, SEEN_RANGE.stop, named, prims, excluded])
    return hashlib.sha256(key.encode()).hexdigest()[:16]
