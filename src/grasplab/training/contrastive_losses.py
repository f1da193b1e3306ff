"""Losses of self-supervised learning: InfoNCE with a queue, PointInfoNCE, triplet, reconstruction.

Embeddings are (B, D) rows; the InfoNCE functions L2-normalise them (cosine similarity, as MoCo's
dot product of unit vectors). The queue of MoCo (He et al. 2020) is a ring buffer (K, D) of past
keys with a write pointer: :func:`enqueue` writes a batch of keys over the oldest rows. A memory
bank (Wu et al. 2018) is a (N, D) buffer with one row per training sample, written by sample index
(:func:`write_bank`); its own row is masked out of a sample's negatives. PointInfoNCE
(GraspContrast, PointContrast) contrasts matched key points of two views of a scene, the other
matches being the negatives, with optional false-negative elimination by world distance
(:func:`point_info_nce`).

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
    "point_info_nce",
    "point_info_nce_logits",
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


def point_info_nce_logits(
    features_a: torch.Tensor,
    features_b: torch.Tensor,
    world_a: torch.Tensor,
    world_b: torch.Tensor,
    valid: torch.Tensor,
    temperature: float = 0.07,
    fne_radius: float | None = None,
) -> torch.Tensor:
    """PointInfoNCE logits of matched key points (graspcontrast.txt eq. 3-5).

    Row i scores key point i of view A against every matched point k of view B: column i is the
    positive, the others are negatives. Left out (-inf): padding columns (``valid`` False) and,
    with false-negative elimination, every negative whose world position lies within
    ``fne_radius`` (γ_D) of the anchor's; the positive is always kept.

    Args:
        features_a: (B, K, D) features of A's key points.
        features_b: (B, K, D) features of their matches in B (row i matches row i).
        world_a: (B, K, 3) world positions of A's key points.
        world_b: (B, K, 3) world positions of B's matches.
        valid: (B, K) bool, False on padding rows.
        temperature: τ > 0.
        fne_radius: γ_D in metres; None turns elimination off.

    Returns:
        (B, K, K) logits of the L2-normalised features over τ.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if features_a.ndim != 3 or features_a.shape != features_b.shape:
        raise ValueError(
            "need features_a and features_b (B, K, D), got "
            f"{tuple(features_a.shape)}, {tuple(features_b.shape)}"
        )
    b, k, _ = features_a.shape
    if world_a.shape != (b, k, 3) or world_b.shape != (b, k, 3) or valid.shape != (b, k):
        raise ValueError(f"need world_a, world_b ({b}, {k}, 3) and valid ({b}, {k})")
    if fne_radius is not None and fne_radius <= 0:
        raise ValueError(f"fne_radius must be > 0 m or None, got {fne_radius}")
    fa, fb = F.normalize(features_a, dim=-1), F.normalize(features_b, dim=-1)
    logits = fa @ fb.transpose(1, 2) / temperature
    drop = ~valid[:, None, :].expand(b, k, k)
    if fne_radius is not None:
        drop = drop | (torch.cdist(world_a, world_b) < fne_radius)
    eye = torch.eye(k, dtype=torch.bool, device=logits.device)[None]
    return logits.masked_fill(drop & ~eye, float("-inf"))


def point_info_nce(
    features_a: torch.Tensor,
    features_b: torch.Tensor,
    world_a: torch.Tensor,
    world_b: torch.Tensor,
    valid: torch.Tensor,
    temperature: float = 0.07,
    fne_radius: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean PointInfoNCE loss over the valid key points and their top-1 match accuracy.

    Arguments as :func:`point_info_nce_logits`. With identical unit features for matches and
    every negative at cosine −1 the loss is ``log(1 + n e^{-2/τ})`` for n negatives per row.

    Returns:
        (loss, accuracy): the loss is 0 with a graph when no row is valid; accuracy is the share
        of valid rows whose positive has the largest logit.
    """
    logits = point_info_nce_logits(features_a, features_b, world_a, world_b, valid, temperature, fne_radius)
    rows = logits[valid]  # (R, K)
    if rows.shape[0] == 0:
        zero = features_a.sum() * 0.0
        return zero, zero.detach()
    target = torch.arange(logits.shape[1], device=logits.device).expand(valid.shape)[valid]
    loss = F.cross_entropy(rows, target)
    accuracy = (rows.argmax(dim=1) == target).float().mean()
    return loss, accuracy.detach()


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
