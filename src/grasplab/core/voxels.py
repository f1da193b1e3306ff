"""Voxel grids over point clouds: one integer key per point, first point and rank per voxel.

The keys of a cloud are its points' integer cells ``floor(p / size)`` shifted so that the
smallest is zero and flattened in row-major order (x slowest), so sorting by key sorts voxels
by (x, y, z) cell. Two results built on them serve the voxel filters of the labels and the
detectors: the first point of each occupied voxel (:func:`first_point_per_voxel`) and each
point's voxel rank (:func:`voxel_ranks`). Both take a dense path over the grid's cells when the
grid is small next to the cloud (a 640×480 frame: 5 cells per point at 5 mm, 22 at 3 mm) and a
sorting one otherwise; the two give the same answer (tested).

>>> keys, cells = voxel_keys([[0.0, 0, 0], [0.001, 0, 0], [0.02, 0, 0]], 0.005)
>>> keys.tolist(), cells
([0, 0, 4], 5)
>>> first_point_per_voxel(keys, cells).tolist(), voxel_ranks(keys, cells).tolist()
([0, 2], [0, 0, 1])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["DENSE_CELLS", "DENSE_CELLS_PER_POINT", "first_point_per_voxel", "voxel_keys", "voxel_ranks"]

#: the dense path runs while the grid has at most this many cells per point, or at most
#: :data:`DENSE_CELLS` cells (then at most 84 MB); it holds up to 5 bytes per cell (a 640×480
#: frame at 3 mm: 6.8 million cells, 22 per point at every pixel, 34 MB)
DENSE_CELLS_PER_POINT = 32
DENSE_CELLS = 1 << 24


def voxel_keys(points: ArrayLike, voxel_size: float) -> tuple[np.ndarray, int]:
    """(N,) int64 row-major cell key of each point and the number of cells of the grid.

    A grid too large for one int64 key per cell numbers its occupied cells instead, in the same
    order (then the number of cells is the number of occupied ones).

    Args:
        points: (N, 3) finite coordinates, metres.
        voxel_size: the cell edge, metres (> 0).
    """
    try:
        pts = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"points: cannot convert to an array of float64: {exc}") from exc
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points: expected shape (N, 3), got {pts.shape}")
    if not np.isfinite(voxel_size) or voxel_size <= 0:
        raise ValueError(f"voxel_size: expected a positive number of metres, got {voxel_size!r}")
    if len(pts) == 0:
        return np.zeros(0, dtype=np.int64), 0
    # one (3, N) copy, then in place: column reductions of an (N, 3) array are several times slower
    rows = np.ascontiguousarray(pts.T)
    if not np.isfinite(rows).all():
        raise ValueError("points: non-finite coordinates")
    np.floor(np.divide(rows, voxel_size, out=rows), out=rows)
    cells = rows.astype(np.int64)
    cells -= cells.min(axis=1, keepdims=True)
    dims = cells.max(axis=1) + 1
    if float(np.prod(dims.astype(np.float64))) >= 2.0**62:  # too many cells for one int64 key:
        _, ranks = np.unique(cells.T, axis=0, return_inverse=True)  # the rows' lexicographic
        ranks = ranks.reshape(-1).astype(np.int64)  # rank keeps the row-major order of keys
        return ranks, int(ranks.max()) + 1
    return (cells[0] * dims[1] + cells[1]) * dims[2] + cells[2], int(np.prod(dims))


def _dense(keys: np.ndarray, num_cells: int) -> bool:
    """Whether the dense path runs: a grid small next to the cloud, int32 point indices."""
    return len(keys) < 2**31 and num_cells <= max(DENSE_CELLS_PER_POINT * len(keys), DENSE_CELLS)


def first_point_per_voxel(keys: np.ndarray, num_cells: int) -> np.ndarray:
    """Ascending (V,) int64 indices of the first point (in input order) of each occupied voxel.

    Args:
        keys: (N,) voxel keys from :func:`voxel_keys`.
        num_cells: the grid's number of cells from :func:`voxel_keys`.
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if _dense(keys, num_cells):
        first = np.full(num_cells, n, dtype=np.int32)
        np.minimum.at(first, keys, np.arange(n, dtype=np.int32))
        out = first[first < n].astype(np.int64)
        out.sort()
        return out
    _, out = np.unique(keys, return_index=True)
    return np.sort(out).astype(np.int64)


def voxel_ranks(keys: np.ndarray, num_cells: int) -> np.ndarray:
    """(N,) int64 rank of each point's voxel among the occupied voxels in ascending key order.

    Args:
        keys: (N,) voxel keys from :func:`voxel_keys`.
        num_cells: the grid's number of cells from :func:`voxel_keys`.
    """
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    if _dense(keys, num_cells):
        occupied = np.zeros(num_cells, dtype=bool)
        occupied[keys] = True
        cells = np.flatnonzero(occupied)  # ascending keys of the occupied voxels
        rank = np.empty(num_cells, dtype=np.int32)  # read only at occupied cells
        rank[cells] = np.arange(len(cells), dtype=np.int32)
        return rank[keys].astype(np.int64)
    _, inverse = np.unique(keys, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)
