"""Simulation-ready primitive objects (boxes, cylinders) with URDFs, without the object library.

Handy for known-answer physics checks and small benchmarks: :class:`PrimitiveLibrary` writes each
mesh and a URDF (uniform density, exact inertia, the mesh itself as the collision shape, which
PyBullet treats as its convex hull) into a folder, and loads objects by id like
``grasplab.objects.ObjectLibrary``. Model frame = mesh frame; metres, kilograms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import trimesh

from grasplab.core import check_positive_scalar
from grasplab.core.validation import RngLike, as_rng

__all__ = ["PrimitiveLibrary", "PrimitiveObject", "random_primitives", "write_primitive"]


@dataclass(frozen=True, eq=False)
class PrimitiveObject:
    """A primitive object (the fields ``World`` and the oracle use).

    Attributes:
        object_id: global id.
        mesh: watertight mesh, model frame, metres.
        urdf_path: URDF whose link frame is the model frame.
        mass: kg.
    """

    object_id: int
    mesh: trimesh.Trimesh
    urdf_path: Path
    mass: float


def write_primitive(object_id: int, mesh: trimesh.Trimesh, folder: str | Path,
                    density: float = 400.0) -> PrimitiveObject:
    """Write ``mesh`` (OBJ) and its URDF into ``folder``; returns the object.

    Raises:
        ValueError: a mesh that is not watertight or a non-positive density.
    """
    rho = check_positive_scalar(density, "density")
    if not mesh.is_watertight or mesh.volume <= 0:
        raise ValueError(f"mesh of object {object_id}: expected a watertight mesh with volume")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = f"primitive_{object_id:04d}"
    mesh.export(out / f"{name}.obj")
    mass = float(mesh.volume * rho)
    com, inertia = mesh.center_mass, mesh.moment_inertia * rho
    inertia_xml = " ".join(f'i{a}="{inertia[i, j]:.9g}"' for a, (i, j) in
                           {"xx": (0, 0), "xy": (0, 1), "xz": (0, 2), "yy": (1, 1),
                            "yz": (1, 2), "zz": (2, 2)}.items())
    geometry = f'<geometry><mesh filename="{name}.obj"/></geometry>'
    (out / f"{name}.urdf").write_text(
        f'<?xml version="1.0"?><robot name="{name}"><link name="base"><inertial>'
        f'<origin xyz="{com[0]:.9g} {com[1]:.9g} {com[2]:.9g}"/><mass value="{mass:.9g}"/>'
        f"<inertia {inertia_xml}/></inertial><visual>{geometry}</visual>"
        f"<collision>{geometry}</collision></link></robot>")
    return PrimitiveObject(int(object_id), mesh, out / f"{name}.urdf", mass)


def random_primitives(num: int, rng: RngLike = None, min_size: float = 0.03,
                      max_size: float = 0.07) -> list[trimesh.Trimesh]:
    """``num`` boxes and cylinders (alternating) of random sizes in ``[min_size, max_size]`` m."""
    gen = as_rng(rng)
    meshes = []
    for k in range(int(num)):
        dims = gen.uniform(min_size, max_size, size=3)
        if k % 2:
            meshes.append(trimesh.creation.cylinder(radius=dims[0] / 2, height=dims[2],
                                                    sections=24))
        else:
            meshes.append(trimesh.creation.box(dims))
    return meshes


class PrimitiveLibrary:
    """Primitive objects written to ``folder``, loaded by id (an ``ObjectSource``).

    Args:
        folder: where the OBJ and URDF files go.
        meshes: ``{object_id: mesh}`` (model frame, metres).
        density: kg/m³ of every object.
    """

    def __init__(self, folder: str | Path, meshes: Mapping[int, trimesh.Trimesh],
                 density: float = 400.0) -> None:
        self.objects = {int(oid): write_primitive(int(oid), mesh, folder, density)
                        for oid, mesh in meshes.items()}

    def ids(self) -> list[int]:
        """Object ids, ascending."""
        return sorted(self.objects)

    def load(self, object_id: int) -> PrimitiveObject:
        """The object with this id (ValueError naming an unknown id)."""
        if int(object_id) not in self.objects:
            raise ValueError(f"unknown object id {object_id}; this library has {self.ids()}")
        return self.objects[int(object_id)]

    @classmethod
    def random(cls, folder: str | Path, num: int, rng: RngLike = None, first_id: int = 0,
               density: float = 400.0) -> PrimitiveLibrary:
        """A library of ``num`` random boxes and cylinders with ids from ``first_id``."""
        meshes = random_primitives(num, rng)
        return cls(folder, {first_id + k: m for k, m in enumerate(meshes)}, density)
