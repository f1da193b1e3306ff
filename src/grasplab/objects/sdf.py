"""Signed distance fields of object meshes on a regular grid, in the SDFGen (Dex-Net) layout.

graspnetAPI's force closure runs on a signed distance field read from ``models/%03d/textured.sdf``
(reference protocol §5.2, §8.3). This module computes such a field from a watertight mesh with
the SDFGen/Dex-Net sizing rules and reads and writes the SDFGen text format:

- line 1: ``nx ny nz``; line 2: the origin ``ox oy oz`` (model-frame position of grid index
  (0, 0, 0)); line 3: the grid spacing ``res``;
- then ``nx * ny * nz`` lines of one value each, ``for k: for j: for i`` (i fastest), signed
  distances in metres, negative inside, written with 6 significant digits as SDFGen does.

Grid index (i, j, k) sits at ``origin + res * (i, j, k)`` in the model frame. Metres throughout.

Parsing the text takes about a second per model, so a binary copy of the values *as read from
the text* may sit beside it (``textured.sdf.npz``, :func:`write_sdf_cache`); :func:`load_sdf`
uses it when it is not older than the text, so both give identical values.

Sizing (Dex-Net's ``SDFGen <obj> <dim> <padding>``): ``res = max(bbox extent) / dim``, the box
grown by ``padding * res`` on every side, ``n = floor(extent / res)`` cells per axis.

Distances: exact point-triangle distances in a band of :data:`BAND_CELLS` cells around the
surface (candidate triangles from a dense surface sampling), the sign from ray parity
(``trimesh`` ``contains``, Embree); outside the band the distance is the nearest band node's
plus the grid distance to it (an upper bound, like SDFGen's sweep), far from where contacts
are searched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

__all__ = [
    "BAND_CELLS",
    "DEFAULT_DIM",
    "DEFAULT_PADDING",
    "SignedDistanceField",
    "cache_path",
    "compute_sdf",
    "load_sdf",
    "read_sdf",
    "write_sdf",
    "write_sdf_cache",
]

#: Dex-Net's SDF resolution: cells along the longest side of the mesh bounding box.
DEFAULT_DIM = 100
#: Dex-Net's SDF padding, in cells on every side.
DEFAULT_PADDING = 5
#: Half-width of the band of exact distances around the surface, in cells.
BAND_CELLS = 3.0


@dataclass(frozen=True)
class SignedDistanceField:
    """A signed distance field on a regular grid (model frame, metres).

    Attributes:
        values: (nx, ny, nz) float64 signed distances, negative inside.
        origin: (3,) model-frame position of grid index (0, 0, 0).
        resolution: grid spacing (m).
    """

    values: np.ndarray
    origin: np.ndarray
    resolution: float

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        origin = np.asarray(self.origin, dtype=np.float64).reshape(-1)
        if values.ndim != 3 or min(values.shape) < 2:
            raise ValueError(f"SDF values must be (nx, ny, nz) with n >= 2, got {values.shape}")
        if origin.shape != (3,) or not np.isfinite(origin).all():
            raise ValueError(f"SDF origin must be 3 finite numbers, got {self.origin!r}")
        if not (np.isfinite(self.resolution) and self.resolution > 0):
            raise ValueError(f"SDF resolution must be > 0, got {self.resolution}")
        if not np.isfinite(values).all():
            raise ValueError("SDF values must be finite")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "resolution", float(self.resolution))

    @property
    def dims(self) -> tuple[int, int, int]:
        """(nx, ny, nz) grid size."""
        nx, ny, nz = self.values.shape
        return int(nx), int(ny), int(nz)

    @property
    def surface_thresh(self) -> float:
        """``res * sqrt(2) / 2``: a sample with ``|sdf|`` below it is on the surface (m)."""
        return float(self.resolution * np.sqrt(2.0) / 2.0)

    def grid_points(self) -> np.ndarray:
        """(nx, ny, nz, 3) model-frame position of every grid node (m)."""
        axes = [self.origin[a] + self.resolution * np.arange(n) for a, n in enumerate(self.dims)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def _sdf_grid(bounds: np.ndarray, dim: int, padding: int) -> tuple[np.ndarray, float, tuple[int, ...]]:
    """Origin, spacing and size of the SDFGen grid around ``bounds`` (2, 3)."""
    lower, upper = np.asarray(bounds, dtype=np.float64)
    res = float((upper - lower).max()) / dim
    lower = lower - padding * res
    upper = upper + padding * res
    sizes = tuple(int(n) for n in np.floor((upper - lower) / res + 1e-9))
    return lower, res, sizes


def _point_triangle_distance(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Euclidean distance of each point to its triangle (Ericson's closest-point regions).

    Args:
        points: (N, 3) points.
        triangles: (N, 3, 3) one triangle per point.

    Returns:
        (N,) distances.
    """
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    ab, ac, ap = b - a, c - a, points - a
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    bp = points - b
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    cp = points - c
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v_in, w_in = vb / denom, vc / denom
        closest = a + v_in[:, None] * ab + w_in[:, None] * ac
        edge_ab = a + np.clip(d1 / (d1 - d3), 0, 1)[:, None] * ab
        edge_ac = a + np.clip(d2 / (d2 - d6), 0, 1)[:, None] * ac
        edge_bc = b + np.clip((d4 - d3) / ((d4 - d3) + (d5 - d6)), 0, 1)[:, None] * (c - b)
    cases = [
        (d1 <= 0) & (d2 <= 0), (d3 >= 0) & (d4 <= d3), (d6 >= 0) & (d5 <= d6),
        (vc <= 0) & (d1 >= 0) & (d3 <= 0), (vb <= 0) & (d2 >= 0) & (d6 <= 0),
        (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0),
    ]
    choices = [a, b, c, edge_ab, edge_ac, edge_bc]
    for case, choice in zip(reversed(cases), reversed(choices), strict=True):
        closest = np.where(case[:, None], choice, closest)
    closest = np.where(np.isfinite(closest), closest, a)
    result: np.ndarray = np.linalg.norm(points - closest, axis=1)
    return result


