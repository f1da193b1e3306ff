"""The packed SDF stack of the reference backend and the batched, early-stopping contact search."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.evaluation import reference_fc, reference_grid
from grasplab.evaluation.reference_fc import close_fingers, min_friction, reference_scores, sdf_at
from grasplab.evaluation.reference_grid import FieldStack, field_stack
from grasplab.objects.sdf import SignedDistanceField, compute_sdf

MU = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2])


@pytest.fixture(scope="module")
def sphere() -> SignedDistanceField:
    return compute_sdf(trimesh.creation.icosphere(3, 0.02), dim=40, rng=0)


@pytest.fixture(scope="module")
def capsule() -> SignedDistanceField:
    return compute_sdf(trimesh.creation.capsule(0.03, 0.012), dim=50, rng=0)


def _linear_field(shape: tuple[int, int, int], origin: float, res: float) -> SignedDistanceField:
    i, j, k = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return SignedDistanceField(0.001 * (i + 2 * j - k) + 0.01, np.full(3, origin), res)


def test_stacked_values_equal_each_field_alone():
    a, b = _linear_field((4, 5, 6), 0.0, 0.001), _linear_field((7, 3, 2), -0.01, 0.002)
    stack = FieldStack.pack([a, b])
    assert stack.values.size == 5 * 6 * 7 + 8 * 4 * 3  # one layer of zeros per upper side
    rng = np.random.default_rng(0)
    coords = rng.uniform(-2.0, 8.0, (2, 50, 3))  # inside, past the upper edge and outside
    together = stack.values_at(np.array([[0], [1]]), coords)
    assert np.array_equal(together[0], sdf_at(a, coords[0]))
    assert np.array_equal(together[1], sdf_at(b, coords[1]))
    # known answers: trilinear inside, the last node in [dims - 1, dims), 0-weighted upper corners
    inside = np.array([[1.25, 2.5, 3.75]])
    assert sdf_at(a, inside)[0] == pytest.approx(0.001 * (1.25 + 5.0 - 3.75) + 0.01, abs=1e-15)
    assert sdf_at(b, np.array([[6.5, 0.0, 0.0]]))[0] == pytest.approx(b.values[6, 0, 0])


def test_grid_and_model_frames_round_trip():
    stack = FieldStack.pack([_linear_field((4, 4, 4), 0.0, 0.001),
                             _linear_field((4, 4, 4), -0.02, 0.004)])
    coords = np.array([[1.0, 2.0, 3.0], [0.5, 1.5, 2.5]])
    obj = np.array([0, 1])
    model = stack.to_model(obj, coords)
    assert np.allclose(model, [[0.001, 0.002, 0.003], [-0.018, -0.014, -0.01]])
    assert np.allclose(stack.to_grid(obj, model), coords, atol=1e-4)


def test_pack_refuses_no_fields():
    with pytest.raises(ValueError, match="at least one"):
        FieldStack.pack([])


def test_field_stack_is_reused_for_the_same_fields(sphere, capsule):
    first = field_stack([sphere, capsule])
    assert field_stack([sphere, capsule]) is first
    other = field_stack([capsule, sphere])
    assert other is not first and other.dims[0].tolist() == list(capsule.dims)


def test_shared_store_gives_the_packed_values_and_starts_afresh_when_full(monkeypatch):
    fields = [_linear_field((4 + n, 5, 3 + n % 2), 0.001 * n, 0.001) for n in range(6)]
    monkeypatch.setattr(reference_grid, "_ARENA", reference_grid._Arena())
    monkeypatch.setattr(reference_grid, "_STACKS", type(reference_grid._STACKS)())
    monkeypatch.setattr(reference_grid, "ARENA_MAX_VALUES", 600)  # about 3 of these grids
    coords = np.random.default_rng(1).uniform(-1.0, 7.0, (2, 40, 3))
    obj = np.array([[0], [1]])
    stacks = []
    for pair in ((0, 1), (2, 3), (1, 2), (4, 5), (0, 5)):
        chosen = [fields[i] for i in pair]
        stack = field_stack(chosen)
        stacks.append((stack, chosen))
        assert np.array_equal(stack.values_at(obj, coords), FieldStack.pack(chosen).values_at(obj, coords))
    assert reference_grid._ARENA.used <= 600
    first, chosen = stacks[0]  # made before the store started afresh: still its own values
    assert np.array_equal(first.values_at(obj, coords), FieldStack.pack(chosen).values_at(obj, coords))
    with pytest.raises(ValueError, match="at least one"):
        field_stack([])


def _random_lines(field: SignedDistanceField, m: int, seed: int):
    rng = np.random.default_rng(seed)
    extent = np.array(field.dims) * field.resolution
    centers = field.origin + extent * rng.uniform(0.25, 0.75, (m, 3))
    axes = rng.normal(size=(m, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return centers, axes, rng.uniform(0.01, 0.1, m)


def test_early_stop_gives_the_contacts_of_the_whole_line(sphere, capsule, monkeypatch):
    for field, seed in ((sphere, 1), (capsule, 2)):
        lines = _random_lines(field, 300, seed)
        monkeypatch.setattr(reference_fc, "FIRST_BLOCK", 100000)  # every sample in one block
        whole = close_fingers(field, *lines)
        monkeypatch.setattr(reference_fc, "FIRST_BLOCK", 2)  # blocks of 2, 4, 8, ...
        blocks = close_fingers(field, *lines)
        assert whole.found.sum() > 50
        assert np.array_equal(whole.found, blocks.found)
        assert np.array_equal(whole.points, blocks.points, equal_nan=True)
        assert np.array_equal(whole.normals, blocks.normals, equal_nan=True)


def test_one_call_for_all_objects_scores_as_per_object(sphere, capsule):
    # two objects in the camera, grasps of both interleaved, scored in one batched call
    poses = np.tile(np.eye(4), (2, 1, 1))
    poses[0, :3, 3] = [0.1, 0.0, 0.5]
    poses[1, :3, 3] = [-0.1, 0.02, 0.6]
    rows, owner, rng = [], [], np.random.default_rng(3)
    for n in range(40):
        k = n % 2
        rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        rot[:, 2] = np.cross(rot[:, 0], rot[:, 1])
        row = np.zeros(17)
        row[1], row[3] = rng.uniform(0.03, 0.1), 0.01
        row[4:13] = rot.ravel()
        row[13:16] = poses[k, :3, 3] + rng.normal(0, 0.004, 3) - 0.01 * rot[:, 0]
        rows.append(row)
        owner.append(k)
    grasps, owner_arr = np.array(rows), np.array(owner)
    together = reference_scores(grasps, owner_arr, poses, [sphere, capsule], MU)
    for k, field in enumerate((sphere, capsule)):
        mine = owner_arr == k
        alone = reference_scores(grasps[mine], np.zeros(mine.sum(), dtype=np.int64),
                                 poses[k : k + 1], [field], MU)
        assert np.array_equal(together[mine], alone)
        # and as close_fingers + min_friction, which fit the normals of every contact found
        centers, axes = reference_fc.grasp_lines_in_model(grasps[mine], poses[[k] * mine.sum()])
        contacts = close_fingers(field, centers, axes, grasps[mine, 1])
        assert np.array_equal(together[mine], min_friction(contacts, MU))
    assert (together > 0).sum() >= 10
    centers, axes, widths = _random_lines(sphere, 5, 4)
    assert min_friction(close_fingers(sphere, centers[:0], axes[:0], widths[:0]), MU).size == 0
