"""6-DoF parallel-jaw grasps as one batched array, in the graspnetAPI column order.

A :class:`GraspGroup` wraps an ``(N, 17)`` float64 array whose rows are
``[score, width, height, depth, R (row-major, 9), t (3), object_id]``
(reference protocol §1). ``R``'s columns are the gripper axes in the camera (or world)
frame: x = approach, y = jaw closing axis, z = finger height; ``t`` is the grasp point,
the fingertips sit at gripper x = ``depth`` and the palm at x = -0.02 m. Units are
metres and radians. A ``.npy`` written by :meth:`GraspGroup.save_npy` loads in
graspnetAPI and vice versa.

Groups are immutable: every operation returns a new group and never touches its input.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.nms import pose_nms_indices
from grasplab.core.row_array import Column, RowArray
from grasplab.core.validation import as_array, check_transform

logger = logging.getLogger(__name__)

GRASP_ARRAY_LEN = 17
"""Number of columns of a grasp row (graspnetAPI ``GRASP_ARRAY_LEN``)."""

ROTATION_ATOL = 1e-3
"""Tolerance on ``|R^T R - I|`` and ``|det R - 1|`` for a rotation to count as valid.

Loose enough for float32 label arrays and for the reference rect → 6-DoF conversion,
which does not re-orthonormalise (``fx != fy`` skews it by ~2e-4 with the realsense and
~5e-4 with the kinect intrinsics); tight enough to catch real garbage.
"""

TOP_DOWN_MAX_ANGLE = np.deg2rad(8.0)
"""Approach directions within this angle of camera +z count as top-down in summaries."""

# column slices of the 17-column layout
_SCORE, _WIDTH, _HEIGHT, _DEPTH = 0, 1, 2, 3
_ROT = slice(4, 13)
_TRANS = slice(13, 16)
_OBJ = 16

def _column(value: ArrayLike, name: str, num: int) -> np.ndarray:
    """Broadcast a scalar or (N,) array-like to a float64 (N,) column."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(num, float(arr))
    return as_array(arr, name, (num,), finite=False)


