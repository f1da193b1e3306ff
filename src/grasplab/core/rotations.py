"""Rotations, approach views and rigid transforms, exactly as graspnetAPI builds them.

Frames: a gripper rotation ``R`` has the approach direction as its first column (x), the jaw
closing axis as its second (y) and the finger height direction as its third (z), as in the
reference protocol §1. Transforms are 4×4 float64 matrices named ``T_<to>_<from>``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation

from grasplab.core.validation import as_array, check_rotations, check_transform

# A python float, so float32 arrays stay float32 as under the numpy < 1.24 the reference needs.
_GOLDEN = float((np.sqrt(5.0) - 1.0) / 2.0)


def approach_views(num_views: int = 300) -> np.ndarray:
    """Unit view directions on the reference's Fibonacci sphere (protocol §8.4).

    The values are computed in float32 exactly as ``graspnetAPI.utils.utils.generate_views`` does
    and returned as float64, so label indices mean the same views as in GraspNet-1Billion.

    Args:
        num_views: number of views V.

    Returns:
        (V, 3) float64 unit vectors pointing from the object point towards the viewpoint.

    >>> approach_views(300).shape
    (300, 3)
    """
    if int(num_views) != num_views or num_views < 1:
        raise ValueError(f"num_views: expected a positive integer, got {num_views}")
    n = int(num_views)
    # Same operations, in the same order and in float32, as the reference.
    idxs = np.arange(n, dtype=np.float32)
    z = (2 * idxs + 1) / n - 1
    x = np.sqrt(1 - z**2) * np.cos(2 * idxs * np.pi * _GOLDEN)
    y = np.sqrt(1 - z**2) * np.sin(2 * idxs * np.pi * _GOLDEN)
    views = np.stack([x, y, z], axis=1)
    return views.astype(np.float64)


def rotation_from_view(approaches: ArrayLike, angles: ArrayLike) -> np.ndarray:
    """Gripper rotations from approach directions and in-plane angles (reference construction).

    Transcribes ``batch_viewpoint_params_to_matrix``: ``a = normalize(approach)``,
    ``b = normalize([-a_y, a_x, 0])`` (or ``[0, 1, 0]`` when a is vertical), ``c = a × b`` and
    ``R = [a b c] · Rx(angle)``. For label view ``v`` the reference passes ``approach = -v``.

    Args:
        approaches: (N, 3) approach directions (need not be unit length, must be non-zero).
        angles: (N,) in-plane rotation about the approach axis, radians.

    Returns:
        (N, 3, 3) float64 rotations whose first column is the unit approach.
    """
    a = as_array(approaches, "approaches", (None, 3))
    ang = as_array(angles, "angles", (len(a),))
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError(f"approaches: zero vector at index {int(np.argmax(norm[:, 0] == 0))}")
    a = a / norm
    b = np.stack([-a[:, 1], a[:, 0], np.zeros(len(a))], axis=1)
    b_norm = np.linalg.norm(b, axis=1)
    vertical = b_norm == 0
    b[vertical] = [0.0, 1.0, 0.0]
    b[~vertical] /= b_norm[~vertical, None]
    c = np.cross(a, b)
    base = np.stack([a, b, c], axis=2)
    cos, sin = np.cos(ang), np.sin(ang)
    rx = np.zeros((len(a), 3, 3))
    rx[:, 0, 0] = 1.0
    rx[:, 1, 1] = cos
    rx[:, 1, 2] = -sin
    rx[:, 2, 1] = sin
    rx[:, 2, 2] = cos
    return np.asarray(np.einsum("nij,njk->nik", base, rx))


def rotation_angle(rotations_a: ArrayLike, rotations_b: ArrayLike) -> np.ndarray:
    """Angle of the relative rotation between paired rotations, ``acos((tr(R1 R2ᵀ) - 1) / 2)``.

    The trace is clamped to [-1, 3] as the reference NMS does.

    Args:
        rotations_a: (N, 3, 3) or (3, 3).
        rotations_b: (N, 3, 3) or (3, 3) (broadcast against ``rotations_a``).

    Returns:
        (N,) angles in radians, in [0, π].
    """
    ra = np.asarray(rotations_a, dtype=np.float64)
    rb = np.asarray(rotations_b, dtype=np.float64)
    trace = np.einsum("...ij,...ij->...", ra, rb)
    return np.asarray(np.arccos((np.clip(trace, -1.0, 3.0) - 1.0) / 2.0))


def make_transform(rotation: ArrayLike, translation: ArrayLike) -> np.ndarray:
    """Build a 4×4 transform from a (3, 3) rotation and a (3,) translation."""
    T = np.eye(4)
    T[:3, :3] = as_array(rotation, "rotation", (3, 3))
    T[:3, 3] = as_array(translation, "translation", (3,))
    return T


def invert_transform(transform: ArrayLike) -> np.ndarray:
    """Invert a rigid 4×4 transform exactly (``Rᵀ``, ``-Rᵀ t``)."""
    T = check_transform(transform)
    inv = np.eye(4)
    inv[:3, :3] = T[:3, :3].T
    inv[:3, 3] = -T[:3, :3].T @ T[:3, 3]
    return inv


def transform_points(transform: ArrayLike, points: ArrayLike) -> np.ndarray:
    """Apply a 4×4 transform to (N, 3) points; returns a new (N, 3) float64 array."""
    T = as_array(transform, "transform", (4, 4))
    p = as_array(points, "points", (None, 3))
    return np.asarray(p @ T[:3, :3].T + T[:3, 3])


def transform_rotations(transform: ArrayLike, rotations: ArrayLike) -> np.ndarray:
    """Left-multiply (N, 3, 3) rotations by the rotation block of a 4×4 transform."""
    T = as_array(transform, "transform", (4, 4))
    R = as_array(rotations, "rotations", (None, 3, 3))
    return np.asarray(np.einsum("ij,njk->nik", T[:3, :3], R))


def orthonormalize(rotations: ArrayLike) -> np.ndarray:
    """Nearest proper rotation (Frobenius norm) of each matrix, by SVD.

    Args:
        rotations: (..., 3, 3) matrices.

    Returns:
        (..., 3, 3) proper rotations (det +1).
    """
    m = as_array(rotations, "rotations")
    if m.shape[-2:] != (3, 3):
        raise ValueError(f"rotations: expected shape (..., 3, 3), got {m.shape}")
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    u[..., :, 2] *= d[..., None]
    return np.asarray(u @ vt)


def matrix_to_quaternion(rotations: ArrayLike) -> np.ndarray:
    """Convert (N, 3, 3) rotations to (N, 4) unit quaternions ``[w, x, y, z]`` with w ≥ 0.

    A single (3, 3) matrix gives a (4,) quaternion.
    """
    R = check_rotations(rotations, "rotations", atol=1e-3)
    xyzw = Rotation.from_matrix(R).as_quat()
    q = np.roll(xyzw, 1, axis=1)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q[0] if np.shape(rotations) == (3, 3) else q


def quaternion_to_matrix(quaternions: ArrayLike) -> np.ndarray:
    """Convert (N, 4) quaternions ``[w, x, y, z]`` (normalised here) to (N, 3, 3) rotations."""
    q = as_array(quaternions, "quaternions")
    single = q.shape == (4,)
    q = q.reshape(-1, 4)
    if np.any(np.linalg.norm(q, axis=1) == 0):
        raise ValueError("quaternions: zero quaternion; expected a non-zero [w, x, y, z]")
    R = Rotation.from_quat(np.roll(q, -1, axis=1)).as_matrix()
    return R[0] if single else R


def _axis_rotation(angle: float, axis: int) -> np.ndarray:
    c, s = float(np.cos(angle)), float(np.sin(angle))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R = np.eye(3)
    R[i, i], R[i, j], R[j, i], R[j, j] = c, -s, s, c
    return R


def rotation_x(angle: float) -> np.ndarray:
    """(3, 3) rotation about x by ``angle`` radians."""
    return _axis_rotation(angle, 0)


def rotation_y(angle: float) -> np.ndarray:
    """(3, 3) rotation about y by ``angle`` radians."""
    return _axis_rotation(angle, 1)


def rotation_z(angle: float) -> np.ndarray:
    """(3, 3) rotation about z by ``angle`` radians."""
    return _axis_rotation(angle, 2)
