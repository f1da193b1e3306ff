"""Training: one generic Trainer over TrainTasks, losses, configs and checkpoints."""

from grasplab.training.checkpoints import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_FORMAT_VERSION,
    Checkpoint,
    LoadReport,
    load_checkpoint,
    load_model,
    load_optimizer_state,
    load_weights_into,
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
from grasplab.training.pixel_task import PixelTask
from grasplab.training.pixel_trainer import PixelTrainer
from grasplab.training.task import TaskBase, TrainTask
from grasplab.training.trainer import EpochMetrics, Trainer, TrainProgress, TrainResult

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "Checkpoint",
    "DataConfig",
    "EpochMetrics",
    "LoadReport",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "PixelLossTerms",
    "PixelTask",
    "PixelTrainConfig",
    "PixelTrainer",
    "TaskBase",
    "TrainProgress",
    "TrainResult",
    "TrainTask",
    "Trainer",
    "apply_overrides",
    "binary_cross_entropy",
    "binary_focal_loss",
    "config_from_dict",
    "config_to_dict",
    "load_checkpoint",
    "load_model",
    "load_optimizer_state",
    "load_train_config",
    "load_weights_into",
    "pixel_grasp_loss",
    "read_checkpoint_header",
    "save_checkpoint",
    "save_config_yaml",
]
