"""Run files: resolved config.yaml and meta.json (kind, version, git SHA, seed, command line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from grasplab import __version__
from grasplab.runtime.config import load_config
from grasplab.runtime.runfiles import git_sha, read_run_meta, run_meta, write_run_files


@dataclass(frozen=True)
class Cfg:
    lr: float = 0.1
    steps: tuple[int, ...] = (1, 2)
    seed: int = 3


def test_run_meta_fields() -> None:
    meta = run_meta(5, ["grasplab", "x"], device="cpu")
    assert meta["seed"] == 5 and meta["command"] == ["grasplab", "x"] and meta["device"] == "cpu"
    assert meta["grasplab_version"] == __version__
    assert meta["created_at"].endswith("Z") and meta["python_version"].count(".") == 2
    assert "git_sha" in meta and "torch_version" in meta
    sha = git_sha()
    assert sha is None or (len(sha) == 40 and int(sha, 16) >= 0)


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    cfg = Cfg(lr=0.5)
    out = tmp_path / "run"
    write_run_files(out, cfg, seed=cfg.seed, kind="train-test", argv=["a", "b"], extra={"epoch": 2})
    assert load_config(Cfg, out / "config.yaml") == cfg
    meta = read_run_meta(out)
    assert meta["kind"] == "train-test" and meta["seed"] == 3 and meta["command"] == ["a", "b"]
    assert meta["epoch"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "meta.json"]  # no temporaries left
    # rewriting replaces both files
    write_run_files(out, Cfg(lr=0.25), seed=None, kind="train-test", argv=[])
    assert load_config(Cfg, out / "config.yaml").lr == 0.25 and read_run_meta(out)["seed"] is None


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        write_run_files(tmp_path, Cfg(), seed=0, kind="")
    with pytest.raises(ValueError, match="JSON"):
        write_run_files(tmp_path / "x", Cfg(), seed=0, kind="k", extra={"bad": object()})
    assert not (tmp_path / "x" / "config.yaml").exists()
    with pytest.raises(FileNotFoundError, match="meta.json"):
        read_run_meta(tmp_path / "nothing")
    (tmp_path / "meta.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        read_run_meta(tmp_path)
    (tmp_path / "meta.json").write_text("{oops")
    with pytest.raises(ValueError, match="invalid JSON"):
        read_run_meta(tmp_path)
