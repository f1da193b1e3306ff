"""Training configs: one frozen dataclass per component, YAML presets and ``--set`` overrides.

A YAML preset mirrors :class:`PixelTrainConfig` (sections ``data``, ``model``, ``loss``,
``optim`` plus ``seed``). Overrides are ``dotted.key=value`` strings whose value is parsed with
``yaml.safe_load`` (``optim.lr=1e-4``, ``data.val_scenes=[3, 4]``, ``model.channels=null``).
Every key and value is checked against the dataclass fields: unknown keys and values of the
wrong type are errors (ValueError naming the key). The generic machinery lives in
:mod:`grasplab.runtime.config`; this module holds the pixel dataclasses and thin wrappers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasplab.data.augment import INPUT_MODES
from grasplab.runtime import config as runtime_config
from grasplab.runtime.config import apply_overrides, config_to_dict, load_config, save_config_yaml
from grasplab.training.losses import LossConfig

__all__ = [
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "PixelTrainConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_train_config",
    "save_config_yaml",
]


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


def config_from_dict(values: Mapping[str, Any]) -> PixelTrainConfig:
    """Build a :class:`PixelTrainConfig` from nested dicts (strict; missing keys keep defaults)."""
    return runtime_config.config_from_dict(PixelTrainConfig, values)


def load_train_config(path: Path | str | None = None, overrides: Sequence[str] = ()) -> PixelTrainConfig:
    """Read a YAML preset (or the defaults when ``path`` is None) and apply ``--set`` overrides."""
    return load_config(PixelTrainConfig, path, overrides)
