"""The test tree has no ``__init__.py`` files, so pytest imports each test module by its basename:
two test files with the same name in different folders make collection fail. Keep them unique."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_basenames_are_unique() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