class GraspGroup(RowArray):
    """An immutable batch of N 6-DoF parallel-jaw grasps (graspnetAPI layout).

    Length, indexing (int, slice, bool mask, int array; always a group), iteration,
    ``np.asarray``, :meth:`copy` and :meth:`concat` come from
    :class:`~grasplab.core.row_array.RowArray`.

    Args:
        array: (N, 17) or (17,) array-like in the graspnetAPI column order, any float dtype;
            copied to float64. ``None`` gives an empty group.
        validate: if True (default), raise ValueError on NaN/inf values, non-orthonormal
            rotations or negative widths/heights, naming the first offending rows. Pass
            False to hold invalid rows on purpose (inspect them with :meth:`invalid_rows`).

    Raises:
        ValueError: on a wrong shape, or on invalid rows when ``validate`` is True.

    Example:
        >>> g = GraspGroup.from_components(np.zeros((2, 3)), np.stack([np.eye(3)] * 2),
        ...                                widths=0.05, depths=0.02, scores=[0.3, 0.9])
        >>> len(g), g.sort_by_score().scores.tolist()
        (2, [0.9, 0.3])
    """

    __slots__ = ()

    NUM_COLUMNS = GRASP_ARRAY_LEN
    ROW_NAME = "grasp"

    def __init__(self, array: ArrayLike | None = None, *, validate: bool = True) -> None:
        self._array = self._rows(array)
        if validate:
            self._check(self._array)

    @classmethod
    def _check(cls, arr: np.ndarray) -> None:
        _raise_on_invalid(arr)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_components(
        cls,
        translations: ArrayLike,
        rotations: ArrayLike,
        widths: ArrayLike,
        depths: ArrayLike,
        scores: ArrayLike = 1.0,
        heights: ArrayLike = 0.02,
        object_ids: ArrayLike = -1,
        *,
        validate: bool = True,
    ) -> GraspGroup:
        """Build a group from per-grasp components.

        Args:
            translations: (N, 3) grasp points in metres.
            rotations: (N, 3, 3) gripper orientations (columns approach, jaw, height).
            widths: jaw openings in metres, scalar or (N,).
            depths: fingertip distance past the grasp point in metres, scalar or (N,).
            scores: confidences, scalar or (N,).
            heights: finger heights in metres, scalar or (N,).
            object_ids: object ids, scalar or (N,).
            validate: check the rows as in the constructor.

        Returns:
            A new group of N grasps.
        """
        t = as_array(translations, "translations", (None, 3), finite=False)
        num = t.shape[0]
        rot = as_array(rotations, "rotations", (num, 3, 3), finite=False)
        arr = np.empty((num, GRASP_ARRAY_LEN), dtype=np.float64)
        arr[:, _SCORE] = _column(scores, "scores", num)
        arr[:, _WIDTH] = _column(widths, "widths", num)
        arr[:, _HEIGHT] = _column(heights, "heights", num)
        arr[:, _DEPTH] = _column(depths, "depths", num)
        arr[:, _ROT] = rot.reshape(num, 9)
        arr[:, _TRANS] = t
        arr[:, _OBJ] = _column(object_ids, "object_ids", num)
        group = cls._trusted(arr)
        if validate:
            _raise_on_invalid(group._array)
        return group

    @classmethod
    def from_npy(cls, path: str | Path, *, validate: bool = True) -> GraspGroup:
        """Load a graspnetAPI ``.npy`` dump: (N, 17) or (17,), float32 or float64.

        Args:
            path: file written by ``np.save`` (graspnetAPI or :meth:`save_npy`).
            validate: check the rows as in the constructor.

        Raises:
            ValueError: if the file does not hold a numeric (N, 17) or (17,) array (an
                empty or truncated file included), or on invalid rows when ``validate``.
            OSError: the file cannot be opened.
        """
        return cls(cls._load_npy(path), validate=validate)

    def save_npy(self, path: str | Path) -> None:
        """Write the (N, 17) float64 array with ``np.save`` (readable by graspnetAPI)."""
        super().save_npy(path)

    @classmethod
    def concatenate(cls, groups: Iterable[GraspGroup]) -> GraspGroup:
        """Stack several groups row-wise, in order; no groups gives an empty group."""
        return cls.concat(groups)

    # ------------------------------------------------------------------ accessors
    scores = Column(_SCORE, "(N,) confidences (read-only view).")
    widths = Column(_WIDTH, "(N,) jaw openings in metres (read-only view).")
    heights = Column(_HEIGHT, "(N,) finger heights in metres (read-only view).")
    depths = Column(_DEPTH, "(N,) fingertip depths past the grasp point in metres (read-only view).")
    rotations = Column(
        _ROT, "(N, 3, 3) rotations, columns = approach, jaw axis, height (read-only).", shape=(3, 3)
    )
    translations = Column(_TRANS, "(N, 3) grasp points in metres (read-only view).")
    object_ids = Column(
        _OBJ, "(N,) int64 object ids (a read-only copy; non-finite entries read as -1).",
        as_int=True,
    )

    # ------------------------------------------------------------------ operations
    def sort_by_score(self, descending: bool = True) -> GraspGroup:
        """Return the grasps sorted by score; stable, so ties keep their row order."""
        key = -self._array[:, _SCORE] if descending else self._array[:, _SCORE]
        return self._trusted(self._array[np.argsort(key, kind="stable")])

    def transform(self, T: ArrayLike) -> GraspGroup:
        """Return the grasps expressed in another frame: ``R' = T_R R``, ``t' = T_R t + T_t``.

        Args:
            T: (4, 4) rigid transform ``T_<new>_<old>``.
        """
        mat = check_transform(T, "T")
        arr = self._array.copy()
        rot_new = np.matmul(mat[:3, :3], self._array[:, _ROT].reshape(-1, 3, 3))
        arr[:, _ROT] = rot_new.reshape(-1, 9)
        arr[:, _TRANS] = self._array[:, _TRANS] @ mat[:3, :3].T + mat[:3, 3]
        return self._trusted(arr)

    def with_columns(
        self,
        *,
        scores: ArrayLike | None = None,
        widths: ArrayLike | None = None,
        heights: ArrayLike | None = None,
        depths: ArrayLike | None = None,
        rotations: ArrayLike | None = None,
        translations: ArrayLike | None = None,
        object_ids: ArrayLike | None = None,
        validate: bool = True,
    ) -> GraspGroup:
        """Return a new group with some columns replaced (scalars broadcast to all rows).

        Args:
            scores, widths, heights, depths, object_ids: scalar or (N,) replacements.
            rotations: (N, 3, 3) replacement rotations.
            translations: (N, 3) replacement grasp points.
            validate: check the resulting rows as in the constructor.
        """
        num = len(self)
        arr = self._array.copy()
        for col, value, name in (
            (_SCORE, scores, "scores"),
            (_WIDTH, widths, "widths"),
            (_HEIGHT, heights, "heights"),
            (_DEPTH, depths, "depths"),
            (_OBJ, object_ids, "object_ids"),
        ):
            if value is not None:
                arr[:, col] = _column(value, name, num)
        if rotations is not None:
            arr[:, _ROT] = as_array(rotations, "rotations", (num, 3, 3), finite=False).reshape(
                num, 9
            )
        if translations is not None:
            arr[:, _TRANS] = as_array(translations, "translations", (num, 3), finite=False)
        group = self._trusted(arr)
        if validate:
            _raise_on_invalid(group._array)
        return group

    def invalid_rows(self) -> list[tuple[int, str]]:
        """List the rows that are not valid grasps, as ``(row index, reasons)`` pairs.

        Reasons (joined by ``"; "``): non-finite values, a rotation that is not
        orthonormal with det +1 (tolerance :data:`ROTATION_ATOL`), a negative width or
        height.
        """
        problems = _row_problems(self._array)
        any_bad = np.zeros(len(self), dtype=bool)
        for mask in problems.values():
            any_bad |= mask
        return [
            (int(i), "; ".join(name for name, mask in problems.items() if mask[i]))
            for i in np.flatnonzero(any_bad)
        ]

    def nms(
        self, translation_thresh: float = 0.03, rotation_thresh: float = np.pi / 6
    ) -> GraspGroup:
        """Pose non-maximum suppression, exactly the reference rule (protocol §4 step 1).

        Greedy by score, highest first: a lower-ranked grasp is removed iff, relative to
        an already kept grasp, both ``|t1 - t2| < translation_thresh`` and the rotation
        angle ``acos((trace(R1 R2^T) - 1) / 2) < rotation_thresh`` hold (strict; trace
        clamped to [-1, 3]). Width, depth and object id are ignored and the jaw flip is
        not treated as symmetric. Equal scores keep row order (the reference's order of
        ties is undefined).

        Args:
            translation_thresh: distance threshold in metres.
            rotation_thresh: angle threshold in radians.

        Returns:
            The kept grasps, sorted by score descending.
        """
        keep = pose_nms_indices(
            self._array[:, _TRANS],
            self._array[:, _ROT].reshape(-1, 3, 3),
            self._array[:, _SCORE],
            translation_thresh,
            rotation_thresh,
        )
        return self._trusted(self._array[keep])


