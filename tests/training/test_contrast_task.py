"""GraspContrast pretraining: one Trainer step, the backbone checkpoint, the command and its errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("embreex")
from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.models.gsnet import GSNet  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.training.checkpoints import load_checkpoint, load_weights_into  # noqa: E402
from grasplab.training.contrast_config import load_contrast_config  # noqa: E402
from grasplab.training.contrast_task import ContrastTask, pretraining_scenes  # noqa: E402
from grasplab.training.trainer import Trainer  # noqa: E402


def _pair_helpers() -> Any:
    path = Path(__file__).parents[1] / "data" / "test_contrast_pairs.py"
    spec = importlib.util.spec_from_file_location("contrast_pair_dataset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY = ["model.feature_dim=16", "model.depth2d_channels=[8, 8, 16]"]
SMALL_RUN = [
    "data.num_points=128",
    "data.num_keypoints=32",
    "data.pairs_per_scene=2",
    "optim.epochs=1",
    "optim.batch_size=2",
    "optim.lr_milestones=[]",
    *TINY,
]


@pytest.fixture(scope="module")
def scene_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contrast_scenes")
    _pair_helpers().write_pair_dataset(root)
    return root


def test_one_epoch_logs_loss_and_match_accuracy_and_saves_a_backbone(
    scene_root: Path, tmp_path: Path
) -> None:
    cfg = load_contrast_config(None, [f"data.root={scene_root}", *SMALL_RUN])
    assert pretraining_scenes(cfg) == ([0], [0])  # one scene: validation on it (warned in the log)
    result = Trainer(ContrastTask(cfg), cfg, tmp_path / "run").fit()
    (row,) = result.history
    assert np.isfinite(row.train["loss"]) and 0.0 <= row.train["match_acc"] <= 1.0
    assert row.train["key_valid"] > 0.5 and np.isfinite(row.val["loss"])
    ckpt = load_checkpoint(result.last_checkpoint)
    assert ckpt.family == "gsnet_backbone"
    assert all(k.startswith("backbone.") for k in ckpt.model.state_dict())
    # The pretrained tensors go into a GSNet of the same spec; its heads stay new.
    detector = build_model("gsnet", ckpt.model.spec)
    assert isinstance(detector, GSNet)
    report = load_weights_into(detector, result.last_checkpoint)
    assert set(report.loaded) == set(ckpt.model.state_dict()) and not report.unexpected
    assert report.new and all(not k.startswith("backbone.") for k in report.new)
    for key, value in ckpt.model.state_dict().items():
        torch.testing.assert_close(detector.state_dict()[key], value)


def test_a_step_moves_the_backbone_towards_matching(scene_root: Path) -> None:
    cfg = load_contrast_config(None, [f"data.root={scene_root}", *SMALL_RUN, "loss.fne=false"])
    task = ContrastTask(cfg)
    torch.manual_seed(0)
    model = task.build_model()
    train, _ = task.datasets()
    batch = task.collate([train[0], train[1]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss, _ = task.loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]


def test_command_pretrains_resumes_and_rejects_bad_input(scene_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["pretrain", "contrast", "--out", str(tmp_path / "p")]
    for item in [f"data.root={scene_root}", *SMALL_RUN]:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "train grasp --init" in result.output
    meta = json.loads((tmp_path / "p" / "meta.json").read_text())
    assert meta["kind"] == "pretrain-contrast"
    again = runner.invoke(app, [*args, "--set", "loss.temperature=0.1"])
    assert again.exit_code == 2 and "different config" in again.output
    (tmp_path / "empty" / "scenes").mkdir(parents=True)
    bad_root = runner.invoke(app, ["pretrain", "contrast", "--out", str(tmp_path / "x"),
                                   "--set", f"data.root={tmp_path / 'empty'}"])
    assert bad_root.exit_code == 2 and "no scenes to pretrain on" in bad_root.output
    bad_key = runner.invoke(app, ["pretrain", "contrast", "--out", str(tmp_path / "x"),
                                  "--set", "loss.tau=0.1"])
    assert bad_key.exit_code == 2 and "unknown" in bad_key.output
    bad_value = runner.invoke(app, ["pretrain", "contrast", "--out", str(tmp_path / "x"),
                                    "--set", "data.num_keypoints=9000"])
    assert bad_value.exit_code == 2 and "num_keypoints" in bad_value.output
