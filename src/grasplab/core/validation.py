"""Validation helpers used at every public boundary of grasplab.

Each helper returns a new, checked array (never a view that aliases the caller's data when it
converts) and raises ``ValueError`` with a message that says what was wrong and what was expected.
Units are SI: depth images are metres, rotations are proper orthonormal 3×3 matrices.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

#: Largest median depth (m) that we still accept as metres; above it the image is millimetres.
MAX_PLAUSIBLE_DEPTH_M = 20.0

#: values read by the unit checks (a strided sample): metres and millimetres differ 1000-fold,
#: so the median of a few thousand tells them apart as well as the median of all
UNIT_CHECK_SAMPLES = 4096

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``rng`` (a Generator, a seed or None).

    >>> as_rng(0).integers(10) == as_rng(0).integers(10)
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")


def load_numeric_npy(path: str | Path, what: str) -> np.ndarray:
    """Load a numeric array from an ``.npy`` file (no pickles), closing what it opened.

    Args:
        path: the file.
        what: what the caller calls the file, for error messages (e.g. ``"grasp"``).

    Returns:
        The array as stored (any numeric dtype and shape).

    Raises:
        ValueError: an ``.npz`` archive instead of one array, or a non-numeric array.
        OSError: the file cannot be read.
    """
    data = np.load(Path(path), allow_pickle=False)
    if isinstance(data, np.lib.npyio.NpzFile):
        data.close()
        raise ValueError(f"{what} file {path}: expected one array (.npy), got an .npz archive")
    if not np.issubdtype(data.dtype, np.number):
        raise ValueError(f"{what} file {path}: expected a numeric array, got dtype {data.dtype}")
    return np.asarray(data)


def _shape_str(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"


def as_array(
    x: ArrayLike,
    name: str,
    shape: Sequence[int | None] | None = None,
    dtype: DTypeLike = np.float64,
    finite: bool = True,
) -> np.ndarray:
    """Convert ``x`` to a new array of ``dtype`` and check its shape and values.

    Args:
        x: array-like input.
        name: what the caller calls it, used in error messages.
        shape: expected shape; ``None`` entries are wildcards. ``None`` skips the check.
        dtype: target dtype.
        finite: require all values to be finite.

    Returns:
        A new array (a copy of the input).

    Raises:
        ValueError: wrong shape or non-finite values.

    >>> as_array([[1, 2, 3]], "points", (None, 3)).shape
    (1, 3)
    """
    try:
        arr = np.array(x, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot convert to an array of {np.dtype(dtype)}: {exc}") from exc
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            s is None or s == d for s, d in zip(shape, arr.shape, strict=False)
        )
        if not ok:
            raise ValueError(f"{name}: expected shape {_shape_str(shape)}, got {arr.shape}")
    if finite and np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name}: non-finite value at index {tuple(int(i) for i in bad)}")
    return arr


def check_rotations(
    rotations: ArrayLike, name: str = "rotations", atol: float = 1e-4
) -> np.ndarray:
    """Check a stack of rotation matrices: orthonormal with determinant +1.

    Args:
        rotations: (N, 3, 3) or (3, 3) matrices.
        name: used in error messages.
        atol: tolerance on ``R Rᵀ = I`` and ``det R = 1``.

    Returns:
        (N, 3, 3) float64 copy (a single matrix becomes N = 1).

    Raises:
        ValueError: wrong shape, non-finite values, or a matrix that is not a proper rotation;
            the message names the first offending index.
    """
    arr = as_array(rotations, name)
    if arr.shape == (3, 3):
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise ValueError(f"{name}: expected shape (N, 3, 3), got {arr.shape}")
    if len(arr) == 0:
        return arr
    gram = np.einsum("nij,nkj->nik", arr, arr)
    ortho_err = np.abs(gram - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(arr)
    bad = np.flatnonzero((ortho_err > atol) | (np.abs(det - 1.0) > atol))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"{name}[{i}] is not a rotation matrix (|R Rᵀ - I| = {ortho_err[i]:.2e}, "
            f"det = {det[i]:.4f}); expected orthonormal columns with det +1 "
            f"({len(bad)} bad of {len(arr)})"
        )
    return arr


def check_transform(transform: ArrayLike, name: str = "transform", atol: float = 1e-4) -> np.ndarray:
    """Check a 4×4 rigid transform (rotation block proper, last row ``[0, 0, 0, 1]``).

    Returns:
        (4, 4) float64 copy.

    Raises:
        ValueError: wrong shape, non-finite values, or not rigid.
    """
    arr = as_array(transform, name, (4, 4))
    if not np.allclose(arr[3], [0.0, 0.0, 0.0, 1.0], atol=atol):
        raise ValueError(f"{name}: last row must be [0, 0, 0, 1], got {arr[3].tolist()}")
    check_rotations(arr[:3, :3], f"{name} rotation block", atol=atol)
    return arr


def check_depth_image(depth: ArrayLike, name: str = "depth") -> np.ndarray:
    """Check a depth image in metres; invalid pixels (NaN, inf, ≤ 0) become 0.

    Args:
        depth: (H, W) depth in metres.
        name: used in error messages.

    Returns:
        (H, W) float32 copy with invalid pixels set to 0.

    Raises:
        ValueError: not 2-D, no valid pixel, or values that look like millimetres.
    """
    arr = np.array(depth, dtype=np.float32, copy=True)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a (H, W) depth image, got shape {arr.shape}")
    invalid = ~np.isfinite(arr) | (arr <= 0)
    arr[invalid] = 0.0
    if invalid.all():
        raise ValueError(f"{name}: no valid pixel (all zero, negative or non-finite)")
    valid = arr[~invalid]  # the units show in a strided sample of the valid pixels
    median = float(np.median(valid[:: max(1, len(valid) // UNIT_CHECK_SAMPLES)]))
    if median > MAX_PLAUSIBLE_DEPTH_M:
        raise ValueError(
            f"{name}: median depth {median:.1f} looks like millimetres; expected metres "
            f"(divide by the depth scale, e.g. 1000)"
        )
    return arr


def check_nonnegative(x: ArrayLike, name: str) -> np.ndarray:
    """Return a float64 copy of ``x`` after checking it is finite and ≥ 0.

    Raises:
        ValueError: a negative or non-finite value; the message names its index.
    """
    arr = as_array(x, name)
    if np.any(arr < 0):
        i = tuple(int(j) for j in np.argwhere(arr < 0)[0])
        raise ValueError(f"{name}: expected values >= 0, got {arr[i]:.4g} at index {i}")
    return arr


def check_positive_scalar(x: Any, name: str) -> float:
    """Return ``x`` as a float after checking it is finite and > 0.

    Raises:
        ValueError: not a positive finite number.
    """
    try:
        value = float(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a positive number, got {x!r}") from exc
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive finite number, got {value}")
    return value
