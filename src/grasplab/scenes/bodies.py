"""The static bodies of a world and PyBullet pose conversions: table, tray, posed meshes.

Geometry shared by the simulator (:class:`grasplab.scenes.World`), the renderers and the
labellers: the table box (top face at the table frame's z = 0), pybullet_data's tray with its
visual mesh lifted onto its collision floor, :class:`PosedMesh` and the conversions between
4×4 poses and PyBullet's (position, ``[x, y, z, w]`` quaternion). Metres.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import trimesh

from grasplab._optional import require
from grasplab.core.rotations import matrix_to_quaternion, quaternion_to_matrix

__all__ = [
    "TABLE_SIZE",
    "TRAY_FLOOR_HALF_EXTENT",
    "TRAY_FLOOR_Z",
    "TRAY_RIM_HALF_EXTENT",
    "TRAY_VISUAL_LIFT",
    "TRAY_WALL_TOP_Z",
    "PosedMesh",
    "pose_to_pq",
    "pq_to_pose",
    "table_mesh",
    "tray_mesh",
]

#: Table box (x, y, thickness) in metres; its top face is the table frame's z = 0 plane.
TABLE_SIZE = (1.0, 1.0, 0.05)
#: Height of the tray's collision floor above the tray frame origin (m).
TRAY_FLOOR_Z = 0.015
#: Half side of the flat tray floor, in the tray frame (m).
TRAY_FLOOR_HALF_EXTENT = 0.2
#: Half side of the tray at its rim (m); an object whose centre lies beyond it is out of the tray.
TRAY_RIM_HALF_EXTENT = 0.29
#: Height of the tray's rim above the tray frame origin (m).
TRAY_WALL_TOP_Z = 0.13
_TRAY_URDF = ("tray", "traybox.urdf")
_TRAY_VISUAL = ("tray", "tray_textured.obj")
_TRAY_VISUAL_SCALE = 0.5  # the scale traybox.urdf applies to its visual mesh
#: pybullet_data's traybox.urdf draws its floor at z = 0.005 but its collision floor is at
#: TRAY_FLOOR_Z = 0.015, so objects would float 1 cm above the floor in every image and grasps
#: planned from images would send the fingers 1 cm into the physical floor. The world loads the
#: tray with its visual mesh lifted by this much (and :func:`tray_mesh` returns it lifted).
TRAY_VISUAL_LIFT = 0.01
_TABLE_RGBA = (0.62, 0.55, 0.45, 1.0)


@dataclass(frozen=True, eq=False)
class PosedMesh:
    """A mesh placed in the world, for ray casting and depth checks.

    Attributes:
        mesh: the mesh in its own frame (metres).
        T_world_mesh: (4, 4) pose of that frame in the world.
        label: instance label; ``object_id + 1`` for objects, 0 for table and tray.
    """

    mesh: trimesh.Trimesh
    T_world_mesh: np.ndarray
    label: int

    def world_mesh(self) -> trimesh.Trimesh:
        """A new mesh with vertices in the world frame."""
        verts = self.mesh.vertices @ self.T_world_mesh[:3, :3].T + self.T_world_mesh[:3, 3]
        return trimesh.Trimesh(verts, self.mesh.faces.copy(), process=False)


def _pybullet() -> ModuleType:
    return require("pybullet")


def _data_path(*parts: str) -> str:
    pybullet_data = require("pybullet_data")
    return str(Path(pybullet_data.getDataPath()).joinpath(*parts))


@functools.lru_cache(maxsize=1)
def _tray_mesh_cached() -> trimesh.Trimesh:
    mesh = trimesh.load(_data_path(*_TRAY_VISUAL), force="mesh", process=False)
    if not isinstance(mesh, trimesh.Trimesh):  # pragma: no cover - the file is a mesh
        raise ValueError(f"{_TRAY_VISUAL} did not load as a triangle mesh")
    # geometry only: the texture would be deep-copied with every copy of the mesh
    verts = mesh.vertices * _TRAY_VISUAL_SCALE + np.array([0.0, 0.0, TRAY_VISUAL_LIFT])
    return trimesh.Trimesh(verts, mesh.faces, process=False)


@functools.lru_cache(maxsize=1)
def _tray_urdf() -> str:
    """Path of pybullet_data's traybox.urdf with its visual lifted by ``TRAY_VISUAL_LIFT``.

    Written once per machine to the temporary folder (the name carries a digest of the text).
    """
    import hashlib
    import os
    import re
    import tempfile

    source = Path(_data_path(*_TRAY_URDF))
    text = source.read_text()
    visual = re.compile(r'(<visual>\s*<origin rpy="0 0 0" xyz=)"0 0 0"(/>\s*<geometry>\s*<mesh filename=)"'
                        + re.escape(_TRAY_VISUAL[1]) + '"')
    mesh_path = (source.parent / _TRAY_VISUAL[1]).as_posix()
    text, count = visual.subn(rf'\1"0 0 {TRAY_VISUAL_LIFT:g}"\2"{mesh_path}"', text)
    if count != 1:  # pragma: no cover - depends on the installed pybullet_data
        raise RuntimeError(f"{source}: unexpected layout, cannot lift the tray's visual mesh")
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"grasplab-traybox-{digest}.urdf"
    if not path.is_file():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return str(path)


def tray_mesh() -> trimesh.Trimesh:
    """The tray's visual mesh in the tray frame (what the renderer draws), as a new mesh.

    It is lifted by ``TRAY_VISUAL_LIFT`` onto the collision floor, as the world draws it.
    """
    return _tray_mesh_cached().copy()


def table_mesh() -> trimesh.Trimesh:
    """The table box in the table frame (top face at z = 0), as a new mesh."""
    box = trimesh.creation.box(extents=TABLE_SIZE)
    box.apply_translation((0.0, 0.0, -TABLE_SIZE[2] / 2.0))
    return box


def pose_to_pq(T: np.ndarray) -> tuple[list[float], list[float]]:
    """(4, 4) pose → PyBullet's (position, quaternion ``[x, y, z, w]``) lists."""
    wxyz = matrix_to_quaternion(T[None, :3, :3])[0]
    return T[:3, 3].tolist(), [float(wxyz[1]), float(wxyz[2]), float(wxyz[3]), float(wxyz[0])]


def pq_to_pose(position: Any, xyzw: Any) -> np.ndarray:
    """PyBullet's (position (3,), quaternion ``[x, y, z, w]``) → (4, 4) float64 pose."""
    T = np.eye(4)
    q = np.array([[xyzw[3], xyzw[0], xyzw[1], xyzw[2]]], dtype=np.float64)
    T[:3, :3] = quaternion_to_matrix(q)[0]
    T[:3, 3] = position
    return T
