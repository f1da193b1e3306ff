"""Engines that run the shards of a job: a local process pool and Ray.

An engine takes a pure shard function ``fn(key) -> value`` and the keys of the shards to run,
and yields one :class:`Attempt` per shard as the shards finish (in any order). An engine never
raises for a failing shard: the exception is caught where the shard ran and comes back as a
failed attempt, so one bad shard never stops the others.

- :class:`LocalEngine` (``--engine local``): ``workers == 1`` runs the shards in this process, in
  order; more workers use a ``spawn`` process pool. On Linux every worker asks the kernel to kill
  it when its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so a ``kill -9`` of the command
  leaves no worker writing files behind.
- :class:`RayEngine` (``--engine ray``, the ``[ray]`` extra): connects to the cluster at
  ``RAY_ADDRESS``, or starts a private local Ray instance (shut down again at the end). Tasks are
  never retried by Ray (a rerun of the job retries failed shards) and belong to this driver's Ray
  job, which Ray ends with the driver; a local instance started here dies with its driver too.

The shard function and its keys must be picklable for the pool and for Ray (a module-level
function or a ``functools.partial`` of one). Results are identical whatever the engine: a shard's
output depends only on its key and its settings.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

__all__ = ["ENGINES", "Attempt", "Engine", "LocalEngine", "RayEngine", "make_engine", "run_shard"]

logger = logging.getLogger(__name__)

#: Names accepted by :func:`make_engine` (and the CLI's ``--engine``).
ENGINES = ("local", "ray")

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


@dataclass(frozen=True)
class Attempt:
    """The outcome of running one shard once.

    Attributes:
        key: the shard's key.
        value: what the shard function returned (None when it failed).
        error: ``str(exception)`` of a failed shard, else "".
        error_type: the exception's class name of a failed shard, else "".
        seconds: wall time of the shard where it ran (s).
        exception: the exception itself when it could be brought back, else None.
    """

    key: Any
    value: Any = None
    error: str = ""
    error_type: str = ""
    seconds: float = 0.0
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the shard finished without an exception."""
        return not self.error_type


def _portable(exc: BaseException) -> BaseException | None:
    """``exc`` when it survives pickling (to come back from a worker), else None."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling problem means "leave it behind"
        return None
    return exc


def run_shard(fn: Callable[[Any], Any], key: Any) -> Attempt:
    """Run ``fn(key)`` and catch its exception: the unit of work of every engine.

    >>> run_shard(int, "7").value, run_shard(int, "x").error_type
    (7, 'ValueError')
    """
    start = time.perf_counter()
    try:
        value = fn(key)
    except Exception as exc:  # noqa: BLE001 - a failing shard is recorded, never fatal
        logger.debug("shard %r failed:\n%s", key, traceback.format_exc())
        return Attempt(key, None, str(exc), type(exc).__name__, time.perf_counter() - start,
                       _portable(exc))
    return Attempt(key, value, "", "", time.perf_counter() - start)


def _die_with_parent(parent_pid: int) -> None:
    """Pool worker initializer: SIGKILL this process when its parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
                logger.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:  # pragma: no cover - exotic libc
            logger.warning("cannot tie the worker to its parent: %s", exc)
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)


class Engine:
    """Runs shards; subclasses implement :meth:`run`.

    Attributes:
        name: ``"local"`` or ``"ray"``.
        workers: shards run at the same time (for Ray: the most tasks in flight).
    """

    name = "engine"
    workers = 1

    def run(self, fn: Callable[[Any], Any], keys: Sequence[Any]) -> Iterator[Attempt]:
        """Run ``fn`` on every key; yield one :class:`Attempt` per key as shards finish."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"


class LocalEngine(Engine):
    """In this process (``workers == 1``) or in a pool of ``workers`` spawned processes.

    Args:
        workers: processes; 1 runs the shards here, in order (``fn`` need not be picklable).

    Raises:
        ValueError: ``workers < 1``.
    """

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or int(workers) < 1:
            raise ValueError(f"workers: expected a positive integer, got {workers!r}")
        self.workers = int(workers)

    def run(self, fn: Callable[[Any], Any], keys: Sequence[Any]) -> Iterator[Attempt]:
        """Run ``fn`` on every key; yield one :class:`Attempt` per key as shards finish."""
        keys = list(keys)
        if self.workers == 1 or len(keys) <= 1:
            for key in keys:
                yield run_shard(fn, key)
            return
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(keys)),
                                   mp_context=get_context("spawn"),
                                   initializer=_die_with_parent, initargs=(os.getpid(),))
        try:
            futures = {pool.submit(run_shard, fn, key): i for i, key in enumerate(keys)}
            pending: set[Future[Attempt]] = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield _pool_result(future, keys[futures[future]])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _pool_result(future: Future[Attempt], key: Any) -> Attempt:
    """A worker's attempt, or a failed one when the worker itself died (BrokenProcessPool)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - e.g. a worker killed by the OOM killer
        return Attempt(key, None, f"worker error: {exc}", type(exc).__name__, 0.0, _portable(exc))


