import numpy as np
import pytest

from grasplab.core.rotations import (
    approach_views,
    invert_transform,
    make_transform,
    matrix_to_quaternion,
    orthonormalize,
    quaternion_to_matrix,
    rotation_angle,
    rotation_from_view,
    rotation_x,
    rotation_y,
    rotation_z,
    transform_points,
    transform_rotations,
)


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return quaternion_to_matrix(q)


def test_views_known_answers() -> None:
    views = approach_views(300)
    phi = (np.sqrt(5) - 1) / 2
    for i in (0, 1, 150, 299):
        z = (2 * i + 1) / 300 - 1
        expected = [np.sqrt(1 - z * z) * np.cos(2 * i * np.pi * phi),
                    np.sqrt(1 - z * z) * np.sin(2 * i * np.pi * phi), z]
        # the reference rounds the angle 2·i·π·φ (up to ~940 rad) to float32: ~3e-5 off float64
        np.testing.assert_allclose(views[i], expected, atol=1e-4)
    # exact float32 recipe of the reference for one index, scalar by scalar
    i32 = np.float32(150)
    z32 = (np.float32(2) * i32 + np.float32(1)) / np.float32(300) - np.float32(1)
    ang = np.float32(np.float32(np.float32(2) * i32) * np.float32(np.pi)) * np.float32(phi)
    x32 = np.sqrt(np.float32(1) - z32 * z32) * np.cos(ang)
    assert views[150, 0] == pytest.approx(float(x32), abs=1e-7)
    np.testing.assert_allclose(np.linalg.norm(views, axis=1), 1.0, atol=1e-6)
    # float32 values, as the reference stores them
    assert np.array_equal(views, views.astype(np.float32).astype(np.float64))


def test_views_bad_input() -> None:
    with pytest.raises(ValueError, match="num_views"):
        approach_views(0)


def test_rotation_from_view_reference_construction(rng: np.random.Generator) -> None:
    towards = rng.normal(size=(50, 3))
    angles = rng.uniform(0, np.pi, size=50)
    R = rotation_from_view(towards, angles)
    a = towards / np.linalg.norm(towards, axis=1, keepdims=True)
    np.testing.assert_allclose(R[:, :, 0], a, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    # angle 0: jaw axis is horizontal (z component 0), as the reference's b = [-a_y, a_x, 0]
    R0 = rotation_from_view(towards, np.zeros(50))
    np.testing.assert_allclose(R0[:, 2, 1], 0.0, atol=1e-12)
    # the in-plane angle rotates the jaw axis about the approach by exactly that angle
    cos = np.einsum("ni,ni->n", R0[:, :, 1], R[:, :, 1])
    np.testing.assert_allclose(cos, np.cos(angles), atol=1e-12)


def test_rotation_from_view_vertical_and_zero() -> None:
    R = rotation_from_view([[0.0, 0.0, 1.0]], [0.0])
    np.testing.assert_allclose(R[0][:, 1], [0, 1, 0], atol=1e-12)
    with pytest.raises(ValueError, match="zero vector"):
        rotation_from_view([[0.0, 0.0, 0.0]], [0.0])


def test_rotation_angle_known(rng: np.random.Generator) -> None:
    angles = np.array([0.0, 0.1, np.pi / 6, np.pi / 2, np.pi - 1e-6])
    R1 = _random_rotations(rng, len(angles))
    R2 = np.stack([r @ rotation_z(a) for r, a in zip(R1, angles, strict=True)])
    np.testing.assert_allclose(rotation_angle(R1, R2), angles, atol=1e-6)


def test_transform_round_trip(rng: np.random.Generator) -> None:
    R = _random_rotations(rng, 1)[0]
    T = make_transform(R, rng.normal(size=3))
    pts = rng.normal(size=(20, 3))
    back = transform_points(invert_transform(T), transform_points(T, pts))
    np.testing.assert_allclose(back, pts, atol=1e-12)
    np.testing.assert_allclose(invert_transform(T) @ T, np.eye(4), atol=1e-12)
    rots = _random_rotations(rng, 4)
    np.testing.assert_allclose(transform_rotations(T, rots), R @ rots, atol=1e-12)


def test_transform_does_not_mutate(rng: np.random.Generator) -> None:
    pts = rng.normal(size=(5, 3))
    keep = pts.copy()
    transform_points(make_transform(np.eye(3), [1, 2, 3]), pts)
    assert np.array_equal(pts, keep)


def test_invert_rejects_non_rigid() -> None:
    T = np.eye(4)
    T[0, 0] = 2.0
    with pytest.raises(ValueError, match="not a rotation"):
        invert_transform(T)


def test_orthonormalize(rng: np.random.Generator) -> None:
    R = _random_rotations(rng, 10)
    noisy = R + rng.normal(scale=1e-3, size=R.shape)
    fixed = orthonormalize(noisy)
    gram = np.einsum("nij,nkj->nik", fixed, fixed)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(3), gram.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(fixed), 1.0, atol=1e-12)
    assert np.abs(fixed - R).max() < 5e-3
    # a reflection is mapped to a proper rotation
    assert np.linalg.det(orthonormalize(np.diag([1.0, 1.0, -1.0]))) == pytest.approx(1.0)


def test_quaternion_round_trip(rng: np.random.Generator) -> None:
    R = _random_rotations(rng, 200)
    R = np.concatenate([R, np.stack([rotation_x(np.pi), rotation_y(np.pi), rotation_z(np.pi)])])
    q = matrix_to_quaternion(R)
    assert np.all(q[:, 0] >= 0)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(q), R, atol=1e-9)
    np.testing.assert_allclose(matrix_to_quaternion(np.eye(3)), [1, 0, 0, 0], atol=1e-12)


def test_axis_rotations_known() -> None:
    np.testing.assert_allclose(rotation_z(np.pi / 2) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(rotation_x(np.pi / 2) @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(rotation_y(np.pi / 2) @ [0, 0, 1], [1, 0, 0], atol=1e-12)
