"""graspnetAPI's force closure on a signed distance field, vectorised over grasps.

The ``reference`` force-closure backend of the AP protocol. It reproduces what graspnetAPI 1.2.11
computes through its bundled Dex-Net code (reference protocol §5), from reading that code:

- the jaw line is at the fingertips, ``c = P^-1 (t + depth R[:, 0])`` with the object pose P in
  float32 and its inverse taken in float32; the closing axis is ``P_R^T R[:, 1]``, normalised;
- each jaw starts at ``c -/+ (w / 2) axis`` and walks to ``c`` in ``max(3, int(w / res))`` evenly
  spaced samples (``linspace``); points go to grid coordinates through float32;
- the SDF is trilinearly interpolated (corners past the upper grid edge count 0);
- a sample is on the surface when ``|sdf| < res sqrt(2) / 2``; the first on-surface sample whose
  quadratic zero crossing (three consecutive samples, a root within one grid unit) exists and
  whose next sample is not closer to the surface gives the contact; no contact on either jaw
  fails the grasp at every mu;
- the normal is the plane fit (smallest singular vector) of the on-surface points of the
  27-point stencil {-1.5, 0, 1.5}^3 cells (non-zero offsets scaled to 1.5 cells) around the
  contact, which must itself be on the surface;
- the grasp is force closure at mu when both contact normals are within ``arctan(mu)`` of the
  contact line (the antipodal test, ``|n . d|``); the score is the smallest such mu of the grid.

One deliberate difference: a sample outside the grid gets the SDF of the nearest grid point
plus its distance to it, where the reference uses 1000 randomly chosen surface voxels. Neither
value can be on the surface (grids are padded), and no accepted contact's neighbours lie outside
the grid, so the contacts are the same; this one is deterministic.

Frames: grasps in the camera frame; contacts, normals and the SDF in the object's model frame.
Metres; grid coordinates are in cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.evaluation.reference_grid import FieldStack, field_stack
from grasplab.objects.sdf import SignedDistanceField

__all__ = [
    "ContactSearch",
    "close_fingers",
    "grasp_lines_in_model",
    "min_friction",
    "reference_scores",
    "sdf_at",
]

#: Offsets of the normal stencil, in cells, in the reference's loop order (z fastest).
_STENCIL = np.array(
    [[dx, dy, dz] for dx in (-1.5, 0.0, 1.5) for dy in (-1.5, 0.0, 1.5) for dz in (-1.5, 0.0, 1.5)]
)
_NORMS = np.linalg.norm(_STENCIL, axis=1, keepdims=True)
_STENCIL = np.where(_NORMS > 0, 1.5 * _STENCIL / np.where(_NORMS > 0, _NORMS, 1.0), 0.0)
#: Samples per grid cell along the line of action (Dex-Net ``samples_per_grid``).
SAMPLES_PER_GRID = 2
#: Index of the zero offset in the stencil.
_CENTRE = 13
#: Samples per line in the first block of the contact search (the block doubles each step).
FIRST_BLOCK = 16


@dataclass(frozen=True)
class ContactSearch:
    """Contacts of M grasps found by closing both jaws on an SDF.

    Attributes:
        found: (M,) bool, both jaws found a contact with a normal.
        points: (M, 2, 3) contact points, model frame (NaN where not found).
        normals: (M, 2, 3) unit contact normals, model frame, sign arbitrary (NaN where not found).
    """

    found: np.ndarray
    points: np.ndarray
    normals: np.ndarray


def sdf_at(field: SignedDistanceField, coords: np.ndarray) -> np.ndarray:
    """SDF values at grid coordinates, interpolated as the reference does.

    Args:
        field: the SDF.
        coords: (..., 3) grid coordinates (cells).

    Returns:
        (...) signed distances (m). Inside the grid: trilinear, corners past the upper edge 0.
        Outside: the value at the nearest grid point plus the distance to it.
    """
    return field_stack([field]).values_at(np.zeros((), dtype=np.int64), coords)


def grasp_lines_in_model(
    grasps: np.ndarray, T_cam_obj: np.ndarray  # noqa: N803
) -> tuple[np.ndarray, np.ndarray]:
    """Jaw centres and closing axes of grasps in their object's model frame, as the reference.

    Args:
        grasps: (M, 17) grasp rows, camera frame (widths already clipped).
        T_cam_obj: (M, 4, 4) pose of each grasp's object (rounded to float32 as the XML is).

    Returns:
        ``(centers, axes)``: (M, 3) jaw centres at the fingertips and (M, 3) unit axes.
    """
    rotations = grasps[:, 4:13].reshape(-1, 3, 3)
    tips = rotations[:, :, 0] * grasps[:, 3:4] + grasps[:, 13:16]
    poses = np.asarray(T_cam_obj, dtype=np.float32)
    inverse = np.linalg.inv(poses).astype(np.float64)
    centers = (
        inverse[:, :3, 0] * tips[:, 0:1]
        + inverse[:, :3, 1] * tips[:, 1:2]
        + inverse[:, :3, 2] * tips[:, 2:3]
        + inverse[:, :3, 3]
    )
    binormals = np.einsum("nji,nj->ni", poses[:, :3, :3].astype(np.float64), rotations[:, :, 1])
    axes = binormals / np.linalg.norm(binormals, axis=1, keepdims=True)
    return centers, axes


def _quadratic_zero_crossing(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dex-Net's quadratic zero crossing of K triples of samples.

    Args:
        x: (K, 3, 3) three points along a line (grid coordinates).
        y: (K, 3) SDF values at them.

    Returns:
        ``(ok, crossing)``: (K,) bool and (K, 3) the crossing point (grid coordinates).
    """
    step = x[:, 1] - x[:, 0]
    v = step / np.linalg.norm(step, axis=1, keepdims=True)
    axis = np.argmax(v != 0, axis=1)
    rows = np.arange(len(x))
    t2 = step[rows, axis] / v[rows, axis]
    t3 = (x[:, 2] - x[:, 0])[rows, axis] / v[rows, axis]
    ones = np.ones(len(x))
    design = np.stack(
        [np.stack([0 * ones, 0 * ones, ones], 1), np.stack([t2**2, t2, ones], 1),
         np.stack([t3**2, t3, ones], 1)], axis=1,
    )
    finite = np.isfinite(design).all(axis=(1, 2)) & np.isfinite(y).all(axis=1)
    coef = np.full((len(x), 3), np.nan)
    if finite.any():
        with np.errstate(all="ignore"):
            try:
                coef[finite] = np.linalg.solve(design[finite], y[finite][:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                pairs = zip(design[finite], y[finite], strict=True)
                coef[finite] = [_solve_or_nan(d, b) for d, b in pairs]
    t_zc = _last_root_in_range(coef)
    a_ok = np.abs(coef[:, 0]) >= 1e-10
    with np.errstate(all="ignore"):
        vertex = -coef[:, 1] / (2 * coef[:, 0])
    t_zc = np.where(np.isnan(t_zc), vertex, t_zc)
    ok = finite & a_ok & np.isfinite(t_zc) & (t_zc >= -1.0) & (t_zc <= 1.0)
    crossing = x[:, 0] + np.where(ok, t_zc, 0.0)[:, None] * v
    return ok, crossing


def _solve_or_nan(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    try:
        result: np.ndarray = np.linalg.solve(design, values)
    except np.linalg.LinAlgError:
        result = np.full(3, np.nan)
    return result


def _last_root_in_range(coef: np.ndarray) -> np.ndarray:
    """``np.roots`` of each quadratic; the last real root in [0, 10] (NaN if none)."""
    out = np.full(len(coef), np.nan)
    good = np.isfinite(coef).all(axis=1) & (coef[:, 0] != 0)
    if not good.any():
        return out
    a, b, c = coef[good, 0], coef[good, 1], coef[good, 2]
    companion = np.zeros((len(a), 2, 2))
    companion[:, 0, 0] = -b / a
    companion[:, 0, 1] = -c / a
    companion[:, 1, 0] = 1.0
    roots = np.linalg.eigvals(companion)
    linear = c == 0  # np.roots strips the trailing zero: roots are [-b / a, 0]
    roots = np.where(linear[:, None], np.stack([-b / a, 0 * a], 1), roots)
    real = np.imag(roots) == 0
    values = np.real(roots)
    inside = real & (values >= 0) & (values <= 10)
    last = np.where(inside[:, 1], values[:, 1], np.where(inside[:, 0], values[:, 0], np.nan))
    out[good] = last
    return out


def _accept(
    grid: np.ndarray, values: np.ndarray, count: np.ndarray, line: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dex-Net's contact test at on-surface samples ``(line, index)`` of the sampled lines.

    Args:
        grid: (L, S, 3) sample grid coordinates; values: (L, S) their SDF values (filled at
            least from ``index - 2`` to ``index + 2`` of every tested sample, within ``S``).
        count: (L,) samples per line; line, index: (C,) the tested samples.

    Returns:
        ``(accept, crossing)``: (C,) bool and (C, 3) the zero crossing (grid coordinates).
    """
    last = index == count[line] - 1
    after = np.minimum(index + 1, values.shape[1] - 1)
    closer = np.abs(values[line, after]) < np.abs(values[line, index])
    test = np.flatnonzero(last | ~closer)  # the others fail whatever the fit gives
    line, index, last = line[test], index[test], last[test]
    mid = np.where(index == 0, 1, np.where(last, index - 1, index))
    triple = np.stack([mid - 1, mid, mid + 1], axis=1)
    ok, fitted = _quadratic_zero_crossing(grid[line[:, None], triple], values[line[:, None], triple])
    accept = np.zeros(len(closer), dtype=bool)
    accept[test] = ok
    crossing = np.full((len(closer), 3), np.nan)
    crossing[test] = fitted
    return accept, crossing


def _first_contacts(
    stack: FieldStack, obj: np.ndarray, starts: np.ndarray, directions: np.ndarray,
    widths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Contact search along L lines of action (Dex-Net ``find_contact``), object ``obj`` each.

    The samples are those of the reference (``linspace`` from the start to the centre); they are
    computed in growing blocks, and a line leaves the work arrays once its first accepted contact
    is known (later samples cannot change it).

    Returns:
        ``(found, crossing)``: (L,) bool and (L, 3) contact in grid coordinates.
    """
    count = np.maximum(
        (SAMPLES_PER_GRID * (widths * stack.scale[obj]) / 2).astype(np.int64), 3
    )
    num = int(count.max()) if len(count) else 3
    half = widths / 2 - 0.0
    step = half / (count - 1)
    thresh = stack.surface_thresh[obj]
    grid = np.empty((len(starts), num, 3))
    values = np.empty((len(starts), num))
    found = np.zeros(len(starts), dtype=bool)
    result = np.full((len(starts), 3), np.nan)
    active, begin, done, size = np.arange(len(starts)), 0, 0, FIRST_BLOCK
    while len(active) and begin < num:
        end = min(begin + size, num)
        upto = min(end + 1, num)  # a sample's test reads the next one
        k = np.arange(done, upto)
        t = k[None, :] * step[active, None]
        t = np.where(k[None, :] == (count[active] - 1)[:, None], half[active, None], t)
        points = starts[active, None, :] + t[:, :, None] * directions[active, None, :]
        block = stack.to_grid(obj[active, None], points)
        grid[active, done:upto] = block
        values[active, done:upto] = stack.values_at(obj[active, None], block)
        cols = np.arange(begin, end)
        on = (cols[None, :] < count[active, None]) & (
            np.abs(values[active, begin:end]) < thresh[active, None]
        )
        row, col = np.nonzero(on)
        line, index = active[row], col + begin
        accept, crossing = _accept(grid, values, count, line, index)
        if accept.any():
            hit_line, where = np.unique(line[accept], return_index=True)
            found[hit_line] = True
            result[hit_line] = crossing[accept][where]
        active = active[~found[active] & (count[active] > end)]
        begin, done, size = end, upto, 2 * size
    return found, result


def _normals(
    stack: FieldStack, obj: np.ndarray, coords: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Stencil plane-fit normals at K grid points (``Sdf3D.surface_normal``), object ``obj`` each.

    Returns:
        ``(ok, normals)``: (K,) the point is on the surface, (K, 3) unit normals (grid basis).
    """
    thresh = stack.surface_thresh[obj][:, None]
    stencil = coords[:, None, :] + _STENCIL[None]
    values = stack.values_at(obj[:, None], stencil)
    usable = np.abs(values) < thresh
    ok = usable[:, _CENTRE]  # the centre offset is 0: the contact's own value
    normals = np.full((len(coords), 3), np.nan)
    sizes = usable.sum(axis=1)
    order = np.argsort(np.where(usable, values, np.inf), axis=1, kind="stable")
    for size in np.unique(sizes[ok]):
        members = np.flatnonzero(ok & (sizes == size))
        chosen = order[members, :size]
        pts = np.take_along_axis(stencil[members], chosen[:, :, None], axis=1)
        centred = pts - pts.mean(axis=1, keepdims=True)
        u, _, _ = np.linalg.svd(centred.transpose(0, 2, 1))
        normals[members] = u[:, :, 2]
    normals = normals.astype(np.float32).astype(np.float64)
    return ok & np.isfinite(normals).all(axis=1), normals


def _close(
    stack: FieldStack, obj: np.ndarray, centers: np.ndarray, axes: np.ndarray, widths: np.ndarray,
    pairs_only: bool = False,
) -> ContactSearch:
    """:func:`close_fingers` for M grasps on the fields of a stack, object ``obj`` (M,) each.

    With ``pairs_only``, a contact whose other jaw found none is left without point and normal
    (the grasp fails either way; ``found`` is the same).
    """
    m = len(centers)
    half = (widths / 2.0)[:, None]
    starts = np.concatenate([centers - half * axes, centers + half * axes])
    directions = np.concatenate([axes, -axes])
    lines = np.concatenate([obj, obj])
    found, crossing = _first_contacts(stack, lines, starts, directions,
                                      np.concatenate([widths, widths]))
    points = np.full((2 * m, 3), np.nan)
    normals = np.full((2 * m, 3), np.nan)
    if found.any():
        hit = np.flatnonzero(found & np.roll(found, m) if pairs_only else found)
        world = stack.to_model(lines[hit], crossing[hit])
        ok, fitted = _normals(stack, lines[hit], stack.to_grid(lines[hit], world))
        points[hit] = world
        normals[hit] = fitted
        found[hit[~ok]] = False
    both = found[:m] & found[m:]
    return ContactSearch(
        both,
        np.stack([points[:m], points[m:]], axis=1),
        np.stack([normals[:m], normals[m:]], axis=1),
    )


def close_fingers(
    field: SignedDistanceField, centers: np.ndarray, axes: np.ndarray, widths: np.ndarray
) -> ContactSearch:
    """Close both jaws of M grasps on an SDF (Dex-Net ``close_fingers`` without approach check).

    Args:
        field: the object's SDF, model frame.
        centers: (M, 3) jaw centres, model frame (m).
        axes: (M, 3) unit closing axes, model frame.
        widths: (M,) jaw openings (m), > 0.

    Returns:
        The contacts of both jaws and whether both were found.
    """
    if len(centers) == 0:
        empty = np.zeros((0, 2, 3))
        return ContactSearch(np.zeros(0, dtype=bool), empty, empty.copy())
    return _close(field_stack([field]), np.zeros(len(centers), dtype=np.int64), centers, axes,
                  widths)

def min_friction(contacts: ContactSearch, mu_grid: np.ndarray) -> np.ndarray:
    """Smallest mu of the grid at which the antipodal test passes, -1 if none or no contacts.

    Both contact normals must lie within ``arctan(mu)`` of the contact line, with the
    reference's ``|n . d|`` (normal sign ignored); an angle that is NaN (rounding past 1)
    passes, as it does in the reference.
    """
    scores = np.full(len(contacts.found), -1.0)
    idx = np.flatnonzero(contacts.found)
    if len(idx) == 0:
        return scores
    p1, p2 = contacts.points[idx, 0], contacts.points[idx, 1]
    n1, n2 = contacts.normals[idx, 0], contacts.normals[idx, 1]
    same = (p1 == p2).all(axis=1)
    diff = p2 - p1
    length = np.linalg.norm(diff, axis=1)
    with np.errstate(all="ignore"):
        cos1 = np.abs(np.einsum("ij,ij->i", n1, diff)) / np.linalg.norm(n1, axis=1) / length
        cos2 = np.abs(np.einsum("ij,ij->i", n2, -diff)) / np.linalg.norm(n2, axis=1) / length
        alpha = np.maximum(
            np.nan_to_num(np.arccos(cos1), nan=-np.inf), np.nan_to_num(np.arccos(cos2), nan=-np.inf)
        )
    grid = np.sort(np.asarray(mu_grid, dtype=np.float64))
    passing = alpha[:, None] <= np.arctan(grid)[None, :]
    best = np.where(passing.any(axis=1), grid[np.argmax(passing, axis=1)], -1.0)
    scores[idx] = np.where(same, -1.0, best)
    return scores


def reference_scores(
    grasps: np.ndarray,
    owner: np.ndarray,
    T_cam_obj: np.ndarray,  # noqa: N803
    fields: list[SignedDistanceField] | tuple[SignedDistanceField, ...],
    mu_grid: np.ndarray,
) -> np.ndarray:
    """Reference (SDF) force-closure score of each grasp on its assigned object.

    Args:
        grasps: (M, 17) grasp rows, camera frame, widths clipped.
        owner: (M,) index of each grasp's object in ``T_cam_obj`` / ``fields``.
        T_cam_obj: (K, 4, 4) object poses in the camera.
        fields: K SDFs, model frames.
        mu_grid: friction coefficients.

    Returns:
        (M,) the smallest passing mu, -1 where none passes or contacts are missing.
    """
    scores = np.full(len(grasps), -1.0)
    if len(grasps) == 0:
        return scores
    centers, axes = grasp_lines_in_model(grasps, np.asarray(T_cam_obj)[owner])
    widths = grasps[:, 1]
    members = np.flatnonzero(widths > 0)
    if len(members) == 0:
        return scores
    stack = field_stack(list(fields))
    obj = np.asarray(owner, dtype=np.int64)[members]
    contacts = _close(stack, obj, centers[members], axes[members], widths[members], True)
    scores[members] = min_friction(contacts, mu_grid)
    return scores
