"""Conversions between 6-DoF grasps and planar grasps: rectangles and PLGP 4-DoF grasps.

The two image-space formats (:mod:`grasplab.core.planar`) and their conversions to and
from :class:`GraspGroup`:

* :class:`RectGraspGroup`, graspnetAPI's 7-column rectangle
  ``[center_x, center_y, open_x, open_y, height, score, object_id]`` (reference protocol §2);
  the first five values are pixels. Conversions follow the reference rules exactly, with
  the camera intrinsics passed in (its hard-coded matrices are ``camera.REALSENSE`` and
  ``camera.KINECT``).
* :class:`PixelGrasps`, the PLGP 4-DoF grasp ``[u, v, d, theta, w]`` (paper eq. 7) plus a
  score column.

Pixel coordinates are (u, v) = (column, row); the camera frame is OpenCV (x right, y
down, z forward); depth images are float32 metres with 0 = invalid; lengths in metres.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.camera import CameraIntrinsics, project_points
from grasplab.core.grasp_group import GraspGroup
from grasplab.core.planar import PixelGrasps, RectGraspGroup
from grasplab.core.rotations import orthonormalize as nearest_rotations
from grasplab.core.validation import as_array, check_depth_image

logger = logging.getLogger(__name__)

REFERENCE_TOP_DOWN_MIN_COS = 0.99
"""Reference rule: only grasps with ``R[2, 0] > 0.99`` (approach within ~8.1° of +z) map to rects."""

REFERENCE_DEPTH_BASE = 0.02
"""Gripper-frame x of the rectangle key points (the palm / finger bases), metres."""

REFERENCE_GRASP_HEIGHT = 0.02
"""Finger height used for the rectangle key points and the rect → 6-DoF depth column."""

_EPS = 1e-8  # reference degenerate-rectangle threshold


# ---------------------------------------------------------------------- camera helpers
def _backproject(uv: np.ndarray, z: np.ndarray, intr: CameraIntrinsics) -> np.ndarray:
    """Back-project (N, 2) pixels at depths (N,) to (N, 3) camera-frame points."""
    x = (uv[:, 0] - intr.cx) * z / intr.fx
    y = (uv[:, 1] - intr.cy) * z / intr.fy
    return np.stack([x, y, z], axis=1)


def _sample_depth(depth: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Depth at the rounded pixels (reference ``np.round``); 0 where outside the image."""
    h, w = depth.shape
    col = np.rint(uv[:, 0]).astype(np.int64)
    row = np.rint(uv[:, 1]).astype(np.int64)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    out = np.zeros(len(uv), dtype=np.float64)
    out[inside] = depth[row[inside], col[inside]]
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# ---------------------------------------------------------------------- 6-DoF <-> rect
def grasps_to_rects(group: GraspGroup, intrinsics: CameraIntrinsics) -> RectGraspGroup:
    """Convert 6-DoF grasps (camera frame) to rectangles, exactly as the reference.

    Only grasps with ``R[2, 0] > 0.99`` (approach within ~8.1° of camera +z) are kept.
    Four key points in the gripper frame, built in float32 like the reference, are
    mapped to the camera and projected: the center ``(-0.02, 0, 0)``, the open point
    ``(-0.02, -w/2, 0)`` and ``(-0.02, -w/2, ±0.01)``, whose pixel distance is the height.

    Args:
        group: grasps in the camera frame.
        intrinsics: the camera (e.g. ``camera.REALSENSE`` for the reference realsense).

    Returns:
        One rectangle per kept grasp, in the group's row order (empty if none qualify).
        Grasps with a key point at or behind the camera plane (z <= 0) are dropped too.
    """
    rot = group.rotations
    keep = rot[:, 2, 0] > REFERENCE_TOP_DOWN_MIN_COS
    rot, t = rot[keep], group.translations[keep]
    widths = group.widths[keep]
    key = np.zeros((len(rot), 4, 3), dtype=np.float32)
    key[:, :, 0] -= REFERENCE_DEPTH_BASE
    key[:, 1:, 1] -= (widths[:, None] / 2).astype(np.float32)
    key[:, 2, 2] += REFERENCE_GRASP_HEIGHT / 2
    key[:, 3, 2] -= REFERENCE_GRASP_HEIGHT / 2
    cam = np.matmul(rot, key.transpose(0, 2, 1)).transpose(0, 2, 1) + t[:, None, :]
    in_front = (cam[:, :, 2] > 0).all(axis=1)
    if not in_front.all():
        logger.debug("grasps_to_rects: dropped %d grasps behind the camera", (~in_front).sum())
    uv = project_points(cam[in_front].reshape(-1, 3), intrinsics)[0].reshape(-1, 4, 2)
    heights = np.linalg.norm(uv[:, 2] - uv[:, 3], axis=1)
    rows = np.column_stack(
        [uv[:, 0], uv[:, 1], heights, group.scores[keep][in_front],
         group.object_ids[keep][in_front]]
    )
    return RectGraspGroup(rows)


