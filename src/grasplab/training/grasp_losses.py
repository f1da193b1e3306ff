"""Losses of GSNet / AnyGrasp training, each term returned separately (wave2-facts.md §1).

| term | loss | where | weight |
|---|---|---|---|
| objectness | cross-entropy, 2 classes | every point | 1 |
| graspness | smooth-L1 | points of objects (label) | 10 |
| view | smooth-L1 on the V view graspness | seeds with a label | 100 |
| score | smooth-L1 on the A × D scores of the chosen view | seeds with a label | 15 |
| width | smooth-L1 on width × 10 (metres) | (seed, angle, depth) with score label > 0 | 10 |
| stable | smooth-L1 on the A stable scores | (seed, angle) with a free grasp | 10 |

The stable weight is not given by the papers (AnyGrasp only says smooth-L1 as GSNet); 10, the
width's, is grasplab's choice. A masked mean over an empty mask is 0 (with a graph).

The GraspNet-1Billion baseline's loss (eq. 5-8 of graspnet-1billion.txt, weights of its §5) is
:func:`baseline_losses`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

from grasplab.data.tolerance_targets import TOLERANCE_SCALE  # noqa: E402

__all__ = [
    "BASELINE_LOSS_TERMS",
    "GRASP_LOSS_TERMS",
    "BaselineLossTerms",
    "BaselineLossWeights",
    "GraspLossTerms",
    "GraspLossWeights",
    "baseline_losses",
    "gsnet_losses",
    "masked_smooth_l1",
]

GRASP_LOSS_TERMS = ("objectness", "graspness", "view", "score", "width", "stable")
#: Loss terms of the GraspNet-1Billion baseline, in the training log's order.
BASELINE_LOSS_TERMS = ("graspable", "view", "angle", "score", "width", "tolerance")


@dataclass(frozen=True)
class GraspLossWeights:
    """Weights of the loss terms (defaults: the GSNet re-implementation's, stable = width's)."""

    objectness: float = 1.0
    graspness: float = 10.0
    view: float = 100.0
    score: float = 15.0
    width: float = 10.0
    stable: float = 10.0


class _LossTermsLog:
    """``as_floats`` of a loss-terms dataclass whose term names are ``terms``."""

    terms: ClassVar[tuple[str, ...]] = ()

    def as_floats(self) -> dict[str, float]:
        """The unweighted terms as floats, for the training log."""
        return {name: float(getattr(self, name).detach()) for name in self.terms}


@dataclass(frozen=True)
class GraspLossTerms(_LossTermsLog):
    """Unweighted terms (scalar tensors) and their weighted sum ``total``."""

    terms: ClassVar[tuple[str, ...]] = GRASP_LOSS_TERMS

    objectness: torch.Tensor
    graspness: torch.Tensor
    view: torch.Tensor
    score: torch.Tensor
    width: torch.Tensor
    stable: torch.Tensor
    total: torch.Tensor


def masked_smooth_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean smooth-L1 (beta 1) over the entries where ``mask`` (broadcast to ``pred``) is set.

    >>> masked_smooth_l1(torch.tensor([0.5, 3.0]), torch.zeros(2), torch.tensor([True, False])).item()
    0.125
    """
    full = mask.expand_as(pred)
    loss = F.smooth_l1_loss(pred, target, reduction="none")
    return (loss * full).sum() / full.sum().clamp(min=1)


def gsnet_losses(
    outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], weights: GraspLossWeights
) -> GraspLossTerms:
    """All GSNet terms.

    Args:
        outputs: network outputs: ``objectness`` (B, 2, N) logits, ``graspness`` (B, N),
            ``view_scores`` (B, M, V), ``score`` / ``width`` (B, M, A, D), ``stable`` (B, M, A)
            (optional).
        targets: ``objectness`` (B, N) int64, ``graspness`` (B, N), ``seed_valid`` (B, M) bool,
            ``view`` (B, M, V), ``score`` (B, M, A, D) in [0, 1], ``width`` (B, M, A, D) metres,
            ``stable`` (B, M, A) and ``stable_valid`` () bool (labels carry stable scores).

    Returns:
        :class:`GraspLossTerms`.
    """
    obj = F.cross_entropy(outputs["objectness"], targets["objectness"])
    on_object = targets["objectness"] > 0
    grasp = masked_smooth_l1(outputs["graspness"], targets["graspness"], on_object)
    valid = targets["seed_valid"]
    view = masked_smooth_l1(outputs["view_scores"], targets["view"], valid[..., None])
    score = masked_smooth_l1(outputs["score"], targets["score"], valid[..., None, None])
    positive = (targets["score"] > 0) & valid[..., None, None]
    width = masked_smooth_l1(outputs["width"], targets["width"] * 10.0, positive)
    if "stable" in outputs:
        free_angle = positive.any(dim=-1) & targets["stable_valid"].to(torch.bool)
        stable = masked_smooth_l1(outputs["stable"], targets["stable"], free_angle)
    else:
        stable = outputs["score"].sum() * 0.0
    total = (
        weights.objectness * obj
        + weights.graspness * grasp
        + weights.view * view
        + weights.score * score
        + weights.width * width
        + weights.stable * stable
    )
    return GraspLossTerms(obj, grasp, view, score, width, stable, total)



