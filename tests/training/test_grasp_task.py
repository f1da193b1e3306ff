"""GSNet training: dataset samples and augmentation, seed targets, losses, one Trainer step, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("embreex")
from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.core.rotations import transform_points  # noqa: E402
from grasplab.data.grasp_dataset import (  # noqa: E402
    GraspAugmentConfig,
    GraspFrameDataset,
    SceneLabelStore,
    list_graspness_frames,
    organised_image,
)
from grasplab.models.gsnet import seeds_among  # noqa: E402
from grasplab.training.checkpoints import load_model  # noqa: E402
from grasplab.training.grasp_config import load_grasp_train_config  # noqa: E402
from grasplab.training.grasp_losses import GraspLossWeights, gsnet_losses, masked_smooth_l1  # noqa: E402
from grasplab.training.grasp_task import GraspTask, seed_targets  # noqa: E402
from grasplab.training.trainer import Trainer  # noqa: E402

# The box labels use 60 views, 6 angles and the GraspNet depths: the network's grid matches them.
TINY_MODEL = [
    "model.feature_dim=16",
    "model.depth2d_channels=[8, 8, 16]",
    "model.num_seeds=24",
    "model.group_dim=16",
    "model.num_views=60",
    "model.num_angles=6",
    "model.depths=[0.01, 0.02, 0.03, 0.04]",
]


@pytest.fixture(scope="module")
def box_root(graspness_box_root: Path) -> Path:
    """The shared labelled box dataset (tests/conftest.py)."""
    return graspness_box_root


def _dataset(root: Path, augment: GraspAugmentConfig | None, **options: Any) -> GraspFrameDataset:
    frames = list_graspness_frames(root)
    kwargs: dict[str, Any] = {"num_points": 300, "num_views": 60, "num_angles": 6, "max_objects": 4}
    return GraspFrameDataset(root, frames, augment=augment, seed=3, **{**kwargs, **options})


def test_samples_shapes_and_determinism(box_root: Path) -> None:
    assert list_graspness_frames(box_root) == [(0, 0), (0, 1)]
    data = _dataset(box_root, GraspAugmentConfig())
    sample = data[1]
    shapes = {k: tuple(v.shape) for k, v in sample.items()}
    assert shapes == {
        "points": (300, 3),
        "pixels": (300, 2),
        "image": (4, 120, 160),
        "objectness": (300,),
        "graspness": (300,),
        "label_row": (300,),
        "object_slot": (300,),
        "view_map": (4, 60),
        "angle_map": (4, 60, 6),
        "scene_id": (),
        "index": (),
    }
    assert torch.equal(data[1]["points"], sample["points"])
    data.set_epoch(1)
    assert not torch.equal(data[1]["points"], sample["points"])
    obj = sample["objectness"] > 0
    assert obj.any() and (~obj).any()
    assert torch.equal(sample["object_slot"] >= 0, obj) and (sample["label_row"][~obj] == -1).all()
    assert (sample["graspness"][~obj] == 0).all() and sample["graspness"].max() <= 1.0


@pytest.mark.parametrize("seed_epoch", [0, 1, 2, 3])
def test_augmentation_moves_points_image_and_poses_alike(box_root: Path, seed_epoch: int) -> None:
    data = _dataset(box_root, GraspAugmentConfig(), num_points=200)
    data.set_epoch(seed_epoch)
    sample = data[0]
    points, pixels = sample["points"].numpy(), sample["pixels"].numpy().astype(int)
    image = sample["image"].numpy()
    np.testing.assert_allclose(image[:3, pixels[:, 1], pixels[:, 0]].T, points, atol=1e-5)
    assert (image[3, pixels[:, 1], pixels[:, 0]] == 1).all()
    # the labelled points lie on the moved object: pose its label points with the moved pose
    frame = data._frame((0, 0))["labels"]
    scene = SceneLabelStore(box_root).get(0)
    raw = frame.points.astype(np.float64)
    moved_pose = _estimate_transform(raw, data, seed_epoch) @ frame.T_cam_obj[0]
    rows = sample["label_row"].numpy()
    on = rows >= 0
    posed = transform_points(moved_pose, scene.points[rows[on]].astype(np.float64))
    assert np.abs(posed - points[on]).max() < 0.011  # matched within max_distance (1 cm)


def _estimate_transform(raw: np.ndarray, data: GraspFrameDataset, epoch: int) -> np.ndarray:
    """The augmentation of (seed 3, epoch, index 0), redrawn as the dataset draws it."""
    from grasplab.data.grasp_dataset import augmentation_transform

    rng = np.random.default_rng([3, epoch, 0])
    rng.choice(len(raw), data.num_points, replace=len(raw) < data.num_points)
    return augmentation_transform(GraspAugmentConfig(), rng)


def test_organised_image_known_answer_and_rgb() -> None:
    from grasplab.core.camera import CameraIntrinsics

    cam = CameraIntrinsics(100.0, 100.0, 1.0, 1.0, 4, 3)
    depth = np.zeros((3, 4), np.float32)
    depth[2, 3] = 0.5
    shift = np.eye(4)
    shift[:3, 3] = [0.0, 0.0, 1.0]
    img = organised_image(depth, cam, shift, rgb=np.full((3, 4, 3), 255, np.uint8))
    assert img.shape == (7, 3, 4)
    np.testing.assert_allclose(img[:4, 2, 3], [0.01, 0.005, 1.5, 1.0])
    assert img[:4, 0, 0].tolist() == [0.0, 0.0, 0.0, 0.0] and (img[4:] == 1.0).all()
    assert organised_image(depth, cam, downsample=2).shape == (4, 2, 2)


def test_losses_known_answers() -> None:
    b, m, n, v, a, d = 1, 3, 5, 4, 2, 2
    targets = {
        "objectness": torch.tensor([[0, 1, 1, 0, 1]]),
        "graspness": torch.rand(b, n),
        "seed_valid": torch.tensor([[True, True, False]]),
        "view": torch.rand(b, m, v),
        "score": torch.tensor([[0.5, 0.0], [0.0, 0.0]]).expand(b, m, a, d).clone(),
        "width": torch.full((b, m, a, d), 0.05),
        "stable": torch.rand(b, m, a),
        "stable_valid": torch.tensor(True),
    }
    perfect = {
        "objectness": torch.stack([(1 - targets["objectness"]) * 50.0, targets["objectness"] * 50.0], 1),
        "graspness": targets["graspness"].clone(),
        "view_scores": targets["view"].clone(),
        "score": targets["score"].clone(),
        "width": targets["width"] * 10,
        "stable": targets["stable"].clone(),
    }
    terms = gsnet_losses(perfect, targets, GraspLossWeights())
    assert float(terms.total) == pytest.approx(0.0, abs=1e-6)
    wrong = {**perfect, "width": perfect["width"] + 0.5, "score": perfect["score"] + 0.1}
    terms = gsnet_losses(wrong, targets, GraspLossWeights(width=2.0))
    assert float(terms.width) == pytest.approx(0.125)  # smooth-L1(0.5) on the one positive cell
    assert float(terms.score) == pytest.approx(0.005)  # smooth-L1(0.1), valid seeds only
    assert float(terms.total) == pytest.approx(2 * 0.125 + 15 * 0.005, rel=1e-5)
    empty = masked_smooth_l1(torch.ones(3), torch.zeros(3), torch.zeros(3, dtype=torch.bool))
    assert float(empty) == 0.0


def test_seed_targets_on_labelled_and_background_points(box_root: Path) -> None:
    data = _dataset(box_root, None)
    batch = {k: v[None] for k, v in data[0].items()}
    obj = torch.nonzero(batch["label_row"][0] >= 0)[:, 0]
    bg = torch.nonzero(batch["objectness"][0] == 0)[:, 0]
    seeds = torch.cat([obj[:4], bg[:2]])[None]
    targets = seed_targets(SceneLabelStore(box_root), batch, seeds, "best")
    assert targets["seed_valid"][0].tolist() == [True] * 4 + [False] * 2
    assert targets["view"].shape == (1, 6, 60) and targets["score"].shape == (1, 6, 6, 4)
    assert (targets["view"][0, 4:] == 0).all() and (targets["score"][0, 4:] == 0).all()
    best = targets["view"][0, :4].argmax(-1)
    assert torch.equal(targets["view_index"][0, :4], best)
    assert float(targets["view"][0, :4].max()) == pytest.approx(1.0)  # min-max normalised per point
    assert bool(targets["stable_valid"]) and (targets["width"] <= 0.1).all()


def _config(root: Path, out_overrides: tuple[str, ...] | list[str] = ()) -> Any:
    return load_grasp_train_config(
        None,
        [
            f"data.root={root}",
            "data.num_points=256",
            "data.downsample=2",
            "data.max_objects=4",
            "optim.epochs=1",
            "optim.batch_size=2",
            "optim.lr_milestones=[]",
            *TINY_MODEL,
            *out_overrides,
        ],
    )


@pytest.mark.parametrize("backbone", ["depth2d", "pointnet2"])
def test_one_training_step_logs_every_term_and_saves_a_loadable_model(
    box_root: Path, tmp_path: Path, backbone: str
) -> None:
    extra = [
        f"model.backbone={backbone}",
        "model.pointnet_points=[64, 16]",
        "model.pointnet_radii=[0.03, 0.08]",
        "model.pointnet_neighbors=[8, 8]",
        "model.pointnet_width=8",
    ]
    cfg = _config(box_root, extra)
    result = Trainer(GraspTask(cfg), cfg, tmp_path / "run").fit()
    (row,) = result.history
    for name in ("loss", "objectness", "graspness", "view", "score", "width", "stable"):
        assert np.isfinite(row.train[name])
    assert row.train["objectness"] > 0 and row.train["view"] > 0
    for name in ("loss", "objectness_acc", "graspness_mae", "seed_labelled", "score_mae", "success"):
        assert np.isfinite(row.val[name])
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert "train_stable" in json.dumps(history)
    model = load_model(result.last_checkpoint)
    assert model.spec.backbone == backbone and model.spec.num_views == 60


def test_cli_trains_and_rejects_a_root_without_labels(box_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    sets = [
        f"data.root={box_root}",
        "data.num_points=128",
        "data.max_objects=4",
        "optim.epochs=1",
        "optim.batch_size=2",
        "optim.lr_milestones=[]",
        *TINY_MODEL,
    ]
    args = ["train", "grasp", "--out", str(tmp_path / "cli")]
    for item in sets:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "checkpoints" / "last.safetensors").is_file()
    (tmp_path / "empty" / "scenes").mkdir(parents=True)
    bad = runner.invoke(
        app, ["train", "grasp", "--out", str(tmp_path / "x"), "--set", f"data.root={tmp_path / 'empty'}"]
    )
    assert bad.exit_code == 2 and "graspness" in bad.output
    bad_key = runner.invoke(app, ["train", "grasp", "--out", str(tmp_path / "x"), "--set", "model.seeds=3"])
    assert bad_key.exit_code == 2 and "unknown" in bad_key.output


def test_cli_bad_device_and_out_of_another_kind(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["train", "grasp", "--out", str(tmp_path / "x"), "--device", "tpu"])
    assert bad.exit_code == 2 and "device" in bad.output
    (tmp_path / "file").write_text("x")
    bad = runner.invoke(app, ["train", "grasp", "--out", str(tmp_path / "file")])
    assert bad.exit_code == 2 and "is a file" in bad.output


def test_label_seeds_lie_on_graspable_object_points(box_root: Path) -> None:
    """``data.train_seeds: label``: every training seed is a labelled object point over the threshold."""
    cfg = _config(box_root, ["data.train_seeds=label", "data.augment=false"])
    task = GraspTask(cfg)
    torch.manual_seed(0)
    net: Any = task.build_model()
    batch = {k: v[None] for k, v in _dataset(box_root, None)[0].items()}
    candidates = (batch["objectness"] > 0) & (batch["graspness"] > net.spec.graspness_threshold)
    assert 0 < int(candidates.sum()) < candidates.numel()
    seeds = seeds_among(batch["points"], candidates, batch["graspness"], net.spec.num_seeds)
    assert bool(candidates[0, seeds[0]].all())
    _, targets = task._forward(net, batch, "sample")
    assert bool(targets["seed_valid"].all())  # each seed has a grasp label from the first step
    with pytest.raises(ValueError, match="train_seeds"):
        _config(box_root, ["data.train_seeds=oracle"])


def test_frames_per_scene_keeps_the_label_budget(box_root: Path) -> None:
    all_frames = GraspTask(_config(box_root, ["data.val_fraction=0"])).frame_split()[0]
    one = GraspTask(_config(box_root, ["data.val_fraction=0", "data.frames_per_scene=1"])).frame_split()[0]
    assert len(all_frames) == 2 and one == [all_frames[0]]
    with pytest.raises(ValueError, match="frames_per_scene"):
        _config(box_root, ["data.frames_per_scene=0"])


def test_init_from_a_pretrained_backbone_round_trip(box_root: Path, tmp_path: Path) -> None:
    """``pretrain contrast`` -> ``train grasp --init``: the backbone arrives, the heads stay new."""
    from grasplab.training.checkpoints import load_checkpoint
    from grasplab.training.contrast_config import load_contrast_config
    from grasplab.training.contrast_task import ContrastTask

    tiny_backbone = [m for m in TINY_MODEL if m.startswith(("model.feature_dim", "model.depth2d"))]
    pre = load_contrast_config(None, [
        f"data.root={box_root}", "data.num_points=128", "data.num_keypoints=32", "data.pairs_per_scene=2",
        "optim.epochs=1", "optim.batch_size=2", "optim.lr_milestones=[]", *tiny_backbone,
    ])
    ckpt = Trainer(ContrastTask(pre), pre, tmp_path / "pre").fit().last_checkpoint
    backbone = load_checkpoint(ckpt).model.state_dict()
    task = GraspTask(_config(box_root, [f"init={ckpt}"]))
    torch.manual_seed(0)
    model = task.build_model()
    report = task.init_report
    assert report is not None and set(report.loaded) == set(backbone)
    assert report.new and not any(k.startswith("backbone.") for k in report.new)
    for key, value in backbone.items():
        torch.testing.assert_close(model.state_dict()[key], value)
    runner = CliRunner()
    args = ["train", "grasp", "--out", str(tmp_path / "ft"), "--init", str(ckpt)]
    sets = [f"data.root={box_root}", "data.num_points=128", "data.max_objects=4", "optim.epochs=1",
            "optim.batch_size=2", "optim.lr_milestones=[]", "validation.ap_frames=0", *TINY_MODEL]
    for item in sets:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"took {len(backbone)} tensors (backbone)" in " ".join(result.output.split())
    missing = runner.invoke(app, [*args[:4], "--init", str(tmp_path / "none.safetensors")])
    assert missing.exit_code == 2 and "no such checkpoint" in missing.output
    other = [*args[:6], *[a for item in sets for a in ("--set", item)], "--set", "model.feature_dim=32"]
    other[3] = str(tmp_path / "ft2")
    shapes = runner.invoke(app, other)
    assert shapes.exit_code == 2 and "has shape" in shapes.output
