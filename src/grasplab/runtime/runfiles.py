"""Run files: what every command that writes a run folder puts beside its outputs.

``<out>/config.yaml`` is the resolved config (a frozen dataclass, see
:mod:`grasplab.runtime.config`) and ``<out>/meta.json`` says what produced the folder::

    {"kind": "train-pixel", "grasplab_version": "0.1.0", "git_sha": "c8d0640...", "seed": 0,
     "command": ["grasplab", "train", "pixel", ...], "python_version": "3.11.9",
     "torch_version": "2.3.1", "numpy_version": "1.26.4", "created_at": "2026-12-02T14:30:00Z", ...}

Both are written to a temporary name and renamed, so a reader never sees half a file. Versions
of optional packages come from the installed distributions' metadata (nothing is imported).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grasplab.runtime.config import config_to_yaml

__all__ = ["META_FILE", "CONFIG_FILE", "git_sha", "read_run_meta", "run_meta", "write_run_files"]

META_FILE = "meta.json"
CONFIG_FILE = "config.yaml"


def git_sha() -> str | None:
    """The commit of the grasplab source tree, or None outside a git checkout (or without git)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_meta(seed: int | None, argv: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
    """The provenance of a run: versions, git SHA, seed, command line and UTC time.

    Args:
        seed: the run's seed (None when the command draws nothing random).
        argv: the command line; default ``sys.argv``.
        **extra: more JSON-serialisable fields (they win over the standard ones).

    Returns:
        A JSON-ready dict.
    """
    meta: dict[str, Any] = {
        "grasplab_version": _version("grasplab"),
        "git_sha": git_sha(),
        "seed": seed,
        "command": list(sys.argv if argv is None else argv),
        "python_version": platform.python_version(),
        "numpy_version": _version("numpy"),
        "torch_version": _version("torch"),
        "created_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    meta.update(extra)
    return meta


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_run_files(
    out: Path | str,
    config: Any,
    *,
    seed: int | None,
    kind: str,
    argv: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write ``config.yaml`` (the resolved config dataclass) and ``meta.json`` into ``out``.

    Args:
        out: the run folder (created).
        config: a config dataclass instance.
        seed: the run's seed.
        kind: what the folder is, e.g. ``"train-pixel"`` (stored as ``meta["kind"]``).
        argv: the command line; default ``sys.argv``.
        extra: more JSON-serialisable meta fields (device, resumed epoch, ...).

    Raises:
        ValueError: an empty ``kind`` or meta that is not JSON-serialisable.
    """
    if not kind:
        raise ValueError("kind must name the run, e.g. 'train-pixel'")
    out = Path(out)
    text = config_to_yaml(config)
    meta = run_meta(seed, argv, **dict(extra or {}))
    meta["kind"] = kind
    try:
        meta_text = json.dumps(meta, indent=2) + "\n"
    except TypeError as exc:
        raise ValueError(f"run meta is not JSON-serialisable: {exc}") from exc
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / CONFIG_FILE, text)
    _atomic_write(out / META_FILE, meta_text)


def read_run_meta(out: Path | str) -> dict[str, Any]:
    """The ``meta.json`` of a run folder.

    Raises:
        FileNotFoundError: ``out`` has no meta.json.
        ValueError: meta.json is not a JSON object.
    """
    path = Path(out) / META_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {META_FILE} in {out}: not a grasplab run folder")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return meta
