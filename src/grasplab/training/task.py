"""The :class:`TrainTask` protocol: what one kind of training supplies to the generic Trainer.

The :class:`grasplab.training.trainer.Trainer` owns the loop (epochs, learning-rate schedule,
shuffling, data-parallel gradient averaging, validation, checkpoints, resuming, run files). A
task owns what differs between trainings: the network, the datasets, the loss and the
validation metrics. Pixel-network training is :class:`grasplab.training.pixel_task.PixelTask`;
a 6-DoF detector, a contrastive pretext task (no labels: its batches are pairs of views) or a
tactile encoder (with a momentum encoder updated in :meth:`TrainTask.after_step`) are each one
more task. :class:`TaskBase` gives the optional hooks their defaults.

State a task updates itself and that must survive a resume (a momentum encoder, a queue of
negatives) belongs in the model, as frozen parameters (``requires_grad=False``: the optimizer
skips them) or buffers, so that checkpoints carry it; the task updates it in ``after_step``.

Randomness: the Trainer seeds model initialisation (``build_model`` may draw from torch's global
RNG; the Trainer runs it inside ``torch.random.fork_rng`` seeded from the config), shuffles with a
``torch.Generator`` derived from ``(seed, epoch)`` and calls :meth:`TrainTask.set_epoch` so the
datasets can derive their augmentation streams (numpy generators) from ``(seed, epoch, index)``.
A task never seeds a global RNG.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import Dataset, default_collate  # noqa: E402

__all__ = ["LossOutput", "TaskBase", "TrainTask"]

#: (scalar loss with a graph, named float terms for the log; "loss" is added by the Trainer)
LossOutput = tuple[torch.Tensor, dict[str, float]]


@runtime_checkable
class TrainTask(Protocol):
    """One kind of training (see the module docstring).

    Attributes:
        name: short name; run folders are marked ``kind = "train-<name>"`` in meta.json.
    """

    name: str

    def build_model(self) -> nn.Module:
        """A freshly initialised network (built by :func:`grasplab.models.registry.build_model`)."""
        ...

    def datasets(self) -> tuple[Dataset[Any], Dataset[Any]]:
        """The (training, validation) datasets; errors about missing data are ValueErrors."""
        ...

    def set_epoch(self, dataset: Dataset[Any], epoch: int) -> None:
        """Select the augmentation stream of ``epoch`` in the training dataset."""
        ...

    def collate(self, samples: list[Any]) -> Any:
        """Samples -> one batch (tensors anywhere in dicts / lists / tuples go to the device)."""
        ...

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        """The mean loss of a batch (on the model's device) and its named terms (floats)."""
        ...

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Metrics over the validation batches (model in eval mode, no grad); include ``"loss"``."""
        ...

    def rank(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """Sort key of validation metrics: the best checkpoint has the largest key."""
        ...

    def after_step(self, model: nn.Module, step: int) -> None:
        """Called after every optimizer step (global step count from 1): momentum encoders etc."""
        ...


class TaskBase:
    """Defaults for the optional parts of :class:`TrainTask` (subclass and override)."""

    name = "task"

    def set_epoch(self, dataset: Dataset[Any], epoch: int) -> None:
        """Call ``dataset.set_epoch(epoch)`` when the dataset has it."""
        setter = getattr(dataset, "set_epoch", None)
        if callable(setter):
            setter(epoch)

    def collate(self, samples: list[Any]) -> Any:
        """Torch's default collation (stacks tensors, keeps dict keys)."""
        return default_collate(samples)

    def rank(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """Lower validation loss is better."""
        return (-float(metrics["loss"]),)

    def after_step(self, model: nn.Module, step: int) -> None:
        """Nothing by default."""


def batch_size_of(batch: Any) -> int:
    """Number of samples in a batch: the first dimension of its first tensor (1 if none)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    if isinstance(batch, Mapping):
        values: Sequence[Any] = list(batch.values())
    elif isinstance(batch, (list, tuple)):
        values = batch
    else:
        return 1
    for value in values:
        if isinstance(value, (torch.Tensor, Mapping, list, tuple)):
            return batch_size_of(value)
    return 1


def to_device(batch: Any, device: torch.device) -> Any:
    """A copy of ``batch`` with every tensor (in nested dicts / lists / tuples) on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return tuple(to_device(v, device) for v in batch)
    if isinstance(batch, list):
        return [to_device(v, device) for v in batch]
    return batch
