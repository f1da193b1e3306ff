"""Workers die with their parent: ``kill -9`` of a job with 2 workers leaves no worker running.

Local pool workers end through ``PR_SET_PDEATHSIG``; Ray tasks (a local Ray instance started by
the job) end because Ray ends the tasks of a driver that died.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import functools, os, sys, time
    from pathlib import Path

    from grasplab.runtime.engines import make_engine
    from grasplab.runtime.jobs import Job, run_job


    def shard(folder: str, key: int) -> None:
        Path(folder, f"pid-{key}").write_text(str(os.getpid()))
        time.sleep(120)


    if __name__ == "__main__":
        engine = make_engine(sys.argv[2], 2)
        run_job(Job("sleepy", (0, 1), functools.partial(shard, sys.argv[1])), engine)
    """
)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaps counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def _kill_the_parent_and_check(tmp_path: Path, engine: str) -> None:
    script = tmp_path / "sleepy_job.py"
    script.write_text(SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path), engine])
    try:
        files = [tmp_path / "pid-0", tmp_path / "pid-1"]
        assert _wait_for(lambda: all(f.is_file() and f.read_text() for f in files), 120), \
            "the workers never started"
        pids = [int(f.read_text()) for f in files]
        assert parent.pid not in pids and all(_alive(p) for p in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert _wait_for(lambda: not any(_alive(p) for p in pids), 5), \
            f"workers {[p for p in pids if _alive(p)]} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_kill_9_of_the_parent_leaves_no_pool_worker(tmp_path: Path) -> None:
    _kill_the_parent_and_check(tmp_path, "local")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not importable: install the extra with pip install 'grasplab[ray]'")
def test_kill_9_of_the_driver_ends_its_ray_tasks(tmp_path: Path) -> None:
    _kill_the_parent_and_check(tmp_path, "ray")
