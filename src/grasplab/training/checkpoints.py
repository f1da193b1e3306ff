"""Checkpoints: safetensors weights with their JSON config and a format version, never pickles.

A checkpoint ``<name>.safetensors`` holds the model's ``state_dict`` tensors; its safetensors
metadata (a str -> str header) holds ``format`` (:data:`CHECKPOINT_FORMAT`), ``format_version``
(:data:`CHECKPOINT_FORMAT_VERSION`), ``model`` (the JSON spec that rebuilds the network with
:func:`grasplab.models.build_pixel_model`), ``config`` (the JSON training config) and ``state``
(JSON: epoch, step, metrics). The same JSON is written beside it as ``<name>.json`` for people.
The optimizer state for resuming goes to ``<name>.optim.safetensors`` (tensors) with its scalar
settings in that file's metadata. Files are written to a temporary name and renamed, so a
checkpoint is never half written.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasplab._optional import require

require("torch")
require("safetensors")
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from grasplab.models.pixel_net import PixelGraspNet, build_pixel_model  # noqa: E402

CHECKPOINT_FORMAT = "grasplab-pixel-net"
CHECKPOINT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        model: the rebuilt network (eval mode, on the requested device).
        config: the training config dict stored with it ({} if none).
        state: the training state dict (epoch, step, metrics; {} if none).
        path: the weights file.
    """

    model: PixelGraspNet
    config: dict[str, Any]
    state: dict[str, Any]
    path: Path


def optimizer_path(path: Path | str) -> Path:
    """``<name>.optim.safetensors`` beside ``<name>.safetensors``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".safetensors") + ".optim.safetensors")


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_checkpoint(
    path: Path | str,
    model: PixelGraspNet,
    *,
    config: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:
    """Write a model (and optionally its optimizer) checkpoint.

    Args:
        path: the ``.safetensors`` file to write.
        model: a network built by :func:`build_pixel_model` (it carries ``spec``).
        config: JSON-serialisable training config.
        state: JSON-serialisable training state (epoch, step, metrics).
        optimizer: also save its state to :func:`optimizer_path` (for resuming).

    Returns:
        The weights path.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"checkpoint path must end in .safetensors, got {path}")
    header = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "model": model.spec,
        "config": config or {},
        "state": state or {},
    }
    if optimizer is not None:
        _save_optimizer(optimizer_path(path), optimizer, state or {})
    _atomic_save(dict(model.state_dict()), path, {k: json.dumps(v) for k, v in header.items()})
    _atomic_text(json.dumps(header, indent=2, sort_keys=True) + "\n", path.with_suffix(".json"))
    return path


def _save_optimizer(path: Path, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    full = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in full["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    meta = {"param_groups": full["param_groups"], "scalars": scalars, "state": state}
    _atomic_save(tensors, path, {"optimizer": json.dumps(meta)})


def _read(path: Path, device: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device=device) as handle:
            metadata = dict(handle.metadata() or {})
            return {key: handle.get_tensor(key) for key in handle.keys()}, metadata  # noqa: SIM118
    except (OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f"could not read checkpoint {path}: {exc}") from exc


def read_checkpoint_header(path: Path | str) -> dict[str, Any]:
    """The JSON header of a checkpoint (format, format_version, model, config, state)."""
    path = Path(path)
    _, metadata = _read(path, "cpu")
    if metadata.get("format") != json.dumps(CHECKPOINT_FORMAT):
        raise ValueError(
            f"{path} is not a grasplab pixel-network checkpoint (format {metadata.get('format')})"
        )
    header = {key: json.loads(value) for key, value in metadata.items()}
    if int(header["format_version"]) > CHECKPOINT_FORMAT_VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {header['format_version']} is newer than this grasplab "
            f"reads ({CHECKPOINT_FORMAT_VERSION}); upgrade grasplab"
        )
    return header


def load_checkpoint(path: Path | str, device: str = "cpu") -> Checkpoint:
    """Rebuild the network of a checkpoint and load its weights (eval mode).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a grasplab checkpoint, a newer format, or weights that do not fit.
    """
    path = Path(path)
    header = read_checkpoint_header(path)
    tensors, _ = _read(path, device)
    spec = dict(header["model"])
    model = build_pixel_model(spec.pop("name"), spec.pop("in_channels"), spec.pop("num_angles"), **spec)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit the stored model spec: {exc}") from exc
    model.to(device).train(False)
    return Checkpoint(model, dict(header.get("config", {})), dict(header.get("state", {})), path)


def load_optimizer_state(optimizer: torch.optim.Optimizer, path: Path | str) -> dict[str, Any]:
    """Restore an optimizer saved by :func:`save_checkpoint` from the weights path ``path``.

    Returns:
        The training state saved with the optimizer (compare it with the weights' state).
    """
    tensors, metadata = _read(optimizer_path(path), "cpu")
    meta = json.loads(metadata["optimizer"])
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    groups = meta["param_groups"]
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return dict(meta["state"])
