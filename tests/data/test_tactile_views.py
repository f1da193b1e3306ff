"""Tactile views over arrays: the Tb - Ta input, augmentation invariants, determinism, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab.data.tactile_augment import (  # noqa: E402
    TactileAugmentConfig,
    augment_view,
    center_view,
    color_jitter,
    gaussian_blur,
    grayscale,
)
from grasplab.data.tactile_dataset import (  # noqa: E402
    TactileArrays,
    TactileViews,
    difference_image,
    synthetic_tactile_arrays,
)

AUG = TactileAugmentConfig(resize=20, crop=16)


@pytest.fixture
def arrays(rng: np.random.Generator) -> TactileArrays:
    return synthetic_tactile_arrays(12, 18, rng, num_objects=3)


def test_difference_image_is_tb_minus_ta_of_the_left_pad() -> None:
    ta = np.zeros((2, 4, 5, 3), np.uint8)
    tb = np.zeros((2, 4, 5, 3), np.uint8)
    tb[0, 1, 2] = (255, 51, 0)
    ta[0, 1, 2, 2] = 255
    tb[1] = 10
    left = difference_image(ta, tb)
    assert left.shape == (3, 4, 5) and left.dtype == torch.float32
    assert left[:, 1, 2].tolist() == pytest.approx([1.0, 0.2, -1.0])
    assert float(left.abs().sum()) == pytest.approx(2.2)
    both = difference_image(ta, tb, "both")
    assert both.shape == (6, 4, 5) and torch.equal(both[:3], left)
    assert both[3:].flatten().tolist() == pytest.approx([10 / 255] * 60)
    with pytest.raises(ValueError, match="pads"):
        difference_image(ta, tb, "right")
    with pytest.raises(ValueError):
        difference_image(ta, tb[:, :3])


def test_grayscale_and_hue_keep_luma() -> None:
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(6, 8, 8, generator=gen) * 2 - 1
    gray = grayscale(image)
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[3], gray[5])
    assert torch.allclose(grayscale(gray), gray, atol=1e-6)  # idempotent
    hue_only = TactileAugmentConfig(brightness=0, contrast=0, saturation=0, hue=0.5)
    jittered = color_jitter(image * 0.3, hue_only, gen)  # small values: no clamping
    assert torch.allclose(grayscale(jittered), grayscale(image * 0.3), atol=1e-5)
    assert not torch.allclose(jittered, image * 0.3)


def test_blur_keeps_constants_and_mean() -> None:
    flat = torch.full((3, 10, 10), 0.25)
    assert torch.allclose(gaussian_blur(flat, 1.0), flat)
    spot = torch.zeros(3, 15, 15)
    spot[:, 7, 7] = 1.0
    blurred = gaussian_blur(spot, 1.0)
    assert blurred.shape == spot.shape and float(blurred[0].sum()) == pytest.approx(1.0, rel=1e-5)
    assert float(blurred[0, 7, 7]) < 0.2 and float(blurred[0, 7, 8]) == pytest.approx(float(blurred[0, 8, 7]))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(spot, 0.0)


def test_views_are_seeded_by_seed_epoch_and_index(arrays: TactileArrays) -> None:
    views = TactileViews(arrays, augment=AUG, seed=3)
    item = views[4]
    assert item["view_a"].shape == (3, 16, 16) and item["view_b"].shape == (3, 16, 16)
    assert int(item["index"]) == 4 and float(item["label"]) == float(arrays.success[4])
    assert not torch.equal(item["view_a"], item["view_b"])  # two different augmentations
    assert torch.equal(TactileViews(arrays, augment=AUG, seed=3)[4]["view_b"], item["view_b"])
    assert not torch.equal(TactileViews(arrays, augment=AUG, seed=4)[4]["view_a"], item["view_a"])
    views.set_epoch(1)
    assert not torch.equal(views[4]["view_a"], item["view_a"])
    views.set_epoch(0)
    assert torch.equal(views[4]["view_a"], item["view_a"])


def test_eval_views_are_the_centre_crop(arrays: TactileArrays) -> None:
    views = TactileViews(arrays, "both", AUG, views=1, train=False)
    item = views[2]
    assert set(item) == {"view_a", "index", "label"} and item["view_a"].shape == (6, 16, 16)
    image = difference_image(arrays.ta[2], arrays.tb[2], "both")
    assert torch.equal(item["view_a"], center_view(image, AUG))


def test_augment_view_does_not_modify_its_input() -> None:
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(3, 18, 18)
    before = image.clone()
    out = augment_view(image, TactileAugmentConfig(resize=18, crop=12), gen)
    assert out.shape == (3, 12, 12) and torch.equal(image, before)
    assert out.min() >= -1 and out.max() <= 1


def test_arrays_validation_and_subset(arrays: TactileArrays) -> None:
    sub = arrays.subset(np.array([3, 1]))
    assert len(sub) == 2 and np.array_equal(sub.ta[0], arrays.ta[3])
    with pytest.raises(ValueError, match="uint8"):
        TactileArrays(arrays.ta.astype(np.float32), arrays.tb, arrays.success, arrays.object_id)
    with pytest.raises(ValueError, match="ta"):
        TactileArrays(arrays.ta[:, :1], arrays.tb, arrays.success, arrays.object_id)
    with pytest.raises(ValueError, match="views"):
        TactileViews(arrays, views=3)
    with pytest.raises(ValueError, match="crop"):
        TactileAugmentConfig(resize=10, crop=12)


def test_synthetic_trials_have_mixed_outcomes(rng: np.random.Generator) -> None:
    arrays = synthetic_tactile_arrays(200, 16, rng)
    assert 0.3 < arrays.success.mean() < 0.7
    contact = (arrays.tb.astype(int) - arrays.ta.astype(int)).clip(0).sum(axis=(1, 2, 3, 4))
    assert contact[arrays.success].mean() > contact[~arrays.success].mean()  # bigger patch holds
