"""Files of a processed object: OBJ meshes and the URDF that PyBullet loads, written atomically.

The URDF has one link: its visual is the processed (watertight, scaled) mesh, its collision is
an OBJ with one ``o`` object per convex part (PyBullet builds a compound of one convex hull per
OBJ object), and its inertial block holds the mass, the centre of mass and the inertia about it.
All paths inside the URDF are relative to its folder. Units: metres, kilograms.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import trimesh


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    A reader never sees a partly written file: it sees the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def obj_text(meshes: Sequence[trimesh.Trimesh], names: Sequence[str] | None = None) -> str:
    """OBJ text with one ``o`` object per mesh (vertices at 9 significant digits).

    Args:
        meshes: triangle meshes in one frame.
        names: object names, default ``part_000``, ``part_001``, ...
    """
    lines = ["# written by grasplab.objects"]
    offset = 1
    for k, mesh in enumerate(meshes):
        lines.append(f"o {names[k] if names else f'part_{k:03d}'}")
        lines.extend(f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in np.asarray(mesh.vertices))
        faces = np.asarray(mesh.faces, dtype=np.int64) + offset
        lines.extend(f"f {a} {b} {c}" for a, b, c in faces)
        offset += len(mesh.vertices)
    return "\n".join(lines) + "\n"


def urdf_text(
    name: str,
    visual_file: str,
    collision_file: str,
    mass: float,
    center_of_mass: np.ndarray,
    inertia: np.ndarray,
    rgba: tuple[float, float, float, float] = (0.6, 0.6, 0.6, 1.0),
) -> str:
    """URDF text of a single-link rigid object.

    Args:
        name: robot/link name.
        visual_file: visual mesh file, relative to the URDF's folder.
        collision_file: collision OBJ (one object per convex part), relative likewise.
        mass: kg.
        center_of_mass: (3,) metres in the model frame.
        inertia: (3, 3) kg·m² about the centre of mass, model-frame axes.
        rgba: visual colour.
    """
    c = np.asarray(center_of_mass, dtype=np.float64)
    i = np.asarray(inertia, dtype=np.float64)
    color = " ".join(f"{v:.3g}" for v in rgba)
    return f"""<?xml version="1.0"?>
<robot name={quoteattr(name)}>
  <link name={quoteattr(name + "_link")}>
    <inertial>
      <origin xyz="{c[0]:.9g} {c[1]:.9g} {c[2]:.9g}" rpy="0 0 0"/>
      <mass value="{mass:.9g}"/>
      <inertia ixx="{i[0, 0]:.9g}" ixy="{i[0, 1]:.9g}" ixz="{i[0, 2]:.9g}"
               iyy="{i[1, 1]:.9g}" iyz="{i[1, 2]:.9g}" izz="{i[2, 2]:.9g}"/>
    </inertial>
    <visual>
      <origin xyz="0 0 0" rpy="0 0 0"/>
      <geometry><mesh filename={quoteattr(visual_file)} scale="1 1 1"/></geometry>
      <material name={quoteattr(name + "_material")}><color rgba="{color}"/></material>
    </visual>
    <collision>
      <origin xyz="0 0 0" rpy="0 0 0"/>
      <geometry><mesh filename={quoteattr(collision_file)} scale="1 1 1"/></geometry>
    </collision>
  </link>
</robot>
"""
