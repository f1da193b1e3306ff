"""Pixel-level 4-DoF grasp labels from a parallel depth image (PLGP PDG-Generation, §III-D).

For every (strided) object pixel ``p`` of the camera depth image ``I_c``:

1. **Alignment** (eq. 12-13): back-project ``p`` with the intrinsics, ``p_C = I_c(p) K^-1 [p; 1]``,
   and map it into the parallel depth image ``I_p``: ``(c, r) = (eta x + (W_p-1)/2, eta y +
   (H_p-1)/2)``. The pixel must see the same surface in both images (``|I_p - I_c| <=
   align_tol``), otherwise something overhangs it in the parallel view.
2. **Search** over K angles ``theta_k = k pi / K`` (jaw axis ``(cos theta, -sin theta)`` in
   ``(column, row)``, the convention of :func:`grasplab.core.rect.pixel_grasp_rotations`) and
   grasp depths ``d in {k g : k g < L3}``; the fingertips are at ``z = I_c(p) + d``.
3. **Width**: along the jaw line, the finger's height band (L2 across) is collapsed by a
   minimum; a band pixel is *occupied* when its surface is above the fingertips (``I_p < z``).
   Closing symmetric jaws first touch the contiguous occupied run around ``p`` at half-width
   ``e`` (its farther end), so ``w = min(2 e + width_tolerance, L4)``; runs wider than L4 fail.
4. **Collision**: both finger footprints (L1 x L2 at ``±w/2``) must be free
   (``I_p >= z + clearance``, so the fingertips never graze the table).
5. **Flatness** (eq. 14): on each side the contact points ``Omega`` are where ``contact_rows``
   rows across the finger pad leave the object; a line (the trace of a vertical plane) is fitted
   and grasps whose residual standard deviation exceeds ``flatness_tol`` are dropped.
6. **Force closure** at ``mu`` (default 0.2): the contact normal is read from the parallel depth
   surface: its in-plane direction from the fitted contact line (slope ``b``) and its tilt from
   vertical from the depth step across the contact (``tan alpha = (1 / eta) / dI_p``). A side
   passes when the normal is inside the friction cone around the jaw axis:
   ``(1 + tan^2 alpha)(1 + b^2) <= 1 + mu^2``.

The deepest depth that passes the width and collision checks is then checked for flatness and
force closure (checking every depth costs J times more and rarely changes the answer); the
(pixel, angle) is labelled with that depth and width when it passes. The outputs are the network targets of
§IV-A (quality ``Q_p``, angle quality ``Q_theta``, width ``W_g = w / L4``) plus the chosen depth
per angle and the list of grasps as :class:`grasplab.core.rect.PixelGrasps`.

The per-angle search itself lives in :mod:`grasplab.labels.pixel_search`; dataset jobs (files,
resumable CLI) in :mod:`grasplab.labels.pixel_label_jobs`.

Frames and units: OpenCV camera frame, metres; pixels ``(u, v) = (column, row)``; depth images
float32 metres with 0 = invalid (an empty parallel pixel is free space).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.camera import CameraIntrinsics
from grasplab.core.gripper import GripperModel
from grasplab.core.rect import PixelGrasps
from grasplab.core.validation import as_array, check_depth_image, check_positive_scalar
from grasplab.labels.pixel_search import (
    SearchGeometry,
    band_min,
    best_grasps_at_angle,
    line_offsets,
    padded,
)

__all__ = ["PixelLabelConfig", "PixelLabels", "grasp_depth_grid", "pixel_labels"]



@dataclass(frozen=True)
class PixelLabelConfig:
    """Settings of :func:`pixel_labels` (metres, radians).

    Attributes:
        num_angles: K grasp angles ``k pi / K`` (PLGP: 18).
        depth_step: grasp depth sampling interval g (PLGP: 0.002).
        width_tolerance: opening added to the contact width (PLGP: 0.005).
        friction: friction coefficient mu of the force-closure check (PLGP: 0.2).
        flatness_tol: largest standard deviation of the contact points about their fitted line.
        contact_rows: rows across the finger pad used for the contact points (>= 2).
        align_tol: largest ``|I_p - I_c|`` at an aligned pixel.
        clearance: a finger footprint is free when its surface is at least this far below the
            fingertips (``I_p >= z + clearance``), so fingers never graze the table.
        stride: label every ``stride``-th object pixel in u and v (1 = all).
        chunk_size: pixels processed at once (memory ~ chunk_size x 40 kB).
    """

    num_angles: int = 18
    depth_step: float = 0.002
    width_tolerance: float = 0.005
    friction: float = 0.2
    flatness_tol: float = 0.0015
    contact_rows: int = 5
    align_tol: float = 0.005
    clearance: float = 0.001
    stride: int = 1
    chunk_size: int = 2048

    def __post_init__(self) -> None:
        for name in ("num_angles", "contact_rows", "stride", "chunk_size"):
            value = getattr(self, name)
            low = 2 if name == "contact_rows" else 1
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"PixelLabelConfig.{name}: expected an integer >= {low}, "
                                 f"got {value!r}")
        for name in ("depth_step", "friction", "flatness_tol", "align_tol"):
            check_positive_scalar(getattr(self, name), f"PixelLabelConfig.{name}")
        for name in ("width_tolerance", "clearance"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not np.isfinite(value) or value < 0:
                raise ValueError(f"PixelLabelConfig.{name}: expected >= 0 m, got {value!r}")


@dataclass(frozen=True, eq=False)
class PixelLabels:
    """Pixel-level labels of one frame (PLGP §IV-A targets).

    Attributes:
        quality: (H, W) float32, 1 where some angle has a grasp, else 0 (``Q_p``).
        angle_quality: (K, H, W) float32, 1 for labelled angles (``Q_theta``).
        width: (K, H, W) float32 opening divided by ``max_width`` (``W_g``), 0 where unlabelled.
        depth: (K, H, W) float32 grasp depth d in metres, 0 where unlabelled.
        grasps: one :class:`PixelGrasps` row ``[u, v, d, theta, w, 1]`` per labelled
            (pixel, angle), in (angle, row-major pixel) order.
        max_width: L4 in metres (``width * max_width`` is the opening).
        stride: the pixel stride used (unlabelled pixels between strided ones are 0).
    """

    quality: np.ndarray
    angle_quality: np.ndarray
    width: np.ndarray
    depth: np.ndarray
    grasps: PixelGrasps
    max_width: float
    stride: int = 1

    def __post_init__(self) -> None:
        quality = as_array(self.quality, "quality", (None, None), dtype=np.float32)
        shape = (None, *quality.shape)
        angle_quality = as_array(self.angle_quality, "angle_quality", shape, dtype=np.float32)
        full = angle_quality.shape
        arrays = {"quality": quality, "angle_quality": angle_quality,
                  "width": as_array(self.width, "width", full, dtype=np.float32),
                  "depth": as_array(self.depth, "depth", full, dtype=np.float32)}
        for name, value in arrays.items():
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        if not isinstance(self.grasps, PixelGrasps):
            raise ValueError(f"grasps: expected PixelGrasps, got {type(self.grasps).__name__}")
        object.__setattr__(self, "max_width", check_positive_scalar(self.max_width, "max_width"))
        object.__setattr__(self, "stride", int(self.stride))

    @property
    def num_angles(self) -> int:
        """K, the number of angle bins."""
        return int(self.angle_quality.shape[0])

    @property
    def angles(self) -> np.ndarray:
        """(K,) bin angles ``k pi / K`` in radians."""
        return np.arange(self.num_angles) * np.pi / self.num_angles


def grasp_depth_grid(max_depth: float, step: float) -> np.ndarray:
    """PLGP's depth grid ``D = {k g : 0 <= k g < L3}``.

    >>> grasp_depth_grid(0.01, 0.002).round(4).tolist()
    [0.0, 0.002, 0.004, 0.006, 0.008]
    """
    top, g = check_positive_scalar(max_depth, "max_depth"), check_positive_scalar(step, "step")
    count = int(np.ceil(top / g - 1e-9))
    return np.arange(count) * g


def _geometry(gripper: GripperModel, cfg: PixelLabelConfig, eta: float) -> SearchGeometry:
    l1, l2, l3, l4 = gripper.pdg_size
    num_band = int(np.floor(l2 * eta)) + 1
    band = np.unique(np.rint(np.arange(num_band) - (num_band - 1) / 2.0))
    return SearchGeometry(
        eta=eta,
        half_span=int(np.ceil((l4 / 2 + l1) * eta)) + 1,
        finger_px=max(1, int(np.ceil(l1 * eta))),
        band=band,
        rows=np.linspace(-l2 * eta / 2, l2 * eta / 2, cfg.contact_rows),
        depths=grasp_depth_grid(l3, cfg.depth_step),
        max_width=l4,
        tolerance=float(cfg.width_tolerance),
        friction=float(cfg.friction),
        flatness_tol=float(cfg.flatness_tol),
        depth_step=float(cfg.depth_step),
        clearance=float(cfg.clearance),
    )


def _aligned_pixels(
    depth: np.ndarray, mask: np.ndarray, intrinsics: CameraIntrinsics, free_img: np.ndarray,
    eta: float, cfg: PixelLabelConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strided object pixels that align (eq. 12-13): ``(uv (N, 2), centres (N, 2) (row, col), z0)``."""
    hp, wp = free_img.shape
    rows, cols = np.nonzero((mask > 0) & (depth > 0))
    keep = (rows % cfg.stride == 0) & (cols % cfg.stride == 0)
    rows, cols = rows[keep], cols[keep]
    z0 = depth[rows, cols].astype(np.float64)
    x = (cols - intrinsics.cx) / intrinsics.fx * z0
    y = (rows - intrinsics.cy) / intrinsics.fy * z0
    centres = np.stack([eta * y + (hp - 1) / 2.0, eta * x + (wp - 1) / 2.0], axis=1)
    ri, ci = np.rint(centres[:, 0]).astype(np.int64), np.rint(centres[:, 1]).astype(np.int64)
    inside = (ri >= 0) & (ri < hp) & (ci >= 0) & (ci < wp)
    seen = np.full(len(z0), np.inf)
    seen[inside] = free_img[ri[inside], ci[inside]]
    aligned = np.abs(seen - z0) <= cfg.align_tol
    uv = np.stack([cols, rows], axis=1)[aligned]
    return uv, centres[aligned], z0[aligned]


