"""Training: losses, loops, contrastive objectives and checkpoints."""

from grasplab.training.checkpoints import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_FORMAT_VERSION,
    Checkpoint,
    load_checkpoint,
    load_optimizer_state,
    read_checkpoint_header,
    save_checkpoint,
)
from grasplab.training.config import (
    DataConfig,
    ModelConfig,
    OptimConfig,
    PixelTrainConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_train_config,
    save_config_yaml,
)
from grasplab.training.losses import (
    LossConfig,
    PixelLossTerms,
    binary_cross_entropy,
    binary_focal_loss,
    pixel_grasp_loss,
)
from grasplab.training.pixel_trainer import EpochMetrics, PixelTrainer, TrainProgress, TrainResult

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "Checkpoint",
    "DataConfig",
    "EpochMetrics",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "PixelLossTerms",
    "PixelTrainConfig",
    "PixelTrainer",
    "TrainProgress",
    "TrainResult",
    "apply_overrides",
    "binary_cross_entropy",
    "binary_focal_loss",
    "config_from_dict",
    "config_to_dict",
    "load_checkpoint",
    "load_optimizer_state",
    "load_train_config",
    "pixel_grasp_loss",
    "read_checkpoint_header",
    "save_checkpoint",
    "save_config_yaml",
]