@dataclass(frozen=True)
class BaselineLossWeights:
    """λ1, λ2, λ3, α, β of graspnet-1billion.txt eq. 8 (§5: 0.5, 1.0, 0.2, 0.5, 0.1)."""

    view: float = 0.5
    score: float = 1.0
    width: float = 0.2
    operation: float = 0.5
    tolerance: float = 0.1


@dataclass(frozen=True)
class BaselineLossTerms(_LossTermsLog):
    """Unweighted baseline terms (scalar tensors) and ``total`` = L_A + α L_R + β L_F."""

    terms: ClassVar[tuple[str, ...]] = BASELINE_LOSS_TERMS

    graspable: torch.Tensor
    view: torch.Tensor
    angle: torch.Tensor
    score: torch.Tensor
    width: torch.Tensor
    tolerance: torch.Tensor
    total: torch.Tensor


def baseline_losses(
    outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], weights: BaselineLossWeights
) -> BaselineLossTerms:
    """The GraspNet-1Billion baseline's loss (graspnet-1billion.txt eq. 5-8).

    L_A = CE(graspable) + λ1 smooth-L1(view scores) on graspable seeds; L_R = Σ over the D depths
    of [sigmoid CE of the A angle classes (a class is positive where the label has a free grasp)
    + λ2 smooth-L1(score) + λ3 smooth-L1(width × 10, where free)]; L_F = Σ over depths of
    smooth-L1(tolerance in cm, where free). Depth sums are D × the masked means.

    Args:
        outputs: ``graspable`` (B, 2, M) logits, ``view_scores`` (B, M, V), ``angle_logits``,
            ``score``, ``width``, ``tolerance`` (B, M, A, D).
        targets: ``graspable`` (B, M) int64 (1, 0, or -100 = ignored), ``seed_valid`` (B, M)
            bool, ``view_score`` (B, M, V), ``score`` (B, M, A, D) in [0, 1], ``width`` and
            ``tolerance`` (B, M, A, D) metres.

    Returns:
        :class:`BaselineLossTerms`.
    """
    cls = F.cross_entropy(outputs["graspable"], targets["graspable"], ignore_index=-100)
    if not bool((targets["graspable"] != -100).any()):
        cls = outputs["graspable"].sum() * 0.0
    valid = targets["seed_valid"] & (targets["graspable"] == 1)
    view = masked_smooth_l1(outputs["view_scores"], targets["view_score"], valid[..., None])
    depth_count = float(targets["score"].shape[-1])
    free = targets["score"] > 0
    cell = valid[..., None, None]
    bce = F.binary_cross_entropy_with_logits(outputs["angle_logits"], free.float(), reduction="none")
    angle = (bce * cell).sum() / cell.expand_as(bce).sum().clamp(min=1) * depth_count
    score = masked_smooth_l1(outputs["score"], targets["score"], cell) * depth_count
    positive = free & cell
    width = masked_smooth_l1(outputs["width"], targets["width"] * 10.0, positive) * depth_count
    tolerance = masked_smooth_l1(outputs["tolerance"], targets["tolerance"] * TOLERANCE_SCALE, positive)
    tolerance = tolerance * depth_count
    w = weights
    total = (
        cls
        + w.view * view
        + w.operation * (angle + w.score * score + w.width * width)
        + w.tolerance * tolerance
    )
    return BaselineLossTerms(cls, view, angle, score, width, tolerance, total)