def _band_distances(
    mesh: Any, points: np.ndarray, samples: np.ndarray, sample_faces: np.ndarray, k: int = 8
) -> np.ndarray:
    """Exact unsigned distances of ``points`` to the mesh, over the faces of the k nearest samples."""
    tree = cKDTree(samples)
    triangles = np.asarray(mesh.triangles, dtype=np.float64)
    best = np.full(len(points), np.inf)
    for start in range(0, len(points), 20000):
        chunk = points[start : start + 20000]
        _, nearest = tree.query(chunk, k=min(k, len(samples)))
        faces = sample_faces[nearest.reshape(len(chunk), -1)]
        reps = faces.shape[1]
        dist = _point_triangle_distance(
            np.repeat(chunk, reps, axis=0), triangles[faces.reshape(-1)]
        ).reshape(len(chunk), reps)
        best[start : start + len(chunk)] = dist.min(axis=1)
    return best


def _extend_outside_band(values: np.ndarray, band: np.ndarray, res: float) -> np.ndarray:
    """Unsigned distances off the band: nearest band node's distance plus the way to it."""
    from scipy.ndimage import distance_transform_edt

    if band.all() or not band.any():
        return values
    steps, index = distance_transform_edt(~band, return_indices=True)
    nearest = values[tuple(index)]
    result: np.ndarray = np.where(band, values, nearest + steps * res)
    return result


def compute_sdf(
    mesh: Any,
    dim: int = DEFAULT_DIM,
    padding: int = DEFAULT_PADDING,
    rng: np.random.Generator | int | None = 0,
) -> SignedDistanceField:
    """Signed distance field of a watertight mesh with SDFGen/Dex-Net sizing.

    Args:
        mesh: ``trimesh.Trimesh``, model frame, metres (watertight for correct signs).
        dim: cells along the longest bounding-box side.
        padding: cells added on every side.
        rng: generator (or seed) of the surface sampling that finds candidate triangles.

    Returns:
        The field; values negative inside.

    Raises:
        ValueError: a mesh without faces, or ``dim < 2`` / ``padding < 0``.
    """
    import trimesh

    if len(getattr(mesh, "faces", ())) == 0:
        raise ValueError("compute_sdf needs a mesh with faces")
    if dim < 2 or padding < 0:
        raise ValueError(f"dim must be >= 2 and padding >= 0, got {dim}, {padding}")
    origin, res, sizes = _sdf_grid(np.asarray(mesh.bounds), int(dim), int(padding))
    generator = np.random.default_rng(rng)
    count = int(max(20000, 6 * mesh.area / (res * res)))
    samples, faces = trimesh.sample.sample_surface(mesh, count, seed=generator)
    samples = np.vstack([samples, np.asarray(mesh.vertices, dtype=np.float64)])
    faces = np.concatenate([faces, np.asarray(mesh.vertex_faces)[:, 0]])
    field = SignedDistanceField(np.zeros(sizes), origin, res)
    nodes = field.grid_points().reshape(-1, 3)
    near, _ = cKDTree(samples).query(nodes, distance_upper_bound=BAND_CELLS * res)
    band = near < BAND_CELLS * res
    values = np.zeros(len(nodes))
    values[band] = _band_distances(mesh, nodes[band], samples, faces)
    values = _extend_outside_band(values.reshape(sizes), band.reshape(sizes), res).reshape(-1)
    sign = np.where(np.asarray(mesh.contains(nodes), dtype=bool), -1.0, 1.0)
    return SignedDistanceField((values * sign).reshape(sizes), origin, res)


