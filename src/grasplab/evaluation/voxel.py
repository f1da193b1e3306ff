"""Scene point sets of the GraspNet AP protocol: voxel-downsampled models and the table grid.

The reference evaluation (graspnetAPI 1.2.11) judges collisions and assigns grasps to objects on
sparse point sets: each object's ``nontextured.ply`` vertices downsampled with Open3D's
``voxel_down_sample(0.008)`` and a fixed grid of table points. Both are reproduced here without
Open3D.

Open3D's rule (``PointCloud::VoxelDownSample``): the grid origin is the cloud's minimum bound
minus half a voxel, a point falls in voxel ``floor((p - origin) / voxel_size)`` per axis, and each
occupied voxel yields the mean of its points. Open3D returns the voxels in hash-map order, which
is unspecified; here they come in lexicographic voxel-index order (deterministic). The order
matters only for exact distance ties in the nearest-point assignment.

Units are metres; frames are whatever frame the input points are in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.core.validation import as_array, check_positive_scalar

__all__ = ["TABLE_GRID_SIZE", "TableGrid", "create_table_points", "voxel_down_sample"]

#: Grid spacing the reference passes to ``create_table_points`` (metres).
TABLE_GRID_SIZE = 0.008


def voxel_down_sample(points: np.ndarray, voxel_size: float) -> np.ndarray:
    """Downsample a point cloud exactly as Open3D's ``voxel_down_sample`` does.

    Args:
        points: (N, 3) points, metres.
        voxel_size: voxel edge length, metres (> 0).

    Returns:
        (M, 3) float64 voxel centroids (mean of the points of each occupied voxel), sorted by
        voxel index; (0, 3) for an empty input.

    Raises:
        ValueError: on a wrong shape, non-finite points or a non-positive voxel size.

    Example:
        >>> pts = np.array([[0.0, 0, 0], [0.001, 0, 0], [0.02, 0, 0]])
        >>> voxel_down_sample(pts, 0.008).round(4).tolist()
        [[0.0005, 0.0, 0.0], [0.02, 0.0, 0.0]]
    """
    pts = as_array(points, "points", (None, 3))
    size = check_positive_scalar(voxel_size, "voxel_size")
    if len(pts) == 0:
        return np.zeros((0, 3))
    origin = pts.min(axis=0) - 0.5 * size
    index = np.floor((pts - origin) / size).astype(np.int64)
    extent = index.max(axis=0) + 1
    if float(np.prod(extent.astype(np.float64))) < 2.0**62:
        # one integer key per voxel, increasing in lexicographic (x, y, z) voxel order
        key = (index[:, 0] * extent[1] + index[:, 1]) * extent[2] + index[:, 2]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    else:  # a huge extent: sort the index triples themselves
        _, inverse, counts = np.unique(index, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
    sums = np.zeros((len(counts), 3))
    for axis in range(3):
        sums[:, axis] = np.bincount(inverse, weights=pts[:, axis], minlength=len(counts))
    centroids: np.ndarray = sums / counts[:, None]
    return centroids


def create_table_points(
    lx: float = 1.0,
    ly: float = 1.0,
    lz: float = 0.05,
    dx: float = -0.5,
    dy: float = -0.5,
    dz: float = -0.05,
    grid_size: float = TABLE_GRID_SIZE,
) -> np.ndarray:
    """Build the reference table point grid in the table frame (table top at z = 0).

    The reference (``eval_utils.create_table_points``) takes ``linspace(0, l, int(l / grid_size))``
    per axis and adds the offset ``d``; with the defaults that is
    125 x 125 x 6 = 93,750 points, x and y in [-0.5, 0.5] and z in [-0.05, 0].

    Args:
        lx: table extent along x, metres.
        ly: table extent along y, metres.
        lz: table thickness, metres.
        dx: x offset of the first sample, metres.
        dy: y offset of the first sample, metres.
        dz: z offset of the first sample, metres.
        grid_size: nominal spacing, metres.

    Returns:
        (125 * 125 * 6, 3) float64 points with the defaults, x slowest and z fastest.

    Example:
        >>> create_table_points().shape
        (93750, 3)
    """
    size = check_positive_scalar(grid_size, "grid_size")
    counts = [int(length / size) for length in (lx, ly, lz)]
    if min(counts) < 1:
        raise ValueError(
            f"table extents {(lx, ly, lz)} must each be at least grid_size={size} m"
        )
    xs = np.linspace(0.0, lx, counts[0]) + dx
    ys = np.linspace(0.0, ly, counts[1]) + dy
    zs = np.linspace(0.0, lz, counts[2]) + dz
    grid = np.stack(np.meshgrid(xs, ys, zs, indexing="ij"), axis=-1)
    table: np.ndarray = grid.reshape(-1, 3)
    return table


@dataclass(frozen=True)
class TableGrid:
    """The reference table grid as three sorted axes, with a fast exact box crop.

    The full grid (``create_table_points``) has 93,750 points; a frame needs only those inside
    each object's crop box. ``crop`` finds them without transforming the whole grid: it maps the
    camera-frame box into the table frame, takes the grid index range covering the box's
    table-frame bounding box (a superset), transforms only those points and applies the exact
    strict camera-frame test. The result equals cropping the fully transformed grid.

    Attributes:
        xs: (I,) sorted x samples, table frame, metres.
        ys: (J,) sorted y samples.
        zs: (L,) sorted z samples.
    """

    xs: np.ndarray
    ys: np.ndarray
    zs: np.ndarray

    @classmethod
    def reference(cls) -> TableGrid:
        """The grid of the reference evaluation (1 m x 1 m x 5 cm, top at z = 0)."""
        spec = ((1.0, -0.5), (1.0, -0.5), (0.05, -0.05))
        axes = [
            np.linspace(0.0, length, int(length / TABLE_GRID_SIZE)) + offset
            for length, offset in spec
        ]
        return cls(*axes)

    @property
    def points(self) -> np.ndarray:
        """(I*J*L, 3) all grid points in the table frame (x slowest, z fastest)."""
        grid = np.stack(np.meshgrid(self.xs, self.ys, self.zs, indexing="ij"), axis=-1)
        points: np.ndarray = grid.reshape(-1, 3)
        return points

    def crop(self, T_cam_table: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Grid points, in the camera frame, strictly inside an axis-aligned camera-frame box.

        Args:
            T_cam_table: (4, 4) table pose in the camera frame.
            lower: (3,) box minimum, camera frame, metres.
            upper: (3,) box maximum.

        Returns:
            (M, 3) camera-frame points p with ``lower < p < upper`` on every axis.
        """
        lo = np.asarray(lower, dtype=np.float64)
        hi = np.asarray(upper, dtype=np.float64)
        corners = np.stack(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij"), -1).reshape(-1, 3)
        T_table_cam = np.linalg.inv(T_cam_table)
        local = corners @ T_table_cam[:3, :3].T + T_table_cam[:3, 3]
        ranges = []
        for axis, samples in enumerate((self.xs, self.ys, self.zs)):
            first = max(int(np.searchsorted(samples, local[:, axis].min())) - 1, 0)
            last = min(int(np.searchsorted(samples, local[:, axis].max())) + 1, len(samples))
            if first >= last:
                return np.zeros((0, 3))
            ranges.append(samples[first:last])
        grid = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 3)
        cam = grid @ T_cam_table[:3, :3].T + T_cam_table[:3, 3]
        inside = np.all((cam > lo) & (cam < hi), axis=1)
        cropped: np.ndarray = cam[inside]
        return cropped
