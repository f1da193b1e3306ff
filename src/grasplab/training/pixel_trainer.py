"""Training loop of the PLGP pixel-level grasp network (Adam, step schedule, resumable).

A run lives in one output folder::

    <out>/config.yaml                  resolved PixelTrainConfig
    <out>/meta.json                    grasplab version, git SHA, seed, command line, device
    <out>/checkpoints/last.safetensors weights + JSON header after the latest finished epoch
    <out>/checkpoints/last.optim.safetensors  Adam state for resuming
    <out>/checkpoints/best.safetensors the epoch with the best validation success (then loss)
    <out>/checkpoints/epoch_NNN.safetensors  snapshots every ``optim.snapshot_every`` epochs
    <out>/history.json                 per-epoch metrics

Rerunning the same command on the same folder resumes after the last finished epoch; shuffling
(seed, epoch), augmentation (seed, epoch, frame) and initialisation (seed) are seeded so a resumed
run reproduces an uninterrupted one. Validation each epoch reports the loss and a grasp-success
proxy: the fraction of validation frames whose top decoded grasp (best pixel of Q_p, best angle
bin of Q_theta there) lands on a labelled (not enhanced) pixel with that angle bin.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from grasplab import __version__  # noqa: E402
from grasplab.data.augment import AugmentConfig, input_channels  # noqa: E402
from grasplab.data.pixel_dataset import PixelGraspDataset, list_labelled_frames, split_frames  # noqa: E402
from grasplab.models.pixel_net import (  # noqa: E402
    PixelGraspNet,
    PixelOutputs,
    build_pixel_model,
    top_grasp_indices,
)
from grasplab.training.checkpoints import (  # noqa: E402
    load_checkpoint,
    load_optimizer_state,
    read_checkpoint_header,
    save_checkpoint,
)
from grasplab.training.config import PixelTrainConfig, config_to_dict, save_config_yaml  # noqa: E402
from grasplab.training.losses import pixel_grasp_loss  # noqa: E402

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainProgress:
    """One progress event: a finished training step (phase "train") or validation ("val")."""

    phase: str
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics of one finished epoch."""

    epoch: int
    lr: float
    train_loss: float
    val_loss: float
    val_success: float
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :meth:`PixelTrainer.fit`: the history (all epochs, resumed ones included)."""

    out_dir: Path
    history: tuple[EpochMetrics, ...]
    resumed_from: int
    last_checkpoint: Path
    best_checkpoint: Path


def git_sha() -> str | None:
    """The commit of the grasplab source tree, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict without the keys a resumed run may change (epochs, workers, snapshots)."""
    out = json.loads(json.dumps(config))
    for key in ("epochs", "num_workers", "snapshot_every"):
        out.get("optim", {}).pop(key, None)
    return out


class PixelTrainer:
    """Trains a pixel network into ``out_dir`` (see the module docstring).

    Args:
        config: the resolved training config.
        out_dir: the run folder (created; an existing run there is resumed).
        device: "cpu", "cuda" or "cuda:N".
        command: the command line to record in meta.json.
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
        self.config = config
        self.out_dir = Path(out_dir)
        self.device = torch.device(device)
        self.command = list(command) if command is not None else []
        self.progress = progress
        self.ckpt_dir = self.out_dir / "checkpoints"

    # ------------------------------------------------------------------------------ setup
    def _datasets(self) -> tuple[PixelGraspDataset, PixelGraspDataset]:
        data = self.config.data
        frames = list_labelled_frames(data.root, data.camera)
        if not frames:
            raise ValueError(f"no frames with pixel labels under {data.root} (camera {data.camera!r})")
        train, val = split_frames(frames, data.val_fraction, data.val_scenes)
        if data.max_frames is not None:
            train = train[: data.max_frames]
        augment = (
            AugmentConfig(
                data.crop_size,
                data.max_translation,
                data.max_rotation_deg,
                data.flip,
                data.snap_rotation,
                data.cover_image,
            )
            if data.augment
            else None
        )
        datasets = [
            PixelGraspDataset(
                data.root,
                frames,
                camera=data.camera,
                input_mode=data.input_mode,
                augment=aug,
                crop_size=data.crop_size,
                enhance=data.enhance,
                enhance_value=data.enhance_value,
                seed=self.config.seed,
                num_angles=data.num_angles,
                fast_labels=data.fast_labels,
                depth_scale=data.depth_scale,
            )
            for frames, aug in ((train, augment), (val, None))
        ]
        return datasets[0], datasets[1]

    def build_model(self) -> PixelGraspNet:
        """The network of the config, initialised from the seed."""
        cfg = self.config
        torch.manual_seed(cfg.seed)
        return build_pixel_model(
            cfg.model.name,
            input_channels(cfg.data.input_mode),
            cfg.data.num_angles,
            **{f.name: getattr(cfg.model, f.name) for f in dataclasses.fields(cfg.model) if f.name != "name"},
        )

    def _write_run_files(self, resumed_from: int) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_config_yaml(self.config, self.out_dir / "config.yaml")
        meta = {
            "grasplab_version": __version__,
            "git_sha": git_sha(),
            "seed": self.config.seed,
            "command": self.command,
            "device": str(self.device),
            "torch_version": torch.__version__,
            "resumed_from_epoch": resumed_from,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (self.out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    def _resume(
        self, model: PixelGraspNet, optimizer: torch.optim.Optimizer
    ) -> tuple[int, list[EpochMetrics]]:
        last = self.ckpt_dir / "last.safetensors"
        if not last.is_file():
            return 0, []
        header = read_checkpoint_header(last)
        if _comparable(header["config"]) != _comparable(config_to_dict(self.config)):
            raise ValueError(
                f"{self.out_dir} holds a run with a different config; resume it with its own "
                "config.yaml or choose another --out"
            )
        model.load_state_dict(load_checkpoint(last, str(self.device)).model.state_dict())
        opt_state = load_optimizer_state(optimizer, last)
        if opt_state.get("epoch") != header["state"].get("epoch"):
            raise ValueError(f"{last}: optimizer and weights are from different epochs")
        history = [EpochMetrics(**m) for m in header["state"].get("history", [])]
        logger.info("resuming %s after epoch %d", self.out_dir, header["state"]["epoch"])
        return int(header["state"]["epoch"]) + 1, history

    # ---------------------------------------------------------------------------- epochs
    def _batch_loss(
        self, model: PixelGraspNet, batch: dict[str, torch.Tensor], logits: PixelOutputs | None = None
    ) -> torch.Tensor:
        if logits is None:
            logits = model.logits(batch["input"].to(self.device))
        return pixel_grasp_loss(
            logits,
            batch["quality"].to(self.device),
            batch["angle_quality"].to(self.device),
            batch["width"].to(self.device),
            self.config.loss,
        ).total

    def _train_epoch(
        self, model: PixelGraspNet, optimizer: torch.optim.Optimizer, dataset: PixelGraspDataset, epoch: int
    ) -> float:
        cfg = self.config.optim
        dataset.set_epoch(epoch)
        generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        loader = DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            shuffle=True,
            generator=generator,
            num_workers=cfg.num_workers,
            drop_last=len(dataset) > cfg.batch_size,
        )
        steps = len(loader) if cfg.max_steps_per_epoch is None else min(len(loader), cfg.max_steps_per_epoch)
        torch.manual_seed(self.config.seed * 1_000_003 + epoch)  # dropout stream of this epoch
        model.train()
        total = 0.0
        for step, batch in enumerate(loader):
            if step >= steps:
                break
            loss = self._batch_loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            total += float(loss.detach())
            if self.progress is not None:
                self.progress(
                    TrainProgress("train", epoch, cfg.epochs, step + 1, steps, float(loss.detach()))
                )
        return total / max(steps, 1)

    @torch.no_grad()
    def validate(self, model: PixelGraspNet, dataset: PixelGraspDataset) -> tuple[float, float]:
        """Mean validation loss and the top-grasp success proxy over ``dataset``."""
        model.train(False)
        loader = DataLoader(dataset, batch_size=self.config.optim.batch_size, shuffle=False)
        loss_sum, hits, count = 0.0, 0, 0
        for batch in loader:
            size = int(batch["input"].shape[0])
            logits = model.logits(batch["input"].to(self.device))
            loss_sum += float(self._batch_loss(model, batch, logits)) * size
            v, u, k = top_grasp_indices(logits[0], logits[1])  # the sigmoid keeps the arg-maxima
            positive = batch["positive"].to(self.device)
            hits += int(positive[torch.arange(size, device=self.device), k, v, u].sum())
            count += size
        return loss_sum / max(count, 1), hits / max(count, 1)

    def fit(self) -> TrainResult:
        """Train (or resume) for ``config.optim.epochs`` epochs; checkpoints after every epoch."""
        train_set, val_set = self._datasets()
        model = self.build_model().to(self.device)
        optimizer = torch.optim.Adam(
            model.parameters(), lr=self.config.optim.lr, weight_decay=self.config.optim.weight_decay
        )
        start, history = self._resume(model, optimizer)
        self._write_run_files(start)
        config_dict = config_to_dict(self.config)
        for epoch in range(start, self.config.optim.epochs):
            tic = time.perf_counter()
            lr = self.config.optim.lr_at(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            train_loss = self._train_epoch(model, optimizer, train_set, epoch)
            val_loss, success = self.validate(model, val_set)
            history.append(EpochMetrics(epoch, lr, train_loss, val_loss, success, time.perf_counter() - tic))
            if self.progress is not None:
                self.progress(TrainProgress("val", epoch, self.config.optim.epochs, 0, 0, val_loss))
            self._save(model, optimizer, config_dict, history)
        return TrainResult(
            self.out_dir,
            tuple(history),
            start,
            self.ckpt_dir / "last.safetensors",
            self.ckpt_dir / "best.safetensors",
        )

    def _save(
        self,
        model: PixelGraspNet,
        optimizer: torch.optim.Optimizer,
        config: dict[str, Any],
        history: list[EpochMetrics],
    ) -> None:
        rows = [m.__dict__ for m in history]
        state = {"epoch": history[-1].epoch, "history": rows}
        best = max(history, key=lambda m: (m.val_success, -m.val_loss))
        if best is history[-1]:
            save_checkpoint(self.ckpt_dir / "best.safetensors", model, config=config, state=state)
        save_checkpoint(
            self.ckpt_dir / "last.safetensors", model, config=config, state=state, optimizer=optimizer
        )
        every = self.config.optim.snapshot_every
        if every is not None and (history[-1].epoch + 1) % every == 0:
            name = f"epoch_{history[-1].epoch + 1:03d}.safetensors"
            save_checkpoint(self.ckpt_dir / name, model, config=config, state=state)
        (self.out_dir / "history.json").write_text(json.dumps(rows, indent=2) + "\n")
