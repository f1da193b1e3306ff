"""Planar grasp batches in the image: graspnetAPI rectangles and PLGP 4-DoF pixel grasps.

* :class:`RectGraspGroup`, graspnetAPI's 7-column rectangle
  ``[center_x, center_y, open_x, open_y, height, score, object_id]`` (reference protocol §2);
  the first five values are pixels.
* :class:`PixelGrasps`, the PLGP 4-DoF grasp ``[u, v, d, theta, w]`` (paper eq. 7) plus a
  score column; ``d`` and ``w`` in metres, ``theta`` in radians.

Pixel coordinates are (u, v) = (column, row). Both are immutable
:class:`~grasplab.core.row_array.RowArray` batches; their conversions to and from 6-DoF
grasps live in :mod:`grasplab.core.rect`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.row_array import Column, RowArray
from grasplab.core.validation import as_array

RECT_GRASP_ARRAY_LEN = 7
"""Columns of a rectangle grasp row (graspnetAPI ``RECT_GRASP_ARRAY_LEN``)."""

PIXEL_GRASP_ARRAY_LEN = 6
"""Columns of a PLGP pixel grasp row ``[u, v, d, theta, w, score]``."""


def _raise_on_non_finite(arr: np.ndarray, name: str) -> None:
    """Raise ValueError naming the first rows of ``arr`` (N, C) holding NaN or inf."""
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise ValueError(f"{name}: non-finite values (NaN/inf) in rows {bad[:5].tolist()}")


class RectGraspGroup(RowArray):
    """N rectangle grasps ``[center_x, center_y, open_x, open_y, height, score, object_id]``.

    ``open`` is one jaw end; the rectangle has half-length ``|open - center|`` and full
    extent ``height`` perpendicular to it (pixels). ``from_npy`` reads graspnetAPI's
    ``rect/%04d.npy`` files (float32 or float64).

    Args:
        array: (N, 7) or (7,) array-like, copied to float64; ``None`` gives an empty group.

    Raises:
        ValueError: on a wrong shape or non-finite values (naming the rows).
    """

    __slots__ = ()

    NUM_COLUMNS = RECT_GRASP_ARRAY_LEN
    ROW_NAME = "rect grasp"

    @classmethod
    def _check(cls, arr: np.ndarray) -> None:
        _raise_on_non_finite(arr, "rect grasp array")

    center_points = Column(slice(0, 2), "(N, 2) rectangle centers (u, v) in pixels.")
    open_points = Column(slice(2, 4), "(N, 2) jaw-end points (u, v) in pixels.")
    heights = Column(4, "(N,) rectangle heights in pixels.")
    scores = Column(5, "(N,) scores.")
    object_ids = Column(6, "(N,) int64 object ids (a read-only copy).", as_int=True)

    @property
    def upper_points(self) -> np.ndarray:
        """(N, 2) reference "upper" points: ``center + rot90(unit(open - center)) * height / 2``.

        ``rot90`` is the reference's ``[[0, -1], [1, 0]]``; degenerate rectangles give NaN.
        """
        vec = self.open_points - self.center_points
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = vec / np.linalg.norm(vec, axis=1, keepdims=True)
        perp = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
        return self.center_points + perp * self.heights[:, None] / 2.0


class PixelGrasps(RowArray):
    """N PLGP 4-DoF grasps ``[u, v, d, theta, w, score]`` (paper eq. 7 plus a score).

    ``(u, v)`` is the grasp pixel, ``d`` the approach distance (m) past the surface point
    along camera +z, ``theta`` the angle (rad) of the jaw axis from the image horizontal
    axis (see :func:`grasplab.core.rect.pixel_grasps_to_grasps` for the sign), ``w`` the
    opening (m).

    Args:
        array: (N, 6) or (6,) array-like, copied to float64; ``None`` gives an empty set.

    Raises:
        ValueError: on a wrong shape, non-finite values or negative widths (naming rows).
    """

    __slots__ = ()

    NUM_COLUMNS = PIXEL_GRASP_ARRAY_LEN
    ROW_NAME = "pixel grasp"

    @classmethod
    def _check(cls, arr: np.ndarray) -> None:
        _raise_on_non_finite(arr, "pixel grasp array")
        bad = np.flatnonzero(arr[:, 4] < 0)
        if bad.size:
            raise ValueError(
                f"pixel grasp array: negative width w (column 4) in rows {bad[:5].tolist()}"
            )

    @classmethod
    def from_components(
        cls,
        pixels: ArrayLike,
        depths: ArrayLike,
        thetas: ArrayLike,
        widths: ArrayLike,
        scores: ArrayLike = 1.0,
    ) -> PixelGrasps:
        """Build from (N, 2) pixels (u, v) and scalar or (N,) d, theta, w, score."""
        uv = as_array(pixels, "pixels", (None, 2))
        cols = []
        for name, value in (("depths", depths), ("thetas", thetas), ("widths", widths),
                            ("scores", scores)):
            col = as_array(value, name)
            if col.shape not in ((), (len(uv),)):
                raise ValueError(f"{name}: expected a scalar or shape ({len(uv)},), got {col.shape}")
            cols.append(np.broadcast_to(col, (len(uv),)))
        return cls(np.column_stack([uv, *cols]))

    pixels = Column(slice(0, 2), "(N, 2) grasp pixels (u, v).")
    depths = Column(2, "(N,) approach distances d in metres.")
    thetas = Column(3, "(N,) jaw angles theta in radians.")
    widths = Column(4, "(N,) openings w in metres.")
    scores = Column(5, "(N,) scores.")


__all__ = ["PIXEL_GRASP_ARRAY_LEN", "RECT_GRASP_ARRAY_LEN", "PixelGrasps", "RectGraspGroup"]
