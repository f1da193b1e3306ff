"""The same seed gives byte-identical files with either engine and any worker count.

``grasplab scenes generate`` and ``grasplab label pixels`` run through the CLI with
``--engine local --workers 1``, ``--engine local --workers 2`` and ``--engine ray`` (a local Ray
instance with two CPUs) and every file of the three dataset roots is compared byte for byte,
the job manifests included.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grasplab.cli.main import app

pytest.importorskip("pybullet")

runner = CliRunner()
GENERATE = ["scenes", "generate", "--split", "seen", "--num-scenes", "2", "--views", "2",
            "--seed", "5", "--objects-per-scene", "2", "--image-scale", "0.1"]
PIXELS = ["label", "pixels", "--stride", "4", "--angles", "6"]
HAS_RAY = importlib.util.find_spec("ray") is not None


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _make(root: Path, *engine: str) -> dict[str, bytes]:
    made = runner.invoke(app, [*GENERATE, "--out", str(root), *engine])
    assert made.exit_code == 0, made.output
    assert "2 scenes written" in made.output
    labelled = runner.invoke(app, [*PIXELS, "--root", str(root), *engine])
    assert labelled.exit_code == 0, labelled.output
    assert "4 labelled, 0 skipped, 0 failed" in labelled.output
    return _files(root)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    files = _make(tmp_path_factory.mktemp("engines") / "local1", "--engine", "local", "--workers", "1")
    assert any(name.endswith("pixel_labels/0001.npz") for name in files)
    assert ".grasplab-job-scenes.json" in files and ".grasplab-job-pixel-labels.json" in files
    return files


@pytest.fixture
def local_ray() -> Iterator[None]:
    """A private local Ray instance with two CPUs (reused by ``--engine ray``)."""
    if not HAS_RAY:
        pytest.skip("ray is not importable: install the extra with pip install 'grasplab[ray]'")
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_two_local_workers_write_the_same_bytes(reference: dict[str, bytes], tmp_path: Path) -> None:
    files = _make(tmp_path / "local2", "--engine", "local", "--workers", "2")
    assert files.keys() == reference.keys() and files == reference


@pytest.mark.slow
def test_ray_writes_the_same_bytes(reference: dict[str, bytes], local_ray: None, tmp_path: Path) -> None:
    files = _make(tmp_path / "ray", "--engine", "ray", "--workers", "2")
    assert files.keys() == reference.keys() and files == reference


def test_a_rerun_says_it_skipped_the_work(reference: dict[str, bytes], tmp_path: Path) -> None:
    root = tmp_path / "copy"
    for name, data in reference.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "scenes" / ".tmp-scene_0001-deadbeef").mkdir()
    again = runner.invoke(app, [*GENERATE, "--out", str(root)])
    assert again.exit_code == 0 and "0 scenes written, 2 already complete (skipped)" in again.output
    assert not (root / "scenes" / ".tmp-scene_0001-deadbeef").exists()
    labelled = runner.invoke(app, [*PIXELS, "--root", str(root)])
    assert labelled.exit_code == 0 and "0 labelled, 4 skipped, 0 failed" in labelled.output
    assert _files(root) == reference


def test_an_unknown_engine_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(app, [*GENERATE, "--out", str(tmp_path / "x"), "--engine", "dask"])
    assert result.exit_code == 2 and "engine" in result.output
