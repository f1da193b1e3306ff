"""Several signed distance fields packed into one array, for per-frame batched SDF look-ups.

The reference force-closure backend (:mod:`grasplab.evaluation.reference_fc`) samples the SDFs
of all objects of a frame. Looking them up one object at a time costs a few dozen numpy calls
per object and step; :class:`FieldStack` packs the frame's grids into one flat array so that
each step is one set of calls for every line of every object, each point carrying the index of
its object.

Each grid is stored with one extra layer of zeros on its upper side in every axis: the
reference's trilinear interpolation counts a corner past the upper grid edge as 0, which the
padding gives without masks (the sums are the same floating-point operations in the same
order, so the values are bit for bit those of the per-object code).

Frames: every object's model frame; grid coordinates in cells of that object's grid. Metres.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grasplab.objects.sdf import SignedDistanceField

__all__ = ["FieldStack", "field_stack"]

#: Corner order of the reference's trilinear sum (offsets in x, y, z).
CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
)
#: Packed stacks kept for reuse (a frame's objects are usually those of the previous frame).
STACK_CACHE_SIZE = 4
_STACKS: OrderedDict[tuple[int, ...], tuple[tuple[SignedDistanceField, ...], FieldStack]] = (
    OrderedDict()
)


@dataclass(frozen=True)
class FieldStack:
    """K signed distance fields in one flat array (upper-padded with zeros).

    Attributes:
        values: (sum (nx+1)(ny+1)(nz+1),) float64 padded grids, C order, one after another.
        offset: (K,) int64 start of each grid in ``values``.
        dims: (K, 3) int64 unpadded grid sizes.
        strides: (K, 3) int64 strides of the padded grids.
        resolution: (K,) grid spacings (m).
        origin: (K, 3) model-frame position of grid index (0, 0, 0) (m).
        scale: (K,) ``1 / resolution`` (1/m).
        shift: (K, 3) ``-(origin * scale)`` (cells).
        surface_thresh: (K,) ``res sqrt(2) / 2`` (m).
        corner_offset: (K, 8) index offset of each trilinear corner (:data:`CORNERS`) from the
            lower corner.
    """

    values: np.ndarray
    offset: np.ndarray
    dims: np.ndarray
    strides: np.ndarray
    resolution: np.ndarray
    origin: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    surface_thresh: np.ndarray
    corner_offset: np.ndarray

    @classmethod
    def pack(cls, fields: Sequence[SignedDistanceField]) -> FieldStack:
        """Pack K fields (K >= 1); the fields are not modified."""
        if len(fields) == 0:
            raise ValueError("FieldStack.pack needs at least one field")
        dims = np.array([f.dims for f in fields], dtype=np.int64)
        padded = dims + 1
        sizes = padded.prod(axis=1)
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        values = np.zeros(int(sizes.sum()))
        for f, start, shape in zip(fields, offset, padded, strict=True):
            block = values[start : start + int(np.prod(shape))].reshape(tuple(shape))
            block[:-1, :-1, :-1] = f.values
        strides = np.stack([padded[:, 1] * padded[:, 2], padded[:, 2], np.ones_like(padded[:, 0])], 1)
        resolution = np.array([f.resolution for f in fields], dtype=np.float64)
        origin = np.stack([f.origin for f in fields]).astype(np.float64)
        scale = 1.0 / resolution
        return cls(values, offset, dims, strides, resolution, origin, scale,
                   -(origin * scale[:, None]), resolution * np.sqrt(2.0) / 2.0,
                   strides @ CORNERS.T)

    def to_grid(self, obj: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Model frame → grid coordinates, through float32 as the reference does.

        Args:
            obj: (...) object index of each point.
            points: (..., 3) model-frame points (m).

        Returns:
            (..., 3) grid coordinates (cells).
        """
        result: np.ndarray = points.astype(np.float32).astype(np.float64) * self.scale[obj][
            ..., None
        ] + self.shift[obj]
        return result

    def to_model(self, obj: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """Grid coordinates (..., 3) → model frame (m), through float32."""
        result: np.ndarray = coords.astype(np.float32).astype(np.float64) * self.resolution[obj][
            ..., None
        ] + self.origin[obj]
        return result

    def values_at(self, obj: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """SDF values at grid coordinates, interpolated as the reference does.

        Args:
            obj: (...) object index of each point.
            coords: (..., 3) grid coordinates (cells) in that object's grid.

        Returns:
            (...) signed distances (m). Inside a grid: trilinear, corners past the upper edge 0.
            Outside: the value at the nearest grid point plus the distance to it.
        """
        obj = np.asarray(obj)
        dims = self.dims[obj]  # per object index, broadcast against the points
        outside = (coords < 0).any(axis=-1) | (coords >= dims).any(axis=-1)
        clamped = np.clip(coords, 0, dims - 1)
        lower = np.floor(clamped).astype(np.int64)
        frac = clamped - lower
        low_w, up_w = 1.0 - frac, 1.0 - np.abs(1.0 - frac)
        strides = self.strides[obj]
        base = (self.offset[obj] + lower[..., 0] * strides[..., 0]
                + lower[..., 1] * strides[..., 1] + lower[..., 2])  # z stride 1
        w0, w1, w2 = ((low_w[..., a], up_w[..., a]) for a in range(3))
        corner_offset = self.corner_offset[obj]
        pairs: dict[tuple[int, int], np.ndarray] = {}  # w0 * w1, shared by two corners
        total = np.zeros(base.shape)
        for c, (i, j, k) in enumerate(CORNERS.tolist()):
            if (i, j) not in pairs:
                pairs[i, j] = w0[i] * w1[j]
            value = np.take(self.values, base + corner_offset[..., c])
            total = total + (pairs[i, j] * w2[k]) * value
        if outside.any():
            gap = np.linalg.norm(coords[outside] - clamped[outside], axis=1)
            res = np.broadcast_to(self.resolution[obj], outside.shape)[outside]
            total[outside] = total[outside] + gap * res
        result: np.ndarray = total
        return result


def field_stack(fields: Sequence[SignedDistanceField]) -> FieldStack:
    """The packed stack of ``fields``, reused while the same field objects come again.

    The cache holds the last :data:`STACK_CACHE_SIZE` stacks together with their fields (so the
    identities it is keyed on stay valid).
    """
    key = tuple(id(f) for f in fields)
    hit = _STACKS.get(key)
    if hit is not None:
        _STACKS.move_to_end(key)
        return hit[1]
    stack = FieldStack.pack(fields)
    _STACKS[key] = (tuple(fields), stack)
    while len(_STACKS) > STACK_CACHE_SIZE:
        _STACKS.popitem(last=False)
    return stack
