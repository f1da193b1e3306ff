"""Losses of the PLGP pixel-level grasp network (paper §IV-C, eq. 15-16).

Eq. 15, the binary focal loss of an output map P (K, H, W) with target P* in [0, 1]::

    L = -1/N sum_ijk (P* log P + (1 - P*) log(1 - P)) |P - P*|^gamma alpha_ijk,
    alpha_ijk = alpha if P*_ijk > 0 else 1 - alpha,

with N = H W K, the number of summed terms (so L is a per-element mean; K = 1 for Q_p); over a
batch the per-image means are averaged, i.e. the mean over all B K H W elements. gamma = 2 and
alpha = 0.95 in the paper. Eq. 16 weights the three maps: ``beta_1 L(Q_p) + beta_2 L(Q_theta) +
beta_3 L(W_g)`` with beta = (10, 10, 20). The ablation's plain binary cross-entropy drops the
modulating factor and alpha (the mean of ``-(P* log P + (1 - P*) log(1 - P))``).

Losses take logits (pre-sigmoid); ``log P`` and ``log(1 - P)`` come from ``logsigmoid`` so that
saturated outputs keep finite values and gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

LOSS_KINDS = ("focal", "bce")


@dataclass(frozen=True)
class LossConfig:
    """Loss of the pixel network.

    Attributes:
        kind: "focal" (eq. 15) or "bce" (the ablation baseline).
        alpha: weight of positive targets (P* > 0); negatives get 1 - alpha.
        gamma: focusing exponent of ``|P - P*|``.
        beta_quality: weight of the Q_p term (beta_1).
        beta_angle: weight of the Q_theta term (beta_2).
        beta_width: weight of the W_g term (beta_3).
    """

    kind: str = "focal"
    alpha: float = 0.95
    gamma: float = 2.0
    beta_quality: float = 10.0
    beta_angle: float = 10.0
    beta_width: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ValueError(f"loss kind must be one of {LOSS_KINDS}, got {self.kind!r}")
        if not 0.0 <= self.alpha <= 1.0 or self.gamma < 0.0:
            raise ValueError(f"need alpha in [0, 1] and gamma >= 0, got {self.alpha}, {self.gamma}")
        if min(self.beta_quality, self.beta_angle, self.beta_width) < 0.0:
            raise ValueError("loss weights beta must be >= 0")


def _check_pair(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape")


def binary_focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.95, gamma: float = 2.0
) -> torch.Tensor:
    """PLGP eq. 15 averaged over all elements.

    Args:
        logits: (..., ) pre-sigmoid outputs.
        target: same shape, targets in [0, 1].
        alpha: weight of elements whose target is > 0 (others 1 - alpha).
        gamma: focusing exponent.

    Returns:
        Scalar loss.
    """
    _check_pair(logits, target)
    target = target.to(logits.dtype)
    prob = torch.sigmoid(logits)
    log_likelihood = target * F.logsigmoid(logits) + (1.0 - target) * F.logsigmoid(-logits)
    weight = torch.where(target > 0, alpha, 1.0 - alpha) * (prob - target).abs().pow(gamma)
    return -(log_likelihood * weight).mean()


def binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy with soft targets in [0, 1] (the ablation's baseline)."""
    _check_pair(logits, target)
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))


@dataclass(frozen=True)
class PixelLossTerms:
    """The weighted total (eq. 16) and its unweighted terms (tensors; ``total`` has a graph)."""

    total: torch.Tensor
    quality: torch.Tensor
    angle: torch.Tensor
    width: torch.Tensor


def pixel_grasp_loss(
    logits: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    quality: torch.Tensor,
    angle_quality: torch.Tensor,
    width: torch.Tensor,
    config: LossConfig | None = None,
) -> PixelLossTerms:
    """PLGP eq. 16: ``beta_1 L(Q_p) + beta_2 L(Q_theta) + beta_3 L(W_g)``.

    Args:
        logits: pre-sigmoid (Q_p (B, 1, H, W), Q_theta (B, K, H, W), W_g (B, K, H, W)).
        quality: (B, 1, H, W) target of Q_p.
        angle_quality: (B, K, H, W) target of Q_theta.
        width: (B, K, H, W) target of W_g (opening / L4).
        config: loss kind and weights (default: the paper's focal loss).

    Returns:
        The total and the three unweighted terms.
    """
    cfg = config or LossConfig()
    if cfg.kind == "focal":
        terms = [
            binary_focal_loss(out, tgt, cfg.alpha, cfg.gamma)
            for out, tgt in zip(logits, (quality, angle_quality, width), strict=True)
        ]
    else:
        terms = [
            binary_cross_entropy(out, tgt)
            for out, tgt in zip(logits, (quality, angle_quality, width), strict=True)
        ]
    total = cfg.beta_quality * terms[0] + cfg.beta_angle * terms[1] + cfg.beta_width * terms[2]
    return PixelLossTerms(total, terms[0], terms[1], terms[2])
