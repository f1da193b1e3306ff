"""Camera placement around the tray: GraspNet-style rig trajectory and PLGP random views.

All poses are ``T_world_cam`` 4×4 float64 in the OpenCV camera convention (x right, y down,
z forward, i.e. the optical axis). Metres and degrees as named.

Rig trajectory (:func:`rig_camera_poses`). GraspNet-1Billion (§3.2) moves a camera on a robot arm
along a fixed trajectory of 256 viewpoints on a quarter sphere around the scene. Ours is a
reproducible stand-in with the same structure: the viewpoints lie on a sphere of ``radius`` around
``center``, on ``num_rings`` rings of constant elevation (evenly spaced in ``elevation_deg``, low
to high) with ``num_views / num_rings`` azimuths per ring evenly spaced over ``azimuth_deg``
(a half turn by default, so azimuth × the upper hemisphere = a quarter sphere). Successive rings
are swept in alternating directions (a serpentine path, as an arm would move), so consecutive
views are neighbours. Elevations start at 30° by default because lower views see only the walls
of the tray. Every camera looks at ``center`` with its x axis horizontal (no roll).

PLGP views (:func:`plgp_camera_pose`, PLGP §III-B eq. 2-4). ``T = T_i · T_o``: ``T_i`` looks
straight down at the tray centre from ``height``; ``T_o`` shifts the camera in ``T_i``'s x-y
plane by ``t_o = [2lα₁ − l, 2lα₂ − l, 0]`` (α uniform in [0, 1]) and turns it back toward the
centre. Eq. 4 gives that turn as Euler angles ``±atan(t_o/z)``, which point the axis at the centre
only approximately when both offsets are non-zero; we implement the stated intent exactly (the
optical axis passes through the centre, the x axis stays in the plane of ``T_i``'s x axis).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.validation import RngLike, as_array, as_rng, check_positive_scalar

__all__ = [
    "look_at",
    "plgp_camera_pose",
    "plgp_initial_pose",
    "rig_camera_poses",
    "rig_view_grid",
]


def look_at(eye: ArrayLike, target: ArrayLike, up: ArrayLike = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Pose of an OpenCV camera at ``eye`` whose optical axis (+z) points at ``target``.

    The camera's x axis is ``z × up`` (horizontal for ``up`` = world z), so image "up" (−y) leans
    toward ``up``. When the view is parallel to ``up``, world +y (or +x) is used as the hint.

    Args:
        eye: (3,) camera centre in the world (m).
        target: (3,) point the camera looks at (m).
        up: (3,) world direction that should appear upward in the image.

    Returns:
        (4, 4) ``T_world_cam``.

    Raises:
        ValueError: ``eye`` equals ``target`` or ``up`` is zero.

    >>> T = look_at((0.0, 0.0, 1.0), (0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0))
    >>> (T[:3, 2] + 0.0).tolist(), (T[:3, 0] + 0.0).tolist()
    ([0.0, 0.0, -1.0], [1.0, 0.0, 0.0])
    """
    e = as_array(eye, "eye", (3,))
    forward = as_array(target, "target", (3,)) - e
    hint = as_array(up, "up", (3,))
    norm = np.linalg.norm(forward)
    if norm < 1e-12 or np.linalg.norm(hint) < 1e-12:
        raise ValueError("look_at: eye and target must differ and up must be non-zero")
    z = forward / norm
    x = np.cross(z, hint)
    for fallback in ((0.0, 1.0, 0.0), (1.0, 0.0, 0.0)):
        if np.linalg.norm(x) > 1e-9 * np.linalg.norm(hint):
            break
        x = np.cross(z, fallback)
    x = x / np.linalg.norm(x)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, np.cross(z, x), z, e
    return T


def rig_view_grid(
    num_views: int = 256,
    num_rings: int = 16,
    elevation_deg: tuple[float, float] = (30.0, 80.0),
    azimuth_deg: tuple[float, float] = (-90.0, 90.0),
) -> np.ndarray:
    """(elevation, azimuth) in degrees of each rig view, in trajectory (serpentine) order.

    Returns:
        (num_views, 2) float64.

    Raises:
        ValueError: ``num_views`` is not a positive multiple of ``num_rings`` or a range is bad.
    """
    if num_rings < 1 or num_views < 1 or num_views % num_rings:
        raise ValueError(f"num_views ({num_views}) must be a positive multiple of num_rings ({num_rings})")
    lo, hi = elevation_deg
    if not (-90.0 <= lo <= hi <= 90.0):
        raise ValueError(f"elevation_deg must satisfy -90 <= low <= high <= 90, got {elevation_deg}")
    per_ring = num_views // num_rings
    elev = np.linspace(lo, hi, num_rings)
    azim = np.linspace(azimuth_deg[0], azimuth_deg[1], per_ring)
    grid_az = np.tile(azim, (num_rings, 1))
    grid_az[1::2] = grid_az[1::2, ::-1]  # serpentine sweep
    grid_el = np.repeat(elev[:, None], per_ring, axis=1)
    return np.stack([grid_el.ravel(), grid_az.ravel()], axis=1)


