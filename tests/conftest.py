"""Shared pytest fixtures: a seeded rng, primitive meshes and a compute device."""

from __future__ import annotations

import os

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
