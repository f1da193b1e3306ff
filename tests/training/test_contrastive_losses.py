"""Known answers of the contrastive losses and the queue / memory-bank buffers."""

from __future__ import annotations

import math
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from grasplab.training.contrastive_losses import (  # noqa: E402
    enqueue,
    info_nce_logits,
    info_nce_loss,
    point_info_nce,
    point_info_nce_logits,
    reconstruction_loss,
    triplet_margin_loss,
    write_bank,
)


def _unit(*rows: list[float]) -> Any:
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


def test_info_nce_positive_on_top_gives_the_floor() -> None:
    q = _unit([1.0, 0.0, 0.0], [1.0, 0.0, 0.0])
    negatives = -q.repeat(3, 1)  # K = 6 keys, all opposite to the queries
    loss = info_nce_loss(q, q, negatives, temperature=0.5)
    assert float(loss) == pytest.approx(math.log(1 + 6 * math.exp(-2 / 0.5)), rel=1e-5)
    assert float(info_nce_loss(q, q, negatives, temperature=0.07)) < 1e-5  # log(1 + 6 e^-28.6)
    # any other positive, or negatives nearer the query, give a larger loss
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        other = torch.nn.functional.normalize(torch.randn(2, 3, generator=gen), dim=1)
        assert float(info_nce_loss(q, other, negatives, temperature=0.5)) > float(loss)
        assert float(info_nce_loss(q, q, other.repeat(3, 1), temperature=0.5)) > float(loss)


def test_info_nce_known_answer_and_chance_level() -> None:
    q = _unit([1.0, 0.0])
    # positive orthogonal, two negatives orthogonal: all logits equal -> log(1 + K)
    loss = info_nce_loss(q, _unit([0.0, 1.0]), _unit([0.0, 1.0], [0.0, -1.0]), temperature=0.5)
    assert float(loss) == pytest.approx(math.log(3))
    logits = info_nce_logits(q, q, _unit([0.0, 1.0]), temperature=0.5)
    assert logits[0].tolist() == pytest.approx([2.0, 0.0])


def test_info_nce_normalises_its_inputs_and_masks_negatives() -> None:
    q = torch.tensor([[3.0, 0.0]])
    negatives = torch.tensor([[5.0, 0.0], [0.0, 2.0]])
    masked = info_nce_loss(q, q, negatives, 1.0, negative_mask=torch.tensor([[True, False]]))
    assert float(masked) == pytest.approx(math.log(1 + math.exp(-1)))  # only the orthogonal one left
    assert float(info_nce_loss(q, q, negatives, 1.0)) == pytest.approx(math.log(2 + math.exp(-1)))


def test_info_nce_bad_inputs() -> None:
    q = torch.ones(2, 3)
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(q, q, q, temperature=0.0)
    with pytest.raises(ValueError, match="dimension"):
        info_nce_loss(q, q, torch.ones(4, 2))
    with pytest.raises(ValueError):
        info_nce_loss(q, torch.ones(3, 3), q)
    with pytest.raises(ValueError, match="negative_mask"):
        info_nce_loss(q, q, q, negative_mask=torch.zeros(2, 5, dtype=torch.bool))


def test_info_nce_gradient_pulls_query_to_its_positive() -> None:
    q = torch.tensor([[1.0, 0.2]], requires_grad=True)
    info_nce_loss(q, torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]]), 0.1).backward()
    assert q.grad is not None and q.grad[0, 1] < 0 < q.grad[0, 0]  # descent moves q toward +y


def test_triplet_margin_known_answers() -> None:
    a = torch.zeros(2, 2)
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    n = torch.tensor([[0.0, 3.0], [1.0, 0.0]])
    # sample 0: 1 - 3 + 1 = -1 -> 0; sample 1: 2 - 1 + 1 = 2
    assert float(triplet_margin_loss(a, p, n, margin=1.0)) == pytest.approx(1.0)
    assert float(triplet_margin_loss(a, p, n, margin=0.0)) == pytest.approx(0.5)
    reference = torch.nn.functional.triplet_margin_loss(a, p, n, margin=1.0, eps=0.0)
    assert float(triplet_margin_loss(a, p, n, margin=1.0)) == pytest.approx(float(reference))
    with pytest.raises(ValueError, match="margin"):
        triplet_margin_loss(a, p, n, margin=-1.0)
    with pytest.raises(ValueError):
        triplet_margin_loss(a, p, n[:1])


def test_reconstruction_loss() -> None:
    assert float(reconstruction_loss(torch.ones(2, 3), torch.zeros(2, 3))) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes"):
        reconstruction_loss(torch.ones(2, 3), torch.ones(3, 2))