def rig_camera_poses(
    num_views: int = 256,
    *,
    center: ArrayLike = (0.0, 0.0, 0.0),
    radius: float = 0.7,
    num_rings: int = 16,
    elevation_deg: tuple[float, float] = (30.0, 80.0),
    azimuth_deg: tuple[float, float] = (-90.0, 90.0),
    view_ids: Sequence[int] | None = None,
) -> np.ndarray:
    """The fixed rig trajectory (GraspNet-1Billion §3.2 style), see the module docstring.

    Args:
        num_views: views on the full trajectory (256 as in GraspNet-1Billion).
        center: (3,) point every camera looks at (the tray centre), world frame (m).
        radius: camera distance from ``center`` (m).
        num_rings: rings of constant elevation; must divide ``num_views``.
        elevation_deg: (low, high) elevation above the horizontal plane of ``center``.
        azimuth_deg: (start, end) azimuth about world z, from world +x.
        view_ids: return only these views of the trajectory (e.g. ``range(0, 256, 16)``).

    Returns:
        (V, 4, 4) ``T_world_cam``, V = ``num_views`` or ``len(view_ids)``.

    Raises:
        ValueError: bad counts, ranges or view ids.
    """
    c = as_array(center, "center", (3,))
    r = check_positive_scalar(radius, "radius")
    grid = np.deg2rad(rig_view_grid(num_views, num_rings, elevation_deg, azimuth_deg))
    if view_ids is not None:
        ids = np.asarray(view_ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= num_views):
            raise ValueError(f"view_ids must lie in [0, {num_views}), got {ids.tolist()}")
        grid = grid[ids]
    el, az = grid[:, 0], grid[:, 1]
    eyes = c + r * np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)
    poses = np.empty((len(grid), 4, 4))
    for i, eye in enumerate(eyes):
        poses[i] = look_at(eye, c, up=(0.0, 0.0, 1.0))
    return poses


def plgp_initial_pose(center: ArrayLike = (0.0, 0.0, 0.0), height: float = 0.7) -> np.ndarray:
    """PLGP's ``T_i``: the camera ``height`` above ``center``, looking straight down.

    The camera's x axis is world +x and its y axis world −y (a half turn about x).

    >>> plgp_initial_pose((0.0, 0.0, 0.0), 0.5)[:3, 3].tolist()
    [0.0, 0.0, 0.5]
    """
    c = as_array(center, "center", (3,))
    h = check_positive_scalar(height, "height")
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = c + (0.0, 0.0, h)
    return T


def plgp_camera_pose(
    rng: RngLike = None,
    *,
    center: ArrayLike = (0.0, 0.0, 0.0),
    height: float = 0.7,
    max_offset: float = 0.1,
) -> np.ndarray:
    """A random PLGP camera pose ``T = T_i · T_o`` (PLGP §III-B, eq. 2-4) looking at ``center``.

    Args:
        rng: random generator or seed (draws α₁, α₂ ~ U[0, 1]).
        center: (3,) tray centre in the world (m).
        height: ``z``, the height of ``T_i`` above the centre (m).
        max_offset: ``l``, the largest shift along ``T_i``'s x and y axes (m), ≥ 0.

    Returns:
        (4, 4) ``T_world_cam`` (OpenCV convention) whose optical axis passes through ``center``.
    """
    gen = as_rng(rng)
    if not np.isfinite(max_offset) or max_offset < 0:
        raise ValueError(f"max_offset must be a finite number >= 0, got {max_offset}")
    c = as_array(center, "center", (3,))
    T_i = plgp_initial_pose(c, height)
    alpha = gen.random(2)
    t_o = np.array([2 * max_offset * alpha[0] - max_offset, 2 * max_offset * alpha[1] - max_offset, 0.0])
    eye = T_i[:3, :3] @ t_o + T_i[:3, 3]
    return look_at(eye, c, up=-T_i[:3, 1])
