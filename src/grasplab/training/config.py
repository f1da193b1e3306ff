"""Training configs: one frozen dataclass per component, YAML presets and ``--set`` overrides.

A YAML preset mirrors :class:`PixelTrainConfig` (sections ``data``, ``model``, ``loss``,
``optim`` plus ``seed``). Overrides are ``dotted.key=value`` strings whose value is parsed with
``yaml.safe_load`` (``optim.lr=1e-4``, ``data.val_scenes=[3, 4]``, ``model.channels=null``).
Every key and value is checked against the dataclass fields: unknown keys and values of the
wrong type are errors (ValueError naming the key).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from grasplab.data.augment import INPUT_MODES
from grasplab.training.losses import LossConfig

T = TypeVar("T")


@dataclass(frozen=True)
class DataConfig:
    """Where the frames come from and how they are turned into samples.

    Attributes:
        root: dataset root (holds ``scenes/``).
        camera: camera folder.
        input_mode: "depth", "rgb" or "rgbd".
        num_angles: K angle bins of the labels.
        crop_size: side of the training crop (px).
        augment: random translation / rotation / flip (else a centre crop).
        max_translation: crop centre shift (px).
        max_rotation_deg: rotation range (degrees, both directions).
        flip: random horizontal flips.
        snap_rotation: rotations by whole angle bins (exact label rotation).
        enhance: eight-neighbour label enhancement.
        enhance_value: quality of enhanced labels.
        fast_labels: rebuild label maps from the stored grasp lists (same maps, ~50x faster
            reading; see ``grasplab.data.pixel_dataset.load_label_maps``).
        val_fraction: fraction of scenes (the last ones) used for validation.
        val_scenes: explicit validation scenes (overrides ``val_fraction``).
        max_frames: use at most this many training frames (quick runs); None = all.
        cover_image: crops reach every part of the image (``AugmentConfig.cover_image``).
        depth_scale: factor on the mean-subtracted depth input (1 = metres, the paper's input);
            stored with the checkpoint, and the detector applies the same factor.
    """

    root: str = "data/plgp"
    camera: str = "realsense"
    input_mode: str = "depth"
    num_angles: int = 18
    crop_size: int = 320
    augment: bool = True
    max_translation: int = 30
    max_rotation_deg: float = 30.0
    flip: bool = True
    snap_rotation: bool = True
    enhance: bool = True
    enhance_value: float = 0.9
    fast_labels: bool = True
    val_fraction: float = 0.1
    val_scenes: tuple[int, ...] | None = None
    max_frames: int | None = None
    depth_scale: float = 1.0
    cover_image: bool = False

    def __post_init__(self) -> None:
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"data.input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if not self.depth_scale > 0:
            raise ValueError(f"data.depth_scale must be > 0, got {self.depth_scale}")
        if self.num_angles < 1 or self.crop_size < 8:
            raise ValueError("data.num_angles must be >= 1 and data.crop_size >= 8")


@dataclass(frozen=True)
class ModelConfig:
    """Which network (``grasplab.models.build_pixel_model``) and its options (None = default).

    Attributes:
        name: "ggcnn2", "grconvnet" or "affga".
        channels: base width.
        num_residual: residual blocks (grconvnet only).
        dropout: dropout on decoded features (grconvnet only).
        stem_stride: stride of the first convolution (ggcnn2 only; 2 = the CPU variant).
        up_kernel: kernel of the last decoder convolution (ggcnn2 only).
    """

    name: str = "ggcnn2"
    channels: int | None = None
    num_residual: int | None = None
    dropout: float | None = None
    stem_stride: int | None = None
    up_kernel: int | None = None


@dataclass(frozen=True)
class OptimConfig:
    """Adam and the step schedule (PLGP: lr 1e-3, 100 epochs, x0.1 at epoch 70).

    Attributes:
        lr: initial learning rate.
        weight_decay: Adam weight decay.
        epochs: number of epochs.
        batch_size: frames per step.
        lr_milestones: epochs at which the learning rate is multiplied by ``lr_gamma``.
        lr_gamma: the multiplier.
        max_steps_per_epoch: cap on steps per epoch (quick runs); None = the whole set.
        grad_clip: clip the gradient norm to this value; None = no clipping.
        num_workers: DataLoader worker processes (0 = in the main process).
        snapshot_every: also keep ``checkpoints/epoch_NNN.safetensors`` (weights, config and
            history, no optimizer state) after every this many epochs; None = only last / best.
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 100
    batch_size: int = 8
    lr_milestones: tuple[int, ...] = (70,)
    lr_gamma: float = 0.1
    max_steps_per_epoch: int | None = None
    grad_clip: float | None = None
    num_workers: int = 0
    snapshot_every: int | None = None

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.epochs < 1 or self.batch_size < 1 or self.num_workers < 0:
            raise ValueError("optim: need lr > 0, epochs >= 1, batch_size >= 1, num_workers >= 0")
        if self.snapshot_every is not None and self.snapshot_every < 1:
            raise ValueError(f"optim.snapshot_every must be >= 1 or null, got {self.snapshot_every}")

    def lr_at(self, epoch: int) -> float:
        """Learning rate of a (0-based) epoch."""
        return self.lr * self.lr_gamma ** sum(1 for m in self.lr_milestones if epoch >= m)


@dataclass(frozen=True)
class PixelTrainConfig:
    """Everything a pixel-network training run needs (saved as ``config.yaml`` in the run)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (converting lists to tuples, ints to floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _coerce(value, option, key)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        (item_tp, _) = typing.get_args(tp)
        return tuple(_coerce(v, item_tp, f"{key}[]") for v in value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"{key}: expected a mapping of {sorted(f.name for f in dataclasses.fields(tp))}")
        return _build(typing.cast(type, tp), value, f"{key}.")
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp in (int, str) and isinstance(value, tp) and not isinstance(value, bool):
        return value
    raise ValueError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _build(cls: type[T], values: Mapping[str, Any], prefix: str = "") -> T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; valid: "
            f"{sorted(prefix + n for n in names)}"
        )
    kwargs = {name: _coerce(value, hints[name], prefix + name) for name, value in values.items()}
    return cls(**kwargs)


def config_from_dict(values: Mapping[str, Any]) -> PixelTrainConfig:
    """Build a :class:`PixelTrainConfig` from nested dicts (strict; missing keys keep defaults)."""
    return _build(PixelTrainConfig, values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Nested plain dict (tuples become lists) of a config dataclass, YAML/JSON-ready."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def apply_overrides(values: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of nested ``values`` with ``key.sub=value`` overrides (values via safe_load)."""
    out: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in values.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r}: expected key=value, e.g. optim.lr=1e-4")
        parts = key.strip().split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(raw)
    return out


def load_train_config(path: Path | str | None = None, overrides: Sequence[str] = ()) -> PixelTrainConfig:
    """Read a YAML preset (or the defaults when ``path`` is None) and apply ``--set`` overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config not found: {path}")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        values = loaded
    return config_from_dict(apply_overrides(values, overrides))


def save_config_yaml(config: PixelTrainConfig, path: Path | str) -> None:
    """Write the resolved config as YAML."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
