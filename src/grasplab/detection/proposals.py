"""Grasp proposals around sampled surface points: approach views, rotations, local frames.

GPD-style sampling (GraspNet-1Billion §2 and Fig. 3: a grasp point, then views, in-plane
rotations and depths): each sampled point gets approach directions near its inward normal (the
normal itself plus views tilted by a fixed angle on a cone around it), each view ``num_angles``
in-plane rotations ``i π / A`` built with the reference ``rotation_from_view``. Frames are the
camera frame in metres; rotation columns are approach, jaw axis and height (reference §1).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core import CameraIntrinsics, GripperModel, rotation_from_view

#: Coordinate given to padding neighbours: far outside every gripper region.
PAD_COORD = 1.0e3


def approach_directions(
    normals: np.ndarray, num_tilted: int, tilt: float, phase: np.ndarray
) -> np.ndarray:
    """Approach directions: the inward normal and ``num_tilted`` views on a cone around it.

    Args:
        normals: (S, 3) outward unit normals of the sampled points.
        num_tilted: number of tilted views per point (0 keeps the normal view only).
        tilt: cone half-angle in radians.
        phase: (S,) azimuth of the first tilted view, radians (randomizes the cone).

    Returns:
        (S, 1 + num_tilted, 3) unit approach vectors (pointing into the surface).

    >>> approach_directions(np.array([[0.0, 0.0, -1.0]]), 2, 0.5, np.zeros(1)).shape
    (1, 3, 3)
    """
    inward = -normals
    helper = np.where(np.abs(inward[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    e1 = np.cross(inward, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(inward, e1)
    azimuth = phase[:, None] + 2 * np.pi * np.arange(num_tilted) / max(num_tilted, 1)
    ring = np.cos(azimuth)[..., None] * e1[:, None] + np.sin(azimuth)[..., None] * e2[:, None]
    tilted = np.cos(tilt) * inward[:, None] + np.sin(tilt) * ring
    return np.concatenate([inward[:, None], tilted], axis=1)


def candidate_rotations(approaches: np.ndarray, num_angles: int) -> np.ndarray:
    """Rotations for every (view, in-plane angle ``i π / A``) of every point.

    Args:
        approaches: (S, V, 3) unit approach vectors.
        num_angles: A in-plane angles over [0, π) (the jaw flip makes π redundant).

    Returns:
        (S, V * A, 3, 3) float64 rotations, view-major.
    """
    num, views, _ = approaches.shape
    angles = np.arange(num_angles) * np.pi / num_angles
    flat = np.repeat(approaches.reshape(-1, 3), num_angles, axis=0)
    rot = rotation_from_view(flat, np.tile(angles, num * views))
    return rot.reshape(num, views * num_angles, 3, 3)


def neighborhoods(
    tree: cKDTree, centres: np.ndarray, radius: float, max_neighbors: int
) -> np.ndarray:
    """Indices of up to ``max_neighbors`` nearest cloud points within ``radius`` of each centre.

    Args:
        tree: KD-tree over the M cloud points.
        centres: (S, 3) query points.
        radius: search radius in metres.
        max_neighbors: cap K on the neighbours kept per centre (nearest first).

    Returns:
        (S, K) int64 indices, padded with M (one past the last point) where fewer exist.
    """
    k = int(min(max_neighbors, tree.n))
    _, index = tree.query(centres, k=k, distance_upper_bound=radius)
    return np.asarray(index, dtype=np.int64).reshape(len(centres), k)


def local_frames(
    points: np.ndarray,
    normals: np.ndarray,
    neighbors: np.ndarray,
    centres: np.ndarray,
    rotations: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour points in each candidate's gripper frame and their normals' jaw component.

    Args:
        points: (M, 3) cloud, metres.
        normals: (M, 3) outward unit normals (rows not needed may be zero).
        neighbors: (S, K) indices into the cloud, M marks padding.
        centres: (S, 3) grasp points.
        rotations: (S, R, 3, 3) candidate rotations per grasp point.

    Returns:
        ``(local (S, K, R, 3) float32, normal_y (S, K, R) float32)``: ``(p - t) @ R`` and
        ``n · R[:, 1]`` for neighbour k of point s under rotation r; padding points sit at
        :data:`PAD_COORD`.
    """
    num, num_rot = rotations.shape[:2]
    k = neighbors.shape[1]
    pad_points = np.concatenate([points, np.full((1, 3), PAD_COORD)]).astype(np.float32)
    pad_normals = np.concatenate([normals, np.zeros((1, 3))]).astype(np.float32)
    rel = pad_points[neighbors] - centres[:, None, :].astype(np.float32)  # (S, K, 3)
    rel[neighbors == len(points)] = PAD_COORD
    rot = rotations.astype(np.float32)
    axes = rot.transpose(0, 2, 1, 3).reshape(num, 3, num_rot * 3)  # every R's columns
    local = np.matmul(rel, axes).reshape(num, k, num_rot, 3)
    normal_y = np.matmul(pad_normals[neighbors], rot[:, :, :, 1].transpose(0, 2, 1))
    return local, normal_y


