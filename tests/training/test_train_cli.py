"""``grasplab train pixel`` on the synthetic root: runs, resumes, rejects bad overrides."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402

PRESET = Path(__file__).resolve().parents[2] / "configs" / "pixel" / "ggcnn2_smoke.yaml"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(__file__).resolve().parents[1] / "data" / "pixel_synthetic.py"
    spec = importlib.util.spec_from_file_location("pixel_synthetic_cli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_root(tmp_path_factory.mktemp("cli_root"), num_scenes=2, frames_per_scene=2)


def _args(root: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "pixel",
        "--config",
        str(PRESET),
        "--out",
        str(out),
        "--set",
        f"data.root={root}",
        "--set",
        "data.crop_size=32",
        "--set",
        "model.channels=4",
        "--set",
        "optim.epochs=1",
        *extra,
    ]


def test_train_pixel_runs_and_resumes(root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, _args(root, tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "val success" in result.output
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").is_file()
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["grasplab_version"] and meta["kind"] == "train-pixel"
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert meta["device"] == "cpu" and "train_quality" in history[0]
    again = runner.invoke(app, _args(root, tmp_path / "run", "--set", "optim.epochs=2"))
    assert again.exit_code == 0, again.output
    assert "resumed after epoch 1" in again.output
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "optim.bogus=1"], "unknown config key"),
        (["--device", "tpu"], "--device"),
        (["--device", "cuda:x"], "--device"),
        (["--set", "optim.lr=x"], "optim.lr"),
    ],
)
def test_train_pixel_errors(root: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(app, _args(root, tmp_path / "run", *extra))
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.slow  # torch.onnx.export takes ~15 s even for a tiny network
def test_export_onnx_command(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    from grasplab.models import build_pixel_model
    from grasplab.training import save_checkpoint

    runner = CliRunner()
    weights = save_checkpoint(
        tmp_path / "run" / "last.safetensors",
        build_pixel_model("ggcnn2", 1, 4, channels=4),
        config={"data": {"input_mode": "depth", "depth_scale": 1.0}},
    )
    result = runner.invoke(app, ["train", "export-onnx", "--weights", str(weights), "--out",
                                 str(tmp_path / "m.onnx"), "--size", "32"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.onnx").is_file() and (tmp_path / "m.json").is_file()
    assert json.loads((tmp_path / "m.json").read_text())["data"]["input_mode"] == "depth"
    bad = runner.invoke(app, ["train", "export-onnx", "--weights", str(weights),
                              "--out", str(tmp_path / "m.pt")])
    assert bad.exit_code == 2 and ".onnx" in bad.output
    missing = runner.invoke(app, ["train", "export-onnx", "--weights", str(tmp_path / "none.safetensors"),
                                  "--out", str(tmp_path / "n.onnx")])
    assert missing.exit_code == 2