class RayEngine(Engine):
    """Ray tasks, one per shard, on the cluster at ``RAY_ADDRESS`` or a local instance.

    Args:
        workers: the most tasks in flight; also the CPUs of a local instance started here.
            None = as many as the cluster has CPUs.
        address: the cluster; None = ``$RAY_ADDRESS``, else a new local instance.

    Raises:
        grasplab._optional.MissingExtraError: Ray is not installed (``pip install 'grasplab[ray]'``).
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        from grasplab._optional import require

        if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
            raise ValueError(f"workers: expected a positive integer or None, got {workers!r}")
        self._ray = require("ray")
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = int(workers) if workers is not None else 0

    def _connect(self) -> bool:
        """Connect or start Ray unless this process already did; True when we must shut it down."""
        ray = self._ray
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if self.address is None:
            kwargs.update(address="local", num_cpus=self.workers or None)
        else:
            kwargs.update(address=self.address)
        ray.init(**kwargs)
        logger.info("ray: %s with %s CPUs", self.address or "local instance",
                    ray.cluster_resources().get("CPU"))
        return True

    def run(self, fn: Callable[[Any], Any], keys: Sequence[Any]) -> Iterator[Attempt]:
        """Run ``fn`` on every key; yield one :class:`Attempt` per key as shards finish."""
        keys = list(keys)
        if not keys:
            return
        ray = self._ray
        started = self._connect()
        running: dict[Any, int] = {}
        try:
            limit = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            task = ray.remote(num_cpus=1, max_retries=0)(_ray_shard)
            fn_ref, cwd = ray.put(fn), os.getcwd()
            todo = list(enumerate(keys))[::-1]
            while todo or running:
                while todo and len(running) < limit:
                    index, key = todo.pop()
                    running[task.remote(fn_ref, key, cwd)] = index
                done, _ = ray.wait(list(running), num_returns=1)
                index = running.pop(done[0])
                yield _ray_result(ray, done[0], keys[index])
        finally:
            for ref in running:  # only left when the caller stopped early or an error struck
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def _ray_shard(fn: Callable[[Any], Any], key: Any, cwd: str) -> Attempt:
    """Ray task: run one shard from the driver's working directory (relative paths agree)."""
    if os.getcwd() != cwd and os.path.isdir(cwd):
        os.chdir(cwd)
    return run_shard(fn, key)


def _ray_result(ray: Any, ref: Any, key: Any) -> Attempt:
    try:
        return ray.get(ref)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001 - a crashed worker or node
        return Attempt(key, None, f"worker error: {exc}", type(exc).__name__, 0.0, None)


def make_engine(name: str = "local", workers: int | None = 1) -> Engine:
    """The engine called ``name`` (``"local"`` or ``"ray"``) with ``workers`` workers.

    ``workers=None`` means 1 for ``"local"`` and every CPU of the cluster for ``"ray"``.

    Raises:
        ValueError: an unknown engine or ``workers < 1``.
        grasplab._optional.MissingExtraError: ``"ray"`` without Ray installed.
    """
    if name == "local":
        return LocalEngine(1 if workers is None else workers)
    if name == "ray":
        return RayEngine(workers)
    raise ValueError(f"engine: expected one of {ENGINES}, got {name!r}")