def finger_samples(
    widths: np.ndarray, depths: np.ndarray, gripper: GripperModel, num_x: int = 3
) -> np.ndarray:
    """Sample points inside both finger boxes, in each grasp's gripper frame.

    Per finger: ``num_x`` points from the finger base (``x = -depth_base``) to the tip
    (``x = depth``) times 3 heights (``z = 0, ±0.4 height``) on the finger's mid-plane.

    Args:
        widths: (N,) jaw openings, metres.
        depths: (N,) fingertip depths, metres.
        gripper: gripper geometry (finger width, height, depth base).
        num_x: samples along the approach axis.

    Returns:
        (N, 2 * 3 * num_x, 3) float64 gripper-frame points (x approach, y jaw, z height).
    """
    t = np.linspace(0.0, 1.0, num_x)
    x = -gripper.depth_base + t[None, :] * (depths[:, None] + gripper.depth_base)  # (N, X)
    y = widths / 2 + gripper.finger_width / 2  # (N,)
    z = np.array([-0.4, 0.0, 0.4]) * gripper.height
    num = len(widths)
    xs = np.broadcast_to(x[:, None, :, None], (num, 2, num_x, 3))
    ys = np.broadcast_to((np.array([-1.0, 1.0])[None, :] * y[:, None])[:, :, None, None],
                         (num, 2, num_x, 3))
    zs = np.broadcast_to(z[None, None, None, :], (num, 2, num_x, 3))
    return np.stack([xs, ys, zs], axis=-1).reshape(num, -1, 3)


def occluded_fraction(
    translations: np.ndarray,
    rotations: np.ndarray,
    local_points: np.ndarray,
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    tolerance: float = 0.005,
) -> np.ndarray:
    """Fraction of each grasp's sample points that lie behind the observed surface.

    A point more than ``tolerance`` behind the depth image along its pixel ray is in space the
    camera cannot see (inside or behind an object, or under the table): a finger there may
    collide with the unseen part of the scene. Points that project outside the image or onto
    an invalid (0) depth pixel count as visible.

    Args:
        translations: (N, 3) grasp centres in the camera frame, metres.
        rotations: (N, 3, 3) grasp rotations (camera frame).
        local_points: (N, Q, 3) sample points in each grasp's gripper frame.
        depth: (H, W) depth image, metres (0 = invalid).
        intrinsics: camera intrinsics of the depth image.
        tolerance: distance behind the surface still counted as visible, metres.

    Returns:
        (N,) float64 fractions in [0, 1].

    >>> from grasplab.core import CameraIntrinsics
    >>> cam = CameraIntrinsics(100.0, 100.0, 2.0, 2.0, 5, 5)
    >>> img = np.full((5, 5), 0.5, np.float32)
    >>> pts = np.array([[[0.0, 0.0, 0.4], [0.0, 0.0, 0.6]]])
    >>> occluded_fraction(np.zeros((1, 3)), np.eye(3)[None], pts, img, cam).tolist()
    [0.5]
    """
    if len(translations) == 0:
        return np.zeros(0)
    cam = translations[:, None, :] + np.einsum("nij,nqj->nqi", rotations, local_points)
    z = cam[..., 2]
    safe = np.where(z > 1e-6, z, 1.0)
    u = np.round(intrinsics.fx * cam[..., 0] / safe + intrinsics.cx).astype(np.int64)
    v = np.round(intrinsics.fy * cam[..., 1] / safe + intrinsics.cy).astype(np.int64)
    height, width = depth.shape
    inside = (z > 1e-6) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
    observed = np.zeros(z.shape)
    observed[inside] = depth[v[inside], u[inside]]
    hidden = inside & (observed > 0) & (z > observed + tolerance)
    return np.asarray(hidden.mean(axis=1), dtype=np.float64)


def centroid_offsets(
    local: np.ndarray, neighbors: np.ndarray, on_plane: np.ndarray, pair: np.ndarray,
    offsets: np.ndarray, widths: np.ndarray, gripper: GripperModel, max_points: int = 256,
) -> np.ndarray:
    """Distance along the finger height axis from each jaw line to its local centroid.

    The local object part is approximated by the observed off-plane points between the jaws
    (``|y| <= width / 2`` after centring, in front of the palm) at any height ``z``: a grasp
    whose jaw line passes far from their centroid holds the part off its centre of mass and
    tends to rotate and slip (the stable score of GraspNet-1Billion §2 / AnyGrasp §IV).

    Args:
        local: (S, K, R, 3) neighbours in the gripper frames (:func:`local_frames`).
        neighbors: (S, K) neighbour indices, ``len(on_plane)`` marks padding.
        on_plane: (M,) bool, cloud points of the support plane (excluded).
        pair: (n,) candidate indices ``s * R + r``.
        offsets: (n,) centring shift of each candidate along its jaw axis, metres.
        widths: (n,) jaw openings, metres.
        gripper: gripper geometry (depth base).
        max_points: the neighbours are subsampled with a uniform stride to at most about this
            many per candidate (they are sorted nearest first, so the subsample stays spread).

    Returns:
        (n,) float64 ``|mean z|`` of those points in metres (0 when there are none).
    """
    num_rot = local.shape[2]
    sample, rot = pair // num_rot, pair % num_rot
    stride = max(1, int(np.ceil(local.shape[1] / max_points)))
    keep = np.arange(0, local.shape[1], stride)
    loc = local[:, keep][sample, :, rot, :]  # (n, K', 3) gripper frame of the uncentred hand
    idx = neighbors[sample][:, keep]
    real = idx < len(on_plane)
    solid = real & ~on_plane[np.minimum(idx, len(on_plane) - 1)]
    y = loc[..., 1] - offsets[:, None]
    between = solid & (np.abs(y) <= widths[:, None] / 2) & (loc[..., 0] > -gripper.depth_base)
    count = between.sum(axis=1)
    mean_z = np.where(between, loc[..., 2], 0.0).sum(axis=1) / np.maximum(count, 1)
    return np.asarray(np.abs(mean_z), dtype=np.float64)
