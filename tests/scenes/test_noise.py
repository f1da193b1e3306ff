from __future__ import annotations

import numpy as np
import pytest

from grasplab.scenes import depth_gradient, gaussian_depth_noise, plgp_depth_noise, resample_depth


def _step_scene(h: int = 120, w: int = 160) -> np.ndarray:
    """A table at 0.7 m with a box (top at 0.6 m) in the middle and a hole (0) in a corner."""
    depth = np.full((h, w), 0.7, dtype=np.float32)
    depth[40:80, 60:110] = 0.6
    depth[:10, :10] = 0.0
    return depth


def test_gaussian_noise_statistics(rng: np.random.Generator) -> None:
    depth = _step_scene(240, 320)
    before = depth.copy()
    noisy = gaussian_depth_noise(depth, 0.003, rng)
    np.testing.assert_array_equal(depth, before)  # input untouched
    assert noisy.dtype == np.float32 and noisy.shape == depth.shape
    valid = depth > 0
    np.testing.assert_array_equal(noisy[~valid], 0.0)
    diff = (noisy - depth)[valid].astype(np.float64)
    assert diff.std() == pytest.approx(0.003, rel=0.03)
    assert abs(diff.mean()) < 1e-4


def test_gaussian_noise_zero_sigma_and_determinism() -> None:
    depth = _step_scene()
    np.testing.assert_array_equal(gaussian_depth_noise(depth, 0.0, 0), depth)
    np.testing.assert_array_equal(gaussian_depth_noise(depth, 0.01, 3), gaussian_depth_noise(depth, 0.01, 3))
    assert not np.array_equal(gaussian_depth_noise(depth, 0.01, 3), gaussian_depth_noise(depth, 0.01, 4))


def test_gaussian_noise_bad_input() -> None:
    with pytest.raises(ValueError, match="sigma"):
        gaussian_depth_noise(_step_scene(), -0.001, 0)
    with pytest.raises(ValueError, match="millimetres"):
        gaussian_depth_noise(_step_scene() * 1000, 0.001, 0)
    with pytest.raises(ValueError, match="no valid pixel"):
        gaussian_depth_noise(np.zeros((4, 4)), 0.001, 0)


def test_depth_gradient_known_answer() -> None:
    ramp = np.tile(np.arange(8, dtype=np.float64) * 0.01, (5, 1)) + 0.5  # +1 cm per column
    np.testing.assert_allclose(depth_gradient(ramp), 0.01)


def test_resample_linear_ramp_is_exact_inside() -> None:
    rows, cols = np.mgrid[0:64, 0:96]
    ramp = (0.5 + 0.001 * rows + 0.002 * cols).astype(np.float64)
    out = resample_depth(ramp, 4)
    assert out.shape == ramp.shape and out.dtype == np.float32
    # block means of a linear function sit at block centres, bilinear interpolation is exact
    np.testing.assert_allclose(out[2:-2, 2:-2], ramp[2:-2, 2:-2], atol=1e-6)
    np.testing.assert_array_equal(resample_depth(ramp, 1), ramp.astype(np.float32))


def test_resample_removes_fine_detail_and_keeps_holes() -> None:
    depth = np.full((40, 60), 0.6)
    depth[::2, ::2] += 0.002  # checkerboard-like fine texture, block mean 0.6005
    depth[0:4, 0:4] = 0.0
    out = resample_depth(depth, 2)
    np.testing.assert_allclose(out[6:-6, 6:-6], 0.6005, atol=1e-6)
    np.testing.assert_array_equal(out[0:4, 0:4], 0.0)
    with pytest.raises(ValueError, match="factor"):
        resample_depth(depth, 0)
    with pytest.raises(ValueError, match="factor"):
        resample_depth(depth, 1.5)  # type: ignore[arg-type]


def test_plgp_noise_is_identity_without_noise_terms() -> None:
    depth = _step_scene()
    out = plgp_depth_noise(depth, 0, sigma=0.0, downsample=1, dropout_scale=0.0)
    np.testing.assert_array_equal(out, depth)
    flat = np.full((30, 40), 0.5, dtype=np.float32)  # no gradient: nothing is dropped
    np.testing.assert_array_equal(plgp_depth_noise(flat, 0, sigma=0.0, downsample=1), flat)


def test_plgp_dropout_follows_the_gradient(rng: np.random.Generator) -> None:
    depth = _step_scene(240, 320)
    depth[120:, :] += np.linspace(0, 0.05, 320, dtype=np.float32)  # gentle slope, small gradient
    before = depth.copy()
    out = plgp_depth_noise(depth, rng, sigma=0.0, downsample=1)
    np.testing.assert_array_equal(depth, before)
    dropped = (out == 0) & (depth > 0)
    grad = depth_gradient(depth)
    edge = (grad > 0.5 * grad.max()) & (depth > 0)
    flat = grad == 0
    assert dropped[edge].mean() > 0.5  # f(grad) >= 0.5 there
    assert dropped[flat].sum() == 0  # f(0) = 0
    slope = (grad > 0) & (grad < 1e-3)
    assert 0 < slope.sum() and dropped[slope].mean() < 0.01
    # a fixed gradient scale: every pixel whose gradient exceeds it is dropped
    out_fixed = plgp_depth_noise(depth, rng, sigma=0.0, downsample=1, gradient_scale=0.01)
    assert np.all(out_fixed[grad >= 0.01] == 0)


def test_plgp_noise_full_pipeline(rng: np.random.Generator) -> None:
    depth = np.full((120, 160), 0.8, dtype=np.float32)
    out = plgp_depth_noise(depth, rng, sigma=0.004, downsample=2)
    interior = out[4:-4, 4:-4]
    assert np.all(interior > 0)
    # averaging 2x2 blocks then interpolating shrinks the i.i.d. noise well below sigma
    assert 0.0005 < float(np.std(interior - 0.8)) < 0.003
    np.testing.assert_array_equal(plgp_depth_noise(depth, 5), plgp_depth_noise(depth, 5))


def test_plgp_noise_bad_input() -> None:
    depth = _step_scene()
    with pytest.raises(ValueError, match="dropout_scale"):
        plgp_depth_noise(depth, 0, dropout_scale=-1.0)
    with pytest.raises(ValueError, match="gradient_scale"):
        plgp_depth_noise(depth, 0, gradient_scale=0.0)
    with pytest.raises(ValueError, match="factor"):
        plgp_depth_noise(depth, 0, downsample=0)
    with pytest.raises(ValueError, match="H, W"):
        plgp_depth_noise(np.ones((2, 3, 4)), 0)
