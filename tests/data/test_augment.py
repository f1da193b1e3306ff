"""Label enhancement, crops / rotations / flips moving labels with the image, input normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from grasplab.data.augment import (
    AugmentConfig,
    CropTransform,
    PixelLabelMaps,
    center_crop,
    enhance_labels,
    input_channels,
    normalize_input,
    sample_crop,
    warp_bilinear,
    warp_labels,
    warp_nearest,
)

K = 18


def _single_label(h: int, w: int, v: int, u: int, k: int, width: float = 0.5) -> PixelLabelMaps:
    aq = np.zeros((K, h, w), np.float32)
    aq[k, v, u] = 1.0
    return PixelLabelMaps(aq.max(axis=0), aq, aq * np.float32(width), aq * np.float32(0.01))


def _bar_image(size: int, theta: float, half_length: int = 12) -> np.ndarray:
    """A depth image with a thin bar through the centre along the jaw direction (cos t, -sin t)."""
    img = np.zeros((size, size), np.float32)
    c = (size - 1) / 2.0
    s = np.linspace(-half_length, half_length, 200)
    img[np.rint(c - s * np.sin(theta)).astype(int), np.rint(c + s * np.cos(theta)).astype(int)] = 1.0
    return img


def _bar_angle(img: np.ndarray) -> float:
    """Jaw-convention angle in [0, pi) of the main axis of the nonzero pixels."""
    v, u = np.nonzero(img)
    pts = np.stack([u - u.mean(), v - v.mean()], axis=1)
    du, dv = np.linalg.eigh(pts.T @ pts)[1][:, -1]
    return float(np.mod(np.arctan2(-dv, du), np.pi))


# ----------------------------------------------------------------------------- enhancement
def test_enhance_copies_a_grasp_to_its_eight_neighbours() -> None:
    labels = _single_label(9, 9, 4, 4, k=5, width=0.5)
    out = enhance_labels(labels)
    expected = np.zeros((9, 9), np.float32)
    expected[3:6, 3:6] = 0.9
    expected[4, 4] = 1.0
    np.testing.assert_allclose(out.quality, expected)
    np.testing.assert_allclose(out.angle_quality[5], expected)
    assert out.angle_quality[np.arange(K) != 5].max() == 0.0
    np.testing.assert_allclose(out.width[5], (expected > 0) * 0.5, atol=1e-7)
    assert out.depth is not None
    np.testing.assert_allclose(out.depth[5], (expected > 0) * 0.01, atol=1e-7)
    # inputs untouched
    assert labels.angle_quality.sum() == 1.0


def test_enhance_averages_widths_and_keeps_labels() -> None:
    aq = np.zeros((K, 5, 6), np.float32)
    aq[0, 2, 1] = aq[0, 2, 3] = 1.0
    width = np.zeros_like(aq)
    width[0, 2, 1], width[0, 2, 3] = 0.2, 0.6
    out = enhance_labels(PixelLabelMaps(aq.max(axis=0), aq, width))
    assert out.width[0, 2, 2] == pytest.approx(0.4)  # shared neighbour: mean of both sources
    assert out.width[0, 2, 1] == pytest.approx(0.2) and out.angle_quality[0, 2, 1] == 1.0
    assert out.width[0, 1, 0] == pytest.approx(0.2) and out.width[0, 1, 4] == pytest.approx(0.6)
    assert out.angle_quality[0, 2, 5] == 0.0  # two columns away from any label
    assert out.depth is None


def test_enhance_rejects_bad_value() -> None:
    with pytest.raises(ValueError, match="enhancement value"):
        enhance_labels(_single_label(3, 3, 1, 1, 0), value=1.5)


def test_label_maps_check_shapes() -> None:
    with pytest.raises(ValueError, match="pixel labels"):
        PixelLabelMaps(np.zeros((4, 4)), np.zeros((K, 4, 5)), np.zeros((K, 4, 5)))


# ----------------------------------------------------------------------------- geometry
def test_rotation_by_30_degrees_moves_position_and_angle_bin() -> None:
    size, k_in = 41, 2
    labels = _single_label(size, size, 20, 30, k_in)  # 10 px right of the centre
    crop = CropTransform((20.0, 20.0), np.deg2rad(30.0), 3, False, size)
    out = warp_labels(labels, crop)
    k, v, u = np.argwhere(out.angle_quality > 0)[0]
    assert k == k_in + 3  # 20 deg + 30 deg = 50 deg = bin 5
    # counter-clockwise on screen: (10, 0) -> (10 cos 30, -10 sin 30)
    assert abs(u - (20 + 10 * np.cos(np.pi / 6))) <= 1 and abs(v - (20 - 10 * np.sin(np.pi / 6))) <= 1
    assert out.width[k, v, u] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("k_in", "shift", "flip"), [(2, 3, False), (2, 0, True), (7, -3, True), (16, 3, False)]
)
def test_image_and_angle_labels_move_together(k_in: int, shift: int, flip: bool) -> None:
    size = 41
    theta = k_in * np.pi / K
    labels = _single_label(size, size, 20, 20, k_in)
    crop = CropTransform((20.0, 20.0), shift * np.pi / K, shift, flip, size)
    k_out = int(np.argwhere(warp_labels(labels, crop).angle_quality[:, 20, 20] > 0)[0, 0])
    expected = np.mod(-(k_in + shift) if flip else k_in + shift, K)
    assert k_out == expected
    image_angle = _bar_angle(warp_nearest(_bar_image(size, theta), crop))
    diff = np.mod(image_angle - k_out * np.pi / K + np.pi / 2, np.pi) - np.pi / 2
    assert abs(diff) < np.deg2rad(3.0)


def test_flip_maps_theta_to_pi_minus_theta() -> None:
    labels = _single_label(11, 11, 5, 2, k=2)
    out = warp_labels(labels, CropTransform((5.0, 5.0), 0.0, 0, True, 11))
    assert out.angle_quality[16, 5, 8] == 1.0  # u -> 10 - u, bin 2 -> 18 - 2
    assert out.angle_quality.sum() == 1.0


def test_sample_crop_ranges_and_determinism() -> None:
    cfg = AugmentConfig(crop_size=64, max_translation=30, max_rotation_deg=30.0)
    crops = [sample_crop((100, 120), cfg, K, seed) for seed in range(200)]
    shifts = np.array([c.angle_shift for c in crops])
    assert set(shifts) == {-3, -2, -1, 0, 1, 2, 3}
    np.testing.assert_allclose([c.angle for c in crops], shifts * np.pi / K)
    centres = np.array([c.center for c in crops])
    assert np.abs(centres - [59.5, 49.5]).max() <= 30 and np.abs(centres - [59.5, 49.5]).max() >= 25
    assert 0.3 < np.mean([c.flip for c in crops]) < 0.7
    assert sample_crop((100, 120), cfg, K, 7) == sample_crop((100, 120), cfg, K, 7)
    free = sample_crop((100, 120), AugmentConfig(snap_rotation=False), K, 3)
    assert free.angle_shift == int(np.round(free.angle / (np.pi / K)))


def test_center_crop_is_identity_on_same_size_and_pads_with_zeros() -> None:
    img = np.arange(30, dtype=np.float32).reshape(5, 6) + 1
    chw = np.stack([img, 2 * img])
    np.testing.assert_array_equal(
        warp_nearest(chw, center_crop((5, 6), 4))[1], 2 * warp_nearest(img, center_crop((5, 6), 4))
    )
    same = warp_nearest(img[:, :5], center_crop((5, 5), 5))
    np.testing.assert_array_equal(same, img[:, :5])
    big = warp_nearest(img[:, :5], center_crop((5, 5), 9))
    assert big.shape == (9, 9) and big[0].sum() == 0 and big[2:7, 2:7].sum() == img[:, :5].sum()


def test_bilinear_warp_of_constant_colour() -> None:
    rgb = np.full((20, 30, 3), 100, np.uint8)
    out = warp_bilinear(rgb, CropTransform((14.5, 9.5), 0.3, 2, True, 10))
    np.testing.assert_allclose(out, 100.0, atol=1e-3)
    with pytest.raises(ValueError, match="expected"):
        warp_bilinear(rgb[..., 0], center_crop((20, 30), 10))


# ----------------------------------------------------------------------------- input
def test_normalize_input_modes() -> None:
    depth = np.array([[0.5, 0.7], [0.0, 0.6]], np.float32)
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = 255
    d = normalize_input(depth, None, "depth")
    np.testing.assert_allclose(d[0], [[-0.1, 0.1], [0.0, 0.0]], atol=1e-6)
    x = normalize_input(depth, rgb, "rgbd")
    assert x.shape == (4, 2, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], [[0.75, -0.25], [-0.25, -0.25]], atol=1e-6)
    np.testing.assert_allclose(x[3], d[0])
    assert normalize_input(None, rgb, "rgb").shape == (3, 2, 2)
    assert [input_channels(m) for m in ("depth", "rgb", "rgbd")] == [1, 3, 4]


def test_normalize_input_depth_scale() -> None:
    depth = np.array([[0.5, 0.7], [0.0, 0.6]], np.float32)
    scaled = normalize_input(depth, None, "depth", depth_scale=10.0)
    np.testing.assert_allclose(scaled[0], [[-1.0, 1.0], [0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(scaled, 10.0 * normalize_input(depth, None, "depth"), atol=1e-6)


def test_normalize_input_errors() -> None:
    with pytest.raises(ValueError, match="input mode"):
        normalize_input(np.ones((2, 2)), None, "xyz")
    with pytest.raises(ValueError, match="rgb"):
        normalize_input(np.ones((2, 2)), None, "rgbd")
    with pytest.raises(ValueError, match="same height"):
        normalize_input(np.ones((2, 2)), np.zeros((3, 2, 3)), "rgbd")


def test_window_enhancement_equals_whole_image() -> None:
    rng = np.random.default_rng(0)
    aq = (rng.random((K, 60, 80)) < 0.02).astype(np.float32)
    labels = PixelLabelMaps(aq.max(axis=0), aq, aq * rng.random(aq.shape).astype(np.float32))
    for seed in range(5):
        crop = sample_crop((60, 80), AugmentConfig(crop_size=32, max_translation=20), K, seed)
        full = warp_labels(enhance_labels(labels), crop)
        rows, cols = crop.source_window((60, 80))
        window = PixelLabelMaps(labels.quality[rows, cols], aq[:, rows, cols], labels.width[:, rows, cols])
        local = warp_labels(enhance_labels(window), crop.translated(-cols.start, -rows.start))
        np.testing.assert_array_equal(local.angle_quality, full.angle_quality)
        np.testing.assert_array_equal(local.width, full.width)
        np.testing.assert_array_equal(local.quality, full.quality)


def test_augment_and_cli_import_without_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, grasplab.data, grasplab.data.augment, grasplab.detection, grasplab.cli.train; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cover_image_crops_reach_every_side() -> None:
    wide = AugmentConfig(crop_size=100, max_translation=10, cover_image=True)
    centres = np.array([sample_crop((160, 400), wide, 6, seed).center for seed in range(400)])
    assert centres[:, 0].min() <= 49.5 + 20 and centres[:, 0].max() >= 349.5 - 20  # (400 - 100) / 2 = 150
    assert centres[:, 1].min() >= 79.5 - 30 - 1e-9 and centres[:, 1].max() <= 79.5 + 30 + 1e-9
    paper = AugmentConfig(crop_size=100, max_translation=10)
    narrow = np.array([sample_crop((160, 400), paper, 6, seed).center for seed in range(100)])
    assert np.abs(narrow - [199.5, 79.5]).max() <= 10
