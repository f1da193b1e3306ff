"""``grasplab bench binpick``: the JSON figures and the per-attempt CSV beside them agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grasplab.cli.main import app
from grasplab.evaluation.binpick_summary import summarize
from grasplab.execution.attempt_log import read_attempts_csv

pytest.importorskip("pybullet")
runner = CliRunner()


def test_binpick_writes_json_markdown_and_attempt_log(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "binpick", "--detector", "random", "--objects", "2",
                                 "--scenes", "1", "--mu", "0.5", "--top-k", "3", "--pool-size", "4",
                                 "--image-width", "64", "--image-height", "48", "--seed", "1",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "binpick_random.json").read_text())
    assert (tmp_path / "binpick_random.md").is_file()
    log = read_attempts_csv(tmp_path / "binpick_random.attempts.csv")
    assert {r.detector for r in log} == {"random"}
    assert sum(r.phase == "top_k" for r in log) == 3
    summary = summarize(log, (0.5,))
    assert summary.success_rate == figures["success_rate"]
    assert summary.percent_cleared == figures["percent_cleared"]
    assert summary.ap == figures["ap"]
    assert summary.reasons == figures["reasons"]
    assert figures["per_mu"][0]["attempts"] == sum(r.phase == "clearance" for r in log)


def test_binpick_rejects_unknown_detector_and_unused_weights(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "binpick", "--detector", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown detector 'nope'" in result.output
    result = runner.invoke(app, ["bench", "binpick", "--detector", "random", "--weights", "w.onnx",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--weights is only used with --detector gsnet or pixel" in result.output
