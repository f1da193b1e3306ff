"""Voxel keys, first point and rank per voxel: known answers, dense and sorting paths agree."""

from __future__ import annotations

import numpy as np
import pytest

from grasplab.core import voxels
from grasplab.core.voxels import first_point_per_voxel, voxel_keys, voxel_ranks


def test_known_answer() -> None:
    pts = [[0.0, 0, 0], [0.012, 0, 0], [0.001, 0.001, 0], [0.0, 0, 0.011]]
    keys, cells = voxel_keys(pts, 0.01)
    assert cells == 2 * 1 * 2  # x cells 0-1, y 0, z 0-1
    assert keys.tolist() == [0, 2, 0, 1]
    assert first_point_per_voxel(keys, cells).tolist() == [0, 1, 3]
    assert voxel_ranks(keys, cells).tolist() == [0, 2, 0, 1]


def test_negative_coordinates_shift_to_zero() -> None:
    keys, cells = voxel_keys([[-0.5, -0.5, -0.5], [-0.49, -0.5, -0.5]], 0.1)
    assert keys.min() == 0 and cells == 1 * 1 * 1 and keys.tolist() == [0, 0]


@pytest.mark.parametrize("dense", [True, False])
def test_dense_and_sorting_paths_agree_with_unique(rng: np.random.Generator, dense: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pts = rng.normal(size=(4000, 3)) * 0.05
    keys, cells = voxel_keys(pts, 0.01)
    monkeypatch.setattr(voxels, "_dense", lambda k, c: dense)
    _, want_first, want_ranks = np.unique(keys, return_index=True, return_inverse=True)
    assert np.array_equal(first_point_per_voxel(keys, cells), np.sort(want_first))
    assert np.array_equal(voxel_ranks(keys, cells), want_ranks.reshape(-1))


def test_a_sparse_grid_takes_the_sorting_path(rng: np.random.Generator) -> None:
    pts = rng.normal(size=(1000, 3)) * 100.0  # about 10**12 cells of 1 cm: no dense array
    keys, cells = voxel_keys(pts, 0.01)
    assert cells > 10**9 and not voxels._dense(keys, cells)
    assert np.array_equal(first_point_per_voxel(keys, cells), np.arange(1000))
    assert np.array_equal(voxel_ranks(keys, cells), np.argsort(np.argsort(keys)))


def test_first_point_is_the_first_in_input_order(rng: np.random.Generator) -> None:
    pts = rng.random((500, 3)) * 0.03
    keys, cells = voxel_keys(pts, 0.01)
    first = first_point_per_voxel(keys, cells)
    for index in first:
        assert np.flatnonzero(keys == keys[index])[0] == index
    assert len(first) == len(np.unique(keys))


def test_empty_and_bad_input() -> None:
    keys, cells = voxel_keys(np.zeros((0, 3)), 0.01)
    assert keys.shape == (0,) and cells == 0
    assert first_point_per_voxel(keys, cells).shape == (0,) and voxel_ranks(keys, cells).shape == (0,)
    for size in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="voxel_size"):
            voxel_keys([[0.0, 0, 0]], size)
    with pytest.raises(ValueError, match="shape"):
        voxel_keys([[0.0, 0]], 0.01)
    with pytest.raises(ValueError, match="non-finite"):
        voxel_keys([[0.0, 0, 0], [np.inf, 0, 0]], 0.01)
    with pytest.raises(ValueError, match="convert"):
        voxel_keys([["a", 0, 0]], 0.01)


def test_a_grid_beyond_int64_keys_numbers_its_occupied_cells() -> None:
    pts = [[1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1e-10], [1.0, -1.0, 1.0], [0.0, 1.0, 0.0]]
    keys, cells = voxel_keys(pts, 1e-9)  # about 10**27 cells
    assert cells == 3 and keys.tolist() == [2, 0, 0, 2, 1]  # the row-major order of the cells
    assert first_point_per_voxel(keys, cells).tolist() == [0, 1, 4]
