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
#: Grid values (float64) the shared store of padded grids holds before it starts afresh (512 MB).
ARENA_MAX_VALUES = 64 * 1024 * 1024
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
        """Pack K fields (K >= 1) into a new array; the fields are not modified."""
        if len(fields) == 0:
            raise ValueError("FieldStack.pack needs at least one field")
        sizes = [_padded_size(f) for f in fields]
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        values = np.zeros(int(sum(sizes)))
        for f, start in zip(fields, offset, strict=True):
            _write_padded(values, int(start), f)
        return cls.over(fields, values, offset)

    @classmethod
    def over(
        cls, fields: Sequence[SignedDistanceField], values: np.ndarray, offset: np.ndarray
    ) -> FieldStack:
        """The stack of K fields whose padded grids already lie in ``values`` at ``offset``."""
        dims = np.array([f.dims for f in fields], dtype=np.int64)
        padded = dims + 1
        strides = np.stack([padded[:, 1] * padded[:, 2], padded[:, 2], np.ones_like(padded[:, 0])], 1)
        resolution = np.array([f.resolution for f in fields], dtype=np.float64)
        origin = np.stack([f.origin for f in fields]).astype(np.float64)
        scale = 1.0 / resolution
        return cls(values, np.asarray(offset, dtype=np.int64), dims, strides, resolution, origin,
                   scale, -(origin * scale[:, None]), resolution * np.sqrt(2.0) / 2.0,
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


def _padded_size(field: SignedDistanceField) -> int:
    return int(np.prod(np.array(field.dims) + 1))


def _write_padded(values: np.ndarray, start: int, field: SignedDistanceField) -> None:
    """Copy ``field``'s grid into zeros at ``values[start:]``, one zero layer per upper side."""
    shape = tuple(int(n) + 1 for n in field.dims)
    block = values[start : start + int(np.prod(shape))].reshape(shape)
    block[:-1, :-1, :-1] = field.values


class _Arena:
    """The padded grids of the fields seen so far, one after another in one zero-filled array.

    A frame's stack then only points into it: no grid is copied again for the next scene. It
    keeps its fields alive (their identities are its keys) and starts afresh, in a new array,
    when it would exceed :data:`ARENA_MAX_VALUES`; stacks made before keep their own array.
    """

    def __init__(self) -> None:
        self.values = np.zeros(0)
        self.used = 0
        self.starts: dict[int, tuple[SignedDistanceField, int]] = {}

    def reset(self) -> None:
        """Forget every grid; the next ones go into a new array."""
        self.values, self.used, self.starts = np.zeros(0), 0, {}

    def place(self, fields: Sequence[SignedDistanceField]) -> tuple[np.ndarray, np.ndarray]:
        """``(values, offset (K,))`` of the fields' padded grids, adding the missing ones."""
        missing = {id(f): f for f in fields if id(f) not in self.starts}
        need = sum(_padded_size(f) for f in missing.values())
        if missing and self.used + need > ARENA_MAX_VALUES:
            self.reset()
            missing = {id(f): f for f in fields}
            need = sum(_padded_size(f) for f in missing.values())
        if self.used + need > len(self.values):
            grown = np.zeros(max(2 * len(self.values), self.used + need))
            grown[: self.used] = self.values[: self.used]
            self.values = grown
            _STACKS.clear()  # they hold the old array
        for key, f in missing.items():
            _write_padded(self.values, self.used, f)
            self.starts[key] = (f, self.used)
            self.used += _padded_size(f)
        offset = np.array([self.starts[id(f)][1] for f in fields], dtype=np.int64)
        return self.values, offset


_ARENA = _Arena()


def field_stack(fields: Sequence[SignedDistanceField]) -> FieldStack:
    """The stack of ``fields`` over the shared store of padded grids (each grid copied once).

    The last :data:`STACK_CACHE_SIZE` stacks are kept together with their fields (so the
    identities they are keyed on stay valid).
    """
    if len(fields) == 0:
        raise ValueError("field_stack needs at least one field")
    key = tuple(id(f) for f in fields)
    hit = _STACKS.get(key)
    if hit is not None:
        _STACKS.move_to_end(key)
        return hit[1]
    values, offset = _ARENA.place(fields)
    stack = FieldStack.over(fields, values, offset)
    _STACKS[key] = (tuple(fields), stack)
    while len(_STACKS) > STACK_CACHE_SIZE:
        _STACKS.popitem(last=False)
    return stack
