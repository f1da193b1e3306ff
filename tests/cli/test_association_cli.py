"""``grasplab train association[-cache]`` and ``grasplab bench tracking``: bad inputs exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from grasplab.cli.main import app
from grasplab.cli.train_association import parse_id_range
from grasplab.models.grasp_association import AssociationSpec
from grasplab.models.registry import build_model
from grasplab.training.checkpoints import save_checkpoint

runner = CliRunner()


def _invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_parse_id_range() -> None:
    assert parse_id_range("0-3,7", "--x") == [0, 1, 2, 3, 7]
    assert parse_id_range("5", "--x") == [5]
    for bad in ("", "a-b", "-1"):
        with pytest.raises(ValueError, match="--x"):
            parse_id_range(bad, "--x")


def test_train_association_without_a_cache_exits_2(tmp_path: Path) -> None:
    code, out = _invoke("train", "association", "--out", tmp_path / "run",
                        "--set", f"data.cache={tmp_path / 'none'}")
    assert code == 2 and "index.json" in out
    code, out = _invoke("train", "association", "--out", tmp_path / "run", "--set", "data.w_max=-1")
    assert code == 2 and "w_max" in out


def test_cache_and_bench_reject_a_checkpoint_that_is_not_a_gsnet(tmp_path: Path) -> None:
    head = save_checkpoint(tmp_path / "assoc.safetensors",
                           build_model("association", AssociationSpec(seed_dim=4, grasp_dim=4)))
    code, out = _invoke("train", "association-cache", "--gsnet", head, "--out", tmp_path / "cache")
    assert code == 2 and "expected a GSNet checkpoint" in out
    code, out = _invoke("bench", "tracking", "--gsnet", head, "--out", tmp_path / "bench")
    assert code == 2 and "expected a GSNet checkpoint" in out
    code, out = _invoke("train", "association-cache", "--gsnet", tmp_path / "missing.safetensors",
                        "--out", tmp_path / "cache")
    assert code == 2 and "missing.safetensors" in out
    code, out = _invoke("train", "association-cache", "--gsnet", head, "--out", tmp_path / "cache",
                        "--static-root", tmp_path)
    assert code == 2 and "no scenes/ folder" in out
