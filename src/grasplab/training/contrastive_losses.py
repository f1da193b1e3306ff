"""Losses of self-supervised representation learning: InfoNCE with a queue, triplet, reconstruction.

Embeddings are (B, D) rows; the InfoNCE functions L2-normalise them (cosine similarity, as MoCo's
dot product of unit vectors). The queue of MoCo (He et al. 2020) is a ring buffer (K, D) of past
keys with a write pointer: :func:`enqueue` writes a batch of keys over the oldest rows. A memory
bank (Wu et al. 2018) is a (N, D) buffer with one row per training sample, written by sample index
(:func:`write_bank`); its own row is masked out of a sample's negatives.

>>> q = torch.tensor([[1.0, 0.0]])
>>> round(float(info_nce_loss(q, q, -q, temperature=1.0)), 6)  # log(1 + e^-2)
0.126928
"""

from __future__ import annotations

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

__all__ = [
    "enqueue",
    "info_nce_logits",
    "info_nce_loss",
    "reconstruction_loss",
    "triplet_margin_loss",
    "write_bank",
]


def info_nce_logits(
    query: torch.Tensor,
    positive: torch.Tensor,
    negatives: torch.Tensor,
    temperature: float = 0.07,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """MoCo's logits: column 0 the positive, then the negatives, over the temperature.

    Args:
        query: (B, D) queries q.
        positive: (B, D) positive keys k+ (one per query).
        negatives: (K, D) negative keys shared by all queries (queue or memory bank).
        temperature: τ > 0.
        negative_mask: optional (B, K) bool, True where a negative must be left out (its logit is
            set to -inf; e.g. a sample's own memory-bank row).

    Returns:
        (B, 1 + K) logits ``[q·k+, q·k_0, ..., q·k_{K-1}] / τ`` of the normalised vectors.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if query.ndim != 2 or query.shape != positive.shape or negatives.ndim != 2:
        raise ValueError(
            f"need query and positive (B, D) and negatives (K, D), got {tuple(query.shape)}, "
            f"{tuple(positive.shape)}, {tuple(negatives.shape)}"
        )
    if negatives.shape[1] != query.shape[1]:
        raise ValueError(f"negatives have dimension {negatives.shape[1]}, queries {query.shape[1]}")
    q = F.normalize(query, dim=1)
    pos = (q * F.normalize(positive, dim=1)).sum(dim=1, keepdim=True)
    neg = q @ F.normalize(negatives, dim=1).T
    if negative_mask is not None:
        if negative_mask.shape != neg.shape:
            raise ValueError(f"negative_mask must be {tuple(neg.shape)}, got {tuple(negative_mask.shape)}")
        neg = neg.masked_fill(negative_mask, float("-inf"))
    return torch.cat([pos, neg], dim=1) / temperature


def info_nce_loss(
    query: torch.Tensor,
    positive: torch.Tensor,
    negatives: torch.Tensor,
    temperature: float = 0.07,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean InfoNCE loss ``-log softmax(logits)[0]`` (paper eq. 1).

    Arguments as :func:`info_nce_logits`. Its floor for unit vectors is ``log(1 + K e^{-2/τ})``
    (positive equal to the query, every negative opposite).
    """
    logits = info_nce_logits(query, positive, negatives, temperature, negative_mask)
    target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


def triplet_margin_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.5
) -> torch.Tensor:
    """Mean ``max(0, |a - p| - |a - n| + margin)`` with Euclidean distances.

    Args:
        anchor, positive, negative: (B, D) embeddings (used as given, not normalised).
        margin: the margin (>= 0).

    >>> a = torch.zeros(1, 2); p = torch.tensor([[1.0, 0.0]]); n = torch.tensor([[0.0, 3.0]])
    >>> float(triplet_margin_loss(a, p, n, margin=2.5))  # 1 - 3 + 2.5
    0.5
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if not anchor.shape == positive.shape == negative.shape or anchor.ndim != 2:
        raise ValueError("anchor, positive and negative must all be (B, D)")
    d_pos = (anchor - positive).norm(dim=1)
    d_neg = (anchor - negative).norm(dim=1)
    return F.relu(d_pos - d_neg + margin).mean()


def reconstruction_loss(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between an autoencoder's output and its target (same shapes)."""
    if reconstruction.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(reconstruction.shape)} vs {tuple(target.shape)}")
    return F.mse_loss(reconstruction, target)


def enqueue(queue: torch.Tensor, ptr: int, keys: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Write ``keys`` over the oldest rows of a ring-buffer queue (dequeue + enqueue in one).

    Args:
        queue: (K, D) keys; row ``ptr`` is the oldest.
        ptr: write position in [0, K).
        keys: (B, D) new keys, B <= K.

    Returns:
        (new queue (K, D), new pointer); the input queue is not modified.

    >>> q, p = enqueue(torch.zeros(3, 1), 2, torch.tensor([[1.0], [2.0]]))
    >>> q.flatten().tolist(), p
    ([2.0, 0.0, 1.0], 1)
    """
    size = queue.shape[0]
    if keys.ndim != 2 or keys.shape[1] != queue.shape[1] or keys.shape[0] > size:
        raise ValueError(f"keys must be (B <= {size}, {queue.shape[1]}), got {tuple(keys.shape)}")
    if not 0 <= ptr < size:
        raise ValueError(f"ptr must be in [0, {size}), got {ptr}")
    rows = (ptr + torch.arange(keys.shape[0], device=queue.device)) % size
    out = queue.clone()
    out[rows] = keys.detach().to(queue.dtype)
    return out, int((ptr + keys.shape[0]) % size)


def write_bank(bank: torch.Tensor, indices: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """A copy of a memory bank (N, D) with rows ``indices`` (B,) replaced by ``keys`` (B, D)."""
    if indices.ndim != 1 or keys.shape != (indices.shape[0], bank.shape[1]):
        raise ValueError(f"need indices (B,) and keys (B, {bank.shape[1]}), got {tuple(keys.shape)}")
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= bank.shape[0]):
        raise ValueError(f"bank indices must lie in [0, {bank.shape[0]})")
    out = bank.clone()
    out[indices.long()] = keys.detach().to(bank.dtype)
    return out
