"""A contrastive-style task (no labels) with a momentum encoder is one more TrainTask."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from grasplab.models.registry import build_model, register_model  # noqa: E402
from grasplab.training import TaskBase, Trainer, TrainProgress, load_checkpoint  # noqa: E402
from grasplab.training.config import OptimConfig  # noqa: E402


@dataclass(frozen=True)
class TwinSpec:
    features: int = 6
    dim: int = 4


class Twin(nn.Module):
    """An online encoder and its momentum copy (frozen: only after_step changes it)."""

    def __init__(self, spec: TwinSpec) -> None:
        super().__init__()
        self.spec = spec
        self.online = nn.Linear(spec.features, spec.dim)
        self.momentum = nn.Linear(spec.features, spec.dim)
        self.momentum.load_state_dict(self.online.state_dict())
        self.momentum.requires_grad_(False)


register_model("test-twin", Twin, TwinSpec)


@dataclass(frozen=True)
class TwinConfig:
    seed: int = 0
    momentum: float = 0.9
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=0.05, epochs=4, batch_size=8))


class Views(Dataset[dict[str, torch.Tensor]]):
    """Unlabelled points; each item is two noisy views drawn from (seed, epoch, index)."""

    def __init__(self, num: int, seed: int) -> None:
        self.points = torch.randn(num, 6, generator=torch.Generator().manual_seed(seed))
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed((self.seed * 1000 + self.epoch) * 1000 + index)
        noise = 0.1 * torch.randn(2, 6, generator=generator)
        return {"a": self.points[index] + noise[0], "b": self.points[index] + noise[1]}


def _info_nce(query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    logits = nn.functional.normalize(query, dim=1) @ nn.functional.normalize(key, dim=1).T / 0.2
    return nn.functional.cross_entropy(logits, torch.arange(query.shape[0]))


class TwinTask(TaskBase):
    name = "twin"

    def __init__(self, config: TwinConfig) -> None:
        self.config = config

    def build_model(self) -> nn.Module:
        return build_model("test-twin", TwinSpec())

    def datasets(self) -> tuple[Views, Views]:
        return Views(32, self.config.seed), Views(8, self.config.seed + 1)

    def loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            key = model.momentum(batch["b"])
        loss = _info_nce(model.online(batch["a"]), key)
        return loss, {"info_nce": float(loss.detach())}

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        losses = [float(_info_nce(model.online(b["a"]), model.momentum(b["b"]))) for b in batches]
        return {"loss": sum(losses) / len(losses)}

    def after_step(self, model: nn.Module, step: int) -> None:
        m = self.config.momentum
        with torch.no_grad():
            for slow, fast in zip(model.momentum.parameters(), model.online.parameters(), strict=True):
                slow.mul_(m).add_(fast, alpha=1 - m)


def test_contrastive_task_with_a_momentum_encoder_trains_and_resumes(tmp_path: Path) -> None:
    config = TwinConfig()
    full = Trainer(TwinTask(config), config, tmp_path / "full").fit()
    assert full.history[-1].val_loss < full.history[0].val_loss  # (8-sample train losses are noisy)
    assert set(full.history[0].train) == {"loss", "info_nce"}
    model = load_checkpoint(full.last_checkpoint).model
    assert not torch.equal(model.online.weight, model.momentum.weight)  # EMA lags the online encoder
    initial = build_model("test-twin", TwinSpec())
    assert not torch.equal(model.momentum.weight, initial.momentum.weight)  # ... but moved

    def interrupt(event: TrainProgress) -> None:
        if event.phase == "train" and event.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(TwinTask(config), config, tmp_path / "cut", progress=interrupt).fit()
    resumed = Trainer(TwinTask(config), config, tmp_path / "cut").fit()
    assert resumed.resumed_from == 1
    again = load_checkpoint(resumed.last_checkpoint).model.state_dict()
    assert all(torch.equal(value, again[key]) for key, value in model.state_dict().items())
