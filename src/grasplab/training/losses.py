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
from typing import Any

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

LOSS_KINDS = ("focal", "bce")
WIDTH_LOSS_MODES = ("all", "labelled")


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
        width_loss: "all" (eq. 15 over every (angle, pixel) element, as the paper) or "labelled"
            (only the elements with a width target > 0: the labelled and enhanced grasps).
            Over all elements the ~1:300 unlabelled majority pulls W_g toward 0 everywhere, so a
            short training run predicts openings far narrower than its labels; with "labelled"
            W_g is a plain regression of the opening where grasps exist, which is all the decoder
            reads (``W_g`` at the chosen pixel and angle).
    """

    kind: str = "focal"
    alpha: float = 0.95
    gamma: float = 2.0
    beta_quality: float = 10.0
    beta_angle: float = 10.0
    beta_width: float = 20.0
    width_loss: str = "all"

    def __post_init__(self) -> None:
        if self.width_loss not in WIDTH_LOSS_MODES:
            raise ValueError(f"width_loss must be one of {WIDTH_LOSS_MODES}, got {self.width_loss!r}")
        if self.kind not in LOSS_KINDS:
            raise ValueError(f"loss kind must be one of {LOSS_KINDS}, got {self.kind!r}")
        if not 0.0 <= self.alpha <= 1.0 or self.gamma < 0.0:
            raise ValueError(f"need alpha in [0, 1] and gamma >= 0, got {self.alpha}, {self.gamma}")
        if min(self.beta_quality, self.beta_angle, self.beta_width) < 0.0:
            raise ValueError("loss weights beta must be >= 0")


def _check_pair(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape")


class _FocalLoss(torch.autograd.Function):
    """Eq. 15 summed, with its gradient in closed form (half the memory traffic of autograd).

    Per element, with p = sigmoid(x), t the target, a the alpha weight and D = p - t::

        l = -a |D|^gamma (t log p + (1 - t) log(1 - p))
        dl/dx = -a (gamma |D|^(gamma - 1) sign(D) p (1 - p) (t log p + (1 - t) log(1 - p))
                    + |D|^gamma (t - p))
    """

    @staticmethod
    def forward(
        ctx: Any, logits: torch.Tensor, target: torch.Tensor, alpha: float, gamma: float
    ) -> torch.Tensor:
        ctx.save_for_backward(logits, target)
        ctx.alpha, ctx.gamma = alpha, gamma
        log_likelihood = target * F.logsigmoid(logits) + (1.0 - target) * F.logsigmoid(-logits)
        modulation = (torch.sigmoid(logits) - target).abs().pow(gamma)
        weight = torch.where(target > 0, alpha, 1.0 - alpha) * modulation
        return -(log_likelihood * weight).sum()

    @staticmethod
    def backward(
        ctx: Any, grad_output: torch.Tensor
    ) -> tuple[torch.Tensor | None, None, None, None]:
        logits, target = ctx.saved_tensors
        alpha, gamma = ctx.alpha, ctx.gamma
        prob = torch.sigmoid(logits)
        diff = prob - target
        log_likelihood = target * F.logsigmoid(logits) + (1.0 - target) * F.logsigmoid(-logits)
        a = torch.where(target > 0, alpha, 1.0 - alpha)
        if gamma == 0.0:
            grad = -a * (target - prob)
        else:
            mag = diff.abs() if gamma >= 1.0 else diff.abs().clamp_min(1e-12)
            d_mod = gamma * mag.pow(gamma - 1.0) * torch.sign(diff) * prob * (1.0 - prob)
            grad = -a * (d_mod * log_likelihood + mag.pow(gamma) * (target - prob))
        return grad * grad_output, None, None, None


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
    if logits.numel() == 0:
        return logits.sum()
    target = target.to(logits.dtype)
    return _FocalLoss.apply(logits, target, float(alpha), float(gamma)) / logits.numel()


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
        width: (B, K, H, W) target of W_g (opening / L4); 0 where no grasp is labelled.
        config: loss kind, weights and width mode (default: the paper's focal loss).

    Returns:
        The total and the three unweighted terms.
    """
    cfg = config or LossConfig()
    pairs = list(zip(logits, (quality, angle_quality, width), strict=True))
    if cfg.width_loss == "labelled":
        _check_pair(logits[2], width)
        labelled = width > 0
        pairs[2] = (logits[2][labelled], width[labelled])
    if cfg.kind == "focal":
        terms = [binary_focal_loss(out, tgt, cfg.alpha, cfg.gamma) for out, tgt in pairs]
    else:
        terms = [binary_cross_entropy(out, tgt) if out.numel() else out.sum() for out, tgt in pairs]
    total = cfg.beta_quality * terms[0] + cfg.beta_angle * terms[1] + cfg.beta_width * terms[2]
    return PixelLossTerms(total, terms[0], terms[1], terms[2])