def test_queue_enqueue_replaces_the_oldest_keys_in_order() -> None:
    queue = torch.arange(5, dtype=torch.float32)[:, None]  # rows 0..4, oldest at ptr 0
    first, ptr = enqueue(queue, 0, torch.tensor([[10.0], [11.0], [12.0]]))
    assert first.flatten().tolist() == [10, 11, 12, 3, 4] and ptr == 3
    second, ptr = enqueue(first, ptr, torch.tensor([[13.0], [14.0], [15.0]]))
    assert second.flatten().tolist() == [15, 11, 12, 13, 14] and ptr == 1  # wrapped: 10 dequeued
    assert queue.flatten().tolist() == [0, 1, 2, 3, 4]  # input untouched
    full, ptr = enqueue(second, ptr, torch.arange(5, dtype=torch.float32)[:, None])
    assert full.flatten().tolist() == [4, 0, 1, 2, 3] and ptr == 1


def test_queue_and_bank_bad_inputs() -> None:
    queue = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="keys"):
        enqueue(queue, 0, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="ptr"):
        enqueue(queue, 3, torch.zeros(1, 2))
    with pytest.raises(ValueError, match="indices"):
        write_bank(queue, torch.tensor([3]), torch.zeros(1, 2))


def test_write_bank_writes_rows_by_index() -> None:
    bank = torch.zeros(4, 2)
    out = write_bank(bank, torch.tensor([2, 0]), torch.tensor([[1.0, 1.0], [2.0, 2.0]]))
    assert out.tolist() == [[2, 2], [0, 0], [1, 1], [0, 0]]
    assert bank.abs().sum() == 0


def _line_pairs(k: int, spacing: float) -> tuple[Any, Any, Any]:
    """K key points on a line (world), matched exactly, with one-hot (orthogonal) features."""
    world = torch.zeros(1, k, 3)
    world[0, :, 0] = torch.arange(k) * spacing
    return torch.eye(k)[None], world, torch.ones(1, k, dtype=torch.bool)


def test_point_info_nce_identical_features_give_the_floor() -> None:
    feats, world, valid = _line_pairs(6, 0.01)
    loss, acc = point_info_nce(feats, feats, world, world, valid, temperature=0.1)
    # Positive cosine 1, five orthogonal negatives at cosine 0.
    assert float(loss) == pytest.approx(math.log(1 + 5 * math.exp(-1 / 0.1)), rel=1e-3)
    assert float(acc) == 1.0
    swapped, _ = point_info_nce(feats, feats.flip(1), world, world, valid, temperature=0.1)
    assert float(swapped) > float(loss)


def test_false_negative_elimination_drops_exactly_the_near_negatives() -> None:
    feats, world, valid = _line_pairs(6, 0.01)
    logits = point_info_nce_logits(feats, feats, world, world, valid, 0.1, fne_radius=0.015)
    dropped = torch.isinf(logits[0])
    index = torch.arange(6)
    near = (index[:, None] - index[None]).abs() == 1  # neighbours 1 cm apart, within 1.5 cm
    assert torch.equal(dropped, near)  # the positive (diagonal) is kept although at distance 0
    loss, _ = point_info_nce(feats, feats, world, world, valid, 0.1, fne_radius=0.015)
    per_row = [math.log(1 + (5 - int(near[i].sum())) * math.exp(-1 / 0.1)) for i in range(6)]
    assert float(loss) == pytest.approx(sum(per_row) / 6, rel=1e-3)
    none = point_info_nce_logits(feats, feats, world, world, valid, 0.1, fne_radius=None)
    assert not torch.isinf(none).any()


def test_point_info_nce_ignores_padding_rows_and_columns() -> None:
    feats, world, valid = _line_pairs(4, 0.1)
    valid[0, 3] = False
    logits = point_info_nce_logits(feats, feats, world, world, valid, 0.1)
    assert torch.isinf(logits[0, :3, 3]).all() and not torch.isinf(logits[0, 3, 3])
    loss, acc = point_info_nce(feats, feats, world, world, valid, 0.1)
    assert float(loss) == pytest.approx(math.log(1 + 2 * math.exp(-1 / 0.1)), rel=1e-3)
    empty, _ = point_info_nce(feats, feats, world, world, torch.zeros_like(valid), 0.1)
    assert float(empty) == 0.0


def test_point_info_nce_bad_inputs() -> None:
    feats, world, valid = _line_pairs(3, 0.1)
    with pytest.raises(ValueError, match="temperature"):
        point_info_nce(feats, feats, world, world, valid, 0.0)
    with pytest.raises(ValueError, match=r"\(B, K, D\)"):
        point_info_nce(feats, feats[:, :2], world, world, valid)
    with pytest.raises(ValueError, match="world_a"):
        point_info_nce(feats, feats, world[:, :2], world, valid)
    with pytest.raises(ValueError, match="fne_radius"):
        point_info_nce(feats, feats, world, world, valid, fne_radius=-1.0)
