"""The stable score of AnyGrasp (§IV-A): how far the centre of mass is from the gripper plane.

After the grasp the gripper is assumed to turn its approach axis vertical, parallel to gravity.
The gravity moment about the jaw axis is then proportional to the perpendicular distance from
the object's centre of mass (uniform density) to the gripper plane, the plane spanned by the
approach (x) and jaw (y) axes; its normal is the gripper's height axis z. The distances of all
of an object's label grasps are divided by their maximum, so the score lies in [0, 1]; lower is
more stable. The score depends on the grasp point, view and in-plane angle, not on the depth.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.validation import as_array

__all__ = ["gripper_plane_distances", "normalize_stable_scores"]


def gripper_plane_distances(
    points: ArrayLike, height_axes: ArrayLike, center_of_mass: ArrayLike
) -> np.ndarray:
    """Perpendicular distances from the centre of mass to each grasp's gripper plane.

    Args:
        points: (P, 3) grasp points (the gripper-frame origins), metres, object frame.
        height_axes: (R, 3) unit gripper z axes (normals of the gripper planes), object frame.
        center_of_mass: (3,) centre of mass, metres, object frame.

    Returns:
        (P, R) float64 distances ``|(com - p) · z|`` in metres.

    >>> gripper_plane_distances([[0, 0, 0]], [[0, 0, 1], [1, 0, 0]], [0.01, 0, 0.03]).tolist()
    [[0.03, 0.01]]
    """
    p = as_array(points, "points", (None, 3))
    z = as_array(height_axes, "height_axes", (None, 3))
    com = as_array(center_of_mass, "center_of_mass", (3,))
    return np.asarray(np.abs((com[None, :] - p) @ z.T))


def normalize_stable_scores(distances: ArrayLike) -> np.ndarray:
    """Divide distances by their maximum so that the scores lie in [0, 1] (all 0 if max is 0).

    Args:
        distances: array of non-negative distances of all of one object's grasps.

    Returns:
        Array of the same shape, float64.

    >>> normalize_stable_scores([0.0, 0.01, 0.02]).tolist()
    [0.0, 0.5, 1.0]
    """
    d = as_array(distances, "distances")
    top = float(d.max()) if d.size else 0.0
    return d / top if top > 0 else np.zeros_like(d)
