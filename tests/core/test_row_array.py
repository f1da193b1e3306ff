"""The shared row-array base of GraspGroup, RectGraspGroup and PixelGrasps."""

from pathlib import Path

import numpy as np
import pytest

from grasplab.core.grasp_group import GraspGroup
from grasplab.core.planar import PixelGrasps, RectGraspGroup
from grasplab.core.row_array import Column, RowArray


def grasp_rows(n: int) -> np.ndarray:
    rows = np.zeros((n, 17))
    rows[:, 0] = np.linspace(0.1, 0.9, n)  # score
    rows[:, 1] = 0.05  # width
    rows[:, 2] = 0.02  # height
    rows[:, 3] = 0.03  # depth
    rows[:, 4:13] = np.eye(3).ravel()
    rows[:, 13:16] = np.arange(3 * n).reshape(n, 3) * 0.01
    rows[:, 16] = np.arange(n)
    return rows


def rect_rows(n: int) -> np.ndarray:
    rows = np.tile([100.0, 120.0, 110.0, 120.0, 8.0, 0.5, 2.0], (n, 1))
    rows[:, 0] += np.arange(n)
    return rows


def pixel_rows(n: int) -> np.ndarray:
    rows = np.tile([30.0, 40.0, 0.02, 0.3, 0.05, 0.7], (n, 1))
    rows[:, 3] += np.arange(n) * 0.1
    return rows


CASES = [(GraspGroup, grasp_rows), (RectGraspGroup, rect_rows), (PixelGrasps, pixel_rows)]
IDS = ["grasp", "rect", "pixel"]


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_npy_round_trip_float32_and_single_row(tmp_path: Path, cls: type[RowArray], make) -> None:
    rows = make(4)
    group = cls(rows)
    group.save_npy(tmp_path / "g.npy")
    stored = np.load(tmp_path / "g.npy")
    assert stored.dtype == np.float64 and stored.shape == (4, cls.NUM_COLUMNS)
    np.testing.assert_array_equal(stored, rows)
    np.testing.assert_array_equal(cls.from_npy(tmp_path / "g.npy").array, rows)
    np.save(tmp_path / "f32.npy", rows.astype(np.float32))
    np.testing.assert_allclose(cls.from_npy(tmp_path / "f32.npy").array, rows, atol=1e-5)
    np.save(tmp_path / "one.npy", rows[1])
    np.testing.assert_array_equal(cls.from_npy(tmp_path / "one.npy").array, rows[1:2])
    np.save(tmp_path / "none.npy", np.zeros((0, cls.NUM_COLUMNS)))
    assert len(cls.from_npy(tmp_path / "none.npy")) == 0


