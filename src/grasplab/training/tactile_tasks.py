"""Tactile representation learning as tasks of the generic :class:`grasplab.training.Trainer`.

One task per method of the tactile MoCo paper, each over :class:`grasplab.data.tactile_dataset.
TactileArrays` (training and validation trials) and a :class:`TactilePretrainConfig`:

- ``moco``: MoCo v2 -- query encoder + head on view a, momentum key encoder on view b, InfoNCE
  against a queue of K past keys (τ 0.07); after each step the key encoder moves by
  ``θk <- m θk + (1 - m) θq`` (m 0.999) and the batch's keys replace the oldest queue rows;
- ``memory-bank``: MoCo with m = 0 (the key encoder *is* the query encoder, run without
  gradient) and a bank with one row per training trial (Wu et al.): every other trial's row is a
  negative, and a trial's row is rewritten with its new key when it is visited;
- ``triplet``: anchor = view a, positive = view b of the same trial, negative = view b of the
  next trial in the batch; triplet margin loss on unit-norm projections;
- ``autoencoder``: reconstruct view a from the encoder's features (mean squared error);
- ``supervised``: a linear classifier on the features trained on the outcome labels (the ceiling).

The probes read :meth:`TactileNet.features` of the encoder (:func:`extract_features`). Queue and
bank are buffers of the network and the key encoder is frozen parameters, so checkpoints carry
them and a resumed run continues exactly. Single process only: the keys are not gathered across
ranks under ``torchrun``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from grasplab.data.tactile_dataset import TactileArrays, TactileViews, pad_channels  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.models.tactile_encoders import TactileNet, TactileNetSpec  # noqa: E402
from grasplab.training.contrastive_losses import (  # noqa: E402
    enqueue,
    info_nce_loss,
    reconstruction_loss,
    triplet_margin_loss,
    write_bank,
)
from grasplab.training.tactile_config import TactilePretrainConfig  # noqa: E402
from grasplab.training.task import LossOutput, TaskBase  # noqa: E402

__all__ = [
    "AutoencoderTask",
    "MemoryBankTask",
    "MocoTask",
    "SupervisedTask",
    "TactileTask",
    "TripletTask",
    "extract_features",
    "make_tactile_task",
    "momentum_update",
    "predict_success",
    "tactile_net_spec",
]


def tactile_net_spec(config: TactilePretrainConfig, num_train: int) -> TactileNetSpec:
    """The network of a method: head, momentum copy, queue / bank, decoder or classifier."""
    method, contrast = config.method, config.contrast
    queue = 0
    if method == "moco":
        queue = contrast.queue_size if contrast.queue_size is not None else int(0.95 * num_train)
        if not 1 <= queue < num_train:
            raise ValueError(
                f"the MoCo queue ({queue}) must be smaller than the training set ({num_train}) "
                "and at least 1; set contrast.queue_size"
            )
    elif method == "memory-bank":
        queue = num_train
    m = config.model
    return TactileNetSpec(
        in_channels=pad_channels(config.data.pads),
        image_size=config.augment.crop,
        width=m.width,
        num_stages=m.num_stages,
        proj_dim=m.proj_dim if method in ("moco", "memory-bank", "triplet") else 0,
        proj_hidden=m.proj_hidden,
        momentum_encoder=method == "moco",
        queue_size=queue,
        decoder=method == "autoencoder",
        num_classes=1 if method == "supervised" else 0,
    )


def momentum_update(key: nn.Module, query: nn.Module, momentum: float) -> None:
    """``θk <- m θk + (1 - m) θq`` in place on the key module's parameters (paper eq. 2)."""
    with torch.no_grad():
        for slow, fast in zip(key.parameters(), query.parameters(), strict=True):
            slow.mul_(momentum).add_(fast.detach(), alpha=1.0 - momentum)


