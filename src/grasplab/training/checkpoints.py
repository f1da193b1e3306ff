"""Checkpoints: safetensors weights with family, spec, config and a format version, never pickles.

A checkpoint ``<name>.safetensors`` holds the model's ``state_dict`` tensors; its safetensors
metadata (a str -> str header, each value JSON) holds ``format`` (:data:`CHECKPOINT_FORMAT`),
``format_version`` (:data:`CHECKPOINT_FORMAT_VERSION`), ``family`` (a family of
:mod:`grasplab.models.registry`), ``model`` (the JSON spec that rebuilds the network with
:func:`grasplab.models.registry.build_model`), ``config`` (the JSON training config) and ``state``
(JSON: epoch, step, metrics). The same JSON is written beside it as ``<name>.json`` for people.
The optimizer state for resuming goes to ``<name>.optim.safetensors`` (tensors) with its scalar
settings in that file's metadata. Files are written to a temporary name and renamed, so a
checkpoint is never half written.

Version 1 files (format ``"grasplab-pixel-net"``, no ``family``: the shipped pixel network among
them) are read as family ``"pixel"``. Loading is strict by default (:func:`load_model`,
:func:`load_checkpoint`); :func:`load_weights_into` loads a checkpoint partially into a larger
model (a pretrained backbone) and reports which keys were loaded, which are new and which the
model has no place for.
"""

from __future__ import annotations

import json
import logging
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
from torch import nn  # noqa: E402

from grasplab.models.registry import build_model, model_family, model_spec  # noqa: E402
from grasplab.runtime.checks import check_weights_file  # noqa: E402

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "grasplab-model"
CHECKPOINT_FORMAT_VERSION = 2
#: the format name of version-1 files (pixel networks only)
LEGACY_PIXEL_FORMAT = "grasplab-pixel-net"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        model: the rebuilt network (eval mode, on the requested device); a
            :class:`grasplab.models.PixelGraspNet` for family "pixel".
        config: the training config dict stored with it ({} if none).
        state: the training state dict (epoch, step, metrics; {} if none).
        path: the weights file.
        family: the model family.
    """

    model: Any
    config: dict[str, Any]
    state: dict[str, Any]
    path: Path
    family: str = "pixel"


@dataclass(frozen=True)
class LoadReport:
    """What a partial load did (model key names, sorted).

    Attributes:
        loaded: model keys that received a tensor from the checkpoint.
        new: model keys the checkpoint had nothing for (they keep their values).
        unexpected: checkpoint keys (after the prefix) the model has no place for.
    """

    loaded: tuple[str, ...]
    new: tuple[str, ...]
    unexpected: tuple[str, ...]


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
    model: nn.Module,
    *,
    config: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:
    """Write a model (and optionally its optimizer) checkpoint.

    Args:
        path: the ``.safetensors`` file to write.
        model: a network built by :func:`grasplab.models.registry.build_model` (or
            :func:`grasplab.models.build_pixel_model`); it carries its ``spec``.
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
        "family": model_family(model),
        "model": model_spec(model),
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
    if check_weights_file(path) != "safetensors":  # pickles and garbage raise in there
        raise ValueError(f"checkpoint {path} is an ONNX export, not a .safetensors checkpoint; "
                         "ONNX files are run by detection only (--weights model.onnx)")
    try:
        with safe_open(str(path), framework="pt", device=device) as handle:
            metadata = dict(handle.metadata() or {})
            return {key: handle.get_tensor(key) for key in handle.keys()}, metadata  # noqa: SIM118
    except (OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f"could not read checkpoint {path}: {exc}") from exc


def read_checkpoint_header(path: Path | str) -> dict[str, Any]:
    """The JSON header of a checkpoint (format, format_version, family, model, config, state).

    Version-1 pixel checkpoints get ``family`` "pixel"; ``format`` stays what the file says.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a grasplab checkpoint, or a newer format version.
    """
    path = Path(path)
    _, metadata = _read(path, "cpu")
    stored_format = metadata.get("format")
    if stored_format not in (json.dumps(CHECKPOINT_FORMAT), json.dumps(LEGACY_PIXEL_FORMAT)):
        raise ValueError(f"{path} is not a grasplab model checkpoint (format {stored_format})")
    try:
        header = {key: json.loads(value) for key, value in metadata.items()}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: corrupt checkpoint header ({exc.msg})") from None
    if int(header["format_version"]) > CHECKPOINT_FORMAT_VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {header['format_version']} is newer than this grasplab "
            f"reads ({CHECKPOINT_FORMAT_VERSION}); upgrade grasplab"
        )
    header.setdefault("family", "pixel")
    header.setdefault("config", {})
    header.setdefault("state", {})
    return header