def _check_inputs(
    depth: ArrayLike, mask: ArrayLike, intrinsics: CameraIntrinsics, parallel_depth: ArrayLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(intrinsics, CameraIntrinsics):
        raise ValueError(f"intrinsics: expected CameraIntrinsics, got {type(intrinsics).__name__}")
    image = check_depth_image(depth, "depth")
    if image.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth: expected shape ({intrinsics.height}, {intrinsics.width}) to "
                         f"match the intrinsics, got {image.shape}")
    labels = as_array(mask, "mask", image.shape, dtype=np.int64, finite=False)
    parallel = check_depth_image(parallel_depth, "parallel_depth")
    free = np.where(parallel > 0, parallel, np.inf).astype(np.float32)
    return image, labels, free


def pixel_labels(
    depth: ArrayLike,
    mask: ArrayLike,
    intrinsics: CameraIntrinsics,
    parallel_depth: ArrayLike,
    eta: float,
    gripper: GripperModel | None = None,
    config: PixelLabelConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> PixelLabels:
    """Compute PLGP pixel-level grasp labels of one frame (module docstring).

    Args:
        depth: (H, W) camera depth ``I_c``, metres (0 = invalid), of the camera ``intrinsics``.
        mask: (H, W) int instance mask, > 0 on objects (``object_id + 1``).
        intrinsics: pinhole intrinsics of ``depth``.
        parallel_depth: (H_p, W_p) parallel depth ``I_p`` of the same camera, metres (0 = empty).
        eta: the parallel projection ratio of ``parallel_depth``, pixels per metre.
        gripper: gripper geometry; its ``pdg_size`` gives ``[L1, L2, L3, L4]``.
        config: search and check settings.
        progress: optional callback, called with 1 after each angle.

    Returns:
        :class:`PixelLabels` with maps of shape (H, W) and (K, H, W).

    Raises:
        ValueError: bad images (shapes, millimetres, all invalid) or settings.
    """
    grip, cfg = gripper or GripperModel(), config or PixelLabelConfig()
    image, labels, free = _check_inputs(depth, mask, intrinsics, parallel_depth)
    geo = _geometry(grip, cfg, check_positive_scalar(eta, "eta"))
    uv, centres, z0 = _aligned_pixels(image, labels, intrinsics, free, geo.eta, cfg)
    pad = int(np.ceil(np.hypot(geo.half_span, geo.band.max(initial=0) + geo.rows.max()))) + 2
    free_pad = padded(free, pad)
    row_stride = free_pad.shape[1]
    z0_32 = z0.astype(np.float32)
    flat_centres = ((np.rint(centres[:, 0]).astype(np.int64) + pad) * row_stride
                    + np.rint(centres[:, 1]).astype(np.int64) + pad)
    num_k, (h, w) = cfg.num_angles, image.shape
    angle_q = np.zeros((num_k, h, w), np.float32)
    width_map, depth_map = np.zeros_like(angle_q), np.zeros_like(angle_q)
    rows_out: list[np.ndarray] = []
    for k in range(num_k):
        theta = k * np.pi / num_k
        across = np.array([np.cos(theta), np.sin(theta)])
        offsets = np.unique(np.rint(geo.band[:, None] * across).astype(np.int64), axis=0)
        band_img = band_min(free, offsets, pad)
        lines = line_offsets(theta, geo, row_stride)
        for lo in range(0, len(z0), cfg.chunk_size):
            sl = slice(lo, lo + cfg.chunk_size)
            found, wid, dep = best_grasps_at_angle(band_img, free_pad, flat_centres[sl], z0_32[sl],
                                           lines, geo)
            cols, rws = uv[sl][found, 0], uv[sl][found, 1]
            angle_q[k, rws, cols] = 1.0
            width_map[k, rws, cols] = wid[found] / geo.max_width
            depth_map[k, rws, cols] = dep[found]
            rows_out.append(np.column_stack([cols, rws, dep[found], np.full(len(cols), theta),
                                             wid[found], np.ones(len(cols))]))
        if progress is not None:
            progress(1)
    grasps = PixelGrasps(np.concatenate(rows_out) if rows_out else np.zeros((0, 6)))
    return PixelLabels(quality=angle_q.max(axis=0, initial=0.0), angle_quality=angle_q,
                       width=width_map, depth=depth_map, grasps=grasps,
                       max_width=geo.max_width, stride=cfg.stride)
