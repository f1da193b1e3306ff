"""Convex collision shapes for PyBullet: convex hull, clustered convex decomposition, or V-HACD.

PyBullet collides mesh bodies through convex shapes, so a concave object needs several convex
parts. Methods (:func:`convex_decomposition`):

- ``"hull"``: the convex hull (used when the mesh is convex: hull volume within
  ``CONVEX_TOLERANCE`` of the mesh volume).
- ``"cluster"`` (default for concave meshes): points filling the solid (a grid of interior points
  plus surface samples and the vertices) are split by k-means into k = 2, 4, 8, ... parts until
  the parts' hulls exceed the mesh volume by at most ``tolerance`` (or ``max_parts`` is reached).
  Each part is the hull of one k-means (Voronoi) cell, so parts stay inside their convex cells
  and do not overlap. It is deterministic (seeded) and takes well under a second.
- ``"vhacd"``: PyBullet's own V-HACD (``pybullet.vhacd``). Measured here on a 576-face torus it
  took 25-55 s (load average 6 on 2 cores) whatever the resolution, so it is opt-in.

Sources that ship a convex decomposition (random_urdfs, teddy) use their own parts.
Units: metres, model frame.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import trimesh
from scipy.cluster.vq import kmeans2

from grasplab._optional import require
from grasplab.objects.sources import read_obj_parts

logger = logging.getLogger(__name__)

CONVEX_TOLERANCE = 0.03
"""A mesh whose hull volume exceeds its volume by at most this fraction counts as convex."""
METHODS = ("auto", "hull", "cluster", "vhacd")


def is_convex(mesh: trimesh.Trimesh, tolerance: float = CONVEX_TOLERANCE) -> bool:
    """Whether the hull volume is within ``tolerance`` (fraction) of the mesh volume."""
    return bool(mesh.convex_hull.volume <= (1.0 + tolerance) * abs(mesh.volume))


def _hull_or_none(points: np.ndarray) -> trimesh.Trimesh | None:
    if len(points) < 4:
        return None
    try:
        hull = trimesh.convex.convex_hull(points)
    except Exception:  # qhull: coplanar or too few points
        return None
    if not hull.is_watertight or hull.volume <= 0:
        return None
    return hull


def solid_points(
    mesh: trimesh.Trimesh, grid: int = 24, num_surface: int = 3000, seed: int = 0
) -> np.ndarray:
    """Points filling a closed mesh: interior grid points, surface samples and vertices.

    Args:
        mesh: watertight mesh.
        grid: grid cells along the largest bounding-box extent.
        num_surface: number of uniform surface samples.
        seed: sampling seed.

    Returns:
        (P, 3) float64 points in the mesh frame.
    """
    lo, hi = mesh.bounds
    pitch = float((hi - lo).max()) / grid
    axes = [np.arange(lo[i] + pitch / 2, hi[i], pitch) for i in range(3)]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = cells[mesh.contains(cells)] if len(cells) else np.zeros((0, 3))
    surface, _ = trimesh.sample.sample_surface(mesh, num_surface, seed=seed)
    return np.concatenate([inside, np.asarray(surface), mesh.vertices], axis=0)


def cluster_decomposition(
    mesh: trimesh.Trimesh, max_parts: int = 32, tolerance: float = 0.05, seed: int = 0
) -> list[trimesh.Trimesh]:
    """Approximate convex decomposition by k-means cells of the solid (module docstring).

    Args:
        mesh: watertight mesh (metres).
        max_parts: largest k tried (k doubles from 2).
        tolerance: accepted excess of the parts' total hull volume over the mesh volume.
        seed: k-means and sampling seed (the result is deterministic for a given seed).

    Returns:
        Convex parts (watertight meshes).
    """
    volume = abs(float(mesh.volume))
    points = solid_points(mesh, seed=seed)
    best: list[trimesh.Trimesh] = [mesh.convex_hull]
    k = 2
    while k <= max_parts:
        _, labels = kmeans2(points, k, iter=20, minit="++", seed=seed)
        hulls = [_hull_or_none(points[labels == i]) for i in range(k)]
        parts = [h for h in hulls if h is not None]
        total = sum(float(h.volume) for h in parts)
        best = parts
        logger.debug("cluster decomposition k=%d: hull volume ratio %.3f", k, total / volume)
        if total <= (1.0 + tolerance) * volume:
            break
        k *= 2
    return best


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (V-HACD prints its progress) for the duration of the block."""
    fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)
        os.close(devnull)


def vhacd_decomposition(mesh: trimesh.Trimesh, resolution: int = 50_000) -> list[trimesh.Trimesh]:
    """Convex decomposition with PyBullet's V-HACD (slow; see the module docstring).

    The mesh is normalised to unit size for V-HACD (its volume thresholds are absolute) and
    the parts are scaled back.
    """
    pybullet = require("pybullet")
    size = float(np.ptp(mesh.vertices, axis=0).max())
    with tempfile.TemporaryDirectory(prefix="grasplab_vhacd_") as tmp:
        src, dst, log = (Path(tmp) / n for n in ("in.obj", "out.obj", "log.txt"))
        trimesh.Trimesh(mesh.vertices / size, mesh.faces, process=False).export(src)
        with _quiet_stdout():
            pybullet.vhacd(str(src), str(dst), str(log), resolution=int(resolution))
        parts = read_obj_parts(dst)
    hulls = [_hull_or_none(p.vertices * size) for p in parts]
    return [h for h in hulls if h is not None]


def convex_decomposition(
    mesh: trimesh.Trimesh,
    method: str = "auto",
    max_parts: int = 32,
    seed: int = 0,
    vhacd_resolution: int = 50_000,
) -> list[trimesh.Trimesh]:
    """Convex collision parts of a watertight mesh.

    Args:
        mesh: watertight mesh (metres, model frame).
        method: ``"auto"`` (hull if convex, else ``"cluster"``), ``"hull"``, ``"cluster"`` or
            ``"vhacd"``.
        max_parts: largest number of parts for ``"cluster"``.
        seed: seed for ``"cluster"``.
        vhacd_resolution: voxel resolution for ``"vhacd"``.

    Returns:
        Non-empty list of convex watertight meshes.

    Raises:
        ValueError: unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"unknown collision method {method!r}: expected one of {METHODS}")
    if method == "hull" or (method == "auto" and is_convex(mesh)):
        return [mesh.convex_hull]
    if method == "vhacd":
        parts = vhacd_decomposition(mesh, vhacd_resolution)
    else:
        parts = cluster_decomposition(mesh, max_parts=max_parts, seed=seed)
    return parts if parts else [mesh.convex_hull]
