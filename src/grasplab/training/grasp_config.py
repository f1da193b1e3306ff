"""Config of GSNet training runs (``grasplab train grasp``; presets in ``configs/grasp/``).

Sections: ``data`` (:class:`GraspDataConfig`), ``validation`` (:class:`GraspValidationConfig`:
AP on a fixed list of held-out frames each epoch, when the command supplies a detector),
``model`` (the network's :class:`~grasplab.models.gsnet.GSNetSpec` itself, stored with every
checkpoint), ``loss`` (:class:`~grasplab.training.grasp_losses.GraspLossWeights`), ``optim``
(:class:`~grasplab.training.config.OptimConfig`; GSNet's Adam 1e-3 × 0.95^epoch is
``lr_gamma: 0.95`` with a milestone at every epoch) and ``seed``.

``family: graspnet-baseline`` at the top of a preset selects :class:`BaselineTrainConfig`: the
same sections with the GraspNet-1Billion baseline's spec
(:class:`~grasplab.models.graspnet_baseline.GraspNetBaselineSpec`) and loss weights
(:class:`~grasplab.training.grasp_losses.BaselineLossWeights`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasplab.models.graspnet_baseline import GraspNetBaselineSpec
from grasplab.models.gsnet import GSNetSpec
from grasplab.runtime.config import apply_overrides, load_config, parse_yaml
from grasplab.training.config import OptimConfig
from grasplab.training.grasp_losses import BaselineLossWeights, GraspLossWeights

__all__ = [
    "GRASP_FAMILIES",
    "BaselineTrainConfig",
    "GraspDataConfig",
    "GraspTrainConfig",
    "GraspValidationConfig",
    "load_grasp_train_config",
]

#: Network families ``grasplab train grasp`` trains (the preset's top-level ``family``).
GRASP_FAMILIES = ("gsnet", "graspnet-baseline")


@dataclass(frozen=True)
class GraspDataConfig:
    """Frames, sampling and augmentation of GSNet training (metres, degrees).

    Attributes:
        root: dataset root with graspness labels (``grasplab label graspness``).
        camera: camera folder.
        num_points: points drawn per frame.
        downsample: image subsampling of the depth2d input (pixels scaled alike).
        max_objects: object slots per sample (>= objects per scene).
        test_scenes_from: scenes with this id or higher are test scenes (GraspNet numbering: 100+)
            and never used for training or loss validation; None uses every scene.
        val_fraction: fraction of scenes (the last) held out for validation.
        val_scenes: explicit validation scenes (overrides ``val_fraction``).
        max_frames: at most this many training frames; None = all.
        frames_per_scene: label budget: keep this many labelled frames of each training scene,
            spread evenly over its views (sorted ann ids at ``i * n // k``: 1 keeps the first, 2
            the first and the middle one); None = all. Validation frames are not thinned.
        augment: flip / rotation / translation of training clouds.
        flip: mirror across the YZ plane with p 0.5.
        max_rotation_deg: rotation about the camera x axis, ±.
        translation_xy: shift in x and y, ±.
        translation_z: (low, high) shift in z.
        train_seeds: where training draws its seeds: ``"label"`` (points of objects whose label
            graspness is over the model's threshold; every seed has a grasp label from the first
            step) or ``"prediction"`` (the predicted objectness and graspness, as inference and
            the public GSNet training). Validation always uses the prediction.
    """

    root: str = "data"
    camera: str = "realsense"
    num_points: int = 8192
    downsample: int = 2
    max_objects: int = 32
    test_scenes_from: int | None = 100
    val_fraction: float = 0.1
    val_scenes: tuple[int, ...] | None = None
    max_frames: int | None = None
    frames_per_scene: int | None = None
    augment: bool = True
    flip: bool = True
    max_rotation_deg: float = 30.0
    translation_xy: float = 0.2
    translation_z: tuple[float, float] = (-0.1, 0.2)
    train_seeds: str = "prediction"

    def __post_init__(self) -> None:
        if self.num_points < 1 or self.downsample < 1 or self.max_objects < 1:
            raise ValueError("data: need num_points, downsample and max_objects >= 1")
        if self.frames_per_scene is not None and self.frames_per_scene < 1:
            raise ValueError(f"data.frames_per_scene must be >= 1 or null, got {self.frames_per_scene}")
        if self.train_seeds not in ("label", "prediction"):
            raise ValueError(f"data.train_seeds must be 'label' or 'prediction', got {self.train_seeds!r}")


@dataclass(frozen=True)
class GraspValidationConfig:
    """AP validation each epoch (``val_ap`` in ``history.json``; percent, GraspNet protocol).

    Attributes:
        ap_frames: frames scored each epoch, spread evenly over the candidates; 0 turns it off.
        ap_root: dataset root of those frames; None = ``data.root``.
        ap_scenes: scenes of the candidate frames; None = the root's test scenes
            (ids >= ``data.test_scenes_from``) when it has any, else the validation frames.
        ap_backend: force-closure backend of the AP evaluator (``"exact"`` or ``"reference"``).
        ap_num_points: points fed to the network per frame; None = ``data.num_points``.
    """

    ap_frames: int = 4
    ap_root: str | None = None
    ap_scenes: tuple[int, ...] | None = None
    ap_backend: str = "exact"
    ap_num_points: int | None = None

    def __post_init__(self) -> None:
        if self.ap_frames < 0:
            raise ValueError(f"validation.ap_frames must be >= 0, got {self.ap_frames}")
        if self.ap_backend not in ("exact", "reference"):
            raise ValueError(f"validation.ap_backend must be 'exact' or 'reference', got {self.ap_backend!r}")


@dataclass(frozen=True)
class GraspTrainConfig:
    """Everything a GSNet training run needs (saved as ``config.yaml`` in the run).

    Attributes:
        init: a checkpoint whose matching tensors initialise the network before training (e.g.
            a GraspContrast backbone, ``grasplab pretrain contrast``); None = random init. A
            resumed run continues from its own last checkpoint instead.
    """

    data: GraspDataConfig = field(default_factory=GraspDataConfig)
    validation: GraspValidationConfig = field(default_factory=GraspValidationConfig)
    model: GSNetSpec = field(default_factory=GSNetSpec)
    loss: GraspLossWeights = field(default_factory=GraspLossWeights)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(
            epochs=10, batch_size=4, lr_milestones=tuple(range(1, 10)), lr_gamma=0.95
        )
    )
    seed: int = 0
    init: str | None = None
    family: str = "gsnet"

    def __post_init__(self) -> None:
        if self.family != "gsnet":
            raise ValueError(f"family: expected 'gsnet' for this config, got {self.family!r}")


@dataclass(frozen=True)
class BaselineTrainConfig:
    """A GraspNet-1Billion baseline training run (fields as :class:`GraspTrainConfig`).

    ``data.train_seeds: label`` makes half of each step's M seeds farthest points of the whole
    cloud (as the baseline's inference) and half farthest points among the labelled graspable
    object points (every one with grasp targets); ``prediction`` uses the whole cloud only.
    """

    data: GraspDataConfig = field(default_factory=GraspDataConfig)
    validation: GraspValidationConfig = field(default_factory=GraspValidationConfig)
    model: GraspNetBaselineSpec = field(default_factory=GraspNetBaselineSpec)
    loss: BaselineLossWeights = field(default_factory=BaselineLossWeights)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(epochs=10, batch_size=4, lr_milestones=(60,), lr_gamma=0.1)
    )
    seed: int = 0
    init: str | None = None
    family: str = "graspnet-baseline"

    def __post_init__(self) -> None:
        if self.family != "graspnet-baseline":
            raise ValueError(f"family: expected 'graspnet-baseline' for this config, got {self.family!r}")


def load_grasp_train_config(
    path: Path | str | None = None, overrides: Sequence[str] = ()
) -> GraspTrainConfig | BaselineTrainConfig:
    """Read a YAML preset (or the defaults when ``path`` is None) and apply ``--set`` overrides.

    The top-level ``family`` (default ``gsnet``) picks the config class.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: bad YAML, an unknown family, key or value.
    """
    values: Any = {}
    if path is not None and Path(path).is_file():
        values = parse_yaml(Path(path).read_text(), str(path)) or {}
    family = apply_overrides(values if isinstance(values, dict) else {}, overrides).get("family", "gsnet")
    if family not in GRASP_FAMILIES:
        raise ValueError(f"family: expected one of {GRASP_FAMILIES}, got {family!r}")
    cls: type[GraspTrainConfig] | type[BaselineTrainConfig] = (
        GraspTrainConfig if family == "gsnet" else BaselineTrainConfig
    )
    return load_config(cls, path, overrides)
