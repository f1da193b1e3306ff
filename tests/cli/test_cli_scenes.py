"""``grasplab scenes generate`` and ``grasplab scenes show``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner, Result

from grasplab.cli.scenes import register

pytest.importorskip("pybullet")
pytest.importorskip("matplotlib")

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def _generate(out: Path, seed: int = 1) -> Result:
    args = ["scenes", "generate", "--split", "seen", "--num-scenes", "1", "--views", "2", "--out", str(out)]
    args += ["--seed", str(seed), "--objects-per-scene", "2", "--image-scale", "0.15"]
    return runner.invoke(_app(), args)


def test_generate_then_show(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = _generate(out)
    assert result.exit_code == 0, result.output
    assert "1 scenes written" in result.output
    manifest = json.loads((out / "grasplab_dataset.json").read_text())
    assert manifest["image_size"] == [192, 108] and manifest["seed"] == 1
    cam = out / "scenes/scene_0000/realsense"
    assert sorted(p.name for p in (cam / "rgb").iterdir()) == ["0000.png", "0001.png"]

    again = _generate(out)  # resumes: nothing to do
    assert again.exit_code == 0 and "0 scenes written, 1 already complete" in again.output

    view = tmp_path / "view.png"
    args = ["scenes", "show", str(out), "--scene", "0", "--frame", "1", "--out", str(view)]
    shown = runner.invoke(_app(), args)
    assert shown.exit_code == 0, shown.output
    with Image.open(view) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))
    assert width > 3 * height  # four panels side by side
    assert pixels.std() > 10  # not a blank picture


def test_errors_exit_with_code_2(tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert _generate(out).exit_code == 0
    other = _generate(out, seed=2)
    assert other.exit_code == 2 and "different dataset" in other.output.replace("\n", " ")
    args = ["scenes", "show", str(out), "--scene", "4", "--out", str(tmp_path / "v.png")]
    missing = runner.invoke(_app(), args)
    assert missing.exit_code == 2 and "scene_0004" in missing.output.replace("\n", "")


def test_registered_in_the_main_app() -> None:
    from grasplab.cli.main import app

    result = runner.invoke(app, ["scenes", "--help"])
    assert result.exit_code == 0
    assert "generate" in result.output and "show" in result.output
