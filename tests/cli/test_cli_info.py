"""``grasplab info`` reports plausibility findings and unreadable files clearly (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from grasplab.cli.main import app

runner = CliRunner()


def _array(n: int = 4) -> np.ndarray:
    g = np.zeros((n, 17))
    g[:, 0] = 0.5
    g[:, 1:4] = 0.05, 0.02, 0.02
    g[:, 4:13] = np.eye(3).ravel()
    g[:, 13:16] = [0.0, 0.0, 0.6]
    return g


def _info(tmp_path: Path, array: np.ndarray) -> tuple[int, str]:
    path = tmp_path / "g.npy"
    np.save(path, array)
    result = runner.invoke(app, ["info", str(path)], terminal_width=400)
    return result.exit_code, " ".join(result.output.replace("│", " ").split())


def test_plausible_file_has_no_problems_or_warnings(tmp_path: Path) -> None:
    code, out = _info(tmp_path, _array())
    assert code == 0, out
    assert "problems none" in out and "warnings none" in out


def test_millimetre_translations_are_a_problem(tmp_path: Path) -> None:
    array = _array()
    array[:, 13:16] *= 1000.0
    code, out = _info(tmp_path, array)
    assert code == 1, out
    assert "translations look like millimetres" in out and "problems none" not in out


def test_implausible_widths_are_warnings(tmp_path: Path) -> None:
    array = _array()
    array[0, 1] = 5.0
    code, out = _info(tmp_path, array)
    assert code == 0, out
    assert "problems none" in out and "width above 0.2 m in 1 row(s) (rows 0)" in out


def test_negative_width_is_a_problem(tmp_path: Path) -> None:
    array = _array()
    array[2, 1] = -0.05
    code, out = _info(tmp_path, array)
    assert code == 1 and "negative width in 1 row(s) (rows 2)" in out


def test_empty_and_truncated_files_give_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["info", str(empty)], terminal_width=400)
    assert result.exit_code == 2
    assert "is empty (0 bytes)" in result.output and "Aborted" not in result.output
    truncated = tmp_path / "truncated.npy"
    np.save(truncated, _array())
    truncated.write_bytes(truncated.read_bytes()[:100])
    result = runner.invoke(app, ["info", str(truncated)], terminal_width=400)
    assert result.exit_code == 2
    assert "cannot read a grasp array" in result.output and "Aborted" not in result.output
