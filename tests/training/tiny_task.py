"""A tiny synthetic TrainTask (linear regression through a small MLP) for the Trainer tests.

Also a script: ``python tiny_task.py OUT [epochs]`` trains it into OUT and writes
``OUT/steps.json`` (the loss of every step as rank 0 reports it); under
``torchrun --nproc_per_node 2`` the same command trains data-parallel.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from grasplab.models.registry import build_model as registry_build
from grasplab.models.registry import register_model
from grasplab.training.config import OptimConfig
from grasplab.training.task import LossOutput, TaskBase
from grasplab.training.trainer import Trainer, TrainProgress


@dataclass(frozen=True)
class MlpSpec:
    in_features: int = 4
    hidden: int = 8


class Mlp(nn.Module):
    def __init__(self, spec: MlpSpec) -> None:
        super().__init__()
        self.spec = spec
        self.body = nn.Sequential(nn.Linear(spec.in_features, spec.hidden), nn.Tanh())
        self.head = nn.Linear(spec.hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


register_model("test-mlp", Mlp, MlpSpec)


@dataclass(frozen=True)
class TinyConfig:
    seed: int = 0
    num_samples: int = 32
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=0.05, epochs=3, batch_size=8, lr_milestones=())
    )


class Regression(Dataset[dict[str, torch.Tensor]]):
    """y = x . w + 0.1 noise, drawn once from a torch.Generator."""

    def __init__(self, num_samples: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(num_samples, 4, generator=generator)
        w = torch.tensor([1.0, -2.0, 0.5, 3.0])
        self.y = (self.x @ w + 0.1 * torch.randn(num_samples, generator=generator))[:, None]
        self.epochs_seen: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs_seen.append(epoch)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "y": self.y[index]}


class TinyTask(TaskBase):
    name = "tiny"

    def __init__(self, config: TinyConfig) -> None:
        self.config = config
        self.steps_seen = 0

    def build_model(self) -> nn.Module:
        return registry_build("test-mlp", MlpSpec())

    def datasets(self) -> tuple[Regression, Regression]:
        return Regression(self.config.num_samples, 1), Regression(8, 2)

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        error = model(batch["x"]) - batch["y"]
        mse = (error**2).mean()
        return mse, {"mse": float(mse.detach()), "mae": float(error.abs().mean().detach())}

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in batches:
            total += float(((model(batch["x"]) - batch["y"]) ** 2).sum())
            count += int(batch["x"].shape[0])
        return {"loss": total / count}

    def after_step(self, model: nn.Module, step: int) -> None:
        self.steps_seen = step

    def rank(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        return (-metrics["loss"],)


def main(out: str, epochs: int = 3) -> None:
    optim = OptimConfig(lr=0.05, epochs=epochs, batch_size=8, lr_milestones=())
    config = TinyConfig(optim=optim)
    steps: list[dict[str, float]] = []

    def record(event: TrainProgress) -> None:
        if event.phase == "train":
            steps.append(dict(event.terms))

    Trainer(TinyTask(config), config, out, "cpu", progress=record, argv=["tiny"]).fit()
    if steps:  # rank 0 only
        (Path(out) / "steps.json").write_text(json.dumps(steps))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
