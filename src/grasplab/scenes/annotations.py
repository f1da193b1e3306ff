"""Annotation XML of the GraspNet-1Billion layout and the reference's pose precision.

``scenes/scene_%04d/<camera>/annotations/%04d.xml`` lists the objects of a frame with their
poses in that frame's camera (``T_cam_obj``): positions in metres and quaternions ``w x y z``,
written as 4-decimal text. graspnetAPI turns them into matrices through sxyz Euler angles in
degrees and a float32 4x4; :func:`reference_pose_matrices` reproduces that path bit for bit
(transforms3d's ``quat2euler`` / ``euler2mat``, rewritten here for whole batches).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

__all__ = [
    "euler_sxyz_to_matrix",
    "quaternion_to_euler_sxyz",
    "read_annotation_xml",
    "reference_pose_matrices",
]

_EPS4 = float(np.finfo(np.float64).eps) * 4.0
_FLOAT_EPS = float(np.finfo(np.float64).eps)


def quaternion_to_euler_sxyz(quaternions: np.ndarray) -> np.ndarray:
    """Static-frame xyz Euler angles of quaternions, as transforms3d ``quat2euler(q, 'sxyz')``.

    The quaternions need not be unit length (the 4-decimal XML text is not): like transforms3d,
    the rotation matrix is built with ``s = 2 / |q|^2``.

    Args:
        quaternions: (N, 4) quaternions ``w, x, y, z``.

    Returns:
        (N, 3) float64 angles ``(ax, ay, az)`` in radians with ``R = Rz(az) Ry(ay) Rx(ax)``.

    Example:
        >>> (np.round(quaternion_to_euler_sxyz(np.array([[0.7071, 0.0, 0.0, 0.7071]])), 6) + 0.0).tolist()
        [[0.0, 0.0, 1.570796]]
    """
    q = np.asarray(quaternions, dtype=np.float64).reshape(-1, 4)
    nq = np.sum(q * q, axis=1)
    degenerate = nq < _FLOAT_EPS  # transforms3d returns the identity for these
    q = np.where(degenerate[:, None], np.array([1.0, 0.0, 0.0, 0.0]), q)
    w, x, y, z = q.T
    s = 2.0 / np.where(degenerate, 1.0, nq)
    xs, ys, zs = x * s, y * s, z * s
    m00, m10, m20 = 1.0 - (y * ys + z * zs), x * ys + w * zs, x * zs - w * ys
    m11, m21, m12, m22 = 1.0 - (x * xs + z * zs), y * zs + w * xs, y * zs - w * xs, 1.0 - (x * xs + y * ys)
    cy = np.sqrt(m00 * m00 + m10 * m10)
    regular = cy > _EPS4
    ax = np.where(regular, np.arctan2(m21, m22), np.arctan2(-m12, m11))
    ay = np.arctan2(-m20, cy)
    az = np.where(regular, np.arctan2(m10, m00), 0.0)
    return np.stack([ax, ay, az], axis=1)


def euler_sxyz_to_matrix(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices of static-frame xyz Euler angles, as transforms3d ``euler2mat(..., 'sxyz')``.

    Args:
        angles: (N, 3) angles ``(ax, ay, az)`` in radians.

    Returns:
        (N, 3, 3) float64 rotations ``Rz(az) @ Ry(ay) @ Rx(ax)``.

    Example:
        >>> np.allclose(euler_sxyz_to_matrix(np.zeros((1, 3))), np.eye(3))
        True
    """
    a = np.asarray(angles, dtype=np.float64).reshape(-1, 3)
    si, sj, sk = np.sin(a[:, 0]), np.sin(a[:, 1]), np.sin(a[:, 2])
    ci, cj, ck = np.cos(a[:, 0]), np.cos(a[:, 1]), np.cos(a[:, 2])
    cc, cs, sc, ss = ci * ck, ci * sk, si * ck, si * sk
    rows = [
        [cj * ck, sj * sc - cs, sj * cc + ss],
        [cj * sk, sj * ss + cc, sj * cs - sc],
        [-sj, cj * si, cj * ci],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=1)


def reference_pose_matrices(positions: np.ndarray, quaternions: np.ndarray) -> np.ndarray:
    """Poses exactly as graspnetAPI builds them from annotation XML values.

    The path is ``quat2euler`` (sxyz) → degrees (``* 180/pi``) → radians (``/ 180 * pi``) →
    ``euler2mat`` → a float32 4x4 with the translation (``parse_posevector``).

    Args:
        positions: (N, 3) translations in metres, as parsed from the XML text.
        quaternions: (N, 4) ``w, x, y, z`` as parsed from the XML text.

    Returns:
        (N, 4, 4) float32 poses.
    """
    degrees = quaternion_to_euler_sxyz(quaternions) * (180.0 / np.pi)
    rotations = euler_sxyz_to_matrix(degrees / 180.0 * np.pi)
    poses = np.zeros((len(rotations), 4, 4), dtype=np.float32)
    poses[:, :3, :3] = rotations
    poses[:, :3, 3] = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    poses[:, 3, 3] = 1.0
    return poses


def _floats(text: str | None, count: int, path: Path, what: str) -> list[float]:
    values = (text or "").split()
    if len(values) != count:
        raise ValueError(f"{path}: {what} has {len(values)} values, expected {count}")
    try:
        return [float(v) for v in values]
    except ValueError as exc:
        raise ValueError(f"{path}: {what} is not numeric: {text!r}") from exc


def read_annotation_xml(path: Path) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Parse an annotation XML by position, as the reference ``xmlReader`` does.

    Each child of the root is one object whose children are, in order: ``obj_id``, ``obj_name``,
    ``obj_path``, ``pos_in_world`` (x y z) and ``ori_in_world`` (quaternion w x y z).

    Args:
        path: the ``annotations/%04d.xml`` file.

    Returns:
        Object ids, (K, 3) float64 positions and (K, 4) float64 quaternions (wxyz).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a well-formed annotation.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"could not parse annotation XML {path}: {exc}") from exc
    ids: list[int] = []
    positions: list[list[float]] = []
    quaternions: list[list[float]] = []
    for index, obj in enumerate(root):
        if len(obj) < 5:
            raise ValueError(f"{path}: object #{index} has {len(obj)} fields, expected 5")
        try:
            ids.append(int((obj[0].text or "").strip()))
        except ValueError as exc:
            raise ValueError(f"{path}: object #{index} has a bad obj_id {obj[0].text!r}") from exc
        positions.append(_floats(obj[3].text, 3, path, f"object #{index} pos_in_world"))
        quaternions.append(_floats(obj[4].text, 4, path, f"object #{index} ori_in_world"))
    return ids, np.array(positions).reshape(-1, 3), np.array(quaternions).reshape(-1, 4)
