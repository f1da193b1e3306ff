"""Seed-side grasp targets of GSNet training: object-frame graspness labels seen from the camera.

The graspness labels (:mod:`grasplab.labels.graspness`) index approach views and in-plane angles
in each object's frame; the network predicts them in the camera frame. For an object posed by
``R_cam_obj`` (a rotation, or a reflection after a flip augmentation),
:func:`camera_grasp_index` gives per camera-frame view ``j`` the object-frame view whose
direction lands nearest (``view_index[j]``), and per camera angle bin ``a`` of that view the
object-frame angle bin whose jaw axis lands nearest (``angle_index[j, a]``, up to the jaw
symmetry θ ≡ θ + π). The public GSNet labels re-index the views only and keep the angle index;
re-indexing the angle as well makes a decoded label the labelled grasp up to the grid spacing.

:func:`seed_view_targets` and :func:`seed_grasp_targets` look the targets of seeds up (numpy):
view graspness (M, V) in camera-view order, and for the chosen camera views the score, width
and stable maps with the angle axis in camera order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.labels.graspness import SceneGraspLabels
from grasplab.labels.graspness_frame import view_targets

__all__ = ["SeedTargets", "camera_grasp_index", "seed_grasp_targets", "seed_view_targets"]


def _jaw_axes(views: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(V, A, 3) jaw axes of the grasps approaching along ``-views`` at ``angles``."""
    num_v, num_a = len(views), len(angles)
    rot = rotation_from_view(np.repeat(-views, num_a, axis=0), np.tile(angles, num_v))
    return rot[:, :, 1].reshape(num_v, num_a, 3)


def camera_grasp_index(
    R_cam_obj: ArrayLike,
    num_views: int = 300,
    num_angles: int = 12,  # noqa: N803
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame (view, angle) bins -> the object-frame bins of the labels.

    Args:
        R_cam_obj: (3, 3) orthogonal matrix (rotation or reflection) from object to camera frame.
        num_views: V reference views.
        num_angles: A angles i·π/A.

    Returns:
        ``view_index`` (V,) int64 and ``angle_index`` (V, A) int64.

    >>> v, a = camera_grasp_index(np.eye(3), 10, 4)
    >>> v.tolist() == list(range(10)), a[3].tolist()
    (True, [0, 1, 2, 3])
    """
    rot = np.asarray(R_cam_obj, dtype=np.float64)
    if rot.shape != (3, 3) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-5):
        raise ValueError(f"R_cam_obj: expected an orthogonal (3, 3) matrix, got {rot}")
    views = approach_views(num_views)
    angles = np.arange(num_angles) * np.pi / num_angles
    view_index = np.argmax((views @ rot.T) @ views.T, axis=0)  # rows: object views, columns: camera
    jaws_cam = _jaw_axes(views, angles)  # (V, A, 3) camera-frame template grasps
    jaws_obj = _jaw_axes(views[view_index], angles) @ rot.T  # (V, A, 3) object grasps posed
    angle_index = np.argmax(np.abs(np.einsum("vak,vbk->vab", jaws_cam, jaws_obj)), axis=2)
    return view_index.astype(np.int64), angle_index.astype(np.int64)


def seed_view_targets(labels: SceneGraspLabels, rows: ArrayLike, view_maps: ArrayLike) -> np.ndarray:
    """View graspness of seeds in camera-view order.

    Args:
        labels: the scene's object-frame labels.
        rows: (M,) label rows of the seeds (-1 = no label: all zeros).
        view_maps: (M, V) object-frame view per camera view (the seed's object's ``view_index``).

    Returns:
        (M, V) float32 in [0, 1].
    """
    r = np.asarray(rows, dtype=np.int64)
    maps = np.asarray(view_maps, dtype=np.int64)
    out = labels.view_graspness[np.maximum(r, 0)[:, None], maps].astype(np.float32)
    out[r < 0] = 0.0
    return out


class SeedTargets:
    """Score, width and stable targets of seeds for their chosen camera views.

    Attributes:
        score: (M, A, D) float32 in [0, 1] (0 = no free grasp).
        width: (M, A, D) float32 metres (0 = no free grasp).
        stable: (M, A) float32 in [0, 1] (zeros when the labels carry none).
        has_stable: whether the labels carry stable scores.
    """

    def __init__(self, score: np.ndarray, width: np.ndarray, stable: np.ndarray, has_stable: bool) -> None:
        self.score, self.width, self.stable, self.has_stable = score, width, stable, has_stable


def seed_grasp_targets(
    labels: SceneGraspLabels, rows: ArrayLike, object_views: ArrayLike, angle_maps: ArrayLike
) -> SeedTargets:
    """Targets of seeds for chosen views, angle axis re-indexed to the camera's angle bins.

    Args:
        labels: the scene's object-frame labels.
        rows: (M,) label rows (-1 = no label: zeros).
        object_views: (M,) object-frame view of each seed's chosen camera view.
        angle_maps: (M, A) object-frame angle per camera angle bin of that view.

    Returns:
        :class:`SeedTargets`.
    """
    r = np.asarray(rows, dtype=np.int64)
    v = np.asarray(object_views, dtype=np.int64)
    amap = np.asarray(angle_maps, dtype=np.int64)
    valid = r >= 0
    scores, widths, stable = view_targets(labels, np.maximum(r, 0), v)
    take = np.arange(len(r))[:, None]
    scores, widths = scores[take, amap], widths[take, amap]
    stable_out = np.zeros(amap.shape, np.float32) if stable is None else stable[take, amap]
    for arr in (scores, widths, stable_out):
        arr[~valid] = 0.0
    return SeedTargets(scores, widths, stable_out, stable is not None)
