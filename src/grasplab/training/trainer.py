"""The generic training loop over a :class:`grasplab.training.task.TrainTask` (resumable, data-parallel).

A run lives in one output folder::

    <out>/config.yaml                  resolved config (grasplab.runtime.runfiles)
    <out>/meta.json                    kind "train-<task>", version, git SHA, seed, command line, device
    <out>/checkpoints/last.safetensors weights + JSON header after the latest finished epoch
    <out>/checkpoints/last.optim.safetensors  Adam state for resuming
    <out>/checkpoints/best.safetensors the epoch whose validation metrics rank best (TrainTask.rank)
    <out>/checkpoints/epoch_NNN.safetensors  snapshots every ``optim.snapshot_every`` epochs
    <out>/history.json                 per-epoch metrics (train_<term>, val_<metric>, lr, seconds)

Rerunning on the same folder resumes after the last finished epoch (weights, optimizer, epoch).
No random state needs storing: every stream is a function of ``(config.seed, epoch)`` --
initialisation runs inside ``torch.random.fork_rng`` seeded with ``seed``; shuffling uses a
``torch.Generator`` seeded with ``seed * 1_000_003 + epoch``; dropout draws from torch's RNG inside
a ``fork_rng`` scope seeded with the same number; datasets derive augmentation from
``(seed, epoch, index)`` -- so a resumed run reproduces an uninterrupted one, and the global RNG of
the calling process is left as it was. These are the draws of the former ``PixelTrainer``, so a
pixel run reproduces its loss curve exactly.

Under ``torchrun`` (see :mod:`grasplab.training.distributed`) only rank 0 writes files and
reports progress; ``optim.batch_size`` is the global batch.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from grasplab.runtime.config import config_to_dict, fill_new_defaults  # noqa: E402
from grasplab.runtime.runfiles import write_run_files  # noqa: E402
from grasplab.training.checkpoints import (  # noqa: E402
    load_checkpoint,
    load_optimizer_state,
    read_checkpoint_header,
    save_checkpoint,
)
from grasplab.training.config import OptimConfig  # noqa: E402
from grasplab.training.distributed import (  # noqa: E402
    DistContext,
    GlobalBatchSampler,
    average_gradients,
    broadcast_buffers,
    close_distributed,
    init_distributed,
    reduce_weighted,
)
from grasplab.training.task import TrainTask, batch_size_of, to_device  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = ["EpochMetrics", "RunConfig", "TrainProgress", "TrainResult", "Trainer", "shuffle_seed"]


class RunConfig(Protocol):
    """What the Trainer reads from a run config: a seed and the optimisation settings."""

    @property
    def seed(self) -> int: ...  # noqa: D102

    @property
    def optim(self) -> OptimConfig: ...  # noqa: D102


@dataclass(frozen=True)
class TrainProgress:
    """One progress event: a finished training step (phase "train") or validation ("val").

    ``loss`` is the step's (or validation's) loss; ``terms`` its named terms.
    """

    phase: str
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    terms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics of one finished epoch: mean training terms (``"loss"`` first) and validation metrics."""

    epoch: int
    lr: float
    train: dict[str, float]
    val: dict[str, float]
    seconds: float

    @property
    def train_loss(self) -> float:
        """Mean training loss of the epoch."""
        return float(self.train["loss"])

    @property
    def val_loss(self) -> float:
        """Validation loss (NaN if the task reports none)."""
        return float(self.val.get("loss", math.nan))

    @property
    def val_success(self) -> float:
        """Validation success proxy of tasks that have one (NaN otherwise)."""
        return float(self.val.get("success", math.nan))

    def to_row(self) -> dict[str, Any]:
        """Flat JSON row: epoch, lr, ``train_<term>``, ``val_<metric>``, seconds."""
        row: dict[str, Any] = {"epoch": self.epoch, "lr": self.lr}
        row.update({f"train_{k}": v for k, v in self.train.items()})
        row.update({f"val_{k}": v for k, v in self.val.items()})
        row["seconds"] = self.seconds
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EpochMetrics:
        """Inverse of :meth:`to_row` (also reads the rows of the former PixelTrainer)."""
        train = {k.removeprefix("train_"): float(v) for k, v in row.items() if k.startswith("train_")}
        val = {k.removeprefix("val_"): float(v) for k, v in row.items() if k.startswith("val_")}
        return cls(int(row["epoch"]), float(row["lr"]), train, val, float(row["seconds"]))


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :meth:`Trainer.fit`: the history (all epochs, resumed ones included)."""

    out_dir: Path
    history: tuple[EpochMetrics, ...]
    resumed_from: int
    last_checkpoint: Path
    best_checkpoint: Path


def shuffle_seed(seed: int, epoch: int) -> int:
    """Seed of an epoch's shuffling generator and dropout stream."""
    return seed * 1_000_003 + epoch


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict without the keys a resumed run may change (epochs, workers, snapshots)."""
    out = json.loads(json.dumps(config))
    for key in ("epochs", "num_workers", "snapshot_every"):
        out.get("optim", {}).pop(key, None)
    return out


class Trainer:
    """Trains ``task``'s network into ``out`` (see the module docstring).

    Args:
        task: what to train.
        config: the resolved run config (a frozen dataclass with ``seed`` and ``optim``); saved as
            ``config.yaml`` and in every checkpoint.
        out: the run folder (created; an existing run there is resumed).
        device: "cpu", "cuda" or "cuda:N" (under torchrun with CUDA: ``cuda:LOCAL_RANK``).
        progress: called on rank 0 after every training step and after validation.
        argv: the command line for meta.json (default ``sys.argv``).
        kind: the run kind in meta.json (default ``"train-" + task.name``).
    """

    def __init__(
        self,
        task: TrainTask,
        config: Any,
        out: Path | str,
        device: str = "cpu",
        progress: Callable[[TrainProgress], None] | None = None,
        argv: Sequence[str] | None = None,
        kind: str | None = None,
    ) -> None:
        self.task = task
        self.config: RunConfig = config
        self.optim: OptimConfig = config.optim
        self.seed = int(config.seed)
        self.config_dict = config_to_dict(config)
        self.out_dir = Path(out)
        self.device = torch.device(device)
        self.progress = progress
        self.argv = argv
        self.kind = kind or f"train-{task.name}"
        self.ckpt_dir = self.out_dir / "checkpoints"
        self.context = DistContext()

    # ------------------------------------------------------------------------------ setup
    def build_model(self) -> nn.Module:
        """The task's network, initialised from the seed (the global RNG is left untouched)."""
        with self._rng_scope():  # manual_seed seeds CUDA too: fork its state on a GPU as well
            torch.manual_seed(self.seed)
            return self.task.build_model()

    def _resume(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, list[EpochMetrics]]:
        last = self.ckpt_dir / "last.safetensors"
        if not last.is_file():
            return 0, []
        header = read_checkpoint_header(last)
        stored = fill_new_defaults(header["config"], self.config)  # runs older than a new field
        if _comparable(stored) != _comparable(self.config_dict):
            raise ValueError(
                f"{self.out_dir} holds a run with a different config; resume it with its own "
                "config.yaml or choose another --out"
            )
        model.load_state_dict(load_checkpoint(last, str(self.device)).model.state_dict())
        opt_state = load_optimizer_state(optimizer, last)
        if opt_state.get("epoch") != header["state"].get("epoch"):
            raise ValueError(f"{last}: optimizer and weights are from different epochs")
        history = [EpochMetrics.from_row(m) for m in header["state"].get("history", [])]
        logger.info("resuming %s after epoch %d", self.out_dir, header["state"]["epoch"])
        return int(header["state"]["epoch"]) + 1, history

    def _rng_scope(self) -> Any:
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        return torch.random.fork_rng(devices=devices)

    # ---------------------------------------------------------------------------- epochs
    def _train_loader(self, dataset: Dataset[Any], epoch: int) -> DataLoader[Any]:
        generator = torch.Generator().manual_seed(shuffle_seed(self.seed, epoch))
        sampler = GlobalBatchSampler(
            len(dataset),  # type: ignore[arg-type]
            self.optim.batch_size,
            generator,
            self.context,
            drop_last=len(dataset) > self.optim.batch_size,  # type: ignore[arg-type]
        )
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            generator=generator,
            num_workers=self.optim.num_workers,
            collate_fn=self.task.collate,
        )

    def _step(self, model: nn.Module, optimizer: torch.optim.Optimizer, batch: Any) -> dict[str, float]:
        batch = to_device(batch, self.device)
        loss, terms = self.task.loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        count = batch_size_of(batch)
        average_gradients(model, count, self.context)
        if self.optim.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.optim.grad_clip)
        optimizer.step()
        broadcast_buffers(model, self.context)
        names = ["loss", *terms]
        values = reduce_weighted([float(loss.detach()), *terms.values()], count, self.context, self.device)
        return dict(zip(names, values, strict=True))

    def _train_epoch(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, dataset: Dataset[Any], epoch: int
    ) -> dict[str, float]:
        self.task.set_epoch(dataset, epoch)
        loader = self._train_loader(dataset, epoch)
        cap = self.optim.max_steps_per_epoch
        steps = len(loader) if cap is None else min(len(loader), cap)
        sums: dict[str, float] = {}
        with self._rng_scope():
            torch.manual_seed(shuffle_seed(self.seed, epoch))  # dropout stream of this epoch
            model.train()
            for step, batch in zip(range(steps), loader, strict=False):
                terms = self._step(model, optimizer, batch)
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + value
                self.task.after_step(model, epoch * steps + step + 1)
                self._report(
                    TrainProgress("train", epoch, self.optim.epochs, step + 1, steps, terms["loss"], terms)
                )
        return {name: total / max(steps, 1) for name, total in sums.items()} or {"loss": 0.0}

    def _val_batches(self, dataset: Dataset[Any]) -> Iterator[Any]:
        loader = DataLoader(
            dataset,
            batch_size=self.optim.batch_size,
            shuffle=False,
            collate_fn=self.task.collate,
            generator=torch.Generator().manual_seed(self.seed),  # else it draws from the global RNG
        )
        for batch in loader:
            yield to_device(batch, self.device)

    def validate(self, model: nn.Module, dataset: Dataset[Any]) -> dict[str, float]:
        """The task's validation metrics over ``dataset`` (eval mode, no gradients)."""
        model.train(False)
        with torch.no_grad():
            return dict(self.task.validate(model, self._val_batches(dataset)))

    def _report(self, event: TrainProgress) -> None:
        if self.progress is not None and self.context.is_main:
            self.progress(event)

    def fit(self) -> TrainResult:
        """Train (or resume) for ``optim.epochs`` epochs; checkpoints after every epoch."""
        self.context, self.device = init_distributed(self.device)
        try:
            return self._fit()
        finally:
            close_distributed(self.context)

    def _fit(self) -> TrainResult:
        train_set, val_set = self.task.datasets()
        model = self.build_model().to(self.device)
        trainable = [p for p in model.parameters() if p.requires_grad]  # not frozen momentum encoders
        optimizer = torch.optim.Adam(trainable, lr=self.optim.lr, weight_decay=self.optim.weight_decay)
        start, history = self._resume(model, optimizer)
        if self.context.is_main:
            extra = {
                "device": str(self.device),
                "resumed_from_epoch": start,
                "world_size": self.context.world_size,
            }
            write_run_files(
                self.out_dir, self.config, seed=self.seed, kind=self.kind, argv=self.argv, extra=extra
            )
        for epoch in range(start, self.optim.epochs):
            tic = time.perf_counter()
            lr = self.optim.lr_at(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            train = self._train_epoch(model, optimizer, train_set, epoch)
            val = self.validate(model, val_set)
            history.append(EpochMetrics(epoch, lr, train, val, time.perf_counter() - tic))
            logger.info("epoch %d/%d: %s", epoch + 1, self.optim.epochs, history[-1].to_row())
            val_loss = float(val.get("loss", math.nan))
            self._report(TrainProgress("val", epoch, self.optim.epochs, 0, 0, val_loss, dict(val)))
            if self.context.is_main:
                self._save(model, optimizer, history)
        return TrainResult(
            self.out_dir,
            tuple(history),
            start,
            self.ckpt_dir / "last.safetensors",
            self.ckpt_dir / "best.safetensors",
        )

    def _save(self, model: nn.Module, optimizer: torch.optim.Optimizer, history: list[EpochMetrics]) -> None:
        rows = [m.to_row() for m in history]
        state = {"epoch": history[-1].epoch, "history": rows}
        config = self.config_dict
        best = max(history, key=lambda m: self.task.rank(m.val))
        if best is history[-1]:
            save_checkpoint(self.ckpt_dir / "best.safetensors", model, config=config, state=state)
        save_checkpoint(
            self.ckpt_dir / "last.safetensors", model, config=config, state=state, optimizer=optimizer
        )
        every = self.optim.snapshot_every
        if every is not None and (history[-1].epoch + 1) % every == 0:
            name = f"epoch_{history[-1].epoch + 1:03d}.safetensors"
            save_checkpoint(self.ckpt_dir / name, model, config=config, state=state)
        (self.out_dir / "history.json").write_text(json.dumps(rows, indent=2) + "\n")
