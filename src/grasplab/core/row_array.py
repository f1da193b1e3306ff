"""An immutable batch of fixed-width float64 rows: the base of every grasp array.

:class:`RowArray` holds one read-only ``(N, C)`` float64 array and gives the row-array
plumbing shared by :class:`~grasplab.core.grasp_group.GraspGroup` (C = 17),
:class:`~grasplab.core.planar.RectGraspGroup` (C = 7) and
:class:`~grasplab.core.planar.PixelGrasps` (C = 6): length, indexing, iteration, the numpy
array protocol, ``.npy`` input and output, concatenation, and named column accessors
declared once with :class:`Column`. A subclass sets :attr:`RowArray.NUM_COLUMNS` and
:attr:`RowArray.ROW_NAME` and checks its rows in :meth:`RowArray._check`.

Nothing here knows units or frames; the subclasses document theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.validation import as_array, load_numeric_npy

RowArrayT = TypeVar("RowArrayT", bound="RowArray")


def readonly(x: np.ndarray) -> np.ndarray:
    """Return ``x`` with its writeable flag cleared (a view when possible)."""
    view = x.view()
    view.flags.writeable = False
    return view


def array_protocol(arr: np.ndarray, dtype: Any, copy: bool | None) -> np.ndarray:
    """``__array__`` for immutable wrappers: the (read-only) array unless a copy is needed."""
    converts = dtype is not None and np.dtype(dtype) != arr.dtype
    if copy is False and converts:
        raise ValueError(f"cannot convert {arr.dtype} to {np.dtype(dtype)} without a copy")
    if copy or converts:
        return np.array(arr, dtype=dtype)
    return arr


class Column:
    """A read-only column accessor of a :class:`RowArray` subclass, declared once.

    Args:
        index: the column (int, giving shape (N,)) or columns (slice, giving (N, k)).
        doc: the accessor's docstring (shape, units).
        shape: per-row shape to reshape the columns to, e.g. ``(3, 3)`` gives (N, 3, 3).
        as_int: return an int64 copy instead of a view; non-finite entries read as -1.

    Example:
        >>> class Pairs(RowArray):
        ...     NUM_COLUMNS, ROW_NAME = 2, "pair"
        ...     left = Column(0, "(N,) left values.")
        >>> Pairs([[1.0, 2.0], [3.0, 4.0]]).left.tolist()
        [1.0, 3.0]
    """

    def __init__(
        self, index: int | slice, doc: str, *, shape: tuple[int, ...] | None = None,
        as_int: bool = False,
    ) -> None:
        self.index = index
        self.shape = shape
        self.as_int = as_int
        self.__doc__ = doc

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Column: ...

    @overload
    def __get__(self, obj: RowArray, owner: type | None = None) -> np.ndarray: ...

    def __get__(self, obj: RowArray | None, owner: type | None = None) -> Column | np.ndarray:
        if obj is None:
            return self
        values = obj._array[:, self.index]
        if self.shape is not None:
            values = values.reshape(-1, *self.shape)
        if self.as_int:
            values = np.where(np.isfinite(values), values, -1.0).astype(np.int64)
        return readonly(values)


class RowArray:
    """An immutable batch of N rows of ``NUM_COLUMNS`` float64 values.

    Args:
        array: (N, C) or (C,) array-like, any real dtype, copied to float64; ``None`` gives
            an empty batch.

    Raises:
        ValueError: on a wrong shape, or rows the subclass's :meth:`_check` rejects.
    """

    __slots__ = ("_array",)

    NUM_COLUMNS: ClassVar[int] = 0
    """Columns of a row (C)."""

    ROW_NAME: ClassVar[str] = "row"
    """What a row is called in messages, e.g. ``"grasp"``."""

    _array: np.ndarray

    def __init__(self, array: ArrayLike | None = None) -> None:
        self._array = self._rows(array)
        self._check(self._array)

    @classmethod
    def _rows(cls, array: ArrayLike | None) -> np.ndarray:
        """Copy to a read-only float64 (N, C), accepting a single (C,) row; no value checks."""
        width = cls.NUM_COLUMNS
        if array is None:
            arr = np.zeros((0, width), dtype=np.float64)
        else:
            arr = np.array(array, dtype=np.float64, copy=True)
            if arr.ndim == 1 and arr.shape[0] == width:
                arr = arr.reshape(1, width)
            arr = as_array(arr, f"{cls.ROW_NAME} array", (None, width), finite=False)
        arr.flags.writeable = False
        return arr

    @classmethod
    def _check(cls, arr: np.ndarray) -> None:
        """Raise ValueError on invalid rows of a float64 (N, C) array; no checks by default."""

    @classmethod
    def _trusted(cls: type[RowArrayT], array: np.ndarray) -> RowArrayT:
        """Wrap an (N, C) array already known to be well formed (no copy, no checks)."""
        obj = cls.__new__(cls)
        arr = np.ascontiguousarray(array, dtype=np.float64)
        arr.flags.writeable = False
        obj._array = arr
        return obj

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls: type[RowArrayT]) -> RowArrayT:
        """Return a batch with no rows, shape (0, C)."""
        return cls._trusted(np.zeros((0, cls.NUM_COLUMNS), dtype=np.float64))

    @classmethod
    def concat(cls: type[RowArrayT], parts: Iterable[RowArrayT]) -> RowArrayT:
        """Stack several batches of this class row-wise, in order; none gives an empty batch.

        Raises:
            TypeError: if a part is not an instance of this class.
        """
        arrays = []
        for part in parts:
            if not isinstance(part, cls):
                raise TypeError(f"{cls.__name__}.concat: expected {cls.__name__} parts, "
                                f"got {type(part).__name__}")
            arrays.append(part._array)
        if not arrays:
            return cls.empty()
        return cls._trusted(np.concatenate(arrays, axis=0))

    @classmethod
    def _load_npy(cls, path: str | Path) -> np.ndarray:
        """Read an (N, C) or (C,) real array from ``.npy``, with one ValueError for bad files."""
        try:
            data = load_numeric_npy(path, cls.ROW_NAME)
        except (EOFError, ValueError) as err:  # empty or truncated files, .npz, non-numeric
            raise ValueError(f"{cls.ROW_NAME} file {path}: not a readable numeric .npy "
                             f"array ({err})") from err
        if np.iscomplexobj(data):
            raise ValueError(f"{cls.ROW_NAME} file {path}: expected real values, "
                             f"got dtype {data.dtype}")
        if data.shape != (cls.NUM_COLUMNS,) and (data.ndim != 2
                                                 or data.shape[1] != cls.NUM_COLUMNS):
            raise ValueError(f"{cls.ROW_NAME} file {path}: expected shape "
                             f"(N, {cls.NUM_COLUMNS}) or ({cls.NUM_COLUMNS},), got {data.shape}")
        return data

    @classmethod
    def from_npy(cls: type[RowArrayT], path: str | Path) -> RowArrayT:
        """Load rows written by ``np.save``: (N, C) or (C,), any real dtype.

        Raises:
            ValueError: an empty, truncated or non-``.npy`` file, a non-numeric or complex
                array, a wrong shape, or rows the class rejects.
            OSError: the file cannot be opened.
        """
        return cls(cls._load_npy(path))

    def save_npy(self, path: str | Path) -> None:
        """Write the (N, C) float64 array with ``np.save``."""
        np.save(Path(path), np.array(self._array, dtype=np.float64))

    def copy(self: RowArrayT) -> RowArrayT:
        """Return an equal batch that owns a copy of the rows."""
        return self._trusted(self._array.copy())

    # ------------------------------------------------------------------ array protocol
    def __len__(self) -> int:
        return int(self._array.shape[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_grasps={len(self)})"

    def __iter__(self: RowArrayT) -> Iterator[RowArrayT]:
        """Iterate over single-row batches, in row order."""
        for i in range(len(self)):
            yield self._trusted(self._array[i : i + 1].copy())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return array_protocol(self._array, dtype, copy)

    def __getitem__(self: RowArrayT, index: int | slice | np.ndarray | list[int]) -> RowArrayT:
        """Select rows by int (a one-row batch), slice, bool mask (N,) or 1-D int array.

        Raises:
            IndexError: an int out of range.
            ValueError: a mask of the wrong length, or any other kind of index.
        """
        num = len(self)
        if isinstance(index, (int, np.integer)):
            if not -num <= int(index) < num:
                raise IndexError(f"{self.ROW_NAME} index {int(index)} out of range "
                                 f"for {num} rows")
            return self._trusted(self._array[int(index)][None, :].copy())
        if isinstance(index, slice):
            return self._trusted(self._array[index].copy())
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (num,):
                raise ValueError(f"boolean mask must have shape ({num},), got {idx.shape}")
        elif idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"{self.ROW_NAME} index must be int, slice, bool mask or ints, "
                             f"got {idx.dtype}")
        elif idx.ndim != 1:
            raise ValueError(f"integer index array must be 1-D, got shape {idx.shape}")
        return self._trusted(self._array[idx.astype(np.int64) if idx.size == 0 else idx])

    @property
    def array(self) -> np.ndarray:
        """(N, C) float64 copy of the rows."""
        return self._array.copy()