class TactileTask(TaskBase):
    """Shared parts of the tactile tasks: network, datasets, mean validation loss.

    Args:
        config: the resolved config (its ``method`` must match the subclass).
        train: training trials.
        val: validation trials (at least one).
    """

    name = "tactile"
    views = 2

    def __init__(self, config: TactilePretrainConfig, train: TactileArrays, val: TactileArrays) -> None:
        if len(train) < 2 or len(val) < 1:
            raise ValueError(f"need >= 2 training and >= 1 validation trials, got {len(train)}, {len(val)}")
        self.config = config
        self.train_arrays = train
        self.val_arrays = val
        self.spec = tactile_net_spec(config, len(train))

    def build_model(self) -> nn.Module:
        """The method's :class:`TactileNet` (initialised from torch's RNG; the Trainer seeds it)."""
        return build_model("tactile", self.spec)

    def datasets(self) -> tuple[TactileViews, TactileViews]:
        """Augmented training views and centre-view validation items (seeded by ``config.seed``)."""
        data, aug, seed = self.config.data, self.config.augment, self.config.seed
        train = TactileViews(self.train_arrays, data.pads, aug, self.views, train=True, seed=seed)
        val = TactileViews(self.val_arrays, data.pads, aug, self.views, train=False, seed=seed)
        return train, val

    def batch_loss(self, net: TactileNet, batch: Mapping[str, torch.Tensor], training: bool) -> torch.Tensor:
        """The method's loss on a batch (``training`` False: validation, no state changes)."""
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        """The method's mean loss; its one named term is the method name."""
        loss = self.batch_loss(model, batch, training=True)  # type: ignore[arg-type]
        return loss, {self.config.method: float(loss.detach())}

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Mean validation loss (centre views: for MoCo and the bank the two views are equal)."""
        total, count = 0.0, 0
        for batch in batches:
            size = int(batch["view_a"].shape[0])
            total += float(self.batch_loss(model, batch, training=False)) * size  # type: ignore[arg-type]
            count += size
        return {"loss": total / max(count, 1)}


class MocoTask(TactileTask):
    """MoCo v2 with a queue and a momentum key encoder (see the module docstring)."""

    name = "tactile-moco"

    def __init__(self, config: TactilePretrainConfig, train: TactileArrays, val: TactileArrays) -> None:
        super().__init__(config, train, val)
        self._pending: torch.Tensor | None = None

    def batch_loss(self, net: TactileNet, batch: Mapping[str, torch.Tensor], training: bool) -> torch.Tensor:
        """InfoNCE of view-a queries against view-b keys and the queue."""
        query = net.embed(batch["view_a"])
        key = net.embed_key(batch["view_b"])
        if training:
            self._pending = key
        return info_nce_loss(query, key, net.queue.clone(), self.config.contrast.temperature)

    def after_step(self, model: nn.Module, step: int) -> None:
        """Momentum update of the key encoder and head, then enqueue the step's keys."""
        net: TactileNet = model  # type: ignore[assignment]
        assert net.key_encoder is not None and net.key_head is not None and net.head is not None
        m = self.config.contrast.momentum
        momentum_update(net.key_encoder, net.encoder, m)
        momentum_update(net.key_head, net.head, m)
        if self._pending is not None:
            keys = self._pending[-net.queue.shape[0] :]  # a batch larger than the queue keeps its last K
            queue, ptr = enqueue(net.queue, int(net.queue_ptr), keys)
            net.queue.copy_(queue)
            net.queue_ptr.fill_(ptr)
            self._pending = None


class MemoryBankTask(TactileTask):
    """A memory bank with one row per training trial: MoCo with m = 0 (module docstring)."""

    name = "tactile-memory-bank"

    def __init__(self, config: TactilePretrainConfig, train: TactileArrays, val: TactileArrays) -> None:
        super().__init__(config, train, val)
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    def batch_loss(self, net: TactileNet, batch: Mapping[str, torch.Tensor], training: bool) -> torch.Tensor:
        """InfoNCE against every bank row but the trial's own (training) or all rows (validation)."""
        query = net.embed(batch["view_a"])
        with torch.no_grad():
            key = net.embed(batch["view_b"])
        bank = net.queue.clone()
        mask = None
        if training:
            index = batch["index"]
            mask = torch.arange(bank.shape[0], device=bank.device)[None, :] == index[:, None]
            self._pending = (index, key)
        return info_nce_loss(query, key, bank, self.config.contrast.temperature, mask)

    def after_step(self, model: nn.Module, step: int) -> None:
        """Write the step's keys into their trials' bank rows."""
        net: TactileNet = model  # type: ignore[assignment]
        if self._pending is not None:
            net.queue.copy_(write_bank(net.queue, *self._pending))
            self._pending = None


class TripletTask(TactileTask):
    """Triplet margin loss: two views of a trial against a view of the next trial in the batch."""

    name = "tactile-triplet"

    def batch_loss(self, net: TactileNet, batch: Mapping[str, torch.Tensor], training: bool) -> torch.Tensor:
        """Triplet loss; a batch of one trial has no negative (loss 0 with a graph)."""
        anchor = net.embed(batch["view_a"])
        positive = net.embed(batch["view_b"])
        if anchor.shape[0] < 2:
            return anchor.sum() * 0.0
        return triplet_margin_loss(anchor, positive, positive.roll(1, dims=0), self.config.contrast.margin)


