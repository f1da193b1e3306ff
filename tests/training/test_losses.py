"""PLGP binary focal loss (eq. 15-16) and the BCE ablation: known answers on tiny tensors."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from grasplab.training.losses import (  # noqa: E402
    LossConfig,
    binary_cross_entropy,
    binary_focal_loss,
    pixel_grasp_loss,
)

LN2 = math.log(2.0)


def test_focal_loss_at_half_probability() -> None:
    logits = torch.zeros(2)
    target = torch.tensor([1.0, 0.0])
    # each term: -log(0.5) * |0.5 - P*|^2 * alpha_t; N = 2 elements
    expected = (LN2 * 0.25 * 0.95 + LN2 * 0.25 * 0.05) / 2
    assert binary_focal_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_focal_loss_soft_target_counts_as_positive() -> None:
    logits = torch.tensor([math.log(3.0)])  # p = 0.75
    target = torch.tensor([0.9])
    expected = -(0.9 * math.log(0.75) + 0.1 * math.log(0.25)) * 0.15**2 * 0.95
    assert binary_focal_loss(logits, target).item() == pytest.approx(expected, rel=1e-5)
    assert binary_focal_loss(logits, target, alpha=0.5, gamma=0.0).item() == pytest.approx(
        -(0.9 * math.log(0.75) + 0.1 * math.log(0.25)) * 0.5, rel=1e-5
    )


def test_focal_loss_is_a_mean_over_h_w_k() -> None:
    logits = torch.zeros(1, 3, 4, 5)
    target = torch.zeros(1, 3, 4, 5)
    target[0, 1, 2, 3] = 1.0
    n = 3 * 4 * 5
    expected = (LN2 * 0.25 * 0.95 + (n - 1) * LN2 * 0.25 * 0.05) / n
    assert binary_focal_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)
    # a batch of two identical images has the same per-element mean
    assert binary_focal_loss(logits.repeat(2, 1, 1, 1), target.repeat(2, 1, 1, 1)).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_focal_loss_is_finite_when_saturated() -> None:
    logits = torch.tensor([60.0, -60.0], requires_grad=True)
    loss = binary_focal_loss(logits, torch.tensor([0.0, 1.0]))
    loss.backward()
    assert math.isfinite(loss.item()) and loss.item() > 10
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_bce_known_answer() -> None:
    assert binary_cross_entropy(torch.zeros(3), torch.tensor([1.0, 0.0, 0.5])).item() == pytest.approx(LN2)


def test_total_weights_beta() -> None:
    logits = (torch.zeros(1, 1, 2, 2), torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))
    q, aq, w = torch.ones(1, 1, 2, 2), torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    terms = pixel_grasp_loss(logits, q, aq, w)
    assert terms.quality.item() == pytest.approx(LN2 * 0.25 * 0.95, rel=1e-6)
    assert terms.angle.item() == pytest.approx(LN2 * 0.25 * 0.05, rel=1e-6)
    assert terms.width.item() == pytest.approx(0.0, abs=1e-9)  # p = target: no focal weight
    assert terms.total.item() == pytest.approx(10 * terms.quality.item() + 10 * terms.angle.item(), rel=1e-6)
    bce = pixel_grasp_loss(logits, q, aq, w, LossConfig(kind="bce", beta_width=1.0))
    assert bce.total.item() == pytest.approx(10 * LN2 + 10 * LN2 + LN2, rel=1e-6)


def test_loss_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        binary_focal_loss(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="loss kind"):
        LossConfig(kind="mse")
    with pytest.raises(ValueError, match="alpha"):
        LossConfig(alpha=1.5)


def _reference_focal(logits: torch.Tensor, target: torch.Tensor, alpha: float,
                     gamma: float) -> torch.Tensor:
    """Eq. 15 written with plain autograd operations."""
    prob = torch.sigmoid(logits)
    log_sigmoid = torch.nn.functional.logsigmoid
    ll = target * log_sigmoid(logits) + (1 - target) * log_sigmoid(-logits)
    weight = torch.where(target > 0, alpha, 1 - alpha) * (prob - target).abs().pow(gamma)
    return -(ll * weight).mean()


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_closed_form_focal_gradient_matches_autograd(gamma: float) -> None:
    gen = torch.Generator().manual_seed(int(gamma * 10))
    logits = torch.randn(2, 3, 4, 5, dtype=torch.float64, generator=gen)
    target = (torch.rand(2, 3, 4, 5, dtype=torch.float64, generator=gen) > 0.6) * torch.rand(
        2, 3, 4, 5, dtype=torch.float64, generator=gen)
    fast, ref = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    binary_focal_loss(fast, target, 0.9, gamma).backward()
    _reference_focal(ref, target, 0.9, gamma).backward()
    assert fast.grad is not None and ref.grad is not None
    torch.testing.assert_close(fast.grad, ref.grad)
    torch.testing.assert_close(binary_focal_loss(logits, target, 0.9, gamma),
                               _reference_focal(logits, target, 0.9, gamma))


def test_labelled_width_loss_ignores_unlabelled_elements() -> None:
    q, aq = torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2)
    width = torch.zeros(1, 2, 2, 2)
    width[0, 1, 0, 1] = 0.6  # one labelled (angle, pixel)
    logits = [torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2, requires_grad=True)]
    terms = pixel_grasp_loss(tuple(logits), q, aq, width, LossConfig(width_loss="labelled"))
    # one element, p = 0.5, target 0.6: -(0.6 ln .5 + 0.4 ln .5) * 0.1^2 * 0.95
    assert terms.width.item() == pytest.approx(LN2 * 0.01 * 0.95, rel=1e-6)
    terms.total.backward()
    grad = logits[2].grad
    assert grad is not None and int((grad != 0).sum()) == 1 and grad[0, 1, 0, 1] < 0  # pushed up to 0.6
    everywhere = pixel_grasp_loss(tuple(logits), q, aq, width)
    assert everywhere.width.item() != pytest.approx(terms.width.item())
    no_labels = pixel_grasp_loss(tuple(logits), q, aq, torch.zeros_like(width),
                                 LossConfig(width_loss="labelled"))
    assert no_labels.width.item() == 0.0


def test_width_loss_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="width_loss"):
        LossConfig(width_loss="some")
