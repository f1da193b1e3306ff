"""The job runner: shards of pure work, atomic output, resume, recorded failures, progress.

A :class:`Job` is a set of shards (``keys``) and a pure function ``fn(key)`` that makes one
shard's output and writes it atomically (temporary file or folder, then a rename). The runner
(:func:`run_job`) adds what every long job needs:

- **resume**: shards whose output is already complete (``done(key)``) are skipped and reported
  as ``"skipped"``, so rerunning an interrupted command continues where it stopped;
- **failures**: a shard that raises is recorded (``"failed"``, with its message) and the others
  go on; its output does not exist, so the next run retries it. The failures of the last run are
  kept in the job manifest;
- **leftovers**: temporary files of a killed run (glob ``leftovers`` under ``out``) are removed
  before any shard starts;
- **one run at a time**: a lock file in ``out`` (``fcntl.flock``, released by the kernel even
  after ``kill -9``) stops a second run of the same job from deleting the first one's temporary
  files;
- **manifest**: ``out/.grasplab-job-<name>.json`` (written atomically) records the job's settings
  fingerprint, its state and its failures. It depends only on the settings and the outcome,
  never on the engine, the worker count or timings, so two runs with the same seed leave
  byte-identical folders;
- **progress**: ``progress(result)`` is called in this process once per shard as it finishes
  (skipped shards first).

The engine (:mod:`grasplab.runtime.engines`) decides where shards run: this process, a process
pool or Ray.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasplab.runtime.engines import Attempt, Engine, LocalEngine

__all__ = [
    "JOB_FORMAT",
    "FingerprintMismatchError",
    "Job",
    "JobBusyError",
    "JobReport",
    "ShardResult",
    "job_manifest_path",
    "read_job_manifest",
    "remove_leftovers",
    "run_job",
]

logger = logging.getLogger(__name__)

#: Version of the job manifest format.
JOB_FORMAT = 1
_ON_CHANGE = ("record", "refuse")


class JobBusyError(RuntimeError):
    """Another run of the same job holds the output folder's lock."""


class FingerprintMismatchError(ValueError):
    """The output folder was made with other settings and the job refuses to mix them."""


@dataclass(frozen=True)
class Job:
    """Shards of pure work and where their output goes.

    Attributes:
        name: short name, also in the manifest file name (letters, digits, ``-``, ``_``).
        keys: one key per shard (picklable; ``str(key)`` names it in the manifest).
        fn: ``fn(key)`` makes one shard and writes its output atomically; returns a small
            picklable value. Must be picklable for a process pool or Ray.
        out: output folder (manifest, lock, leftovers); None = the job writes no files.
        done: ``done(key)`` is True when the shard's output is complete (checked here, before
            any shard runs); None = every shard runs.
        fingerprint: JSON-able settings that make the output (recorded in the manifest).
        on_change: what a rerun with another fingerprint does: ``"record"`` (run, and record the
            new fingerprint) or ``"refuse"`` (raise :class:`FingerprintMismatchError`).
        leftovers: glob patterns under ``out`` of temporary files a killed run may leave.
    """

    name: str
    keys: tuple[Any, ...]
    fn: Callable[[Any], Any]
    out: Path | None = None
    done: Callable[[Any], bool] | None = None
    fingerprint: Mapping[str, Any] | None = None
    on_change: str = "record"
    leftovers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"name: expected letters, digits, '-' or '_', got {self.name!r}")
        if self.on_change not in _ON_CHANGE:
            raise ValueError(f"on_change: expected one of {_ON_CHANGE}, got {self.on_change!r}")
        if len({str(k) for k in self.keys}) != len(self.keys):
            raise ValueError(f"keys of job {self.name!r} are not unique")
        if self.leftovers and self.out is None:
            raise ValueError("leftovers need an output folder (out)")


@dataclass(frozen=True)
class ShardResult:
    """What happened to one shard.

    Attributes:
        key: the shard's key.
        status: ``"done"`` (made by this run), ``"skipped"`` (already complete) or ``"failed"``.
        value: what ``fn`` returned (None unless done).
        error: the failure's message, else "".
        error_type: the failure's exception class name, else "".
        seconds: wall time of the shard (s).
        exception: the exception of a failed shard when it could be brought back, else None.
    """

    key: Any
    status: str
    value: Any = None
    error: str = ""
    error_type: str = ""
    seconds: float = 0.0
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_attempt(cls, attempt: Attempt) -> ShardResult:
        """A ``"done"`` or ``"failed"`` result of one engine attempt."""
        status = "done" if attempt.ok else "failed"
        return cls(attempt.key, status, attempt.value, attempt.error, attempt.error_type,
                   attempt.seconds, attempt.exception)


@dataclass(frozen=True)
class JobReport:
    """The outcome of :func:`run_job`.

    Attributes:
        name: the job's name.
        results: one result per shard, in the order of the job's keys.
        engine: the engine's name.
        seconds: wall time of the run (s).
    """

    name: str
    results: tuple[ShardResult, ...]
    engine: str
    seconds: float

    def _keys(self, status: str) -> tuple[Any, ...]:
        return tuple(r.key for r in self.results if r.status == status)

    @property
    def done(self) -> tuple[Any, ...]:
        """Keys of the shards made by this run."""
        return self._keys("done")

    @property
    def skipped(self) -> tuple[Any, ...]:
        """Keys of the shards that were already complete."""
        return self._keys("skipped")

    @property
    def failed(self) -> tuple[ShardResult, ...]:
        """Results of the shards that failed (rerun the job to retry them)."""
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def exit_code(self) -> int:
        """0 when no shard failed, else 1 (what a command should exit with)."""
        return 1 if self.failed else 0

    def raise_first_failure(self) -> None:
        """Re-raise the first failed shard's exception (a RuntimeError if it was not kept)."""
        for result in self.failed:
            if result.exception is not None:
                raise result.exception
            raise RuntimeError(f"shard {result.key!r} of job {self.name!r} failed: "
                               f"{result.error_type}: {result.error}")


