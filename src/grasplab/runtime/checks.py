"""Checks every command runs on its arguments before doing work: output paths, devices, weights.

One place for the questions each command used to answer on its own (or not at all), each
answered with one ``ValueError`` sentence that names the argument and says what to do:

- :func:`check_output_file` / :func:`check_output_dir`: can this be written? (the parent exists
  or can be created, is writable, is not under a file; a folder is not already a run folder of
  another kind, read from the ``meta.json`` of :func:`grasplab.runtime.runfiles.write_run_files`,
  nor a dataset when a run folder is wanted);
- :func:`parse_device`: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (whether CUDA is available is the
  caller's question: this module does not import torch);
- :func:`check_weights_file`: safetensors or ONNX, recognised from the bytes; pickles
  (``torch.save``) are refused because loading them runs code.

Nothing here creates, changes or imports anything heavy (standard library only). YAML loading
lives in :func:`grasplab.runtime.config.parse_yaml`.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "DATASET_KIND",
    "check_output_dir",
    "check_output_file",
    "check_weights_file",
    "folder_kind",
    "parse_device",
]

DATASET_KIND = "dataset"
"""What :func:`folder_kind` calls a dataset root (GraspNet-1Billion layout or grasplab's)."""
_DATASET_MARKERS = ("grasplab_dataset.json",)
_DATASET_FOLDERS = (("scenes", "models"), ("grasp_label",))
_DEVICE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _check_creatable(path: Path, what: str) -> None:
    """ValueError unless the folders above ``path`` exist or can be created by this user."""
    anchor = _nearest_existing(path.parent)
    if not anchor.is_dir():
        raise ValueError(f"{what} {path}: {anchor} is a file, so nothing can be created under it")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path}: folder {anchor} is not writable; choose another path")


def check_output_file(path: Path | str, what: str) -> Path:
    """Check that ``path`` can be written as a file (nothing is created).

    Args:
        path: the output file.
        what: how the command calls it in messages, e.g. ``"--out"``.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: ``path`` is an existing folder, lies under a file, or its folder (or the
            closest existing one above it) or the file itself is not writable.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; expected a file name")
    _check_creatable(path, what)
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{what} {path} exists and is not writable")
    return path


def folder_kind(path: Path | str) -> str | None:
    """What an existing folder is: its ``meta.json`` kind, :data:`DATASET_KIND`, or None.

    None for a missing or empty folder and for a folder that holds neither (any other folder,
    e.g. one the user made). A ``meta.json`` that is unreadable or has no ``"kind"`` gives
    ``"unknown"``.
    """
    path = Path(path)
    if not path.is_dir():
        return None
    meta = path / "meta.json"
    if meta.is_file():
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return "unknown"
        kind = data.get("kind") if isinstance(data, dict) else None
        return kind if isinstance(kind, str) and kind else "unknown"
    if any((path / name).is_file() for name in _DATASET_MARKERS) or any(
        all((path / name).is_dir() for name in names) for names in _DATASET_FOLDERS
    ):
        return DATASET_KIND
    return None


def check_output_dir(path: Path | str, what: str, kind: str | None = None) -> Path:
    """Check that ``path`` can be used as an output folder of ``kind`` (nothing is created).

    Args:
        path: the output folder.
        what: how the command calls it in messages, e.g. ``"--out"``.
        kind: what the command writes there: the ``meta.json`` kind of its run folder (e.g.
            ``"train-pixel"``) or :data:`DATASET_KIND`; None skips the kind check.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: ``path`` is a file, lies under a file, is not writable (or cannot be
            created), or already is a folder of another kind (:func:`folder_kind`).
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path} is a file; expected a folder")
    _check_creatable(path, what)
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path} is not writable; choose another folder")
    existing = folder_kind(path)
    if kind is not None and existing is not None and existing != kind:
        described = "a dataset" if existing == DATASET_KIND else f"a {existing!r} run folder"
        raise ValueError(
            f"{what} {path} already holds {described}, not {kind!r}; "
            "choose another folder (nothing was overwritten)"
        )
    return path


