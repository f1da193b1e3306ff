"""AP validation of GSNet training: test scenes left out, ``val_ap`` logged and ranked, the CLI hook."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("embreex")
from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.cli.train_grasp import ap_validation  # noqa: E402
from grasplab.data.grasp_dataset import list_graspness_frames  # noqa: E402
from grasplab.training.grasp_config import GraspValidationConfig, load_grasp_train_config  # noqa: E402
from grasplab.training.grasp_task import GraspTask  # noqa: E402
from grasplab.training.trainer import Trainer  # noqa: E402

TINY = [
    "data.num_points=256",
    "data.max_objects=4",
    "optim.epochs=1",
    "optim.batch_size=2",
    "optim.lr_milestones=[]",
    "model.feature_dim=16",
    "model.depth2d_channels=[8, 8, 16]",
    "model.num_seeds=24",
    "model.group_dim=16",
    "model.num_views=60",
    "model.num_angles=6",
    "model.depths=[0.01, 0.02, 0.03, 0.04]",
]


@pytest.fixture(scope="module")
def box_root(tmp_path_factory: pytest.TempPathFactory, graspness_box_root: Path) -> Path:
    """Scene 0 (two labelled frames of a box) and its copy as test scene 100 (a copy of the shared root)."""
    root = tmp_path_factory.mktemp("gsnet_ap_box") / "root"
    shutil.copytree(graspness_box_root, root)
    shutil.copytree(root / "scenes" / "scene_0000", root / "scenes" / "scene_0100")
    return root


def _config(root: Path, extra: list[str] | tuple[str, ...] = ()) -> Any:
    return load_grasp_train_config(None, [f"data.root={root}", *TINY, *extra])


def test_test_scenes_are_neither_trained_nor_loss_validated(box_root: Path) -> None:
    assert list_graspness_frames(box_root) == [(0, 0), (0, 1), (100, 0), (100, 1)]
    train, val = GraspTask(_config(box_root)).frame_split()
    assert train == val == [(0, 0), (0, 1)]  # one scene left: validation on the training frames
    train, val = GraspTask(_config(box_root, ["data.test_scenes_from=null"])).frame_split()
    assert train == [(0, 0), (0, 1)] and val == [(100, 0), (100, 1)]  # the old split: last scene
    with pytest.raises(ValueError, match="test scenes >= 0 left out"):
        GraspTask(_config(box_root, ["data.test_scenes_from=0"])).frame_split()


def test_ap_validation_frames_and_off_switch(box_root: Path) -> None:
    assert ap_validation(_config(box_root, ["validation.ap_frames=0"]), []) is None
    with pytest.raises(ValueError, match="ap_backend"):
        GraspValidationConfig(ap_backend="fast")
    with pytest.raises(ValueError, match="ap_frames"):
        GraspValidationConfig(ap_frames=-1)
    with pytest.raises(ValueError, match=r"scenes \[7\] are not in the dataset"):
        ap_validation(_config(box_root, ["validation.ap_scenes=[7]"]), [])
    cfg = _config(box_root)
    metrics = ap_validation(cfg, [])
    assert metrics is not None
    model = GraspTask(cfg).build_model()
    model.train(False)
    with torch.no_grad():
        first, again = metrics(model), metrics(model)
    assert set(first) == {"ap", "ap_0.8", "ap_0.4", "ap_seconds"}
    assert 0.0 <= first["ap"] <= 100.0 and first["ap_seconds"] > 0.0
    assert first["ap"] == again["ap"]  # a fixed frame list and point draw: repeatable


def test_one_epoch_logs_val_ap_and_ranks_by_it(box_root: Path, tmp_path: Path) -> None:
    cfg = _config(box_root)
    task = GraspTask(cfg, ap_validation(cfg, GraspTask(cfg).frame_split()[1]))
    result = Trainer(task, cfg, tmp_path / "run").fit()
    (row,) = json.loads((tmp_path / "run" / "history.json").read_text())
    assert 0.0 <= row["val_ap"] <= 100.0 and row["val_ap_seconds"] > 0.0
    assert "val_success" in row and "val_ap_0.8" in row
    assert result.history[0].val["ap"] == row["val_ap"]
    better_ap = {"ap": 2.0, "success": 0.0, "loss": 9.0}
    better_proxies = {"ap": 1.0, "success": 1.0, "loss": 0.0}
    assert task.rank(better_ap) > task.rank(better_proxies)
    assert GraspTask(cfg).rank({"success": 0.5, "loss": 1.0}) == (0.5, -1.0)  # no AP: as before


def test_cli_trains_with_ap_validation(box_root: Path, tmp_path: Path) -> None:
    args = ["train", "grasp", "--out", str(tmp_path / "cli")]
    for item in (f"data.root={box_root}", *TINY, "validation.ap_frames=1", "validation.ap_backend=reference"):
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert " ap_0.8 " in result.output  # the epoch's validation line (the table wraps at 80 columns)
    (row,) = json.loads((tmp_path / "cli" / "history.json").read_text())
    assert "val_ap" in row


def test_training_imports_no_detector_or_evaluator() -> None:
    code = (
        "import sys, grasplab.training.grasp_task, grasplab.training.trainer\n"
        "later = ('grasplab.detection', 'grasplab.evaluation')\n"
        "bad = sorted(m for m in sys.modules if m.startswith(later))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
