"""Plausibility checks where units can be confused: grasps, point clouds, intrinsics, images.

Every check sorts what it finds into **errors** (values that cannot be right: NaN, a rotation
that is not one, translations or points that can only be millimetres, a 16-bit image given as
colour) and **warnings** (legal but implausible values: a 0.5 m gripper opening, a focal length
of 20 px). ``*_findings`` functions return both as a :class:`Findings` and never raise on
values; ``check_*`` functions raise ``ValueError`` listing the errors and return the warnings
as strings for the caller to log and to put in its report. ``grasplab info`` shows the same
findings.

Units: metres, pixels; grasp arrays in the graspnetAPI layout ``[score, width, height, depth,
R (9), t (3), object_id]`` (DESIGN.md §3). Thresholds are module constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "Findings",
    "check_depth",
    "check_grasps",
    "check_intrinsics",
    "check_points",
    "check_rgb",
    "depth_findings",
    "grasp_findings",
    "intrinsics_findings",
    "point_findings",
    "rgb_findings",
]

MAX_DISTANCE_M = 20.0
"""A median distance from the frame origin (grasp centres, points, depth) above this is mm."""
FAR_DISTANCE_M = 5.0
"""A median distance above this (but at most :data:`MAX_DISTANCE_M`) is a warning."""
MAX_WIDTH_M = 0.2
"""Gripper openings above this are implausible for a parallel-jaw gripper (warning)."""
MAX_HEIGHT_M = 0.1
"""Finger heights above this are implausible (warning)."""
MAX_DEPTH_M = 0.1
"""Approach depths outside [0, this] are implausible (warning)."""
FOCAL_RANGE_PX = (50.0, 5000.0)
"""Focal lengths outside this range are implausible (warning) ..."""
FOCAL_LIMITS_PX = (5.0, 50_000.0)
"""... and outside this one (ten times further) an error (wrong units or a typo)."""
ROTATION_ATOL = 1e-4
"""Tolerance of ``R^T R = I`` and ``det R = 1``."""
_W, _H, _D = 1, 2, 3
_ROT, _TRANS = slice(4, 13), slice(13, 16)


@dataclass(frozen=True)
class Findings:
    """What a plausibility check found.

    Attributes:
        errors: values that cannot be right, one sentence each.
        warnings: legal but implausible values, one sentence each.
    """

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def raise_errors(self, name: str) -> list[str]:
        """Raise ValueError listing the errors (prefixed by ``name``), else return the warnings."""
        if self.errors:
            raise ValueError(f"{name}: " + "; ".join(self.errors))
        return list(self.warnings)


def _rows(mask: np.ndarray, limit: int = 3) -> str:
    rows = np.flatnonzero(mask)
    text = ", ".join(str(r) for r in rows[:limit]) + (", ..." if rows.size > limit else "")
    return f"{rows.size} row(s) (rows {text})"


def grasp_findings(grasps: ArrayLike) -> Findings:
    """Errors and warnings of an (N, 17) grasp array (module docstring for the layout).

    Errors: non-finite values, rotations that are not orthonormal with det +1, negative widths
    or heights, translations whose median norm exceeds :data:`MAX_DISTANCE_M` (millimetres).
    Warnings: widths ≤ 0 or > :data:`MAX_WIDTH_M`, heights ≤ 0 or > :data:`MAX_HEIGHT_M`,
    depths outside [0, :data:`MAX_DEPTH_M`], a median translation norm above
    :data:`FAR_DISTANCE_M`.

    Raises:
        ValueError: not a 2-D array with 17 columns.

    >>> g = np.zeros((1, 17)); g[0, 4:13] = np.eye(3).ravel(); g[0, 1:4] = 0.05, 0.02, 0.02
    >>> g[0, 13:16] = 0.0, 0.0, 0.5
    >>> grasp_findings(g)
    Findings(errors=(), warnings=())
    >>> g[0, 13:16] *= 1000.0  # millimetres
    >>> grasp_findings(g).errors[0][:41]
    'translations look like millimetres: media'
    """
    arr = np.asarray(grasps, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 17:
        raise ValueError(f"grasps: expected an (N, 17) array, got shape {arr.shape}")
    errors: list[str] = []
    warnings: list[str] = []
    finite = np.asarray(np.isfinite(arr).all(axis=1), dtype=bool)
    if not finite.all():
        errors.append(f"non-finite values (NaN/inf) in {_rows(~finite)}")
    good = arr[finite]
    rot = good[:, _ROT].reshape(-1, 3, 3)
    gram = np.abs(np.matmul(rot.transpose(0, 2, 1), rot) - np.eye(3)).max(axis=(1, 2))
    det = np.abs(np.linalg.det(rot) - 1.0) if len(rot) else np.zeros(0)
    index = np.flatnonzero(finite)
    masks = (
        ("rotation not orthonormal with det +1", (gram > ROTATION_ATOL) | (det > ROTATION_ATOL), errors),
        ("negative width", good[:, _W] < 0, errors),
        ("negative height", good[:, _H] < 0, errors),
        ("zero width", good[:, _W] == 0, warnings),
        (f"width above {MAX_WIDTH_M} m", good[:, _W] > MAX_WIDTH_M, warnings),
        ("zero height", good[:, _H] == 0, warnings),
        (f"height above {MAX_HEIGHT_M} m", good[:, _H] > MAX_HEIGHT_M, warnings),
        (f"depth outside [0, {MAX_DEPTH_M}] m", (good[:, _D] < 0) | (good[:, _D] > MAX_DEPTH_M),
         warnings),
    )
    for what, mask, target in masks:
        if mask.any():
            full = np.zeros(len(arr), dtype=bool)
            full[index[mask]] = True
            target.append(f"{what} in {_rows(full)}")
    if len(good):
        _distance_findings(np.linalg.norm(good[:, _TRANS], axis=1), "translations", errors, warnings)
    return Findings(tuple(errors), tuple(warnings))


def _distance_findings(
    distances: np.ndarray, what: str, errors: list[str], warnings: list[str]
) -> None:
    """Append the millimetre error or the far-away warning for distances (m) from the origin."""
    median = float(np.median(distances))
    if median > MAX_DISTANCE_M:
        errors.append(
            f"{what} look like millimetres: median distance {median:.4g} from the origin, "
            f"expected metres (at most {MAX_DISTANCE_M:g}); divide by 1000"
        )
    elif median > FAR_DISTANCE_M:
        warnings.append(f"{what} are far away: median distance {median:.4g} m from the origin "
                        f"(more than {FAR_DISTANCE_M:g} m; millimetres or another frame?)")


def check_grasps(grasps: ArrayLike, name: str = "grasps") -> list[str]:
    """Raise ValueError on the errors of :func:`grasp_findings`; return its warnings."""
    return grasp_findings(grasps).raise_errors(name)


def point_findings(points: ArrayLike) -> Findings:
    """Errors and warnings of an (N, 3) point cloud in metres.

    Errors: no finite point, a median distance from the origin above :data:`MAX_DISTANCE_M`
    (millimetres). Warnings: some non-finite points, a median distance above
    :data:`FAR_DISTANCE_M`.

    Raises:
        ValueError: not an (N, 3) array.

    >>> point_findings([[0.0, 0.0, 0.6], [0.01, 0.0, 0.6]]).errors
    ()
    >>> len(point_findings([[0.0, 0.0, 600.0], [10.0, 0.0, 600.0]]).errors)
    1
    """
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"points: expected an (N, 3) array, got shape {arr.shape}")
    errors: list[str] = []
    warnings: list[str] = []
    finite = np.isfinite(arr).all(axis=1)
    if not finite.any():
        errors.append(f"no finite point among {len(arr)}")
        return Findings(tuple(errors), ())
    if not finite.all():
        warnings.append(f"{int((~finite).sum())} of {len(arr)} points are not finite")
    _distance_findings(np.linalg.norm(arr[finite], axis=1), "points", errors, warnings)
    return Findings(tuple(errors), tuple(warnings))


def check_points(points: ArrayLike, name: str = "points") -> list[str]:
    """Raise ValueError on the errors of :func:`point_findings`; return its warnings."""
    return point_findings(points).raise_errors(name)


def intrinsics_findings(
    fx: float, fy: float, cx: float, cy: float, width: int, height: int
) -> Findings:
    """Errors and warnings of pinhole intrinsics (pixels).

    Errors: non-finite or non-positive values, focal lengths outside :data:`FOCAL_LIMITS_PX`,
    a principal point outside the image ``[-0.5, W - 0.5] × [-0.5, H - 0.5]``. Warnings: focal
    lengths outside :data:`FOCAL_RANGE_PX`, ``fx / fy`` outside [0.5, 2], a principal point
    more than a quarter of the image away from its centre.

    >>> intrinsics_findings(615.0, 615.0, 320.0, 240.0, 640, 480)
    Findings(errors=(), warnings=())
    >>> len(intrinsics_findings(1e12, 1e12, 320.0, 240.0, 640, 480).errors)
    2
    """
    values = {"fx": fx, "fy": fy, "cx": cx, "cy": cy, "width": width, "height": height}
    bad = [k for k, v in values.items() if not np.isfinite(float(v))]
    bad += [k for k in ("fx", "fy", "width", "height") if k not in bad and float(values[k]) <= 0]
    if bad:
        return Findings((f"{', '.join(bad)} must be positive finite numbers, got "
                         + ", ".join(f"{k}={values[k]!r}" for k in bad),), ())
    errors: list[str] = []
    warnings: list[str] = []
    lo, hi = FOCAL_RANGE_PX
    lo_limit, hi_limit = FOCAL_LIMITS_PX
    for key in ("fx", "fy"):
        f = float(values[key])
        if not lo_limit <= f <= hi_limit:
            errors.append(f"{key} = {f:.4g} px is impossible for a camera (expected "
                          f"{lo:g}-{hi:g} px; focal lengths are in pixels, not metres or mm)")
        elif not lo <= f <= hi:
            warnings.append(f"{key} = {f:.4g} px is unusual (expected {lo:g}-{hi:g} px)")
    if not errors and not 0.5 <= float(fx) / float(fy) <= 2.0:
        warnings.append(f"fx / fy = {float(fx) / float(fy):.3g} is unusual (square pixels give 1)")
    for key, size in (("cx", float(width)), ("cy", float(height))):
        c = float(values[key])
        if not -0.5 <= c <= size - 0.5:
            errors.append(f"{key} = {c:.4g} px lies outside the image (0-{size - 1:g})")
        elif abs(c - (size - 1) / 2) > size / 4:
            warnings.append(f"{key} = {c:.4g} px is far from the image centre {(size - 1) / 2:g}")
    return Findings(tuple(errors), tuple(warnings))


def check_intrinsics(
    fx: float, fy: float, cx: float, cy: float, width: int, height: int,
    name: str = "intrinsics",
) -> list[str]:
    """Raise ValueError on the errors of :func:`intrinsics_findings`; return its warnings."""
    return intrinsics_findings(fx, fy, cx, cy, width, height).raise_errors(name)


def depth_findings(depth: ArrayLike) -> Findings:
    """Errors and warnings of a depth image that should hold metres.

    Errors: not 2-D, an integer dtype (raw sensor units: convert with the depth scale first),
    no valid pixel (finite and > 0), a median valid depth above :data:`MAX_DISTANCE_M`
    (millimetres). Warnings: a median above :data:`FAR_DISTANCE_M`, fewer than 10 % valid
    pixels.

    >>> depth_findings(np.full((4, 4), 0.7, dtype=np.float32))
    Findings(errors=(), warnings=())
    >>> depth_findings(np.full((4, 4), 700, dtype=np.uint16)).errors[0][:28]
    'integer depth (uint16) holds'
    """
    arr = np.asarray(depth)
    if arr.ndim != 2:
        return Findings((f"expected a (H, W) depth image, got shape {arr.shape}",), ())
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return Findings((f"integer depth ({arr.dtype}) holds raw sensor units, not metres; "
                         "multiply by the depth scale (e.g. 0.001 for millimetres)",), ())
    values = arr.astype(np.float64)
    valid = np.isfinite(values) & (values > 0)
    if not valid.any():
        return Findings(("no valid pixel (all zero, negative or non-finite)",), ())
    errors: list[str] = []
    warnings: list[str] = []
    _distance_findings(values[valid], "depths", errors, warnings)
    if valid.mean() < 0.1:
        warnings.append(f"only {100 * valid.mean():.1f} % of the pixels hold a valid depth")
    return Findings(tuple(errors), tuple(warnings))


def check_depth(depth: ArrayLike, name: str = "depth") -> list[str]:
    """Raise ValueError on the errors of :func:`depth_findings`; return its warnings."""
    return depth_findings(depth).raise_errors(name)


def rgb_findings(image: ArrayLike) -> Findings:
    """Errors of a colour image: (H, W, 3) or (H, W, 4), uint8 (or float in [0, 1]).

    A single-channel or 16-bit image (a depth PNG passed as colour) is an error.

    >>> rgb_findings(np.zeros((2, 2, 3), dtype=np.uint8)).errors
    ()
    >>> rgb_findings(np.zeros((2, 2), dtype=np.uint16)).errors[0][:31]
    'expected an (H, W, 3) colour im'
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        hint = " (a depth image?)" if arr.ndim == 2 or arr.dtype == np.uint16 else ""
        return Findings((f"expected an (H, W, 3) colour image, got shape {arr.shape} "
                         f"{arr.dtype}{hint}",), ())
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[np.isfinite(arr)]
        if finite.size != arr.size or (finite.size and (finite.min() < 0 or finite.max() > 1)):
            return Findings(("float colour values must be finite and in [0, 1]",), ())
        return Findings()
    if arr.dtype != np.uint8:
        return Findings((f"expected 8-bit colour (uint8), got {arr.dtype} (a 16-bit depth "
                         "PNG passed as colour?)",), ())
    return Findings()


def check_rgb(image: ArrayLike, name: str = "rgb") -> list[str]:
    """Raise ValueError on the errors of :func:`rgb_findings`; return its warnings."""
    return rgb_findings(image).raise_errors(name)