def parse_device(text: str) -> str:
    """Normalise a device name: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Whether CUDA is available is not checked here (that needs torch): the caller does it.

    >>> parse_device(" CUDA:1 ")
    'cuda:1'
    >>> parse_device("tpu9")
    Traceback (most recent call last):
    ...
    ValueError: device 'tpu9': expected 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)
    """
    if not isinstance(text, str):
        raise ValueError(f"device {text!r}: expected a string such as 'cpu' or 'cuda:0'")
    match = _DEVICE.match(text.strip().lower())
    if match is None:
        hint = " ('gpu' is spelled 'cuda')" if text.strip().lower().startswith("gpu") else ""
        raise ValueError(f"device {text!r}: expected 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...){hint}")
    name, index = match.groups()
    if index is None:
        return name
    if name == "cpu":
        raise ValueError(f"device {text!r}: 'cpu' takes no index; use 'cpu'")
    return f"cuda:{int(index)}"


def _is_safetensors(head: bytes, size: int, path: Path) -> bool:
    """Whether the file starts with a safetensors header (u64 length + a JSON object)."""
    if len(head) < 8:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    if not 2 <= length <= min(size - 8, _MAX_SAFETENSORS_HEADER) or head[8:9] != b"{":
        return False
    with open(path, "rb") as f:
        f.seek(8)
        header = f.read(length)
    try:
        return isinstance(json.loads(header.decode("utf-8")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def _read_varint(f: BinaryIO) -> int | None:
    """A protobuf varint read from ``f``; None at a clean end of file; ValueError if cut."""
    value = 0
    for shift in range(0, 70, 7):
        byte = f.read(1)
        if not byte:
            if shift == 0:
                return None
            raise ValueError("truncated varint")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
    raise ValueError("varint too long")


def _is_onnx(path: Path, size: int) -> bool:
    """Whether the file parses as a protobuf ``ModelProto``: ir_version first, a graph, to EOF.

    Only the top-level tags and lengths are read (payloads are skipped with ``seek``).
    """
    fields = set()
    with open(path, "rb") as f:
        if f.read(1) != b"\x08":  # field 1 (ir_version), varint: ONNX writers put it first
            return False
        f.seek(0)
        try:
            while (tag := _read_varint(f)) is not None:
                field, wire = tag >> 3, tag & 7
                if field == 0 or wire not in (0, 2):  # ModelProto: varint and bytes fields only
                    return False
                length = _read_varint(f)
                if length is None:
                    return False
                if wire == 2:
                    f.seek(length, os.SEEK_CUR)
                fields.add((field, wire))
        except ValueError:
            return False
        end = f.tell()
    return end == size and (1, 0) in fields and (7, 2) in fields


def check_weights_file(path: Path | str) -> str:
    """The format of a weights file, ``"safetensors"`` or ``"onnx"``, recognised from its bytes.

    Args:
        path: the weights file.

    Returns:
        ``"safetensors"`` or ``"onnx"``.

    Raises:
        ValueError: a missing or empty file, a folder, a pickle (``torch.save``, ``.pt``,
            ``.ckpt``: refused because loading one runs arbitrary code) or anything else.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ValueError(f"weights file {path} does not exist")
    if path.is_dir():
        raise ValueError(f"weights file {path} is a folder; expected a .safetensors or .onnx file")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"weights file {path} is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(16)
    if _is_safetensors(head, size, path):
        return "safetensors"
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":
        raise ValueError(
            f"weights file {path} is a pickle (torch.save / .pt / .ckpt); grasplab loads only "
            "safetensors or ONNX weights, because loading a pickle runs arbitrary code "
            "(convert it once with safetensors.torch.save_file(model.state_dict(), path))"
        )
    if _is_onnx(path, size):
        return "onnx"
    raise ValueError(
        f"weights file {path} is neither safetensors nor ONNX (starts with {head[:8]!r}); "
        "expected a .safetensors or .onnx file"
    )
