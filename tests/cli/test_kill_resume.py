"""Kill and resume: ``kill -9`` of ``scenes generate`` / ``label objects`` mid-run, then a rerun.

The resumed folder must hold exactly the bytes of an uninterrupted run, no temporary file may
survive the rerun, and no worker process may outlive the killed command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grasplab.cli.main import app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]
pytest.importorskip("pybullet")

_LAUNCH = "from grasplab.cli.main import app; app()"
#: Temporary names of the writers (scenes, models, labels, manifests); none may survive.
_TEMPORARY = (".tmp-", ".tmp")


def _generate_args(out: Path) -> list[str]:
    return ["scenes", "generate", "--split", "seen", "--num-scenes", "4", "--views", "6",
            "--objects-per-scene", "3", "--image-scale", "0.3", "--seed", "4", "--out", str(out)]


def _label_args(root: Path) -> list[str]:
    return ["label", "objects", "--root", str(root), "--views", "30", "--angles", "4",
            "--spacing", "0.012", "--seed", "2"]


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (lock files are empty and kept on purpose)."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _temporaries(root: Path) -> list[str]:
    return [p.as_posix() for p in root.rglob("*")
            if p.name.startswith(".tmp-") or (p.name.startswith(".") and p.name.endswith(".tmp"))]


def _descendants(pid: int) -> set[int]:
    """Children, grandchildren, ... of ``pid`` (from /proc/<pid>/task/*/children)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _kill_mid_run(args: list[str], started: Callable[[], bool]) -> None:
    """Run the command with 2 workers, SIGKILL it once ``started()``; its workers must die."""
    parent = subprocess.Popen([sys.executable, "-c", _LAUNCH, *args, "--workers", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: started() or parent.poll() is not None, 300), "never started"
        assert parent.poll() is None, "the command finished before it could be killed"
        workers = _descendants(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert _wait_for(lambda: not any(_alive(p) for p in workers), 10), \
            f"workers {[p for p in workers if _alive(p)]} outlived the killed command"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _leave_leftovers(root: Path, names: tuple[str, ...]) -> None:
    """What a kill at another moment leaves: temporary folders (``.tmp-*``) and files (``.*.tmp``)."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".tmp"):
            path.write_bytes(b"half a file")
        else:
            path.mkdir()
            (path / "part.bin").write_bytes(b"half a scene")


def _finish(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def test_killed_generation_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    _finish(_generate_args(reference))

    def one_scene_done() -> bool:
        return (killed / "scenes" / "scene_0000" / "scene_record.json").is_file() or \
            (killed / "scenes" / "scene_0001" / "scene_record.json").is_file()

    _kill_mid_run(_generate_args(killed), one_scene_done)
    _leave_leftovers(killed, ("scenes/.tmp-scene_0003-dead", "models/.tmp-dead", ".x.json.dead.tmp"))
    _finish(_generate_args(killed))  # the same command resumes
    assert _temporaries(killed) == []
    assert _files(killed) == _files(reference)


def test_killed_labelling_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["scenes", "generate", "--split", "seen", "--num-scenes", "1", "--views", "1",
            "--objects-per-scene", "3", "--image-scale", "0.15", "--seed", "3", "--out", str(data)]
    _finish(args)
    reference = tmp_path / "reference"
    killed = tmp_path / "killed"
    for target in (reference, killed):
        subprocess.run(["cp", "-a", str(data), str(target)], check=True)
    _finish(_label_args(reference))

    def labelling_started() -> bool:
        folder = killed / "grasp_label"
        return folder.is_dir() and any(folder.iterdir())

    _kill_mid_run(_label_args(killed), labelling_started)
    _leave_leftovers(killed, ("grasp_label/.000_labels.npz.dead.tmp",))
    _finish(_label_args(killed))
    assert _temporaries(killed) == []
    assert _files(killed) == _files(reference)
    # a rerun with other settings is refused, the labels stay as they were
    refused = CliRunner().invoke(app, [*_label_args(killed)[:-2], "--seed", "9"])
    assert refused.exit_code == 2 and "seed: 2 -> 9" in refused.output
    assert _files(killed) == _files(reference)
