"""Static check of the package layering (DESIGN.md §2, CONTRACTS.md).

Every ``import`` in every module under ``src/grasplab`` (module level and inside functions or
``TYPE_CHECKING`` blocks alike) is parsed with ``ast`` and resolved, relative imports included.
A stage may import only itself and earlier stages; ``cli`` and ``viz`` sit at the edge and no
library stage imports them; ``grasplab.core`` imports only numpy, scipy and the standard library.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "grasplab"

# pipeline order; a stage may import itself and any earlier stage
STAGES = (
    "core",
    "objects",
    "scenes",
    "labels",
    "data",
    "models",
    "training",
    "detection",
    "execution",
    "tactile",
    "evaluation",
)
EDGE = ("viz", "cli")  # may import any stage; nothing but the edge imports them
# modules shared by everyone (no stage of their own)
SHARED = ("grasplab", "grasplab._optional")
# infrastructure beside the pipeline: any stage may import it, it imports no stage
RUNTIME = "grasplab.runtime"
RUNTIME_ALLOWED_THIRD_PARTY = ("numpy", "yaml")
CORE_ALLOWED_THIRD_PARTY = ("numpy", "scipy")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name imported anywhere in ``path`` with its line number."""
    return _imports_from_text(path.read_text(), _module_name(path), path.name == "__init__.py")


def _imports_from_text(code: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    tree = ast.parse(code)
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("grasplab") and not node.module:
                # `from . import x` / `from grasplab import x`: each name may be a submodule
                found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, target))
    return found


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "grasplab" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in STAGES + EDGE else None


def _violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (None when it may)."""
    if not imported.startswith("grasplab"):
        return None
    src_stage, dst_stage = _stage_of(importer), _stage_of(imported)
    if dst_stage is None or src_stage == dst_stage:
        return None
    if dst_stage in EDGE:
        return None if src_stage in EDGE else f"library stage imports edge module {dst_stage}"
    if src_stage is None or src_stage in EDGE:
        return None
    if STAGES.index(dst_stage) > STAGES.index(src_stage):
        return f"stage {src_stage} imports later stage {dst_stage}"
    return None


def _all_modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_sources_found() -> None:
    names = {_module_name(p) for p in _all_modules()}
    assert "grasplab.core.rotations" in names
    assert len(names) > 50


def test_resolves_relative_and_function_level_imports() -> None:
    code = (
        "from ..detection import analytic\n"
        "from . import sampling\n"
        "def f() -> None:\n"
        "    from grasplab.cli import main\n"
        "    import grasplab.viz.overlay\n"
    )
    names = [name for _, name in _imports_from_text(code, "grasplab.labels.probe", False)]
    assert names == [
        "grasplab.detection",
        "grasplab.labels.sampling",
        "grasplab.cli",
        "grasplab.viz.overlay",
    ]
    assert _violation("grasplab.labels.x", "grasplab.detection") is not None
    assert _violation("grasplab.labels.x", "grasplab.cli.main") is not None
    assert _violation("grasplab.core.x", "grasplab.viz") is not None
    assert _violation("grasplab.labels.x", "grasplab.scenes.world") is None
    assert _violation("grasplab.cli.main", "grasplab.detection") is None
    assert _violation("grasplab.viz.overlay", "grasplab.cli.main") is None


def test_stages_import_only_earlier_stages() -> None:
    problems = []
    for path in _all_modules():
        module = _module_name(path)
        for line, imported in _imports(path):
            why = _violation(module, imported)
            if why:
                problems.append(f"{path.relative_to(SRC.parent)}:{line}: {imported} ({why})")
    assert not problems, "layering violations:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", sorted((SRC / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_only_numpy_scipy_stdlib(path: Path) -> None:
    stdlib = sys.stdlib_module_names
    bad = []
    for line, imported in _imports(path):
        root = imported.split(".")[0]
        if root == "grasplab":
            if not (imported.startswith("grasplab.core") or imported in SHARED):
                bad.append(f"{line}: {imported}")
        elif root not in stdlib and root not in CORE_ALLOWED_THIRD_PARTY and root != "__future__":
            bad.append(f"{line}: {imported}")
    assert not bad, f"{path.name} imports outside numpy/scipy/stdlib: {bad}"


@pytest.mark.parametrize("path", sorted((SRC / "runtime").rglob("*.py")), ids=lambda p: p.name)
def test_runtime_imports_no_stage(path: Path) -> None:
    stdlib = sys.stdlib_module_names
    bad = []
    for line, imported in _imports(path):
        root = imported.split(".")[0]
        if root == "grasplab":
            if not (imported.startswith(RUNTIME) or imported in SHARED):
                bad.append(f"{line}: {imported}")
        elif root not in stdlib and root not in RUNTIME_ALLOWED_THIRD_PARTY and root != "__future__":
            bad.append(f"{line}: {imported}")
    assert not bad, f"{path.name} imports a stage or an undeclared package: {bad}"
