"""``benchmarks/bench_dynamic.py``: cells, resuming from written cells, the table, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_dynamic

    return bench_dynamic


def _cell(tracker: str, kind: str, caught: int, episodes: int = 4, width: int = 640) -> dict[str, Any]:
    reasons = {"success": caught} | ({"slipped": episodes - caught} if caught < episodes else {})
    return {"name": f"{tracker}/gsnet", "motion": {"kind": kind, "image_width": width},
            "episodes": [{"success": k < caught} for k in range(episodes)],
            "success_rate": caught / episodes, "mean_time_to_catch": 1.5 if caught else None,
            "reasons": reasons, "seconds_per_frame": 0.2, "switches": 0, "seed": 0}


def test_cells_keep_crossing_to_primitives(bench: Any) -> None:
    cells = bench.cells(["learned", "nearest"], ["conveyor", "crossing"], ["primitives", "novel"])
    assert ("primitives", "crossing", "learned") in cells
    assert not any(s == "novel" and m == "crossing" for s, m, _ in cells)
    assert len(cells) == 2 * 2 + 1 * 2
    assert bench.cell_stem("learned", "random", "seen") == "dynamic_learned_random_seen"
    assert bench.cell_stem("nearest", "random", "primitives") == "dynamic_nearest_random"


def test_written_cells_are_gathered_into_a_table_without_rerunning(bench: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    for tracker, caught in (("learned", 3), ("nearest", 1)):
        cell = _cell(tracker, "conveyor", caught)
        (cells / f"dynamic_{tracker}_conveyor.json").write_text(json.dumps(cell))

    def no_run(*_: Any, **__: Any) -> None:
        raise AssertionError("a written cell was run again")

    monkeypatch.setattr("grasplab.cli.main.app", no_run)
    out = tmp_path / "dynamic.json"
    result = bench.main(["--episodes", "4", "--motions", "conveyor", "--cells", str(cells),
                         "--out", str(out)])
    rows = {r["tracker"]: r for r in result["rows"]}
    assert rows["learned"]["caught"] == 75.0 and rows["nearest"]["caught"] == 25.0
    assert "| primitives | conveyor | learned | 4 | 75.0 | +50.0 | 1.50 |" in result["markdown"]
    assert json.loads(out.read_text())["rows"] == result["rows"]
    assert result["overall"] == {"learned": 75.0, "nearest": 25.0}
    assert "| all | all | nearest | 4 | 25.0 (mean of cells) |" in result["markdown"]
    assert out.with_suffix(".md").read_text() == result["markdown"]


def test_a_cell_with_other_settings_is_run_again(bench: Any, tmp_path: Path) -> None:
    path = tmp_path / "dynamic_learned_conveyor.json"
    args = bench.parse_args(["--episodes", "4", "--cells", str(tmp_path)])
    assert not bench._matches(path, args, "learned")
    path.write_text(json.dumps(_cell("learned", "conveyor", 2)))
    assert bench._matches(path, args, "learned")
    assert not bench._matches(path, bench.parse_args(["--episodes", "5"]), "learned")
    assert not bench._matches(path, bench.parse_args(["--episodes", "4", "--image-width", "320"]), "learned")
    assert not bench._matches(path, bench.parse_args(["--episodes", "4", "--seed", "1"]), "learned")


def test_bad_arguments(bench: Any) -> None:
    for bad in (["--episodes", "0"], ["--motions", "orbit"], ["--trackers", ""]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)
