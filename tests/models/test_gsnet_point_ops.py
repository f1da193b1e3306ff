"""Point operations of the GSNet family: FPS, ball and cylinder queries, rotations (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab.core.rotations import approach_views, rotation_from_view  # noqa: E402
from grasplab.models.point_ops import (  # noqa: E402
    ball_query,
    cylinder_query,
    farthest_point_sample,
    gather_points,
    rotation_from_view_torch,
)


def _naive_fps(points: np.ndarray, num: int, start: int = 0) -> list[int]:
    picked = [start]
    dist = np.full(len(points), np.inf)
    for _ in range(num - 1):
        dist = np.minimum(dist, ((points - points[picked[-1]]) ** 2).sum(1))
        picked.append(int(np.argmax(dist)))
    return picked


def test_fps_known_answer_and_matches_a_naive_loop(rng: np.random.Generator) -> None:
    line = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0.1, 0, 0], [0, 2, 0]]])
    assert farthest_point_sample(line, 3).tolist() == [[0, 3, 1]]
    pts = rng.normal(size=(2, 300, 3))
    got = farthest_point_sample(torch.as_tensor(pts), 40)
    for b in range(2):
        assert got[b].tolist() == _naive_fps(pts[b], 40)


def test_fps_valid_mask_start_and_cycling() -> None:
    pts = torch.tensor([[[0.0, 0, 0], [5, 0, 0], [1, 0, 0], [2, 0, 0], [9, 9, 9]]])
    valid = torch.tensor([[False, False, True, True, False]])
    idx = farthest_point_sample(pts, 5, valid, start=torch.tensor([3]))
    assert idx.tolist() == [[3, 2, 3, 2, 3]]  # only the two valid points, cycled
    none_valid = farthest_point_sample(pts, 2, torch.zeros(1, 5, dtype=torch.bool))
    assert none_valid.tolist() == [[0, 4]]  # falls back to all points


def test_fps_numpy_and_torch_loops_pick_the_same(rng: np.random.Generator) -> None:
    """The CPU path (numpy steps) and the device path (torch steps) give identical picks."""
    from grasplab.models.point_ops import _fps_loop_numpy, _fps_loop_torch

    pts = rng.normal(size=(3, 500, 3)).astype(np.float32)
    cand = rng.random((3, 500)) < 0.4
    cand[2] = True
    first = np.array([int(np.flatnonzero(c)[0]) for c in cand])
    for m in (1, 64, 700):  # 700 > N: the loop stops at N picks
        got = _fps_loop_numpy(pts, cand, first, m)
        want = _fps_loop_torch(torch.as_tensor(pts), torch.as_tensor(cand), torch.as_tensor(first), m)
        n = min(m, 500)
        assert np.array_equal(got[:, :n], want.numpy()[:, :n])
        assert all(set(got[b, : min(n, cand[b].sum())]) <= set(np.flatnonzero(cand[b])) for b in range(3))


def test_fps_bad_input() -> None:
    with pytest.raises(ValueError, match="B, N, 3"):
        farthest_point_sample(torch.zeros(4, 3), 2)
    with pytest.raises(ValueError, match="num_samples"):
        farthest_point_sample(torch.zeros(1, 4, 3), 0)


def test_ball_query_first_neighbours_in_index_order() -> None:
    pts = torch.tensor([[[0.0, 0, 0], [0.5, 0, 0], [3, 0, 0], [0.9, 0, 0], [0.2, 0, 0]]])
    centers = torch.tensor([[[0.0, 0, 0], [10, 0, 0]]])
    idx, found = ball_query(pts, centers, 1.0, 3)
    assert idx[0, 0].tolist() == [0, 1, 3]
    assert found[0, 0].all() and not found[0, 1].any()
    idx, found = ball_query(pts, centers[:, :1], 0.3, 3)
    assert idx[0, 0].tolist() == [0, 4, 0] and found[0, 0].tolist() == [True, True, False]
    with pytest.raises(ValueError, match="radius"):
        ball_query(pts, centers, 0.0, 3)


def test_rotation_from_view_torch_equals_the_reference_construction(rng: np.random.Generator) -> None:
    views = np.concatenate([approach_views(50), [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]])
    angles = rng.uniform(0, np.pi, len(views))
    expected = rotation_from_view(-views, angles)
    got = rotation_from_view_torch(-torch.as_tensor(views), torch.as_tensor(angles)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_cylinder_query_known_answer() -> None:
    # Approach along +z (camera looking down): the cylinder axis is z, from -2 cm to +4 cm.
    pts = torch.tensor(
        [
            [
                [0.0, 0, 0.03],
                [0.04, 0, 0.0],
                [0.0, 0, -0.03],
                [0.06, 0, 0.0],
                [0.0, 0.01, 0.039],
                [0.0, 0, 0.05],
            ]
        ]
    )
    seed = torch.zeros(1, 1, 3)
    rot = rotation_from_view_torch(torch.tensor([[[0.0, 0.0, 1.0]]]), torch.zeros(1, 1))
    idx, local, found = cylinder_query(pts, seed, rot, 0.05, -0.02, 0.04, 4)
    assert idx[0, 0].tolist() == [0, 1, 4, 0]
    assert found[0, 0].tolist() == [True, True, True, False]
    # gripper-frame x is the approach (camera z); divided by the radius
    np.testing.assert_allclose(local[0, 0, 0].numpy(), [0.6, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(local[0, 0, 3].numpy(), [0.0, 0.0, 0.0])


def test_cylinder_query_chunks_agree(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    import grasplab.models.point_ops as ops

    pts = torch.as_tensor(rng.normal(scale=0.05, size=(2, 200, 3)), dtype=torch.float32)
    seeds = pts[:, :30]
    rot = rotation_from_view_torch(
        torch.as_tensor(rng.normal(size=(2, 30, 3)), dtype=torch.float32), torch.zeros(2, 30)
    )
    whole = cylinder_query(pts, seeds, rot, 0.05, -0.02, 0.04, 8)
    monkeypatch.setattr(ops, "_CHUNK_ELEMENTS", 500)
    parts = cylinder_query(pts, seeds, rot, 0.05, -0.02, 0.04, 8)
    assert torch.equal(whole[0], parts[0]) and torch.equal(whole[2], parts[2])
    # one matrix product per chunk: the sums' order may differ with its size
    torch.testing.assert_close(whole[1], parts[1], rtol=0, atol=1e-6)


def test_cylinder_query_matches_a_per_pair_loop(rng: np.random.Generator) -> None:
    """The batched product groups the same points as the definition, point by point."""
    pts = torch.as_tensor(rng.normal(scale=0.04, size=(2, 300, 3)), dtype=torch.float32)
    seeds = pts[:, :20]
    rot = rotation_from_view_torch(
        torch.as_tensor(rng.normal(size=(2, 20, 3)), dtype=torch.float32), torch.zeros(2, 20)
    )
    index, local, found = cylinder_query(pts, seeds, rot, 0.03, -0.02, 0.04, 6)
    for b in range(2):
        for m in range(20):
            q = (pts[b] - seeds[b, m]).double() @ rot[b, m].double()
            near = (q[:, 0] >= -0.02) & (q[:, 0] <= 0.04) & (q[:, 1] ** 2 + q[:, 2] ** 2 <= 0.03**2)
            want = torch.nonzero(near)[:, 0][:6]
            assert index[b, m, : len(want)].tolist() == want.tolist()
            assert int(found[b, m].sum()) == len(want)
            torch.testing.assert_close(local[b, m, : len(want)].double(), q[want] / 0.03, rtol=0, atol=1e-5)


def test_gather_points_shapes() -> None:
    values = torch.arange(12.0).reshape(1, 4, 3)
    out = gather_points(values, torch.tensor([[[3, 0], [1, 1]]]))
    assert out.shape == (1, 2, 2, 3) and out[0, 0, 0].tolist() == [9.0, 10.0, 11.0]
