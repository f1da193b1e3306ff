"""Shared pytest fixtures: a seeded rng, primitive meshes and a compute device."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

# Keep numerical libraries on one thread: CI has 2 cores and runs two pytest workers.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator, the same in every test."""
    return np.random.default_rng(12345)


@pytest.fixture
def device() -> str:
    """The torch device to test on: CUDA when present, else CPU."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point grasplab's on-disk cache at a per-session temporary folder."""
    cache = tmp_path_factory.getbasetemp() / "grasplab_cache"
    monkeypatch.setenv("GRASPLAB_CACHE", str(cache))


@pytest.fixture(scope="session")
def write_labelled_box() -> Callable[[Path], None]:
    """Writes the one-scene box dataset of tests/labels/test_graspness_jobs.py into a root.

    Two ray-cast frames of a box on the table with its object and collision labels (graspness
    labels are left to the caller); the box's object labels are computed once per session.
    """
    pytest.importorskip("embreex")
    import importlib.util

    import trimesh

    from grasplab.labels import label_object

    path = Path(__file__).parent / "labels" / "test_graspness_jobs.py"
    spec = importlib.util.spec_from_file_location("shared_graspness_box_dataset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    labels = label_object(trimesh.creation.box(module.BOX), config=module.SMALL, rng=0)
    return lambda root: module.write_box_dataset(root, labels)


@pytest.fixture(scope="session")
def graspness_box_root(
    tmp_path_factory: pytest.TempPathFactory, write_labelled_box: Callable[[Path], None]
) -> Path:
    """The box dataset with graspness labels of both frames (read-only: copy it to change it)."""
    from grasplab.labels.graspness_jobs import label_dataset_graspness

    root = tmp_path_factory.mktemp("graspness_box")
    write_labelled_box(root)
    assert all(o.status != "failed" for o in label_dataset_graspness(root))
    return root
