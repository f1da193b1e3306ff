"""Configs of tactile representation learning (``grasplab tactile pretrain``), one frozen dataclass each.

A YAML preset (``configs/tactile/<method>.yaml``) mirrors :class:`TactilePretrainConfig`; ``--set
key=value`` overrides are checked against the fields (:mod:`grasplab.runtime.config`). The
paper's settings (ResNet-50 at 224 px, 200 epochs, batch 200, SGD with cosine decay, queue 5,800
of 6,000 training samples) are scaled to this CPU: a 4-stage CNN at 64 px, Adam with step decay
(the generic Trainer's schedule), and a queue of 95 % of the training set unless set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grasplab.data.tactile_augment import TactileAugmentConfig
from grasplab.data.tactile_dataset import PAD_MODES
from grasplab.runtime.config import load_config
from grasplab.training.config import OptimConfig

__all__ = [
    "METHODS",
    "SPLITS",
    "ContrastConfig",
    "TactileDataConfig",
    "TactileModelConfig",
    "TactilePretrainConfig",
    "load_tactile_config",
]

#: the representation-learning methods (``supervised`` is the ceiling, trained on the labels)
METHODS = ("moco", "memory-bank", "triplet", "autoencoder", "supervised")
#: train / test splits: random trials (the paper) or held-out objects
SPLITS = ("sample", "object")


@dataclass(frozen=True)
class TactileDataConfig:
    """Which trials train and how they are presented.

    Attributes:
        root: tactile dataset folder (``grasplab tactile generate --out``); read by the CLI.
        split: "sample" (random trials, the paper) or "object" (held-out objects).
        test_fraction: fraction of trials (or objects) held out for the probes' test set.
        val_fraction: fraction of the training trials kept aside for the Trainer's validation.
        split_seed: seed of the split (kept fixed while the training seed varies).
        pads: "left" (the paper's input, 3 channels) or "both" (6 channels).
        max_train: use at most this many training trials (quick runs); None = all.
    """

    root: str = "data/tactile"
    split: str = "sample"
    test_fraction: float = 1.0 / 3.0
    val_fraction: float = 0.1
    split_seed: int = 0
    pads: str = "left"
    max_train: int | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"data.split must be one of {SPLITS}, got {self.split!r}")
        if self.pads not in PAD_MODES:
            raise ValueError(f"data.pads must be one of {PAD_MODES}, got {self.pads!r}")
        if not 0 < self.test_fraction < 1 or not 0 <= self.val_fraction < 1:
            raise ValueError("data.test_fraction must lie in (0, 1) and data.val_fraction in [0, 1)")


@dataclass(frozen=True)
class TactileModelConfig:
    """The encoder (:class:`grasplab.models.tactile_encoders.TactileNetSpec`; size from ``augment.crop``).

    Attributes:
        width: channels of the first convolution.
        num_stages: strided convolutions.
        proj_dim: projection dimension (128 in the paper).
        proj_hidden: hidden width of the two-layer projection head.
    """

    width: int = 32
    num_stages: int = 4
    proj_dim: int = 128
    proj_hidden: int = 512


@dataclass(frozen=True)
class ContrastConfig:
    """Settings of the contrastive losses.

    Attributes:
        temperature: InfoNCE temperature τ (0.07).
        momentum: MoCo's key-encoder momentum m (0.999; the memory bank is m = 0).
        queue_size: MoCo queue K; None = 95 % of the training set (the paper: 5,800 of 6,000);
            it must be smaller than the training set.
        margin: triplet margin (on unit-norm embeddings).
    """

    temperature: float = 0.07
    momentum: float = 0.999
    queue_size: int | None = None
    margin: float = 0.5

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 <= self.momentum < 1 or self.margin < 0:
            raise ValueError("contrast: need temperature > 0, 0 <= momentum < 1, margin >= 0")
        if self.queue_size is not None and self.queue_size < 1:
            raise ValueError(f"contrast.queue_size must be >= 1 or null, got {self.queue_size}")


def _default_optim() -> OptimConfig:
    return OptimConfig(lr=1e-3, epochs=60, batch_size=128, lr_milestones=(40,), lr_gamma=0.1)


@dataclass(frozen=True)
class TactilePretrainConfig:
    """Everything one tactile pretraining run needs (saved as ``config.yaml`` in the run)."""

    method: str = "moco"
    data: TactileDataConfig = field(default_factory=TactileDataConfig)
    augment: TactileAugmentConfig = field(default_factory=TactileAugmentConfig)
    model: TactileModelConfig = field(default_factory=TactileModelConfig)
    contrast: ContrastConfig = field(default_factory=ContrastConfig)
    optim: OptimConfig = field(default_factory=_default_optim)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")


def load_tactile_config(
    path: Path | str | None = None, overrides: Sequence[str] = ()
) -> TactilePretrainConfig:
    """Read a YAML preset (or the defaults when ``path`` is None) and apply ``--set`` overrides."""
    return load_config(TactilePretrainConfig, path, overrides)