def write_sdf(field: SignedDistanceField, path: Path | str) -> Path:
    """Write ``field`` in the SDFGen text format (6 significant digits, i fastest).

    Args:
        field: the field.
        path: target file (parents created).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    nx, ny, nz = field.dims
    ox, oy, oz = (float(v) for v in field.origin)
    flat = field.values.transpose(2, 1, 0).reshape(-1)  # k slowest, i fastest
    header = f"{nx} {ny} {nz}\n{ox:g} {oy:g} {oz:g}\n{field.resolution:g}\n"
    body = "\n".join(f"{v:g}" for v in flat.tolist())
    target.write_text(header + body + "\n")
    return target


def read_sdf(path: Path | str) -> SignedDistanceField:
    """Read an SDFGen text file (the layout ``graspnetAPI`` reads).

    Args:
        path: ``textured.sdf`` file.

    Returns:
        The field, values as float64.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a malformed header or the wrong number of values.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"SDF file not found: {source}")
    with source.open("r") as handle:
        try:
            dims = tuple(int(v) for v in handle.readline().split())
            origin = np.array([float(v) for v in handle.readline().split()])
            resolution = float(handle.readline())
        except ValueError as exc:
            raise ValueError(f"{source}: malformed SDF header ({exc})") from exc
        if len(dims) != 3 or min(dims) < 1 or origin.shape != (3,):
            raise ValueError(f"{source}: malformed SDF header (dims {dims}, origin {origin})")
        text = handle.read()
    try:
        flat = np.array(text.split(), dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{source}: a value that is not a number ({exc})") from exc
    expected = dims[0] * dims[1] * dims[2]
    if flat.size < expected:
        raise ValueError(f"{source}: {flat.size} SDF values, expected {expected}")
    values = flat[:expected].reshape(dims[2], dims[1], dims[0]).transpose(2, 1, 0)
    return SignedDistanceField(np.ascontiguousarray(values), origin, resolution)


def cache_path(path: Path | str) -> Path:
    """The binary copy beside an SDF text file: ``<name>.npz``."""
    source = Path(path)
    return source.with_name(source.name + ".npz")


def write_sdf_cache(path: Path | str) -> Path:
    """Write the binary copy of an SDF text file, with the values exactly as :func:`read_sdf` reads.

    Returns:
        The cache path (written atomically).
    """
    field = read_sdf(path)
    target = cache_path(path)
    tmp = target.with_name(f".tmp-{target.name}")
    with tmp.open("wb") as handle:
        np.savez(handle, values=field.values, origin=field.origin,
                 resolution=np.float64(field.resolution))
    tmp.replace(target)
    return target


def load_sdf(path: Path | str) -> SignedDistanceField:
    """Read an SDF text file, through its binary copy when that is not older than the text.

    Raises:
        FileNotFoundError: no such text file.
        ValueError: a malformed text file.
    """
    source = Path(path)
    cache = cache_path(source)
    if (source.is_file() and cache.is_file()
            and cache.stat().st_mtime_ns >= source.stat().st_mtime_ns):
        try:
            with np.load(cache) as data:
                return SignedDistanceField(data["values"], data["origin"], float(data["resolution"]))
        except (OSError, ValueError, KeyError):
            pass  # a broken cache: fall back to the text
    return read_sdf(source)
