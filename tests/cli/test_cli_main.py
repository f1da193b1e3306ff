"""``grasplab --help``, ``version`` and ``info``; optional imports name their extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from grasplab import __version__
from grasplab._optional import MissingExtraError, require
from grasplab.cli.main import app
from grasplab.core import GraspGroup

runner = CliRunner()


def _grasps(n: int) -> GraspGroup:
    rot = np.broadcast_to(np.eye(3), (n, 3, 3))
    return GraspGroup.from_components(np.zeros((n, 3)), rot, np.full(n, 0.05), np.full(n, 0.02),
                                      scores=np.linspace(0.2, 0.9, n))


def test_help_lists_every_stage() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("version", "info", "detect", "demo", "scenes", "label", "eval", "bench", "train"):
        assert command in result.output


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_info_summarizes_a_grasp_file(tmp_path: Path) -> None:
    path = tmp_path / "g.npy"
    _grasps(4).save_npy(path)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    # rich wraps the title (it holds the tmp path) at the runner's 80 columns: compare words
    words = " ".join(result.output.split())
    assert "(4 grasps)" in words and "0.9" in result.output


def test_info_reports_invalid_rows_and_missing_files(tmp_path: Path) -> None:
    array = _grasps(3).array
    array[1, 4:13] = 2.0  # not a rotation
    path = tmp_path / "bad.npy"
    np.save(path, array)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 1, result.output
    assert "row" in result.output and "rotation" in result.output
    missing = runner.invoke(app, ["info", str(tmp_path / "none.npy")])
    assert missing.exit_code == 2 and "error" in missing.output


def test_missing_optional_dependency_names_the_extra() -> None:
    with pytest.raises(MissingExtraError, match=r"grasplab\[sim\]"):
        require("pybullet.this_module_does_not_exist")


def test_an_error_naming_a_long_path_is_one_line(tmp_path: Path) -> None:
    # rich wrapped messages at the terminal width (80 under CliRunner), splitting one error over
    # several lines; the console prints every message as one line
    deep = tmp_path.joinpath(*(["a_rather_long_folder_name"] * 12))
    deep.mkdir(parents=True)
    empty = deep / "empty.npy"
    empty.write_bytes(b"")
    result = CliRunner().invoke(app, ["info", str(empty)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(empty) in lines[0]
