"""Plausibility checks with known answers (issue 13, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from grasplab.core.plausibility import (
    Findings,
    check_depth,
    check_grasps,
    check_intrinsics,
    check_points,
    check_rgb,
    depth_findings,
    grasp_findings,
    intrinsics_findings,
    point_findings,
    rgb_findings,
)


def _grasps(num: int = 4) -> np.ndarray:
    """Valid grasps 0.6 m in front of the camera, 5 cm wide (graspnetAPI layout)."""
    g = np.zeros((num, 17))
    g[:, 0] = 0.9
    g[:, 1:4] = 0.05, 0.02, 0.02
    g[:, 4:13] = np.eye(3).ravel()
    g[:, 13:16] = np.linspace([0.0, 0.0, 0.6], [0.1, 0.05, 0.7], num)
    return g


def test_valid_grasps_have_no_findings() -> None:
    g = _grasps()
    assert grasp_findings(g) == Findings()
    assert check_grasps(g) == []
    assert grasp_findings(np.zeros((0, 17))) == Findings()


def test_millimetre_translations_are_an_error() -> None:
    g = _grasps()
    g[:, 13:16] *= 1000.0
    found = grasp_findings(g)
    assert len(found.errors) == 1 and "millimetres" in found.errors[0]
    with pytest.raises(ValueError, match="dump: translations look like millimetres"):
        check_grasps(g, "dump")


def test_far_translations_are_a_warning() -> None:
    g = _grasps()
    g[:, 13:16] *= 10.0  # about 6-7 m away
    found = grasp_findings(g)
    assert found.errors == () and len(found.warnings) == 1 and "far away" in found.warnings[0]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (1, 5.0, "width above 0.2 m"),
        (1, 0.0, "zero width"),
        (2, 0.5, "height above 0.1 m"),
        (2, 0.0, "zero height"),
        (3, -0.01, "depth outside"),
        (3, 0.3, "depth outside"),
    ],
)
def test_implausible_sizes_are_warnings_naming_the_rows(
    column: int, value: float, expected: str
) -> None:
    g = _grasps()
    g[[1, 3], column] = value
    found = grasp_findings(g)
    assert found.errors == ()
    assert found.warnings == (f"{expected}{found.warnings[0][len(expected):]}",)
    assert "2 row(s) (rows 1, 3)" in found.warnings[0]
    assert check_grasps(g) == list(found.warnings)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [(1, -0.05, "negative width"), (2, -0.01, "negative height"), (5, 0.7, "rotation")],
)
def test_invalid_values_are_errors(column: int, value: float, expected: str) -> None:
    g = _grasps()
    g[2, column] = value
    found = grasp_findings(g)
    assert len(found.errors) == 1 and found.errors[0].startswith(expected)
    assert "(rows 2)" in found.errors[0]
    with pytest.raises(ValueError, match=expected):
        check_grasps(g)


def test_nan_rows_are_an_error_and_do_not_hide_the_others() -> None:
    g = _grasps()
    g[0, 13] = np.nan
    g[1, 1] = 0.5
    found = grasp_findings(g)
    assert found.errors == ("non-finite values (NaN/inf) in 1 row(s) (rows 0)",)
    assert found.warnings == ("width above 0.2 m in 1 row(s) (rows 1)",)


def test_grasp_array_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"\(N, 17\)"):
        grasp_findings(np.zeros((3, 16)))


def test_input_is_not_modified() -> None:
    g = _grasps()
    g[0, 13] = np.nan
    before = g.copy()
    grasp_findings(g)
    np.testing.assert_array_equal(g, before)


def test_points() -> None:
    rng = np.random.default_rng(0)
    cloud = rng.uniform([-0.2, -0.2, 0.5], [0.2, 0.2, 0.9], size=(100, 3))
    assert point_findings(cloud) == Findings()
    with pytest.raises(ValueError, match="cloud: points look like millimetres"):
        check_points(cloud * 1000.0, "cloud")
    with_nan = cloud.copy()
    with_nan[:10] = np.nan
    assert check_points(with_nan) == ["10 of 100 points are not finite"]
    assert point_findings(np.full((3, 3), np.nan)).errors == ("no finite point among 3",)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        point_findings(np.zeros((4, 2)))


def test_intrinsics() -> None:
    assert check_intrinsics(615.0, 615.0, 319.5, 239.5, 640, 480) == []
    with pytest.raises(ValueError, match=r"fx = 1e\+12 px is impossible"):
        check_intrinsics(1e12, 615.0, 319.5, 239.5, 640, 480)
    # a focal length in metres (1.93 mm lens) is impossible too
    assert len(intrinsics_findings(0.00193, 0.00193, 320.0, 240.0, 640, 480).errors) == 2
    unusual = intrinsics_findings(20.0, 20.0, 319.5, 239.5, 640, 480)
    assert unusual.errors == () and len(unusual.warnings) == 2
    assert intrinsics_findings(600.0, 200.0, 319.5, 239.5, 640, 480).warnings == (
        "fx / fy = 3 is unusual (square pixels give 1)",
    )
    outside = intrinsics_findings(600.0, 600.0, 700.0, 240.0, 640, 480)
    assert outside.errors == ("cx = 700 px lies outside the image (0-639)",)
    off_centre = intrinsics_findings(600.0, 600.0, 10.0, 240.0, 640, 480)
    assert off_centre.errors == () and "far from the image centre" in off_centre.warnings[0]
    assert "must be positive" in intrinsics_findings(-1.0, 600.0, 1.0, 1.0, 4, 4).errors[0]
    assert "must be positive" in intrinsics_findings(np.nan, 600.0, 1.0, 1.0, 4, 4).errors[0]


def test_depth() -> None:
    depth = np.full((8, 8), 0.7, dtype=np.float32)
    depth[0, 0] = 0.0  # invalid pixels are allowed
    assert check_depth(depth) == []
    with pytest.raises(ValueError, match="depths look like millimetres"):
        check_depth(depth * 1000.0)
    with pytest.raises(ValueError, match="integer depth"):
        check_depth((depth * 1000).astype(np.uint16))
    assert depth_findings(np.zeros((4, 4), np.float32)).errors[0].startswith("no valid pixel")
    assert depth_findings(np.zeros((4, 4, 3), np.float32)).errors[0].startswith("expected a (H, W)")
    sparse = np.zeros((10, 10), np.float32)
    sparse[0, :5] = 0.8
    assert depth_findings(sparse).warnings == ("only 5.0 % of the pixels hold a valid depth",)


def test_rgb() -> None:
    assert check_rgb(np.zeros((4, 4, 3), np.uint8)) == []
    assert rgb_findings(np.zeros((4, 4, 4), np.uint8)) == Findings()
    assert rgb_findings(np.full((4, 4, 3), 0.5, np.float32)) == Findings()
    with pytest.raises(ValueError, match="a depth image"):
        check_rgb(np.zeros((4, 4), np.uint16))
    with pytest.raises(ValueError, match="16-bit depth PNG"):
        check_rgb(np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_rgb(np.full((4, 4, 3), 255.0, np.float32))
