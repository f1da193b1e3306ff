"""AnyGrasp's same-grasp rule between two frames (anygrasp.txt §IV-B2), pure numpy.

Two grasps, each expressed in the frame of the object it lies on, are the *same grasp* when

    d = Δt / w_max + γ ΔR / π ≤ σ

with Δt the distance of their grasp points (m), ΔR the angle of their relative rotation (rad),
``w_max`` a length scale (the paper prints 0.01 m; the gripper's max width 0.1 m gives a 1 cm
tolerance), γ = 0.1 and σ = 0.1; grasps on different objects never match. A parallel-jaw grasp
turned by π about its approach axis is the same physical grasp, so ΔR is by default the smaller
angle of the two jaw orders (``symmetric=True``).

The same distance in a camera or world frame is the pose distance of the nearest-grasp
heuristic. Training (the contrastive labels) and detection (the trackers) both use this module.
Units: metres, radians.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist

from grasplab.core.validation import as_array

__all__ = [
    "DEFAULT_GAMMA",
    "DEFAULT_SIGMA",
    "DEFAULT_W_MAX",
    "pairwise_rotation_angles",
    "pose_distance_matrix",
    "same_grasp_labels",
]

#: Weight γ of the rotation term.
DEFAULT_GAMMA = 0.1
#: Threshold σ on d.
DEFAULT_SIGMA = 0.1
#: Length scale w_max (m): the gripper's max width (the paper prints 0.01 m; a parameter).
DEFAULT_W_MAX = 0.1


def pairwise_rotation_angles(rotations_a: ArrayLike, rotations_b: ArrayLike,
                             symmetric: bool = True) -> np.ndarray:
    """(N, M) angles (rad, in [0, π]) between every rotation of ``a`` and every one of ``b``.

    Args:
        rotations_a: (N, 3, 3) grasp rotations (columns approach, jaw axis, height).
        rotations_b: (M, 3, 3).
        symmetric: also try ``b`` turned by π about its approach axis and keep the smaller
            angle (the jaw order of a parallel gripper does not matter).

    >>> import numpy as np
    >>> flip = np.diag([1.0, -1.0, -1.0])
    >>> float(pairwise_rotation_angles(np.eye(3)[None], flip[None])[0, 0])
    0.0
    """
    ra = as_array(rotations_a, "rotations_a", (None, 3, 3))
    rb = as_array(rotations_b, "rotations_b", (None, 3, 3))
    cols = [ra[:, :, k] @ rb[:, :, k].T for k in range(3)]  # (N, M) dot products per column
    trace = cols[0] + cols[1] + cols[2]
    if symmetric:
        trace = np.maximum(trace, cols[0] - cols[1] - cols[2])
    return np.asarray(np.arccos((np.clip(trace, -1.0, 3.0) - 1.0) / 2.0))


def pose_distance_matrix(rotations_a: ArrayLike, translations_a: ArrayLike,
                         rotations_b: ArrayLike, translations_b: ArrayLike, *,
                         w_max: float = DEFAULT_W_MAX, gamma: float = DEFAULT_GAMMA,
                         symmetric: bool = True) -> np.ndarray:
    """(N, M) distances ``d = Δt / w_max + γ ΔR / π`` between two sets of grasp poses.

    Args:
        rotations_a: (N, 3, 3); translations_a: (N, 3) metres, one frame.
        rotations_b: (M, 3, 3); translations_b: (M, 3) metres, the same frame.
        w_max: length scale (m), > 0.
        gamma: weight of the rotation term, >= 0.
        symmetric: see :func:`pairwise_rotation_angles`.

    Raises:
        ValueError: bad shapes, non-finite values or a non-positive ``w_max``.

    >>> import numpy as np
    >>> R = np.eye(3)[None]
    >>> round(float(pose_distance_matrix(R, [[0, 0, 0]], R, [[0.01, 0, 0]])[0, 0]), 9)
    0.1
    """
    if not np.isfinite(w_max) or w_max <= 0:
        raise ValueError(f"w_max: expected a positive length in metres, got {w_max}")
    if not np.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma: expected >= 0, got {gamma}")
    ta = as_array(translations_a, "translations_a", (None, 3))
    tb = as_array(translations_b, "translations_b", (None, 3))
    angles = pairwise_rotation_angles(rotations_a, rotations_b, symmetric)
    if angles.shape != (len(ta), len(tb)):
        raise ValueError(f"rotations and translations disagree: {angles.shape} vs "
                         f"({len(ta)}, {len(tb)})")
    dist = cdist(ta, tb)
    return np.asarray(dist / w_max + gamma * angles / np.pi)


def same_grasp_labels(rotations_a: ArrayLike, translations_a: ArrayLike, objects_a: ArrayLike,
                      rotations_b: ArrayLike, translations_b: ArrayLike, objects_b: ArrayLike, *,
                      w_max: float = DEFAULT_W_MAX, gamma: float = DEFAULT_GAMMA,
                      sigma: float = DEFAULT_SIGMA, symmetric: bool = True) -> np.ndarray:
    """(N, M) bool: which grasps of ``a`` and ``b`` are the same grasp (module docstring).

    Poses must be in the frame of the object each grasp lies on (``T_obj_grasp``); object ids
    below 0 (unknown) never match.

    Args:
        rotations_a, translations_a: (N, 3, 3) and (N, 3), object frame, metres.
        objects_a: (N,) object ids.
        rotations_b, translations_b, objects_b: the same for M grasps.
        w_max, gamma, sigma: the rule's constants.
        symmetric: see :func:`pairwise_rotation_angles`.
    """
    ids_a = np.asarray(objects_a, dtype=np.int64).reshape(-1)
    ids_b = np.asarray(objects_b, dtype=np.int64).reshape(-1)
    d = pose_distance_matrix(rotations_a, translations_a, rotations_b, translations_b,
                             w_max=w_max, gamma=gamma, symmetric=symmetric)
    if d.shape != (len(ids_a), len(ids_b)):
        raise ValueError(f"object ids: expected ({d.shape[0]},) and ({d.shape[1]},), got "
                         f"({len(ids_a)},) and ({len(ids_b)},)")
    same_object = (ids_a[:, None] == ids_b[None, :]) & (ids_a[:, None] >= 0)
    return np.asarray(same_object & (d <= sigma))