def load_model(path: Path | str, device: str = "cpu", strict: bool = True) -> nn.Module:
    """Rebuild the network of a checkpoint from its family and spec and load its weights (eval mode).

    Args:
        path: the ``.safetensors`` checkpoint.
        device: where the model goes.
        strict: every weight must fit exactly (default); False loads what fits and logs the rest.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a grasplab checkpoint, a newer format, an unknown family, a bad spec or
            (strict) weights that do not fit the spec.
    """
    path = Path(path)
    header = read_checkpoint_header(path)
    tensors, _ = _read(path, "cpu")
    model = build_model(str(header["family"]), dict(header["model"]))
    if strict:
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{path}: weights do not fit the stored model spec: {exc}") from exc
    else:
        report = _load_tensors(model, tensors, "", str(path))
        logger.info("%s: loaded %d tensors, %d new, %d unexpected", path, len(report.loaded),
                    len(report.new), len(report.unexpected))
    return model.to(device).train(False)


def load_checkpoint(path: Path | str, device: str = "cpu") -> Checkpoint:
    """Rebuild the network of a checkpoint and load its weights strictly (eval mode), with its header.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a grasplab checkpoint, a newer format, or weights that do not fit.
    """
    path = Path(path)
    header = read_checkpoint_header(path)
    model = load_model(path, device, strict=True)
    return Checkpoint(model, dict(header["config"]), dict(header["state"]), path, str(header["family"]))


def _plan(
    model: nn.Module, tensors: dict[str, torch.Tensor], prefix: str, where: str
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """Which checkpoint tensors go where (nothing is loaded yet)."""
    own = model.state_dict()
    loaded, unexpected = [], []
    values: dict[str, torch.Tensor] = {}
    for key, tensor in tensors.items():
        target = prefix + key
        if target not in own:
            unexpected.append(target)
            continue
        if tuple(own[target].shape) != tuple(tensor.shape):
            raise ValueError(
                f"{where}: {key} has shape {tuple(tensor.shape)}, the model's {target} "
                f"{tuple(own[target].shape)}"
            )
        values[target] = tensor
        loaded.append(target)
    new = sorted(set(own) - set(loaded))
    return values, LoadReport(tuple(sorted(loaded)), tuple(new), tuple(sorted(unexpected)))


def _load_tensors(model: nn.Module, tensors: dict[str, torch.Tensor], prefix: str, where: str) -> LoadReport:
    values, report = _plan(model, tensors, prefix, where)
    model.load_state_dict(values, strict=False)
    return report


def load_weights_into(
    model: nn.Module, path: Path | str, prefix: str = "", strict: bool = False
) -> LoadReport:
    """Load a checkpoint's weights into (part of) ``model``, e.g. a backbone into a larger model.

    Checkpoint key ``k`` goes to the model's ``prefix + k`` (``prefix="backbone."`` loads a
    backbone checkpoint into a detector whose backbone sits at ``backbone``). The model is changed
    in place (that is the point) and stays on its device.

    Args:
        model: the receiving network.
        path: a grasplab checkpoint of any family.
        prefix: prepended to every checkpoint key.
        strict: refuse (ValueError) unless every model key is loaded and no checkpoint key is left.

    Returns:
        Which model keys were loaded and which are new, and which checkpoint keys had no place.

    Raises:
        ValueError: shapes that differ for a shared key, nothing in common, or (strict) a mismatch.
    """
    path = Path(path)
    read_checkpoint_header(path)
    tensors, _ = _read(path, "cpu")
    values, report = _plan(model, tensors, prefix, str(path))
    if not report.loaded:
        raise ValueError(f"{path}: no checkpoint key matches the model under prefix {prefix!r}")
    if strict and (report.new or report.unexpected):
        raise ValueError(
            f"{path}: strict load: {len(report.new)} model key(s) not in the checkpoint "
            f"(e.g. {list(report.new[:3])}), {len(report.unexpected)} unexpected "
            f"(e.g. {list(report.unexpected[:3])})"
        )
    model.load_state_dict(values, strict=False)
    return report


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
