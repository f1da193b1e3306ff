"""View pairs of GraspContrast pretraining: correspondences from the poses, augmentation, bad inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh

torch = pytest.importorskip("torch")
pytest.importorskip("embreex")

from grasplab.data.contrast_pairs import (  # noqa: E402
    PairAugmentConfig,
    ViewPairDataset,
    farthest_point_indices,
    match_views,
    pair_augmentation,
)
from grasplab.scenes.layout import DatasetWriter  # noqa: E402


def _scene_helpers() -> Any:
    """The hand-built box scene of tests/labels/test_graspness.py (tests are not a package)."""
    path = Path(__file__).parents[1] / "labels" / "test_graspness.py"
    spec = importlib.util.spec_from_file_location("graspness_box_scene_pairs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCENE = _scene_helpers()
EYES = ((0.0, -0.3, 0.4), (0.25, 0.1, 0.35), (-0.2, 0.2, 0.38))


def _cameras() -> list[np.ndarray]:
    return [SCENE.look_at(eye, (0.0, 0.0, 0.02)) for eye in EYES]


def write_pair_dataset(root: Path, num_frames: int = 3) -> list[np.ndarray]:
    """One scene, a box on the table seen by ``num_frames`` cameras; returns ``T_table_cam`` per frame."""
    writer = DatasetWriter(root)
    writer.write_model(4, trimesh.creation.box(SCENE.BOX))
    cams = _cameras()[:num_frames]
    tmp = writer.begin_scene(0)
    poses = np.stack([np.linalg.inv(cams[0]) @ c for c in cams])
    writer.write_scene_static(tmp, [4], SCENE.INTRINSICS, poses, cams[0])
    for ann, cam in enumerate(cams):
        depth, mask = SCENE.render(cam, SCENE.box_pose())
        writer.write_frame(tmp, ann, rgb=np.zeros((*depth.shape, 3), np.uint8), depth=depth, mask=mask * 5,
                           intrinsics=SCENE.INTRINSICS, object_ids=[4],
                           T_cam_obj=(np.linalg.inv(cam) @ SCENE.box_pose())[None])
    writer.commit_scene(tmp, 0)
    return cams


@pytest.fixture(scope="module")
def pair_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    write_pair_dataset(root)
    return root


def _apply(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ pose[:3, :3].T + pose[:3, 3]


def test_positives_are_the_same_surface_points_by_the_camera_poses(pair_root: Path) -> None:
    ds = ViewPairDataset(pair_root, [0], num_points=400, num_keypoints=64, seed=1)
    cams = _cameras()
    for index in range(len(ds)):
        s = ds[index]
        a, b = (int(v) for v in s["views"])
        assert a != b
        valid = s["key_valid"].numpy()
        assert valid.sum() >= 32  # the views overlap on the table and the box
        world_a, world_b = s["world_a"].numpy(), s["world_b"].numpy()
        # World positions are the camera-frame points moved by the true camera poses.
        np.testing.assert_allclose(world_a, _apply(cams[a], s["points_a"][:64].numpy()), atol=1e-5)
        np.testing.assert_allclose(world_b, _apply(cams[b], s["points_b"][:64].numpy()), atol=1e-5)
        gap = np.linalg.norm(world_a - world_b, axis=1)
        assert (gap[valid] < 0.0075).all()
        # Key points are spread out: farthest point sampling, not neighbours.
        keys = world_a[valid]
        spacing = np.linalg.norm(keys[:, None] - keys[None], axis=-1) + np.eye(len(keys))
        assert spacing.min() > 0.005


def test_augmentation_is_rigid_per_view_and_moves_the_image_alike(pair_root: Path) -> None:
    plain = ViewPairDataset(pair_root, [0], num_points=300, num_keypoints=48, seed=2, downsample=1)
    moved = ViewPairDataset(pair_root, [0], num_points=300, num_keypoints=48, seed=2, downsample=1,
                            augment=PairAugmentConfig(flip=True, max_rotation_deg=180.0))
    for index in range(3):
        p, m = plain[index], moved[index]
        np.testing.assert_array_equal(p["world_a"], m["world_a"])  # matching ignores augmentation
        for name in ("a", "b"):
            x, y = p[f"points_{name}"].numpy(), m[f"points_{name}"].numpy()
            dx = np.linalg.norm(x[:, None] - x[None], axis=-1)
            dy = np.linalg.norm(y[:, None] - y[None], axis=-1)
            np.testing.assert_allclose(dx, dy, atol=1e-5)
            assert np.abs(x - y).max() > 1e-3
            u, v = m[f"pixels_{name}"].numpy().round().astype(int).T
            np.testing.assert_allclose(m[f"image_{name}"].numpy()[:3, v, u].T, y, atol=1e-5)


def test_pair_augmentation_turns_about_the_up_axis_through_the_centre() -> None:
    up = np.array([0.0, -0.5, 0.8660254])
    centre = np.array([0.05, -0.1, 0.5])
    rng = np.random.default_rng(0)
    for _ in range(5):
        t = pair_augmentation(PairAugmentConfig(flip=False, max_rotation_deg=90.0), up, centre, rng)
        np.testing.assert_allclose(t[:3, :3] @ up, up, atol=1e-12)
        np.testing.assert_allclose(t[:3, :3] @ centre + t[:3, 3], centre, atol=1e-12)
        assert np.isclose(np.linalg.det(t[:3, :3]), 1.0)
    flips = [np.linalg.det(pair_augmentation(PairAugmentConfig(True, 0.0), up, centre, rng)[:3, :3])
             for _ in range(40)]
    assert {round(float(d)) for d in flips} == {-1, 1}
    with pytest.raises(ValueError, match="max_rotation_deg"):
        PairAugmentConfig(max_rotation_deg=200.0)


def test_samples_are_deterministic_per_seed_epoch_and_index(pair_root: Path) -> None:
    ds = ViewPairDataset(pair_root, [0], num_points=200, num_keypoints=32, seed=5, pairs_per_scene=2,
                         augment=PairAugmentConfig())
    first = ds[1]
    again = ViewPairDataset(pair_root, [0], num_points=200, num_keypoints=32, seed=5, pairs_per_scene=2,
                            augment=PairAugmentConfig())[1]
    for key in first:
        torch.testing.assert_close(first[key], again[key])
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["points_a"], first["points_a"])
    assert len(ds) == 2 and first["image_a"].shape == (4, *first["image_a"].shape[1:])


def test_matching_and_sampling_known_answers() -> None:
    a = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    b = np.array([[1.004, 0, 0], [0.0, 0.01, 0]])
    assert match_views(a, b, 0.005).tolist() == [-1, 0, -1]
    assert match_views(a, b, 0.02).tolist() == [1, 0, -1]
    assert match_views(a, b[:0], 0.02).tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match="radius"):
        match_views(a, b, 0.0)
    line = np.stack([np.linspace(0, 1, 101), np.zeros(101), np.zeros(101)], axis=1)
    picks = farthest_point_indices(line, 3, np.random.default_rng(0))
    first, second, third = (int(i) for i in picks)
    assert second == (0 if first >= 50 else 100)  # the far end first
    gaps = sorted([first, second])  # then the middle of the widest remaining gap
    widest = max([(gaps[0], 0), (gaps[1] - gaps[0], 1), (100 - gaps[1], 2)])[1]
    expected = {0: gaps[0] // 2, 1: (gaps[0] + gaps[1]) // 2, 2: (gaps[1] + 100) // 2}[widest]
    assert abs(third - expected) <= 1
    assert len(farthest_point_indices(line[:2], 5, np.random.default_rng(0))) == 2
    with pytest.raises(ValueError, match="count"):
        farthest_point_indices(line, 0, np.random.default_rng(0))


def test_bad_inputs(pair_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="num_keypoints"):
        ViewPairDataset(pair_root, [0], num_points=10, num_keypoints=20)
    write_pair_dataset(tmp_path / "single", num_frames=1)
    with pytest.raises(ValueError, match="a pair needs 2"):
        ViewPairDataset(tmp_path / "single", [0])
