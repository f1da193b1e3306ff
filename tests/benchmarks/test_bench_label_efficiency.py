"""``benchmarks/bench_label_efficiency.py``: cells, summary statistics, table, bad arguments, --quick."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_label_efficiency

    return bench_label_efficiency


def test_cells_put_ablations_at_the_smallest_budget_only(bench: Any) -> None:
    args = bench.parse_args(["--fractions", "8,1", "--seeds", "3,4", "--ablations", "--seen", "d:100"])
    cells = bench.cells(args)
    assert cells[:2] == [(1, "scratch", 3), (1, "scratch", 4)]
    assert {init for f, init, _ in cells if f == 1} == {"scratch", "contrast", "no_fne", "no_aug"}
    assert {init for f, init, _ in cells if f == 8} == {"scratch", "contrast"}
    assert len(cells) == 2 * 4 + 2 * 2
    plain = bench.parse_args(["--fractions", "1,2"])
    assert {init for _, init, _ in bench.cells(plain)} == {"scratch", "contrast"}


def test_larger_budgets_take_their_own_seeds(bench: Any) -> None:
    args = bench.parse_args(["--fractions", "1,2", "--seeds", "0,1,2,3,4", "--larger-budget-seeds", "0,1"])
    cells = bench.cells(args)
    assert {seed for f, _, seed in cells if f == 1} == {0, 1, 2, 3, 4}
    assert [(init, seed) for f, init, seed in cells if f == 2] == [
        ("scratch", 0), ("scratch", 1), ("contrast", 0), ("contrast", 1)]
    assert bench.parse_args(["--seeds", "3"]).larger_budget_seeds == [3]


def test_summary_means_spreads_and_paired_gains(bench: Any) -> None:
    runs = [
        {"fraction": 1, "init": "scratch", "seed": 0, "ap": {"seen": 2.0, "novel": 1.0}},
        {"fraction": 1, "init": "scratch", "seed": 1, "ap": {"seen": 4.0, "novel": 1.0}},
        {"fraction": 1, "init": "contrast", "seed": 0, "ap": {"seen": 7.0, "novel": 2.0}},
        {"fraction": 1, "init": "contrast", "seed": 1, "ap": {"seen": 8.0, "novel": 4.0}},
    ]
    summary = bench.summarise(runs)
    scratch, contrast = summary["1"]["scratch"], summary["1"]["contrast"]
    assert scratch["seen"] == {"mean": 3.0, "std": pytest.approx(2**0.5), "n": 2}
    gain = contrast["gain"]["seen"]
    assert gain["mean"] == 4.5 and gain["std"] == pytest.approx(0.5**0.5)
    assert contrast["gain"]["novel"]["mean"] == 2.0 and "similar" not in contrast["gain"]
    table = bench.markdown(summary, 8)
    assert "| 1 / 8 | contrast | 7.5 ± 0.7 | – | 3.0 ± 1.4 | +4.5 ± 0.7 | – | +2.0 ± 1.4 | 2 |" in table


def test_gains_pair_runs_by_seed_not_by_order(bench: Any) -> None:
    runs = [
        {"fraction": 1, "init": "scratch", "seed": 0, "ap": {"seen": 2.0}},
        {"fraction": 1, "init": "scratch", "seed": 1, "ap": {"seen": 4.0}},
        {"fraction": 1, "init": "scratch", "seed": 2, "ap": {"seen": 9.0}},
        {"fraction": 1, "init": "no_fne", "seed": 1, "ap": {"seen": 5.0}},
        {"fraction": 1, "init": "no_fne", "seed": 0, "ap": {"seen": 5.0}},
    ]
    gain = bench.summarise(runs)["1"]["no_fne"]["gain"]["seen"]
    assert gain["n"] == 2 and gain["mean"] == 2.0  # (5 - 2 + 5 - 4) / 2; seed 2 has no pair


def test_bad_arguments(bench: Any) -> None:
    for bad in (["--fractions", "a"], ["--fractions", "0"], ["--seeds", ""], ["--jobs", "0"],
                ["--larger-budget-seeds", ","]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
    with pytest.raises(SystemExit, match="--seen"):
        bench.main(["--out", "/tmp/unused-label-efficiency.json"])


@pytest.mark.slow
def test_quick_run_pretrains_finetunes_and_scores(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("embreex")
    out = tmp_path / "le.json"
    cmd = [sys.executable, str(BENCHMARKS / "bench_label_efficiency.py"), "--quick", "--out", str(out),
           "--jobs", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert {(r["init"], r["seed"]) for r in result["runs"]} == {("scratch", 0), ("scratch", 1),
                                                                ("contrast", 0), ("contrast", 1)}
    for row in result["runs"]:
        assert 0.0 <= row["ap"]["seen"] <= 100.0 and row["training"]["epochs"] == 1
    assert result["pretraining"]["contrast"]["epochs"] == 1
    assert "gain" in result["summary"]["1"]["contrast"] and result["jobs"] == 2


def test_jobs_split_the_cores(bench: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 8)
    assert bench._threads(bench.parse_args(["--jobs", "1"]), 6) is None
    assert bench._threads(bench.parse_args(["--jobs", "2"]), 6) == 4
    assert bench._threads(bench.parse_args(["--jobs", "2"]), 1) is None  # one pretraining: all cores
    assert bench._threads(bench.parse_args(["--jobs", "16"]), 12) == 1


def test_a_failed_run_stops_the_study_without_training_the_queue(
    bench: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[tuple[int, str, int]] = []

    def finetune(args: Any, fraction: int, init: str, seed: int, weights: Any, threads: Any = None) -> Path:
        started.append((fraction, init, seed))
        if len(started) > 1:
            time.sleep(0.5)  # a run takes minutes: the study fails before the worker takes another
        raise SystemExit("grasplab train grasp failed (1)")

    monkeypatch.setattr(bench, "pretrain", lambda args, variant, threads=None: tmp_path / f"{variant}.st")
    monkeypatch.setattr(bench, "finetune", finetune)
    monkeypatch.setattr(bench, "root_scenes", lambda spec, flag: (tmp_path, [100]))
    monkeypatch.setattr(bench, "ap_scorer", lambda root, scenes, frames: None)
    with pytest.raises(SystemExit, match="failed"):
        bench.main(["--seen", "d:100", "--seeds", "0,1,2", "--jobs", "1", "--out", str(tmp_path / "le.json")])
    assert started[0] == (1, "scratch", 0) and len(started) <= 2  # not the 18 runs of the study
