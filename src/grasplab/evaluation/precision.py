"""Precision@k and the AP figures of the GraspNet-1Billion protocol.

For one frame, ``s`` are the force-closure scores of the evaluated grasps (min mu, -1 = failed)
sorted by predicted confidence, best first. For each friction coefficient mu and k = 1..50:

    P@k(mu) = #{ i <= min(k, n) : 0 < s_i <= mu } / k

The denominator is always k: missing grasps (n < k) count as wrong. A frame's accuracy matrix is
(50, 6). ``AP_mu`` is the mean over k; ``AP`` (as the reference code computes it and as published
numbers use it) averages all 6 mu in {0.2, ..., 1.2}; ``AP_paper`` averages the 5 mu in
{0.2, ..., 1.0} that the paper's text names. All figures here are fractions; reports multiply by
100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.core.validation import as_array

__all__ = [
    "MU_GRID",
    "PAPER_MU_COUNT",
    "TOP_K",
    "APSummary",
    "precision_at_k",
    "summarize_ap",
]

#: Friction coefficients of the reference evaluation (``list_coe_of_friction``).
MU_GRID: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2)
#: Number of leading entries of ``MU_GRID`` that the paper's AP averages (0.2 ... 1.0).
PAPER_MU_COUNT = 5
#: Precision is computed for k = 1 .. TOP_K.
TOP_K = 50


def precision_at_k(
    scores: np.ndarray, top_k: int = TOP_K, mu_grid: tuple[float, ...] = MU_GRID
) -> np.ndarray:
    """Precision@k matrix of one frame.

    Args:
        scores: (n,) force-closure scores (min mu, -1 = failed) ordered by predicted
            confidence, best first. May be empty.
        top_k: largest k.
        mu_grid: friction coefficients (columns).

    Returns:
        (top_k, len(mu_grid)) float64; row k-1 is P@k.

    Example:
        >>> precision_at_k(np.array([0.2, -1.0, 0.6]), top_k=4, mu_grid=(0.4, 1.2)).tolist()
        [[1.0, 1.0], [0.5, 0.5], [0.3333333333333333, 0.6666666666666666], [0.25, 0.5]]
    """
    s = as_array(scores, "scores", (None,))
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    mus = np.asarray(mu_grid, dtype=np.float64)
    s = s[:top_k]
    good = (s[:, None] > 0) & (s[:, None] <= mus[None, :])
    hits = np.zeros((top_k, len(mus)))
    if len(s):
        cumulative = np.cumsum(good, axis=0)
        hits[: len(s)] = cumulative
        hits[len(s) :] = cumulative[-1]
    ks = np.arange(1, top_k + 1, dtype=np.float64)
    result: np.ndarray = hits / ks[:, None]
    return result


@dataclass(frozen=True)
class APSummary:
    """AP figures over a set of frames, as fractions in [0, 1].

    Attributes:
        ap: mean over k, all 6 mu and frames (the reference code's AP).
        ap_paper: the same over mu 0.2 ... 1.0 (the paper's definition).
        ap_mu: mu -> AP_mu.
        num_frames: frames averaged (missing and failed frames count as zeros).
    """

    ap: float
    ap_paper: float
    ap_mu: dict[float, float]
    num_frames: int

    def as_percent(self) -> dict[str, object]:
        """JSON-ready dict in percent: ``AP``, ``AP_paper``, ``AP_0.8``, ``AP_0.4``, ``AP_mu``."""
        ap_mu = {f"{mu:.1f}": 100.0 * value for mu, value in self.ap_mu.items()}
        return {
            "AP": 100.0 * self.ap,
            "AP_paper": 100.0 * self.ap_paper,
            "AP_0.8": ap_mu.get("0.8", float("nan")),
            "AP_0.4": ap_mu.get("0.4", float("nan")),
            "AP_mu": ap_mu,
            "num_frames": self.num_frames,
        }


def summarize_ap(
    accuracies: np.ndarray,
    mu_grid: tuple[float, ...] = MU_GRID,
    paper_mu_count: int = PAPER_MU_COUNT,
) -> APSummary:
    """Average per-frame accuracy matrices into the AP figures.

    Args:
        accuracies: (F, K, len(mu_grid)) Precision@k matrices of F frames (F may be 0).
        mu_grid: friction coefficients of the last axis.
        paper_mu_count: how many leading mu values the paper's AP averages.

    Returns:
        The summary; all figures are 0 when F = 0.
    """
    acc = as_array(accuracies, "accuracies", (None, None, len(mu_grid)))
    if len(acc) == 0:
        return APSummary(0.0, 0.0, {mu: 0.0 for mu in mu_grid}, 0)
    per_mu = acc.mean(axis=(0, 1))
    return APSummary(
        ap=float(acc.mean()),
        ap_paper=float(acc[..., :paper_mu_count].mean()),
        ap_mu={mu: float(v) for mu, v in zip(mu_grid, per_mu, strict=True)},
        num_frames=len(acc),
    )
