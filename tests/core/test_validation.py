import numpy as np
import pytest

from grasplab.core.validation import (
    as_array,
    as_rng,
    check_depth_image,
    check_nonnegative,
    check_positive_scalar,
    check_rotations,
    check_transform,
)


def test_as_array_shapes_and_copy() -> None:
    x = np.zeros((4, 3))
    out = as_array(x, "points", (None, 3))
    out[0, 0] = 1.0
    assert x[0, 0] == 0.0
    with pytest.raises(ValueError, match=r"points: expected shape \(N, 3\), got \(4, 2\)"):
        as_array(np.zeros((4, 2)), "points", (None, 3))
    with pytest.raises(ValueError, match="non-finite value at index"):
        as_array([[0.0, np.nan, 0.0]], "points", (None, 3))
    with pytest.raises(ValueError, match="cannot convert"):
        as_array("abc", "points")


def test_check_rotations() -> None:
    R = np.stack([np.eye(3), np.diag([1.0, -1.0, -1.0])])
    assert check_rotations(R).shape == (2, 3, 3)
    bad = R.copy()
    bad[1] = np.diag([1.0, 1.0, -1.0])
    with pytest.raises(ValueError, match=r"rotations\[1\] is not a rotation"):
        check_rotations(bad)
    with pytest.raises(ValueError, match="expected shape"):
        check_rotations(np.zeros((2, 3)))


def test_check_transform() -> None:
    check_transform(np.eye(4))
    T = np.eye(4)
    T[3, 0] = 1
    with pytest.raises(ValueError, match="last row"):
        check_transform(T)


def test_check_depth_image() -> None:
    depth = np.full((4, 5), 0.5)
    depth[0, 0] = np.nan
    depth[0, 1] = -1
    out = check_depth_image(depth)
    assert out.dtype == np.float32
    assert out[0, 0] == 0 and out[0, 1] == 0
    with pytest.raises(ValueError, match="millimetres"):
        check_depth_image(np.full((4, 5), 500.0))
    big = np.random.default_rng(0).uniform(400.0, 900.0, (480, 640))  # a frame in mm: sampled, refused
    big[:, :320] = 0.0
    with pytest.raises(ValueError, match="millimetres"):
        check_depth_image(big)
    assert check_depth_image(big / 1000.0).shape == (480, 640)
    with pytest.raises(ValueError, match="no valid pixel"):
        check_depth_image(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        check_depth_image(np.zeros(5))


def test_scalar_and_nonnegative() -> None:
    assert check_positive_scalar(2, "eta") == 2.0
    with pytest.raises(ValueError, match="eta"):
        check_positive_scalar(0, "eta")
    with pytest.raises(ValueError, match="index"):
        check_nonnegative([0.1, -0.2], "widths")


def test_as_rng_determinism() -> None:
    assert as_rng(3).random() == as_rng(3).random()
    g = np.random.default_rng(1)
    assert as_rng(g) is g
    with pytest.raises(ValueError, match="rng"):
        as_rng("seed")  # type: ignore[arg-type]
