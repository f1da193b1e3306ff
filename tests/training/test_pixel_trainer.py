"""PixelTrainer on a tiny synthetic root: a step lowers the loss, runs resume exactly, run files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml

torch = pytest.importorskip("torch")

from grasplab.data import AugmentConfig  # noqa: E402
from grasplab.data.pixel_dataset import PixelGraspDataset  # noqa: E402
from grasplab.models import build_pixel_model  # noqa: E402
from grasplab.training import (  # noqa: E402
    PixelTrainer,
    TrainProgress,
    load_checkpoint,
    load_train_config,
    pixel_grasp_loss,
)


def _synthetic() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "data" / "pixel_synthetic.py"
    spec = importlib.util.spec_from_file_location("pixel_synthetic_training", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synthetic().write_root(tmp_path_factory.mktemp("train_root"), num_scenes=2, frames_per_scene=2)


def _config(root: Path, *extra: str):  # noqa: ANN202
    return load_train_config(
        None,
        [
            f"data.root={root}",
            "data.crop_size=32",
            "data.max_translation=4",
            "model.channels=4",
            "optim.batch_size=2",
            "optim.epochs=2",
            "optim.lr_milestones=[1]",
            "data.val_fraction=0.5",
            *extra,
        ],
    )


def test_one_step_decreases_the_loss(root: Path) -> None:
    torch.manual_seed(0)
    ds = PixelGraspDataset(root, augment=AugmentConfig(crop_size=32, max_translation=4))
    batch = {
        k: torch.stack([ds[i][k] for i in range(3)]) for k in ("input", "quality", "angle_quality", "width")
    }
    model = build_pixel_model("ggcnn2", 1, channels=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        return pixel_grasp_loss(
            model.logits(batch["input"]), batch["quality"], batch["angle_quality"], batch["width"]
        ).total

    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss()
    assert after.item() < before.item()


def test_fit_writes_run_files(root: Path, tmp_path: Path) -> None:
    events: list[TrainProgress] = []
    cfg = _config(root)
    result = PixelTrainer(cfg, tmp_path / "run", command=["grasplab", "train"], progress=events.append).fit()
    assert [m.epoch for m in result.history] == [0, 1] and result.resumed_from == 0
    assert result.history[0].lr == pytest.approx(1e-3) and result.history[1].lr == pytest.approx(1e-4)
    assert all(0.0 <= m.val_success <= 1.0 and m.val_loss > 0 for m in result.history)
    assert [e.phase for e in events].count("val") == 2 and events[0].steps_per_epoch == 1
    run = tmp_path / "run"
    assert load_train_config(run / "config.yaml") == cfg
    meta = json.loads((run / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["command"] == ["grasplab", "train"] and "git_sha" in meta
    assert len(json.loads((run / "history.json").read_text())) == 2
    ckpt = load_checkpoint(result.last_checkpoint)
    assert ckpt.state["epoch"] == 1 and ckpt.config["data"]["crop_size"] == 32
    assert result.best_checkpoint.is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["channels"] == 4


def test_interrupted_run_resumes_to_the_same_weights(root: Path, tmp_path: Path) -> None:
    cfg = _config(root, "data.val_fraction=0.0", "optim.epochs=3")
    full = PixelTrainer(cfg, tmp_path / "full").fit()

    def interrupt(event: TrainProgress) -> None:
        if event.phase == "train" and event.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PixelTrainer(cfg, tmp_path / "cut", progress=interrupt).fit()
    assert load_checkpoint(tmp_path / "cut" / "checkpoints" / "last.safetensors").state["epoch"] == 1
    resumed = PixelTrainer(cfg, tmp_path / "cut").fit()
    assert resumed.resumed_from == 2 and [m.epoch for m in resumed.history] == [0, 1, 2]
    a = load_checkpoint(full.last_checkpoint).model.state_dict()
    b = load_checkpoint(resumed.last_checkpoint).model.state_dict()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key
    # rerunning a finished run does nothing; a changed config is refused
    assert PixelTrainer(cfg, tmp_path / "cut").fit().resumed_from == 3
    with pytest.raises(ValueError, match="different config"):
        PixelTrainer(_config(root, "data.val_fraction=0.0", "optim.lr=0.5"), tmp_path / "cut").fit()


def test_snapshots_keep_earlier_epochs(root: Path, tmp_path: Path) -> None:
    cfg = _config(root, "optim.epochs=3", "optim.snapshot_every=2", "loss.width_loss=labelled",
                  "model.stem_stride=2", "model.up_kernel=3")
    result = PixelTrainer(cfg, tmp_path / "run").fit()
    snaps = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("epoch_*.safetensors"))
    assert snaps == ["epoch_002.safetensors"]
    snap = load_checkpoint(tmp_path / "run" / "checkpoints" / snaps[0])
    assert snap.state["epoch"] == 1 and len(snap.state["history"]) == 2
    assert snap.model.spec["stem_stride"] == 2 and snap.config["loss"]["width_loss"] == "labelled"
    last = load_checkpoint(result.last_checkpoint)
    assert not torch.equal(snap.model.point_head.weight, last.model.point_head.weight)
    with pytest.raises(ValueError, match="snapshot_every"):
        _config(root, "optim.snapshot_every=0")


def test_longer_rerun_continues(root: Path, tmp_path: Path) -> None:
    PixelTrainer(_config(root, "optim.epochs=1"), tmp_path / "run").fit()
    result = PixelTrainer(_config(root, "optim.epochs=2"), tmp_path / "run").fit()
    assert result.resumed_from == 1 and len(result.history) == 2


def test_missing_labels_error(tmp_path: Path) -> None:
    (tmp_path / "scenes").mkdir()
    with pytest.raises(ValueError, match="no frames with pixel labels"):
        PixelTrainer(_config(tmp_path), tmp_path / "run").fit()


def test_trained_checkpoint_drives_the_detector(root: Path, tmp_path: Path) -> None:
    import numpy as np

    from grasplab.core import CameraIntrinsics
    from grasplab.detection.observation import Observation
    from grasplab.detection.pixel_detector import PixelDetector, PixelDetectorConfig
    from grasplab.scenes.reader import GraspNetDataset

    result = PixelTrainer(_config(root, "data.input_mode=rgbd", "optim.epochs=1"), tmp_path / "run").fit()
    detector = PixelDetector(weights=result.best_checkpoint, config=PixelDetectorConfig(min_quality=0.0))
    assert detector.input_mode == "rgbd"
    reader = GraspNetDataset(root)
    depth = reader.depth(0, 0)
    rgb = np.zeros((*depth.shape, 3), np.uint8)
    intrinsics = CameraIntrinsics(
        60.0, 60.0, (depth.shape[1] - 1) / 2, (depth.shape[0] - 1) / 2, depth.shape[1], depth.shape[0]
    )
    group = detector.detect(Observation(depth, intrinsics, rgb=rgb))
    assert 0 < len(group) <= 50 and group.invalid_rows() == []


def test_pixel_curve_matches_the_former_loop(tmp_path: Path) -> None:
    """Known answer: the loss curve the former PixelTrainer (commit c8d0640) gave on this root."""
    root = _synthetic().write_root(tmp_path / "root", num_scenes=3, frames_per_scene=3)
    cfg = load_train_config(
        None,
        [f"data.root={root}", "data.crop_size=32", "data.max_translation=4", "model.channels=8",
         "optim.batch_size=2", "optim.epochs=3", "data.val_fraction=0.34"],
    )
    torch.manual_seed(4321)
    state = torch.random.get_rng_state()
    result = PixelTrainer(cfg, tmp_path / "run").fit()
    assert torch.equal(torch.random.get_rng_state(), state)  # no global seeding
    former = [(1.0356650352478027, 1.0185701847076416), (0.996153712272644, 1.0175408919652302),
              (1.0335060358047485, 1.0164637168248494)]
    assert [(m.train_loss, m.val_loss) for m in result.history] == [
        (pytest.approx(a, rel=1e-4), pytest.approx(b, rel=1e-4)) for a, b in former
    ]