# ---------------------------------------------------------------------- validation
def _row_problems(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Per-problem (N,) boolean masks of invalid rows of an (N, 17) grasp array."""
    finite = np.isfinite(arr).all(axis=1)
    rot = np.where(finite[:, None], arr[:, _ROT], 0.0).reshape(-1, 3, 3)
    gram_err = np.abs(np.matmul(rot.transpose(0, 2, 1), rot) - np.eye(3)).max(axis=(1, 2))
    det_err = np.abs(np.linalg.det(rot) - 1.0) if len(rot) else np.zeros(0)
    with np.errstate(invalid="ignore"):
        return {
            "non-finite value (NaN/inf)": ~finite,
            "rotation not orthonormal with det +1": finite
            & ((gram_err > ROTATION_ATOL) | (det_err > ROTATION_ATOL)),
            "negative width": arr[:, _WIDTH] < 0,
            "negative height": arr[:, _HEIGHT] < 0,
        }


def _rows_text(rows: np.ndarray, limit: int) -> str:
    """``"3, 7, 9, ..."``: the first ``limit`` row indices of ``rows``."""
    return ", ".join(str(r) for r in rows[:limit]) + (", ..." if rows.size > limit else "")


def _raise_on_invalid(arr: np.ndarray, name: str = "grasps") -> None:
    """Raise ValueError naming the first invalid rows of an (N, 17) grasp array."""
    problems = _row_problems(arr)
    messages = []
    for what, mask in problems.items():
        rows = np.flatnonzero(mask)
        if rows.size:
            messages.append(f"{what} in {rows.size} row(s) (rows {_rows_text(rows, 5)})")
    if messages:
        raise ValueError(
            f"{name}: invalid grasp rows: " + "; ".join(messages)
            + ". Expected finite values, orthonormal rotations (det +1) and widths/heights >= 0;"
            " pass validate=False to keep them and inspect GraspGroup.invalid_rows()."
        )


# ---------------------------------------------------------------------- summary
def summarize_grasps(group: GraspGroup) -> dict[str, float | str]:
    """Summarise a grasp group for ``grasplab info``.

    Args:
        group: any group, possibly holding invalid rows (``validate=False``).

    Returns:
        ``count``; ``score_min/max``, ``width_min/max``, ``depth_min/max`` over the finite
        values (NaN if none); ``top_down_fraction``: the fraction of grasps whose approach
        is within 8° of camera +z; ``problems``: ``"none"`` or a short description of the
        invalid rows.
    """
    arr = np.asarray(group)
    summary: dict[str, float | str] = {"count": len(arr)}
    for name, col in (("score", _SCORE), ("width", _WIDTH), ("depth", _DEPTH)):
        values = arr[:, col][np.isfinite(arr[:, col])]
        summary[f"{name}_min"] = float(values.min()) if values.size else float("nan")
        summary[f"{name}_max"] = float(values.max()) if values.size else float("nan")
    approach = arr[:, _ROT].reshape(-1, 3, 3)[:, :, 0]
    norms = np.linalg.norm(approach, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        top_down = approach[:, 2] / norms >= np.cos(TOP_DOWN_MAX_ANGLE)
    summary["top_down_fraction"] = float(top_down.mean()) if len(arr) else float("nan")
    descriptions = []
    for what, mask in _row_problems(arr).items():
        rows = np.flatnonzero(mask)
        if rows.size:
            descriptions.append(f"{rows.size} row(s) with {what} (rows {_rows_text(rows, 3)})")
    summary["problems"] = "; ".join(descriptions) if descriptions else "none"
    return summary
