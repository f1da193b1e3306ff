"""``benchmarks/bench_grasp.py``: argument parsing, the resumable cache, training summaries, --quick."""

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
    """The benchmark script as a module (benchmarks/ import their siblings by name)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_grasp

    return bench_grasp


def test_arguments_and_bad_values(bench: Any) -> None:
    import grasp_sections as sections
    args = bench.parse_args(["--seen", "data/x:100-102,105", "--mu", "0.2,1.0"])
    assert sections.root_scenes(args.seen, "--seen") == ("data/x", [100, 101, 102, 105])
    assert args.mu == [0.2, 1.0] and args.binpick_objects == (5, 15)
    quick = bench.parse_args(["--quick"])
    assert quick.episodes == 1 and quick.binpick_splits == ("seen",) and quick.max_frames == 2
    assert bench._pairs(["a=b.safetensors", "c=d=e"], "--gsnet") == {"a": "b.safetensors", "c": "d=e"}
    for bad in (["nope"], ["=x"], ["a="]):
        with pytest.raises(SystemExit, match="NAME=PATH"):
            bench._pairs(bad, "--gsnet")
    with pytest.raises(SystemExit, match="ROOT:SCENES"):
        sections.root_scenes("100-107", "--seen")
    with pytest.raises(SystemExit, match="bad scene list"):
        sections.root_scenes("data/x:7-3", "--seen")


def test_cache_resumes_and_recomputes_other_settings(bench: Any, tmp_path: Path) -> None:
    import grasp_sections as sections
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        return {"value": len(calls)}

    path = tmp_path / "grasp.partial.json"
    assert sections.ResultCache(path, fresh=False).get("ap/seen/x", [1, "a"], compute) == {"value": 1}
    again = sections.ResultCache(path, fresh=False)  # a new run reads the finished case back
    assert again.get("ap/seen/x", [1, "a"], compute) == {"value": 1} and len(calls) == 1
    assert again.get("ap/seen/x", [2, "a"], compute) == {"value": 2}  # other settings: redone
    assert sections.ResultCache(path, fresh=True).get("ap/seen/x", [2, "a"], compute) == {"value": 3}


def test_training_summary_reads_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from grasp_sections import training_summary

    rows = [{"epoch": 0, "lr": 1e-3, "seconds": 100.0, "val_ap": 3.0},
            {"epoch": 1, "lr": 1e-3, "seconds": 120.0, "val_ap": 5.0},
            {"epoch": 2, "lr": 1e-3, "seconds": 110.0, "val_ap": 4.0}]
    (tmp_path / "history.json").write_text(json.dumps(rows))
    (tmp_path / "meta.json").write_text(json.dumps({"git_sha": "abc"}))
    out = training_summary(tmp_path)
    assert out == {"epochs": 3, "train_seconds": 330.0, "git_sha": "abc", "best_epoch": 2,
                   "best_val_ap": 5.0, "last_val_ap": 4.0}
    with pytest.raises(FileNotFoundError):
        training_summary(tmp_path / "missing")


@pytest.mark.slow
def test_quick_run_compares_every_method(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("embreex")
    from grasplab.models.gsnet import GSNetSpec
    from grasplab.models.registry import build_model
    from grasplab.training.checkpoints import save_checkpoint

    torch.manual_seed(0)
    spec = GSNetSpec(feature_dim=16, depth2d_channels=(8, 8, 16), num_seeds=32, group_dim=16)
    ckpt = save_checkpoint(tmp_path / "tiny.safetensors", build_model("gsnet", spec),
                           config={"data": {"num_points": 1024, "downsample": 2}}, state={"epoch": 0})
    out, md = tmp_path / "grasp.json", tmp_path / "grasp.md"
    cmd = [sys.executable, str(BENCHMARKS / "bench_grasp.py"), "--quick", "--gsnet", f"tiny={ckpt}",
           "--out", str(out), "--markdown-out", str(md)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    names = ["gsnet tiny", "analytic (no mask)", "analytic (true mask)", "oracle"]
    assert result["methods"] == names
    for name in names:
        assert 0.0 <= result["ap"]["seen"]["methods"][name]["ap"]["AP"] <= 100.0
        pick = result["binpick"]["seen 5"][name]
        assert 0.0 <= pick["success_rate"] <= 1.0 and pick["objects"] == 5
    assert result["ap"]["seen"]["methods"]["oracle"]["ap"]["AP"] > 0.0  # ground truth grasps score
    tiny = result["latency"]["gsnet tiny"]
    assert tiny["network_ms"] > 0 and tiny["postprocess_ms"] >= 0 and tiny["parameters"] > 0
    assert md.read_text() == result["markdown"] and "| gsnet tiny |" in result["markdown"]
    rerun = [*cmd, "--sections", "binpick,latency"]  # (--quick's AP frames are a new temp dataset)
    again = subprocess.run(rerun, capture_output=True, text=True, check=False, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "cached: binpick/seen 5/oracle" in again.stdout and "cached: latency/gsnet tiny" in again.stdout
    assert "ap" not in json.loads(out.read_text())


def test_markdown_rows_and_missing_cells(bench: Any) -> None:
    results = {
        "methods": ["gsnet a", "oracle"],
        "ap": {"seen": {"frames": [[100, 0]], "methods": {"gsnet a": {"ap": {"AP": 12.34}},
                                                          "oracle": {"ap": {"AP": 50.0}}}}},
        "binpick": {"seen 5": {"gsnet a": {"success_rate": 0.5, "percent_cleared": 0.8}}},
        "latency": {"gsnet a": {"total_ms": 90.4, "network_ms": 60.2, "postprocess_ms": 30.1,
                                "parameters": 1234}},
        "training": {"a": {"train_seconds": 7200.0, "epochs": 24}},
        "config": {"backend": "reference", "episodes": 1, "mu": [0.6], "repeats": 2,
                   "machine": {"load_average_1min": 1.0, "cpu_count": 2}},
    }
    lines = bench.markdown(results).splitlines()
    assert lines[0] == "| method | AP seen | SR / PC seen 5 | ms / frame (net + post) | params | training |"
    assert lines[2] == "| gsnet a | 12.3 | 50 / 80 | 90 (60 + 30) | 1,234 | 2.00 h, 24 ep |"
    assert lines[3] == "| oracle | 50.0 | – | – | – | – |"
    assert "seen 1." in lines[5] and "μ ∈ [0.6]" in lines[5] and "median of 2" in lines[5]