def test_grasp_group_file_is_the_graspnetapi_layout(tmp_path: Path) -> None:
    # graspnetAPI: [score, width, height, depth, R row-major (9), t (3), object_id]
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    g = GraspGroup.from_components([[0.1, 0.2, 0.3]], rot[None], widths=0.04, depths=0.01,
                                   scores=0.8, heights=0.015, object_ids=7)
    g.save_npy(tmp_path / "g.npy")
    row = np.load(tmp_path / "g.npy")[0]
    np.testing.assert_array_equal(row[:4], [0.8, 0.04, 0.015, 0.01])
    np.testing.assert_array_equal(row[4:13], rot.ravel())
    np.testing.assert_array_equal(row[13:16], [0.1, 0.2, 0.3])
    assert row[16] == 7.0


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_from_npy_bad_files_raise_one_clear_value_error(
    tmp_path: Path, cls: type[RowArray], make
) -> None:
    np.save(tmp_path / "full.npy", make(5))
    data = (tmp_path / "full.npy").read_bytes()
    (tmp_path / "empty.npy").write_bytes(b"")  # np.load raises EOFError here
    (tmp_path / "truncated.npy").write_bytes(data[:-40])
    (tmp_path / "header.npy").write_bytes(data[:30])
    for name in ("empty.npy", "truncated.npy", "header.npy"):
        with pytest.raises(ValueError, match=name):
            cls.from_npy(tmp_path / name)
    np.save(tmp_path / "wide.npy", np.zeros((2, cls.NUM_COLUMNS + 1)))
    with pytest.raises(ValueError, match=rf"\(N, {cls.NUM_COLUMNS}\)"):
        cls.from_npy(tmp_path / "wide.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, cls.NUM_COLUMNS)))
    with pytest.raises(ValueError, match="shape"):
        cls.from_npy(tmp_path / "cube.npy")
    np.save(tmp_path / "complex.npy", make(2).astype(np.complex128))
    with pytest.raises(ValueError, match="real"):
        cls.from_npy(tmp_path / "complex.npy")
    np.save(tmp_path / "text.npy", np.array([["a"] * cls.NUM_COLUMNS]))
    with pytest.raises(ValueError, match="numeric"):
        cls.from_npy(tmp_path / "text.npy")


def test_grasp_group_empty_file_is_a_value_error_not_eof(tmp_path: Path) -> None:
    # The docstring promised ValueError; np.load's EOFError used to escape.
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable"):
        GraspGroup.from_npy(tmp_path / "empty.npy", validate=False)


def test_from_npy_still_checks_rows(tmp_path: Path) -> None:
    bad = pixel_rows(3)
    bad[1, 4] = -0.01
    np.save(tmp_path / "neg.npy", bad)
    with pytest.raises(ValueError, match="negative width"):
        PixelGrasps.from_npy(tmp_path / "neg.npy")
    rows = rect_rows(3)
    rows[2, 0] = np.nan
    np.save(tmp_path / "nan.npy", rows)
    with pytest.raises(ValueError, match=r"rows \[2\]"):
        RectGraspGroup.from_npy(tmp_path / "nan.npy")


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_indexing_iteration_and_copies(cls: type[RowArray], make) -> None:
    rows = make(6)
    g = cls(rows)
    assert type(g[2]) is cls and type(g[1:3]) is cls
    np.testing.assert_array_equal(g[2].array, rows[2:3])
    np.testing.assert_array_equal(g[-1].array, rows[5:6])
    np.testing.assert_array_equal(g[1:4].array, rows[1:4])
    mask = np.array([True, False, True, False, False, True])
    np.testing.assert_array_equal(g[mask].array, rows[mask])
    np.testing.assert_array_equal(g[[5, 0, 0]].array, rows[[5, 0, 0]])
    assert len(g[[]]) == 0 and len(g[np.array([], dtype=np.int64)]) == 0
    np.testing.assert_array_equal(np.vstack([one.array for one in g]), rows)
    with pytest.raises(IndexError):
        g[6]
    with pytest.raises(ValueError, match="mask"):
        g[np.array([True, False])]
    with pytest.raises(ValueError, match="1-D"):
        g[np.zeros((2, 2), dtype=np.int64)]
    with pytest.raises(ValueError, match="ints"):
        g[np.array([0.5])]
    copied = g.copy()
    assert type(copied) is cls and copied is not g
    np.testing.assert_array_equal(copied.array, rows)
    assert repr(g) == f"{cls.__name__}(num_grasps=6)"


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_rows_are_immutable_and_inputs_untouched(cls: type[RowArray], make) -> None:
    rows = make(3)
    before = rows.copy()
    g = cls(rows)
    rows[0, 0] = 99.0
    np.testing.assert_array_equal(g.array[0], before[0])
    out = g.array
    out[:] = 0.0
    np.testing.assert_array_equal(g.array, before)
    with pytest.raises(ValueError):
        np.asarray(g)[0, 0] = 1.0
    assert np.asarray(g, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="copy"):
        np.asarray(g, dtype=np.float32, copy=False)


@pytest.mark.parametrize(("cls", "make"), CASES, ids=IDS)
def test_concat_and_empty(cls: type[RowArray], make) -> None:
    rows = make(5)
    joined = cls.concat([cls(rows[:2]), cls(rows[2:])])
    np.testing.assert_array_equal(joined.array, rows)
    empty = cls.concat([])
    assert type(empty) is cls and empty.array.shape == (0, cls.NUM_COLUMNS)
    assert cls.empty().array.shape == (0, cls.NUM_COLUMNS) and len(cls()) == 0
    other = GraspGroup if cls is not GraspGroup else RectGraspGroup
    with pytest.raises(TypeError, match=cls.__name__):
        cls.concat([cls(rows), other.empty()])


def test_grasp_group_concatenate_keeps_working() -> None:
    rows = grasp_rows(4)
    joined = GraspGroup.concatenate([GraspGroup(rows[:1]), GraspGroup(rows[1:])])
    np.testing.assert_array_equal(joined.array, rows)
    assert len(GraspGroup.concatenate([])) == 0


def test_columns_are_read_only_views_declared_once() -> None:
    g = GraspGroup(grasp_rows(3))
    assert isinstance(GraspGroup.__dict__["scores"], Column)
    assert "confidences" in (GraspGroup.scores.__doc__ or "")
    assert g.rotations.shape == (3, 3, 3) and g.translations.shape == (3, 3)
    with pytest.raises(ValueError):
        g.scores[0] = 1.0
    assert g.object_ids.dtype == np.int64 and g.object_ids.tolist() == [0, 1, 2]
    r = RectGraspGroup(rect_rows(2))
    assert r.center_points.shape == (2, 2) and r.object_ids.dtype == np.int64
    p = PixelGrasps(pixel_rows(2))
    np.testing.assert_array_equal(p.thetas, [0.3, 0.4])
    with pytest.raises(ValueError):
        p.pixels[0, 0] = 1.0