class AutoencoderTask(TactileTask):
    """Reconstruct the (augmented) view from the encoder's features."""

    name = "tactile-autoencoder"
    views = 1

    def batch_loss(self, net: TactileNet, batch: Mapping[str, torch.Tensor], training: bool) -> torch.Tensor:
        """Mean squared reconstruction error."""
        return reconstruction_loss(net.reconstruct(batch["view_a"]), batch["view_a"])


class SupervisedTask(TactileTask):
    """The ceiling: encoder and linear classifier trained on the outcomes (binary cross-entropy)."""

    name = "tactile-supervised"
    views = 1

    def batch_loss(self, net: TactileNet, batch: Mapping[str, torch.Tensor], training: bool) -> torch.Tensor:
        """Binary cross-entropy of the success logit."""
        logits = net.classify(batch["view_a"])[:, 0]
        return F.binary_cross_entropy_with_logits(logits, batch["label"])

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Mean loss and accuracy of the success prediction."""
        net: TactileNet = model  # type: ignore[assignment]
        total, hits, count = 0.0, 0, 0
        for batch in batches:
            logits = net.classify(batch["view_a"])[:, 0]
            size = int(logits.shape[0])
            total += float(F.binary_cross_entropy_with_logits(logits, batch["label"])) * size
            hits += int(((logits > 0).float() == batch["label"]).sum())
            count += size
        return {"loss": total / max(count, 1), "accuracy": hits / max(count, 1)}

    def rank(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """Higher validation accuracy, then lower loss."""
        return (float(metrics["accuracy"]), -float(metrics["loss"]))


_TASKS: dict[str, type[TactileTask]] = {
    "moco": MocoTask,
    "memory-bank": MemoryBankTask,
    "triplet": TripletTask,
    "autoencoder": AutoencoderTask,
    "supervised": SupervisedTask,
}


def make_tactile_task(config: TactilePretrainConfig, train: TactileArrays, val: TactileArrays) -> TactileTask:
    """The task of ``config.method`` over the given trials."""
    return _TASKS[config.method](config, train, val)


def _centre_batches(arrays: TactileArrays, config: TactilePretrainConfig, batch_size: int) -> DataLoader[Any]:
    views = TactileViews(arrays, config.data.pads, config.augment, views=1, train=False)
    # a generator of its own: a DataLoader otherwise draws its base seed from the global RNG
    return DataLoader(views, batch_size=max(1, batch_size), generator=torch.Generator().manual_seed(0))


def _eval_outputs(
    net: TactileNet, arrays: TactileArrays, config: TactilePretrainConfig, batch_size: int, device: str,
    head: str,
) -> np.ndarray:
    was_training = net.training
    net.train(False)
    out = []
    with torch.no_grad():
        for batch in _centre_batches(arrays, config, batch_size):
            x = batch["view_a"].to(device)
            value = net.features(x) if head == "features" else net.classify(x)[:, 0]
            out.append(value.cpu().numpy())
    net.train(was_training)
    return np.concatenate(out).astype(np.float32)


def extract_features(
    model: nn.Module,
    arrays: TactileArrays,
    config: TactilePretrainConfig,
    batch_size: int = 256,
    device: str = "cpu",
) -> np.ndarray:
    """Frozen encoder features (N, F) float32 of the trials' centre views (eval mode, no grad).

    Args:
        model: a trained :class:`TactileNet`.
        arrays: the trials.
        config: the run's config (pads and view geometry).
        batch_size: trials per forward pass.
        device: torch device.
    """
    net: TactileNet = model  # type: ignore[assignment]
    if len(arrays) == 0:
        return np.zeros((0, net.spec.feature_dim), np.float32)
    return _eval_outputs(net, arrays, config, batch_size, device, "features")


def predict_success(
    model: nn.Module,
    arrays: TactileArrays,
    config: TactilePretrainConfig,
    batch_size: int = 256,
    device: str = "cpu",
) -> np.ndarray:
    """Success predictions (N,) bool of a supervised network's classifier (logit > 0).

    Arguments as :func:`extract_features`; the network needs a classifier (``supervised``).
    """
    net: TactileNet = model  # type: ignore[assignment]
    if net.classifier is None:
        raise ValueError("this network has no classifier (train it with method 'supervised')")
    if len(arrays) == 0:
        return np.zeros(0, bool)
    return _eval_outputs(net, arrays, config, batch_size, device, "classifier") > 0
