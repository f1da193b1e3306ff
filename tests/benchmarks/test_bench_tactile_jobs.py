"""``benchmarks/bench_tactile.py``: bad arguments, the table, and ``--jobs 2`` equals one at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_tactile

    return bench_tactile


def test_bad_jobs_stop_before_any_work(bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-1"):
        with pytest.raises(SystemExit):
            bench._parse(["--synthetic", "40", "--jobs", bad])
        assert "--jobs" in capsys.readouterr().err
    assert bench._parse(["--synthetic", "40", "--jobs", "2"]).jobs == 2


def test_markdown_gives_a_spread_only_over_several_seeds(bench: Any) -> None:
    two = {"knn": {"values": [70.0, 74.0], "mean": 72.0, "std": 2.8284}}
    one = {"knn": {"values": [76.0], "mean": 76.0, "std": 0.0}}
    text = bench._markdown({"sample": {"moco": two}, "object": {"moco": one}}, "header")
    assert "| moco | 72.00 ± 2.83 [80.37] | - [80.83] | - [81.83] |" in text
    assert "mean ± std over 2 seeds; the paper's Table I in brackets" in text
    assert "| moco | 76.00 | - | - |" in text and "Split by object (test accuracy %, one seed)" in text


def _study(tmp_path: Path, jobs: int) -> dict[str, Any]:
    out = tmp_path / f"jobs{jobs}.json"
    command = [sys.executable, str(BENCHMARKS / "bench_tactile.py"), "--synthetic", "80", "--smoke",
               "--methods", "moco,supervised", "--splits", "sample", "--seeds", "0", "--no-controls",
               "--jobs", str(jobs), "--runs", str(tmp_path / f"runs{jobs}"), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    record: dict[str, Any] = json.loads(out.read_text())
    return record


@pytest.mark.slow
def test_two_jobs_give_the_same_table_and_a_rerun_reuses_finished_runs(tmp_path: Path) -> None:
    one, two = _study(tmp_path, 1), _study(tmp_path, 2)
    assert two["machine"]["jobs"] == 2
    assert one["table"] == two["table"]
    order = [(r["method"], r["seed"]) for r in one["runs"]]
    assert order == [("moco", 0), ("supervised", 0)]
    assert [(r["method"], r["seed"]) for r in two["runs"]] == order
    assert all(Path(r["run"]).parent.parent.parent == tmp_path / "runs2" for r in two["runs"])
    again = _study(tmp_path, 1)  # the same --runs: nothing left to train, the probes run again
    assert again["table"] == one["table"]
    for old, new in zip(one["runs"], again["runs"], strict=True):
        assert old["resumed_from_epoch"] == 0 and new["resumed_from_epoch"] == new["epochs"] == 2
        assert new["train_seconds"] == old["train_seconds"] > 0