def rects_to_grasps(
    rects: RectGraspGroup,
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    *,
    orthonormalize: bool = False,
) -> GraspGroup:
    """Convert rectangles to 6-DoF grasps (camera frame), exactly as the reference.

    The depth at the rounded center pixel back-projects the center, open and upper
    points; ``R = [(0, 0, 1) | unit(open - center) | unit(upper - center)]`` (columns,
    not re-orthonormalised, as the reference), ``width = 2|open - center|``,
    ``height = 2|upper - center|``, ``depth = 0.02``, ``t`` = the back-projected center.
    Rectangles with zero depth at the center, centers outside the image, or degenerate
    geometry are dropped (logged).

    Note that the reference rect sits at the palm (x = -0.02) and its open point at
    jaw y = -w/2, so 6-DoF → rect → 6-DoF returns ``t - 0.02 a`` and the jaw-flipped
    rotation ``R diag(1, -1, -1)``, the same physical grasp.

    Args:
        rects: rectangle grasps in pixels.
        depth: (H, W) float32 depth image in metres (0 = invalid).
        intrinsics: the camera of the depth image.
        orthonormalize: replace each R by the nearest rotation. The reference does not;
            with ``fx != fy`` its axes are skewed (~2e-4 for the realsense, ~5e-4 for the
            kinect preset, inside the group's tolerance); strongly non-square pixels need
            this option to pass validation.

    Returns:
        The grasps of the valid rectangles, in input order.

    Raises:
        ValueError: bad depth image, or skewed rotations without ``orthonormalize``.
    """
    depth = check_depth_image(depth, "depth")
    centers, opens, uppers = rects.center_points, rects.open_points, rects.upper_points
    z = _sample_depth(depth, centers)
    with np.errstate(invalid="ignore"):
        valid = (
            (np.abs(z) > _EPS)
            & (np.linalg.norm(centers - opens, axis=1) > _EPS)
            & (np.linalg.norm(centers - uppers, axis=1) > _EPS)
            & (np.linalg.norm(uppers - opens, axis=1) > _EPS)
        )
    if not valid.all():
        logger.debug("rects_to_grasps: dropped %d of %d rectangles", (~valid).sum(), len(valid))
    z = z[valid]
    c3 = _backproject(centers[valid], z, intrinsics)
    o3 = _backproject(opens[valid], z, intrinsics)
    u3 = _backproject(uppers[valid], z, intrinsics)
    rot = np.zeros((len(z), 3, 3))
    rot[:, 2, 0] = 1.0
    rot[:, :, 1] = _unit(o3 - c3)
    rot[:, :, 2] = _unit(u3 - c3)
    if orthonormalize and len(rot):
        rot = nearest_rotations(rot)
    return GraspGroup.from_components(
        c3,
        rot,
        widths=2.0 * np.linalg.norm(o3 - c3, axis=1),
        depths=REFERENCE_GRASP_HEIGHT,
        scores=rects.scores[valid],
        heights=2.0 * np.linalg.norm(u3 - c3, axis=1),
        object_ids=rects.object_ids[valid],
    )


