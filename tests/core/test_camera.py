"""Tests of grasplab.core.camera: intrinsics, back-projection and the parallel projection."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from grasplab.core.camera import (
    KINECT,
    REALSENSE,
    CameraIntrinsics,
    depth_to_points,
    intrinsics_preset,
    parallel_project,
    parallel_unproject,
    project_points,
    rasterize_parallel_depth,
)

SMALL = CameraIntrinsics(100.0, 110.0, 31.5, 23.5, 64, 48)


# ---------------------------------------------------------------- intrinsics


def test_presets_are_the_reference_values() -> None:
    assert (REALSENSE.fx, REALSENSE.fy, REALSENSE.cx, REALSENSE.cy) == (
        927.17, 927.37, 651.32, 349.62)
    assert (KINECT.fx, KINECT.fy, KINECT.cx, KINECT.cy) == (631.55, 631.21, 638.43, 366.50)
    assert (REALSENSE.width, REALSENSE.height) == (KINECT.width, KINECT.height) == (1280, 720)
    assert intrinsics_preset("realsense") is REALSENSE
    assert intrinsics_preset(" KINECT ") is KINECT
    with pytest.raises(ValueError, match="unknown camera preset"):
        intrinsics_preset("zed")


def test_matrix_round_trip() -> None:
    k = REALSENSE.matrix
    np.testing.assert_array_equal(k, [[927.17, 0, 651.32], [0, 927.37, 349.62], [0, 0, 1]])
    assert CameraIntrinsics.from_matrix(k, 1280, 720) == REALSENSE
    k[0, 0] = 1.0  # a new array each time: the intrinsics are not changed
    assert REALSENSE.matrix[0, 0] == 927.17


def test_from_matrix_rejects_bad_matrices() -> None:
    with pytest.raises(ValueError, match="skew"):
        CameraIntrinsics.from_matrix([[500, 3, 320], [0, 500, 240], [0, 0, 1]], 640, 480)
    with pytest.raises(ValueError, match="last row"):
        CameraIntrinsics.from_matrix([[500, 0, 320], [0, 500, 240], [0, 0, 2]], 640, 480)
    with pytest.raises(ValueError, match="K"):
        CameraIntrinsics.from_matrix(np.eye(4), 640, 480)


def test_from_fov_known_answer() -> None:
    cam = CameraIntrinsics.from_fov(90.0, 640, 480)
    assert cam.fy == pytest.approx(240.0) and cam.fx == cam.fy
    assert (cam.cx, cam.cy) == (319.5, 239.5)
    assert cam.fov_y_deg == pytest.approx(90.0)
    assert CameraIntrinsics.from_fov(58.0, 320, 240).fov_y_deg == pytest.approx(58.0)
    for fov in (0.0, 180.0, -10.0, float("nan")):
        with pytest.raises(ValueError, match="fov_y_deg"):
            CameraIntrinsics.from_fov(fov, 640, 480)


def test_scaled_keeps_pixel_centres() -> None:
    half = SMALL.scaled(0.5)
    assert (half.width, half.height) == (32, 24)
    assert (half.fx, half.fy, half.cx, half.cy) == (50.0, 55.0, 15.5, 11.5)
    assert half.scaled(2.0) == SMALL
    # A point projects to (u + 0.5) f - 0.5 in the resized image.
    point = np.array([[0.01, -0.02, 0.4]])
    uv, _ = project_points(point, SMALL)
    uv_half, _ = project_points(point, half)
    np.testing.assert_allclose(uv_half, (uv + 0.5) * 0.5 - 0.5)
    with pytest.raises(ValueError, match="factor"):
        SMALL.scaled(0.0)
    with pytest.raises(ValueError, match="factor"):
        SMALL.scaled(1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fx": 0.0}, "fx"),
        ({"fy": -5.0}, "fy"),
        ({"fx": float("nan")}, "fx"),
        ({"cx": 64.0}, "cx"),
        ({"cy": -1.0}, "cy"),
        ({"cx": "centre"}, "cx"),
        ({"width": 0}, "width"),
        ({"height": 47.5}, "height"),
        ({"width": True}, "width"),
    ],
)
def test_intrinsics_validation(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(SMALL, **kwargs)


def test_intrinsics_frozen_and_normalised() -> None:
    cam = CameraIntrinsics(np.float32(100), 100, 10, 10, np.int64(20), 20.0)  # type: ignore[arg-type]
    assert isinstance(cam.fx, float) and isinstance(cam.width, int) and cam.height == 20
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.fx = 1.0  # type: ignore[misc]


# ---------------------------------------------------------------- pinhole


def test_plane_gives_constant_depth_and_round_trips() -> None:
    depth = np.full((SMALL.height, SMALL.width), 0.5, dtype=np.float32)
    points, pixels = depth_to_points(depth, SMALL)
    assert points.shape == (64 * 48, 3) and pixels.shape == (64 * 48, 2)
    assert points.dtype == np.float64 and pixels.dtype == np.int64
    np.testing.assert_array_equal(points[:, 2], 0.5)
    # Row-major order, (u, v) = (column, row).
    np.testing.assert_array_equal(pixels[:3], [[0, 0], [1, 0], [2, 0]])
    np.testing.assert_array_equal(pixels[64], [0, 1])
    uv, z = project_points(points, SMALL)
    np.testing.assert_allclose(uv, pixels, atol=1e-9)
    np.testing.assert_array_equal(z, 0.5)


def test_back_projection_known_answer() -> None:
    depth = np.zeros((SMALL.height, SMALL.width), dtype=np.float32)
    depth[10, 41] = 2.0  # u = 41, v = 10
    points, pixels = depth_to_points(depth, SMALL)
    np.testing.assert_array_equal(pixels, [[41, 10]])
    np.testing.assert_allclose(points, [[(41 - 31.5) / 100 * 2, (10 - 23.5) / 110 * 2, 2.0]])


def test_optical_axis_projects_to_principal_point() -> None:
    uv, z = project_points([[0.0, 0.0, 0.7], [0.0, 0.0, 3.0]], REALSENSE)
    np.testing.assert_allclose(uv, [[651.32, 349.62]] * 2)
    np.testing.assert_array_equal(z, [0.7, 3.0])
    uv, _ = project_points([[0.1, -0.05, 0.5]], KINECT)
    np.testing.assert_allclose(uv, [[631.55 * 0.2 + 638.43, -631.21 * 0.1 + 366.5]])


def test_points_behind_the_camera_get_nan_pixels() -> None:
    uv, z = project_points([[0.1, 0.1, 0.0], [0.1, 0.1, -1.0], [0.0, 0.0, 1.0]], SMALL)
    assert np.isnan(uv[:2]).all() and np.isfinite(uv[2]).all()
    np.testing.assert_array_equal(z, [0.0, -1.0, 1.0])


def test_invalid_depth_and_mask_are_dropped(rng: np.random.Generator) -> None:
    depth = rng.uniform(0.3, 1.2, (SMALL.height, SMALL.width)).astype(np.float32)
    depth[0, 0], depth[1, 1], depth[2, 2], depth[3, 3] = 0.0, np.nan, np.inf, -0.5
    points, pixels = depth_to_points(depth, SMALL)
    assert len(points) == 64 * 48 - 4
    assert not np.any((pixels[:, 0] == pixels[:, 1]) & (pixels[:, 0] < 4))
    mask = np.zeros(depth.shape, dtype=bool)
    mask[5:10, 20:30] = True
    mask[0, 0] = True  # masked in but invalid
    points, pixels = depth_to_points(depth, SMALL, mask=mask)
    assert len(points) == 50
    np.testing.assert_allclose(points[:, 2], depth[pixels[:, 1], pixels[:, 0]])
    before = depth.copy()
    depth_to_points(depth, SMALL, mask=mask)
    np.testing.assert_array_equal(np.isnan(depth), np.isnan(before))  # input untouched


def test_depth_to_points_bad_inputs() -> None:
    depth = np.full((SMALL.height, SMALL.width), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="millimetres"):
        depth_to_points(depth * 1000, SMALL)
    with pytest.raises(ValueError, match="shape"):
        depth_to_points(depth[:-1], SMALL)
    with pytest.raises(ValueError, match="mask"):
        depth_to_points(depth, SMALL, mask=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="no valid pixel"):
        depth_to_points(np.zeros_like(depth), SMALL)
    with pytest.raises(ValueError, match="points"):
        project_points(np.zeros((3, 2)), SMALL)


def test_depth_to_points_deterministic(rng: np.random.Generator) -> None:
    depth = rng.uniform(0.3, 1.2, (SMALL.height, SMALL.width)).astype(np.float32)
    a, pa = depth_to_points(depth, SMALL)
    b, pb = depth_to_points(depth, SMALL)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pa, pb)


# ---------------------------------------------------------------- parallel projection


def test_parallel_projection_known_answers() -> None:
    cr = parallel_project([[0.0, 0.0, 0.4], [0.01, -0.002, 0.9]], 5000.0, 640, 480)
    np.testing.assert_allclose(cr, [[319.5, 239.5], [369.5, 229.5]])
    # Independent of depth: parallel rays.
    np.testing.assert_array_equal(parallel_project([[0.01, 0.02, 0.1]], 5000.0, 64, 48),
                                  parallel_project([[0.01, 0.02, 5.0]], 5000.0, 64, 48))


def test_parallel_round_trip(rng: np.random.Generator) -> None:
    points = rng.uniform([-0.05, -0.04, 0.3], [0.05, 0.04, 0.9], (200, 3))
    cr = parallel_project(points, 5000.0, 640, 480)
    np.testing.assert_allclose(parallel_unproject(cr, points[:, 2], 5000.0, 640, 480), points,
                               atol=1e-15)
    pixels = rng.uniform(0, 480, (50, 2))
    back = parallel_project(parallel_unproject(pixels, np.ones(50), 2500.0, 640, 480),
                            2500.0, 640, 480)
    np.testing.assert_allclose(back, pixels, atol=1e-9)


def test_rasterize_plane_is_constant() -> None:
    width, height, eta = 64, 48, 1000.0
    rows, cols = np.mgrid[0:height, 0:width]
    pix = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(float)
    plane = parallel_unproject(pix, np.full(len(pix), 0.5), eta, width, height)
    image = rasterize_parallel_depth(plane, eta, width, height)
    assert image.shape == (height, width) and image.dtype == np.float32
    np.testing.assert_array_equal(image, np.float32(0.5))


def test_rasterize_keeps_nearest_and_drops_outside() -> None:
    eta, width, height = 1000.0, 8, 6
    centre = parallel_unproject([[2.0, 3.0]], [0.0], eta, width, height)[0, :2]
    points = np.array([
        [*centre, 0.3], [*centre + 0.0004, 0.2], [*centre - 0.0004, 0.25],  # same pixel
        [1.0, 0.0, 0.5],  # far outside the image
        [*(centre + 0.001), -0.2],  # behind the image plane
        [*(centre + 0.001), 0.0],  # on it (0 means invalid)
    ])
    image = rasterize_parallel_depth(points, eta, width, height)
    expected = np.zeros((height, width), dtype=np.float32)
    expected[3, 2] = 0.2
    np.testing.assert_array_equal(image, expected)


def test_rasterize_matches_a_loop_and_unprojects_close(rng: np.random.Generator) -> None:
    eta, width, height = 2000.0, 40, 30
    points = rng.uniform([-0.012, -0.009, 0.2], [0.012, 0.009, 0.8], (3000, 3))
    image = rasterize_parallel_depth(points, eta, width, height)
    expected = np.zeros((height, width), dtype=np.float32)
    cr = parallel_project(points, eta, width, height)
    for (c, r), z in zip(np.floor(cr + 0.5).astype(int), points[:, 2], strict=True):
        if 0 <= c < width and 0 <= r < height and (expected[r, c] == 0 or z < expected[r, c]):
            expected[r, c] = z
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(rasterize_parallel_depth(points, eta, width, height), image)
    # Every filled pixel unprojects to within half a pixel of some point at that depth.
    rows, cols = np.nonzero(image)
    back = parallel_unproject(np.stack([cols, rows], 1), image[rows, cols], eta, width, height)
    nearest = np.abs(back[:, None, :2] - points[None, :, :2]).max(-1) <= 0.5 / eta + 1e-12
    same_z = np.isclose(back[:, None, 2], points[None, :, 2], atol=1e-6)
    assert np.all(np.any(nearest & same_z, axis=1))


def test_parallel_bad_inputs() -> None:
    with pytest.raises(ValueError, match="eta"):
        parallel_project(np.zeros((1, 3)), 0.0, 64, 48)
    with pytest.raises(ValueError, match="width"):
        parallel_project(np.zeros((1, 3)), 5000.0, 0, 48)
    with pytest.raises(ValueError, match="z"):
        parallel_unproject(np.zeros((3, 2)), np.zeros(2), 5000.0, 64, 48)
    with pytest.raises(ValueError, match="uv"):
        parallel_unproject(np.zeros((3, 3)), np.zeros(3), 5000.0, 64, 48)
    with pytest.raises(ValueError, match="points"):
        rasterize_parallel_depth(np.array([[0.0, np.nan, 1.0]]), 5000.0, 64, 48)
    assert not rasterize_parallel_depth(np.zeros((0, 3)), 5000.0, 64, 48).any()
