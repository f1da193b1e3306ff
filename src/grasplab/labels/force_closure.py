"""Two-contact force closure of parallel-jaw grasps on exact mesh geometry.

This follows the reference's contact model (reference protocol §5.2) with ray casting in place of
the SDF walk: each jaw starts at ``c ∓ (w/2)·axis`` (c = the jaw centre at the fingertip line,
``t + depth·approach``) and travels ``w/2`` toward the centre; its contact is the first surface
it meets. A jaw whose first hit is a back face started inside the object and, as in the
reference, finds no contact. The contact normal is the exact face normal there (no SDF
quantisation, see protocol §9.3).

A grasp is force-closure at friction coefficient μ when both contact normals lie inside the
friction cone around the contact line: ``alpha_i = arccos(|n_i·d| / |d|) ≤ arctan(μ)`` with
``d = p_2 - p_1``. The test is monotone in μ, so a grasp's score is the smallest μ of a grid at
which it holds. Frames: everything is in the mesh frame, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core.validation import as_array
from grasplab.labels.raycast import MeshRayCaster

__all__ = [
    "EVAL_MU_GRID",
    "LABEL_MU_GRID",
    "ForceClosureResult",
    "contact_angles",
    "force_closure",
    "min_mu_on_grid",
]

#: GraspNet-1Billion label grid: μ from 0.1 to 1.0 in steps of 0.1 (paper §3.3, eq. 2).
LABEL_MU_GRID: tuple[float, ...] = tuple(round(0.1 * k, 10) for k in range(1, 11))
#: Evaluation grid of graspnetAPI (reference protocol §5.3).
EVAL_MU_GRID: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2)


@dataclass(frozen=True)
class ForceClosureResult:
    """Force-closure outcome of N grasps (mesh frame, metres).

    Attributes:
        min_mu: (N,) smallest grid μ at which the grasp is force-closure, -1 if none.
        contacts: (N, 2, 3) contact points of the jaw starting at ``c - (w/2)·axis`` (index 0)
            and at ``c + (w/2)·axis`` (index 1); NaN where that jaw found no contact.
        normals: (N, 2, 3) outward unit face normals at the contacts; NaN where none.
        closing_width: (N,) distance between the two contacts (the width at which the jaws
            stop); NaN unless both jaws found a contact.
        angles: (N, 2) angle between each contact normal and the contact line, radians;
            NaN unless both jaws found distinct contacts.
    """

    min_mu: np.ndarray
    contacts: np.ndarray
    normals: np.ndarray
    closing_width: np.ndarray
    angles: np.ndarray

    @property
    def has_contacts(self) -> np.ndarray:
        """(N,) bool: both jaws found a contact."""
        return np.asarray(np.all(np.isfinite(self.contacts[:, :, 0]), axis=1))


def contact_angles(contacts: ArrayLike, normals: ArrayLike) -> np.ndarray:
    """Angles between contact normals and the contact line, ``arccos(|n_i·d| / (|n_i| |d|))``.

    Args:
        contacts: (N, 2, 3) contact points.
        normals: (N, 2, 3) contact normals (any sign, non-zero).

    Returns:
        (N, 2) angles in radians, in [0, π/2]; NaN where the contacts coincide or are NaN.

    >>> c = np.array([[[0.0, -1, 0], [0, 1, 0]]]); n = np.array([[[0.0, -1, 0], [0, 1, 0]]])
    >>> contact_angles(c, n).tolist()
    [[0.0, 0.0]]
    """
    p = np.asarray(contacts, dtype=np.float64)
    n = np.asarray(normals, dtype=np.float64)
    d = p[:, 1] - p[:, 0]
    length = np.linalg.norm(d, axis=1)
    n_len = np.linalg.norm(n, axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.abs(np.einsum("nkj,nj->nk", n, d)) / (n_len * length[:, None])
        angles = np.arccos(np.clip(cos, 0.0, 1.0))
    angles[~(length > 0)] = np.nan
    return np.asarray(angles)


def min_mu_on_grid(angles: ArrayLike, mu_grid: ArrayLike = LABEL_MU_GRID) -> np.ndarray:
    """Smallest grid μ with ``max_i alpha_i ≤ arctan(μ)``, or -1 (NaN angles → -1).

    Args:
        angles: (N, 2) contact angles in radians (:func:`contact_angles`).
        mu_grid: (K,) positive friction coefficients, any order.

    Returns:
        (N,) float64 smallest passing μ, -1 where no grid value passes.

    >>> min_mu_on_grid(np.array([[0.0, 0.0], [0.5, 0.1], [1.5, 0.0]])).tolist()
    [0.1, 0.6, -1.0]
    """
    grid = np.sort(as_array(mu_grid, "mu_grid", (None,)))
    if len(grid) == 0 or np.any(grid <= 0):
        raise ValueError(f"mu_grid: expected positive friction coefficients, got {grid.tolist()}")
    worst = np.max(np.asarray(angles, dtype=np.float64), axis=1)
    valid = np.isfinite(worst)
    passes = worst[valid, None] <= np.arctan(grid)[None, :]
    first = np.argmax(passes, axis=1)
    out = np.full(len(worst), -1.0)
    out[valid] = np.where(passes.any(axis=1), grid[first], -1.0)
    return out


def force_closure(
    caster: MeshRayCaster,
    centers: ArrayLike,
    jaw_axes: ArrayLike,
    widths: ArrayLike,
    mu_grid: ArrayLike = LABEL_MU_GRID,
) -> ForceClosureResult:
    """Close the jaws of N grasps on the mesh and find each grasp's minimal force-closure μ.

    All 2N jaws are cast in one batched ray query.

    Args:
        caster: ray caster of the object mesh.
        centers: (N, 3) jaw centres ``t + depth·approach`` (the fingertip line), mesh frame.
        jaw_axes: (N, 3) jaw closing axes (gripper y; normalised here, non-zero).
        widths: (N,) jaw openings in metres, ≥ 0 (0 never makes contact).
        mu_grid: (K,) friction coefficients to test (default 0.1, 0.2, …, 1.0).

    Returns:
        :class:`ForceClosureResult` (min μ, contacts, normals, closing width, angles).

    Raises:
        ValueError: wrong shapes, non-finite values, negative widths or zero axes.

    Example:
        >>> import trimesh
        >>> caster = MeshRayCaster(trimesh.creation.box((0.04, 0.04, 0.04)))
        >>> r = force_closure(caster, [[0, 0, 0]], [[0, 1, 0]], [0.08])
        >>> r.min_mu.tolist(), np.round(r.closing_width, 6).tolist()
        ([0.1], [0.04])
    """
    c = as_array(centers, "centers", (None, 3))
    n = len(c)
    axes = as_array(jaw_axes, "jaw_axes", (n, 3))
    w = as_array(widths, "widths", (n,))
    if np.any(w < 0):
        raise ValueError(f"widths: expected values >= 0 m, got min {w.min():.4g}")
    norm = np.linalg.norm(axes, axis=1)
    if np.any(norm == 0):
        raise ValueError(f"jaw_axes: zero vector at index {int(np.argmax(norm == 0))}")
    axes = axes / norm[:, None]
    half = (w / 2)[:, None]
    # Jaw 0 starts on the -axis side and moves along +axis; jaw 1 the opposite way.
    origins = np.concatenate([c - half * axes, c + half * axes])
    directions = np.concatenate([axes, -axes])
    limit = np.concatenate([w / 2, w / 2])
    moving = limit > 0
    hits = caster.first_hits(origins[moving], directions[moving], limit[moving])
    ok = np.zeros(2 * n, dtype=bool)
    ok[moving] = hits.front  # a first back-face hit: the jaw started inside the object
    points = np.full((2 * n, 3), np.nan)
    normals = np.full((2 * n, 3), np.nan)
    points[moving] = hits.locations
    normals[moving] = hits.normals
    points[~ok] = np.nan
    normals[~ok] = np.nan
    contacts = np.stack([points[:n], points[n:]], axis=1)
    face_normals = np.stack([normals[:n], normals[n:]], axis=1)
    angles = contact_angles(contacts, face_normals)
    closing = np.linalg.norm(contacts[:, 1] - contacts[:, 0], axis=1)
    return ForceClosureResult(
        min_mu=min_mu_on_grid(angles, mu_grid),
        contacts=contacts,
        normals=face_normals,
        closing_width=closing,
        angles=angles,
    )
