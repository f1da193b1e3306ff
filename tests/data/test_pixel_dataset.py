"""PixelGraspDataset over a tiny synthetic root (tests/data/pixel_synthetic.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pixel_synthetic import NUM_ANGLES, write_root

torch = pytest.importorskip("torch")

from grasplab.data import AugmentConfig  # noqa: E402
from grasplab.data.pixel_dataset import (  # noqa: E402
    PixelGraspDataset,
    list_labelled_frames,
    load_label_maps,
    split_frames,
)
from grasplab.labels.pixel_label_jobs import pixel_label_path  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_root(tmp_path_factory.mktemp("pixel_root"), num_scenes=3, frames_per_scene=2)


def test_listing_and_split(root: Path) -> None:
    frames = list_labelled_frames(root)
    assert frames == [(s, a) for s in range(3) for a in range(2)]
    train, val = split_frames(frames, val_fraction=0.2)
    assert {s for s, _ in val} == {2} and {s for s, _ in train} == {0, 1}
    train, val = split_frames(frames, val_scenes=[0])
    assert {s for s, _ in val} == {0}
    one = [f for f in frames if f[0] == 0]
    assert split_frames(one, 0.1) == (one, one)
    with pytest.raises(ValueError, match="val_fraction"):
        split_frames(frames, 1.5)
    with pytest.raises(ValueError, match="no training frames"):
        split_frames(frames, val_scenes=[0, 1, 2])


def test_load_label_maps(root: Path) -> None:
    maps = load_label_maps(pixel_label_path(root, 1, 0))
    assert maps.angle_quality.shape == (NUM_ANGLES, 40, 48) and maps.quality.dtype == np.float32
    with pytest.raises(FileNotFoundError):
        load_label_maps(root / "missing.npz")


@pytest.mark.parametrize(("mode", "channels"), [("depth", 1), ("rgb", 3), ("rgbd", 4)])
def test_sample_shapes_and_ranges(root: Path, mode: str, channels: int) -> None:
    ds = PixelGraspDataset(root, input_mode=mode, augment=AugmentConfig(crop_size=32, max_translation=4))
    sample = ds[0]
    assert sample["input"].shape == (channels, 32, 32) and sample["input"].dtype == torch.float32
    assert sample["quality"].shape == (1, 32, 32)
    assert sample["angle_quality"].shape == sample["width"].shape == (NUM_ANGLES, 32, 32)
    assert sample["positive"].dtype == torch.bool
    for key in ("quality", "angle_quality", "width"):
        assert 0.0 <= float(sample[key].min()) and float(sample[key].max()) <= 1.0
    # positives are the original labels (1), enhanced neighbours are 0.9
    assert bool((sample["angle_quality"][sample["positive"]] == 1.0).all())
    values = np.unique(sample["angle_quality"].numpy())
    np.testing.assert_allclose(values, [0.0, 0.9, 1.0], atol=1e-6)


def test_augmentation_seeded_by_epoch(root: Path) -> None:
    ds = PixelGraspDataset(root, augment=AugmentConfig(crop_size=32, max_translation=6), seed=3)
    a, b = ds[1], ds[1]
    assert torch.equal(a["input"], b["input"]) and torch.equal(a["angle_quality"], b["angle_quality"])
    changed = False
    for epoch in range(1, 6):
        ds.set_epoch(epoch)
        changed |= not torch.equal(ds[1]["input"], a["input"])
    assert changed


def test_centre_crop_labels_match_file(root: Path) -> None:
    ds = PixelGraspDataset(root, [(0, 1)], augment=None, crop_size=40, enhance=False)
    sample = ds[0]
    maps = load_label_maps(pixel_label_path(root, 0, 1))
    np.testing.assert_array_equal(sample["angle_quality"].numpy(), maps.angle_quality[:, :, 4:44])
    np.testing.assert_array_equal(sample["positive"].numpy(), maps.angle_quality[:, :, 4:44] > 0)


def test_dataset_errors(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="input mode"):
        PixelGraspDataset(root, input_mode="ir")
    (tmp_path / "scenes").mkdir()
    with pytest.raises(ValueError, match="no frames"):
        PixelGraspDataset(tmp_path)


def test_fast_labels_equal_the_full_maps(root: Path) -> None:
    for scene, ann in list_labelled_frames(root):
        path = pixel_label_path(root, scene, ann)
        full, fast = load_label_maps(path), load_label_maps(path, num_angles=NUM_ANGLES)
        np.testing.assert_array_equal(fast.quality, full.quality)
        np.testing.assert_array_equal(fast.angle_quality, full.angle_quality)
        np.testing.assert_allclose(fast.width, full.width, rtol=1e-6)
    slow = PixelGraspDataset(root, augment=AugmentConfig(crop_size=32), fast_labels=False)[1]
    quick = PixelGraspDataset(root, augment=AugmentConfig(crop_size=32), fast_labels=True)[1]
    for key in ("input", "quality", "angle_quality", "positive"):
        assert torch.equal(slow[key], quick[key])
    torch.testing.assert_close(slow["width"], quick["width"])


def test_fast_labels_fall_back_when_inconsistent(root: Path, tmp_path: Path) -> None:
    with np.load(pixel_label_path(root, 0, 0)) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["grasps"] = arrays["grasps"][:1]  # drops grasps: no longer matches the quality map
    np.savez_compressed(tmp_path / "x.npz", **arrays)
    maps = load_label_maps(tmp_path / "x.npz", num_angles=NUM_ANGLES)
    np.testing.assert_array_equal(maps.angle_quality, arrays["angle_quality"])
    with pytest.raises(ValueError, match="angle bins"):
        PixelGraspDataset(root, num_angles=12, fast_labels=False)[0]


def test_fast_labels_check_the_angle_count(root: Path) -> None:
    with pytest.raises(ValueError, match="angle bins"):
        PixelGraspDataset(root, num_angles=12, fast_labels=True)[0]