def job_manifest_path(out: Path | str, name: str) -> Path:
    """``out/.grasplab-job-<name>.json``."""
    return Path(out) / f".grasplab-job-{name}.json"


def read_job_manifest(out: Path | str, name: str) -> dict[str, Any] | None:
    """The job manifest in ``out``, or None when there is none or it cannot be read."""
    path = job_manifest_path(out, name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring the unreadable job manifest %s (%s)", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _write_manifest(job: Job, state: str, failed: Mapping[str, str]) -> None:
    assert job.out is not None
    data = {"job": job.name, "format": JOB_FORMAT, "state": state, "num_shards": len(job.keys),
            "fingerprint": job.fingerprint, "failed": dict(sorted(failed.items()))}
    path = job_manifest_path(job.out, job.name)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _changed_settings(before: Mapping[str, Any], now: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``"key: old -> new"`` for each differing leaf of two fingerprints (nested keys dotted)."""
    changed = []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changed += _changed_settings(old, new, f"{prefix}{key}.")
        else:
            changed.append(f"{prefix}{key}: {_short(old)} -> {_short(new)}")
    return changed


def _check_fingerprint(job: Job, previous: Mapping[str, Any] | None) -> None:
    if previous is None or job.fingerprint is None:
        return
    before, now = previous.get("fingerprint"), _json_round_trip(job.fingerprint)
    if before is None or before == now:
        return
    changed = _changed_settings(before, now)
    if job.on_change == "refuse":
        raise FingerprintMismatchError(
            f"{job.out} was made by job {job.name!r} with other settings ({', '.join(changed)}); "
            "use another output folder or the same settings")
    logger.info("job %s: settings changed since the last run (%s)", job.name, ", ".join(changed))


@contextlib.contextmanager
def _locked(job: Job) -> Iterator[None]:
    """Hold ``out/.grasplab-job-<name>.lock`` (no-op without ``fcntl`` or an output folder)."""
    if job.out is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(job.out / f".grasplab-job-{job.name}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise JobBusyError(f"another run of job {job.name!r} is writing to {job.out}; "
                               "wait for it or stop it first") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_leftovers(out: Path, patterns: Sequence[str]) -> int:
    """Delete what ``patterns`` (globs under ``out``) match; returns how many paths went."""
    count = 0
    for pattern in patterns:
        for path in sorted(out.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            count += 1
    return count


def _prepare(job: Job) -> dict[str, str]:
    """Check the fingerprint, clean leftovers; returns the previous run's failures."""
    assert job.out is not None
    previous = read_job_manifest(job.out, job.name)
    _check_fingerprint(job, previous)
    removed = remove_leftovers(job.out, job.leftovers)
    if removed:
        logger.info("job %s: removed %d temporary files of an interrupted run", job.name, removed)
    failed = dict((previous or {}).get("failed") or {})
    return {k: str(v) for k, v in failed.items()}


def run_job(
    job: Job,
    engine: Engine | None = None,
    progress: Callable[[ShardResult], None] | None = None,
) -> JobReport:
    """Run the shards of ``job`` that are not complete yet (module docstring).

    Args:
        job: the shards, their function and output folder.
        engine: where shards run; default ``LocalEngine(1)`` (this process, in order).
        progress: called here with each shard's result as it finishes.

    Returns:
        The report; shard failures are in it, never raised.

    Raises:
        JobBusyError: another run of the same job holds the output folder.
        FingerprintMismatchError: other settings made the folder and ``job.on_change`` is
            ``"refuse"``.
    """
    start = time.perf_counter()
    engine = engine if engine is not None else LocalEngine(1)
    if job.out is not None:
        job.out.mkdir(parents=True, exist_ok=True)
    with _locked(job):
        previous_failures = _prepare(job) if job.out is not None else {}
        skipped = [k for k in job.keys if job.done is not None and job.done(k)]
        skipped_names = {str(k) for k in skipped}
        todo = [k for k in job.keys if str(k) not in skipped_names]
        retried = sorted(set(previous_failures) & {str(k) for k in todo})
        if skipped:
            logger.info("job %s: %d of %d shards already complete, skipped", job.name,
                        len(skipped), len(job.keys))
        if retried:
            logger.info("job %s: retrying %d shards that failed last time", job.name, len(retried))
        results = {str(k): ShardResult(k, "skipped") for k in skipped}
        if progress is not None:
            for key in skipped:
                progress(results[str(key)])
        names = {str(k) for k in job.keys}  # failures of shards outside this run stay recorded
        failures = {k: v for k, v in previous_failures.items() if k not in names}
        if job.out is not None:
            _write_manifest(job, "running", failures)
        for attempt in engine.run(job.fn, todo):
            result = ShardResult.from_attempt(attempt)
            results[str(result.key)] = result
            if result.status == "failed":
                failures[str(result.key)] = f"{result.error_type}: {result.error}"
                logger.warning("job %s: shard %s failed: %s", job.name, result.key,
                               failures[str(result.key)])
            if progress is not None:
                progress(result)
        if job.out is not None:
            _write_manifest(job, "failed" if failures else "complete", failures)
    report = JobReport(job.name, tuple(results[str(k)] for k in job.keys), engine.name,
                       time.perf_counter() - start)
    logger.info("job %s (%s): %d done, %d skipped, %d failed in %.1f s", job.name, engine.name,
                len(report.done), len(report.skipped), len(report.failed), report.seconds)
    return report
