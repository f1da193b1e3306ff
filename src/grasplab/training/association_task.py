"""Training the grasp association head: a task of the generic Trainer (anygrasp.txt §IV-B2, eq. 7).

Batches are pairs of frames from a feature cache (:class:`grasplab.data.association_pairs.
AssociationPairs`: features of a frozen GSNet computed once). Per pair the head embeds the grasps
of both frames, the cosine matrix ``S`` (M_a, M_b) is compared with the same-grasp positives by
the supervised contrastive loss (:func:`supervised_contrastive_loss`, τ = 0.1) in both
directions. Validation reports the loss and the top-1 association accuracy: the share of
anchors with a positive whose most similar grasp of the other frame is one of them.

Config (``configs/tracking/association.yaml``): :class:`AssociationTrainConfig`; the ``features``
section records where the cache came from (the GSNet checkpoint, points per frame), which the
``learned`` tracker reads back from the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.data.association_pairs import AssociationPairs, load_cache_index  # noqa: E402
from grasplab.labels.grasp_correspondence import DEFAULT_W_MAX  # noqa: E402
from grasplab.models.grasp_association import AssociationSpec, cosine_similarity  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.runtime.config import load_config  # noqa: E402
from grasplab.training.config import OptimConfig  # noqa: E402
from grasplab.training.task import LossOutput, TaskBase  # noqa: E402

__all__ = [
    "AssociationDataConfig",
    "AssociationFeatureConfig",
    "AssociationModelConfig",
    "AssociationTask",
    "AssociationTrainConfig",
    "load_association_config",
    "supervised_contrastive_loss",
]


@dataclass(frozen=True)
class AssociationDataConfig:
    """Which cached pairs train, and their labels.

    Attributes:
        cache: the feature cache folder (``grasplab train association --cache``).
        w_max: length scale of the same-grasp rule (m; the paper prints 0.01, 0.1 the default).
        drop_object: probability of dropping an object's grasps in the second frame.
    """

    cache: str = "runs/association_cache"
    w_max: float = DEFAULT_W_MAX
    drop_object: float = 0.2

    def __post_init__(self) -> None:
        if not self.w_max > 0 or not 0 <= self.drop_object < 1:
            raise ValueError("data: need w_max > 0 and 0 <= drop_object < 1")


@dataclass(frozen=True)
class AssociationModelConfig:
    """The head (:class:`AssociationSpec` without the feature sizes, read from the cache)."""

    colour_dim: int = 32
    hidden_dim: int = 256
    out_dim: int = 256
    use_pose: bool = True
    use_detector_features: bool = True


@dataclass(frozen=True)
class AssociationFeatureConfig:
    """Where the cached features came from (written by the cache builder, read by the tracker).

    Attributes:
        gsnet_weights: the GSNet checkpoint.
        num_points: points per frame fed to it.
        downsample: its image subsampling.
    """

    gsnet_weights: str = ""
    num_points: int = 4096
    downsample: int = 2


def _default_optim() -> OptimConfig:
    return OptimConfig(lr=1e-3, epochs=8, batch_size=4, lr_milestones=(6,), lr_gamma=0.1)


@dataclass(frozen=True)
class AssociationTrainConfig:
    """Everything one association training run needs (saved as ``config.yaml``).

    Attributes:
        temperature: τ of the supervised contrastive loss (0.1).
    """

    data: AssociationDataConfig = field(default_factory=AssociationDataConfig)
    model: AssociationModelConfig = field(default_factory=AssociationModelConfig)
    features: AssociationFeatureConfig = field(default_factory=AssociationFeatureConfig)
    optim: OptimConfig = field(default_factory=_default_optim)
    temperature: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature: expected > 0, got {self.temperature}")


def load_association_config(path: Path | str | None = None,
                            overrides: Sequence[str] = ()) -> AssociationTrainConfig:
    """Read a YAML preset (None: defaults) and apply ``--set`` overrides."""
    return load_config(AssociationTrainConfig, path, overrides)


def supervised_contrastive_loss(similarity: torch.Tensor, positives: torch.Tensor,
                                temperature: float = 0.1) -> torch.Tensor:
    """Eq. 7 of anygrasp.txt: mean over anchors with a positive of −mean log-softmax at the positives.

    Args:
        similarity: (M_a, M_b) cosine similarities.
        positives: (M_a, M_b) bool, the same-grasp pairs.
        temperature: τ.

    Returns:
        Scalar; 0 (with a graph) when no anchor has a positive.

    >>> s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(supervised_contrastive_loss(s, torch.eye(2, dtype=torch.bool), 1.0)), 4)
    0.3133
    """
    if similarity.shape != positives.shape:
        raise ValueError(f"similarity {tuple(similarity.shape)} and positives "
                         f"{tuple(positives.shape)} differ")
    pos = positives.to(similarity.dtype)
    counts = pos.sum(dim=1)
    anchors = counts > 0
    if not bool(anchors.any()):
        return similarity.sum() * 0.0
    log_prob = torch.log_softmax(similarity / temperature, dim=1)
    per_anchor = -(log_prob * pos).sum(dim=1)[anchors] / counts[anchors]
    return per_anchor.mean()


class AssociationTask(TaskBase):
    """Contrastive training of the association head on cached pairs (module docstring).

    Args:
        config: the resolved config.
    """

    name = "association"

    def __init__(self, config: AssociationTrainConfig) -> None:
        self.config = config
        index = load_cache_index(config.data.cache)
        self.meta = dict(index.get("meta", {}))
        self.pairs = {split: [(a, b) for a, b, s in index["pairs"] if s == split]
                      for split in ("train", "val")}
        if not self.pairs["train"] or not self.pairs["val"]:
            raise ValueError(f"{config.data.cache}: need training and validation pairs, got "
                             f"{len(self.pairs['train'])} and {len(self.pairs['val'])}")
        m, use = config.model, config.model.use_detector_features
        self.spec = AssociationSpec(
            seed_dim=int(self.meta.get("seed_dim", 0)) if use else 0,
            grasp_dim=int(self.meta.get("grasp_dim", 0)) if use else 0,
            colour_samples=int(self.meta.get("colour_samples", 16)), colour_dim=m.colour_dim,
            hidden_dim=m.hidden_dim, out_dim=m.out_dim, use_pose=m.use_pose)

    def build_model(self) -> nn.Module:
        """A fresh :class:`GraspAssociationNet`."""
        return build_model("association", self.spec)

    def datasets(self) -> tuple[AssociationPairs, AssociationPairs]:
        """Augmented training pairs and plain validation pairs."""
        d, seed = self.config.data, self.config.seed
        train = AssociationPairs(d.cache, self.pairs["train"], d.w_max, True, d.drop_object, seed)
        val = AssociationPairs(d.cache, self.pairs["val"], d.w_max, False, 0.0, seed)
        return train, val

    def collate(self, samples: list[Any]) -> Any:
        """Pairs have different grasp counts: a batch is the list of pairs."""
        return list(samples)

    def _pair(self, model: nn.Module, pair: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        use = self.config.model.use_detector_features
        feats = [model(pair[f"seed_{s}"] if use else None, pair[f"grasp_{s}"] if use else None,
                       pair[f"colour_{s}"], pair[f"pose_{s}"]) for s in ("a", "b")]
        return cosine_similarity(feats[0], feats[1]), pair["positives"]

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        """Mean symmetric supervised contrastive loss over the batch's pairs."""
        losses, anchors = [], 0.0
        tau = self.config.temperature
        for pair in batch:
            sim, pos = self._pair(model, pair)
            losses.append(0.5 * (supervised_contrastive_loss(sim, pos, tau)
                                 + supervised_contrastive_loss(sim.T, pos.T, tau)))
            anchors += float(pos.any(dim=1).float().mean()) if len(pos) else 0.0
        loss = torch.stack(losses).mean()
        return loss, {"supcon": float(loss.detach()), "anchors": anchors / max(len(batch), 1)}

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Mean loss and top-1 association accuracy over anchors with a positive."""
        total, count, hits, anchors = 0.0, 0, 0, 0
        for batch in batches:
            for pair in batch:
                sim, pos = self._pair(model, pair)
                total += float(supervised_contrastive_loss(sim, pos, self.config.temperature))
                count += 1
                has = pos.any(dim=1)
                if len(pos) and pos.shape[1] and bool(has.any()):
                    best = sim.argmax(dim=1)
                    hits += int(pos[torch.arange(len(pos)), best][has].sum())
                    anchors += int(has.sum())
        return {"loss": total / max(count, 1), "top1": hits / max(anchors, 1), "anchors": float(anchors)}

    def rank(self, metrics: Any) -> tuple[float, ...]:
        """Higher top-1 accuracy, then lower loss."""
        return (float(metrics.get("top1", 0.0)), -float(metrics["loss"]))
