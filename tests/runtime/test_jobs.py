"""The job runner on a toy pure function: resume, failures, progress, atomic output, manifest."""

from __future__ import annotations

import functools
import json
import os
import uuid
from pathlib import Path

import pytest

from grasplab.runtime.engines import LocalEngine, make_engine, run_shard
from grasplab.runtime.jobs import (
    FingerprintMismatchError,
    Job,
    JobBusyError,
    ShardResult,
    job_manifest_path,
    read_job_manifest,
    run_job,
)


def _square(folder: str, key: int) -> int:
    """Toy shard: write ``key**2`` to ``<key>.txt`` atomically; fail where ``fail-<key>`` exists."""
    out = Path(folder)
    if (out / f"fail-{key}").exists():
        raise ValueError(f"shard {key} was told to fail")
    tmp = out / f".{key}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(str(key * key))
    os.replace(tmp, out / f"{key}.txt")
    return key * key


def _job(out: Path, keys: tuple[int, ...] = (0, 1, 2, 3), **kwargs: object) -> Job:
    return Job("squares", keys, functools.partial(_square, str(out)), out=out,
               done=lambda k: (out / f"{k}.txt").is_file(), leftovers=(".*.tmp",), **kwargs)  # type: ignore[arg-type]


def _outputs(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.iterdir()) if p.is_file()}


def test_runs_every_shard_in_key_order_with_progress(tmp_path: Path) -> None:
    seen: list[ShardResult] = []
    report = run_job(_job(tmp_path), progress=seen.append)
    assert [r.key for r in report.results] == [0, 1, 2, 3]
    assert [r.value for r in report.results] == [0, 1, 4, 9]
    assert report.done == (0, 1, 2, 3) and report.skipped == () and report.failed == ()
    assert sorted(r.key for r in seen) == [0, 1, 2, 3] and all(r.status == "done" for r in seen)
    assert report.exit_code == 0 and report.engine == "local"
    assert (tmp_path / "3.txt").read_text() == "9"
    manifest = read_job_manifest(tmp_path, "squares")
    assert manifest is not None
    assert manifest["state"] == "complete" and manifest["failed"] == {} and manifest["num_shards"] == 4


def test_resume_after_partial_output_skips_finished_shards(tmp_path: Path) -> None:
    run_job(_job(tmp_path, keys=(0, 2)))
    stamp = (tmp_path / "2.txt").stat().st_mtime_ns
    (tmp_path / ".3.deadbeef.tmp").write_text("half-written by a killed run")
    seen: list[ShardResult] = []
    report = run_job(_job(tmp_path), progress=seen.append)
    assert report.skipped == (0, 2) and report.done == (1, 3)
    assert [r.status for r in seen[:2]] == ["skipped", "skipped"]  # skipped ones are reported first
    assert (tmp_path / "2.txt").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob(".*.tmp"))  # the leftover is gone
    again = run_job(_job(tmp_path))
    assert again.done == () and again.skipped == (0, 1, 2, 3)


def test_a_failing_shard_is_recorded_and_retried_on_rerun(tmp_path: Path) -> None:
    (tmp_path / "fail-1").touch()
    report = run_job(_job(tmp_path))
    assert report.done == (0, 2, 3) and [r.key for r in report.failed] == [1]
    failure = report.failed[0]
    assert failure.error == "shard 1 was told to fail" and failure.error_type == "ValueError"
    assert isinstance(failure.exception, ValueError) and report.exit_code == 1
    assert not (tmp_path / "1.txt").exists()
    manifest = read_job_manifest(tmp_path, "squares")
    assert manifest is not None and manifest["state"] == "failed"
    assert manifest["failed"] == {"1": "ValueError: shard 1 was told to fail"}
    with pytest.raises(ValueError, match="told to fail"):
        report.raise_first_failure()
    (tmp_path / "fail-1").unlink()
    rerun = run_job(_job(tmp_path))
    assert rerun.done == (1,) and rerun.skipped == (0, 2, 3) and rerun.exit_code == 0
    manifest = read_job_manifest(tmp_path, "squares")
    assert manifest is not None and manifest["failed"] == {} and manifest["state"] == "complete"


def test_process_pool_gives_the_same_files_and_catches_failures(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for out in (one, two):
        out.mkdir()
        (out / "fail-2").touch()
    run_job(_job(one), LocalEngine(1))
    report = run_job(_job(two), LocalEngine(2))
    assert [r.key for r in report.failed] == [2] and report.failed[0].error_type == "ValueError"
    assert report.done == (0, 1, 3)
    assert _outputs(one) == _outputs(two)  # manifest included: no engine, worker count or time


def test_fingerprint_is_recorded_and_a_change_can_be_refused(tmp_path: Path) -> None:
    run_job(_job(tmp_path, fingerprint={"power": 2}))
    assert json.loads(job_manifest_path(tmp_path, "squares").read_text())["fingerprint"] == {"power": 2}
    # the default ("record") runs and records the new settings, like every command today
    run_job(_job(tmp_path, fingerprint={"power": 3}))
    assert read_job_manifest(tmp_path, "squares")["fingerprint"] == {"power": 3}  # type: ignore[index]
    with pytest.raises(FingerprintMismatchError, match="power"):
        run_job(_job(tmp_path, fingerprint={"power": 4}, on_change="refuse"))
    run_job(_job(tmp_path, fingerprint={"power": 3}, on_change="refuse"))  # same settings: fine


def test_a_second_run_of_the_same_job_is_refused_while_one_holds_the_folder(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    with open(tmp_path / ".grasplab-job-squares.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(JobBusyError, match="another run"):
            run_job(_job(tmp_path))
    assert run_job(_job(tmp_path)).done == (0, 1, 2, 3)


def test_bad_jobs_and_engines_are_clear_errors(tmp_path: Path) -> None:
    fn = functools.partial(_square, str(tmp_path))
    with pytest.raises(ValueError, match="unique"):
        Job("squares", (1, 1), fn)
    with pytest.raises(ValueError, match="name"):
        Job("no spaces", (1,), fn)
    with pytest.raises(ValueError, match="on_change"):
        Job("squares", (1,), fn, on_change="ignore")
    with pytest.raises(ValueError, match="out"):
        Job("squares", (1,), fn, leftovers=("*.tmp",))
    with pytest.raises(ValueError, match="workers"):
        LocalEngine(0)
    with pytest.raises(ValueError, match="engine"):
        make_engine("dask")


def test_run_shard_catches_and_keeps_the_exception() -> None:
    good, bad = run_shard(int, "7"), run_shard(int, "x")
    assert good.ok and good.value == 7 and good.error == ""
    assert not bad.ok and bad.error_type == "ValueError" and isinstance(bad.exception, ValueError)
