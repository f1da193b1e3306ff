"""``PixelTrainer``: the former pixel training loop's name, now the generic Trainer on a PixelTask.

Kept for compatibility (``PixelTrainer(config, out_dir, device, command, progress).fit()``);
new code writes ``Trainer(PixelTask(config), config, out, device, progress)``. The run folder,
checkpoints, history and the random draws are those described in :mod:`grasplab.training.trainer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from grasplab.training.config import PixelTrainConfig
from grasplab.training.pixel_task import PixelTask
from grasplab.training.trainer import EpochMetrics, Trainer, TrainProgress, TrainResult

__all__ = ["EpochMetrics", "PixelTrainer", "TrainProgress", "TrainResult"]


class PixelTrainer(Trainer):
    """Trains a pixel network into ``out_dir``.

    Args:
        config: the resolved training config.
        out_dir: the run folder (created; an existing run there is resumed).
        device: "cpu", "cuda" or "cuda:N".
        command: the command line to record in meta.json (default: none recorded).
        progress: called after every training step and after validation.
    """

    def __init__(
        self,
        config: PixelTrainConfig,
        out_dir: Path | str,
        device: str = "cpu",
        command: Sequence[str] | None = None,
        progress: Callable[[TrainProgress], None] | None = None,
    ) -> None:
        super().__init__(PixelTask(config), config, out_dir, device, progress, argv=list(command or []))
        self.pixel_config = config
