"""Fixtures of the AP evaluator tests: a tiny synthetic dataset root (see ``ap_synthetic``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ap_synthetic import write_root


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic dataset root, written once per test session."""
    return write_root(tmp_path_factory.mktemp("ap_root"))