# ---------------------------------------------------------------------- 6-DoF <-> PLGP 4-DoF
def pixel_grasp_rotations(thetas: ArrayLike) -> np.ndarray:
    """Graspnet-frame rotations (N, 3, 3) of top-down PLGP grasps with jaw angles ``thetas``.

    PLGP eq. 9 gives ``R9 = [[c, s, 0], [-s, c, 0], [0, 0, 1]]`` whose columns are its
    gripper axes in the camera frame: closing direction ``(c, -s, 0)``, finger direction
    ``(s, c, 0)`` and approach ``(0, 0, 1)``. The graspnet frame orders them as approach,
    jaw, height: ``R = [R9[:, 2] | R9[:, 0] | R9[:, 1]]``, so det R = +1. In the image
    (v pointing down) the jaw axis is ``(du, dv) = (cos theta, -sin theta)``: theta is
    counter-clockwise as seen on screen, from the +u axis.

    Args:
        thetas: (N,) jaw angles in radians.

    Returns:
        (N, 3, 3) proper rotations, columns approach, jaw, height (camera frame).
    """
    angles = as_array(thetas, "thetas", (None,))
    c, s = np.cos(angles), np.sin(angles)
    rot = np.zeros((len(c), 3, 3))
    rot[:, 2, 0] = 1.0
    rot[:, 0, 1], rot[:, 1, 1] = c, -s
    rot[:, 0, 2], rot[:, 1, 2] = s, c
    return rot


def pixel_grasps_to_grasps(
    pixel_grasps: PixelGrasps, depth: np.ndarray, intrinsics: CameraIntrinsics
) -> GraspGroup:
    """Lift PLGP 4-DoF grasps to 6-DoF grasps in the camera frame (paper eq. 8-9).

    Eq. 8 puts the gripper center at the surface point ``I(p) K^-1 [p; 1]`` moved by ``d``
    along camera +z (the paper prints ``K^-1 / I(p)``; back-projection multiplies by the
    depth). In the graspnet convention that is a grasp point ``t`` = the
    back-projected surface point (depth ``I(p)`` read at the rounded pixel) with
    ``depth = d``: the fingertips sit at ``t + d a`` with approach ``a = (0, 0, 1)``.
    Rotations follow :func:`pixel_grasp_rotations`. Grasps whose pixel is outside the
    image or has zero depth are dropped (logged). Heights are 0.02 m, object ids -1.

    Args:
        pixel_grasps: the 4-DoF grasps.
        depth: (H, W) float32 depth image in metres (0 = invalid).
        intrinsics: the camera of the depth image.

    Returns:
        The 6-DoF grasps of the valid pixels, in input order.
    """
    depth = check_depth_image(depth, "depth")
    z = _sample_depth(depth, pixel_grasps.pixels)
    valid = z > 0
    if not valid.all():
        logger.debug("pixel_grasps_to_grasps: dropped %d invalid-depth grasps", (~valid).sum())
    return GraspGroup.from_components(
        _backproject(pixel_grasps.pixels[valid], z[valid], intrinsics),
        pixel_grasp_rotations(pixel_grasps.thetas[valid]),
        widths=pixel_grasps.widths[valid],
        depths=pixel_grasps.depths[valid],
        scores=pixel_grasps.scores[valid],
    )


def grasps_to_pixel_grasps(
    group: GraspGroup,
    intrinsics: CameraIntrinsics,
    min_cos: float = REFERENCE_TOP_DOWN_MIN_COS,
) -> PixelGrasps:
    """Project 6-DoF grasps (camera frame) to PLGP 4-DoF grasps.

    Keeps grasps in front of the camera whose approach has ``R[2, 0] > min_cos``
    (default: the reference rect rule, ~8.1°). ``(u, v)`` is the projected grasp point,
    ``d`` the depth column, ``w`` the width, and theta the angle of the jaw axis projected
    on the image plane, ``atan2(-R[1, 1], R[0, 1])`` in (-pi, pi] (the inverse of
    :func:`pixel_grasp_rotations`; theta and theta + pi are the two jaw orders).

    Args:
        group: grasps in the camera frame.
        intrinsics: the camera to project with.
        min_cos: minimum cosine between approach and camera +z.

    Returns:
        One pixel grasp per kept grasp, in row order.
    """
    rot = group.rotations
    keep = (rot[:, 2, 0] > min_cos) & (group.translations[:, 2] > 0)
    rot = rot[keep]
    uv = project_points(group.translations[keep], intrinsics)[0]
    thetas = np.arctan2(-rot[:, 1, 1], rot[:, 0, 1])
    return PixelGrasps(
        np.column_stack(
            [uv, group.depths[keep], thetas, group.widths[keep], group.scores[keep]]
        )
    )
