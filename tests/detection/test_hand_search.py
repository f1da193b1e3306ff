from __future__ import annotations

import numpy as np
import pytest

from grasplab.core import GraspGroup, GripperModel
from grasplab.detection import HandSearchParams, search_hands
from grasplab.detection.proposals import PAD_COORD

GRIPPER = GripperModel()
PARAMS = HandSearchParams()


def _box_surface(y0: float, y1: float, x1: float = 0.05, step: float = 0.002) -> tuple[
        np.ndarray, np.ndarray]:
    """Visible surface of a box seen along +x: its top (x = 0) and its two side faces."""
    ys = np.arange(y0, y1 + 1e-9, step)
    xs = np.arange(0.0, x1 + 1e-9, step)
    zs = np.arange(-0.02, 0.02 + 1e-9, step)
    top = np.stack(np.meshgrid([0.0], ys, zs, indexing="ij"), -1).reshape(-1, 3)
    left = np.stack(np.meshgrid(xs[1:], [y0], zs, indexing="ij"), -1).reshape(-1, 3)
    right = np.stack(np.meshgrid(xs[1:], [y1], zs, indexing="ij"), -1).reshape(-1, 3)
    points = np.concatenate([top, left, right])
    normals = np.concatenate([np.tile([-1.0, 0, 0], (len(top), 1)),
                              np.tile([0, -1.0, 0], (len(left), 1)),
                              np.tile([0, 1.0, 0], (len(right), 1))])
    return points, normals


def _search(points: np.ndarray, normals: np.ndarray):  # noqa: ANN202
    local = points[None, :, None, :].astype(np.float32)  # S = 1, R = 1, frame = identity
    return search_hands(local, normals[None, :, None, 1].astype(np.float32), GRIPPER, PARAMS)


def test_box_known_width_offset_and_score() -> None:
    points, normals = _box_surface(-0.01, 0.03)  # 4 cm across, centred at y = 0.01
    res = _search(points, normals)
    assert res.valid.shape == (1, 4) and res.valid.all()
    # conservative bins: width >= extent + 2 margins, at most one bin more on each side
    assert np.all(res.widths >= 0.04 + 2 * PARAMS.width_margin - 1e-9)
    assert np.all(res.widths <= 0.04 + 2 * PARAMS.width_margin + 2 * PARAMS.bin_size + 1e-9)
    np.testing.assert_allclose(res.offsets, 0.01, atol=PARAMS.bin_size)
    np.testing.assert_allclose(res.antipodal, 1.0)  # side normals exactly along the jaw
    np.testing.assert_allclose(res.clearance, 1.0)  # nothing else around


def test_hidden_side_halves_the_antipodal_score() -> None:
    points, normals = _box_surface(-0.01, 0.03)
    normals[normals[:, 1] > 0.5] = [-1.0, 0.0, 0.0]  # right face seen edge-on: normals useless
    res = _search(points, normals)
    np.testing.assert_allclose(res.antipodal, 0.5)


def test_neighbour_closer_than_a_finger_merges_and_far_one_does_not() -> None:
    points, normals = _box_surface(-0.01, 0.02)
    near, near_n = _box_surface(0.028, 0.035)  # 8 mm gap: no room for a 1 cm finger
    res = _search(np.concatenate([points, near]), np.concatenate([normals, near_n]))
    assert res.valid.all()
    np.testing.assert_allclose(res.offsets, (-0.01 + 0.035) / 2, atol=PARAMS.bin_size)
    far, far_n = _box_surface(0.045, 0.05)  # 25 mm gap: the finger fits
    res = _search(np.concatenate([points, far]), np.concatenate([normals, far_n]))
    np.testing.assert_allclose(res.offsets, 0.005, atol=PARAMS.bin_size)
    assert np.all(res.clearance < 1.0)  # the neighbour is within the clearance cap


@pytest.mark.parametrize("case", ["palm", "wide", "empty"])
def test_rejections(case: str) -> None:
    points, normals = _box_surface(-0.01, 0.03)
    if case == "palm":  # a point in the palm box behind the finger bases
        points = np.concatenate([points, [[-0.025, 0.0, 0.0]]])
        normals = np.concatenate([normals, [[0.0, 0.0, 1.0]]])
    elif case == "wide":  # 9.5 cm across: wider than the gripper with margins
        points, normals = _box_surface(-0.045, 0.05)
    else:  # fewer than empty_thresh points between the jaws
        points, normals = np.zeros((5, 3)), np.tile([-1.0, 0.0, 0.0], (5, 1))
    assert not _search(points, normals).valid.any()


def test_padding_is_ignored() -> None:
    points, normals = _box_surface(-0.01, 0.03)
    padded = np.concatenate([points, np.full((50, 3), PAD_COORD)])
    res_pad = _search(padded, np.concatenate([normals, np.zeros((50, 3))]))
    res = _search(points, normals)
    np.testing.assert_array_equal(res_pad.widths, res.widths)


def test_valid_hands_pass_the_reference_collision_check(rng: np.random.Generator) -> None:
    # random clutter of small blocks; every hand the search accepts must be collision-free and
    # non-empty under GripperModel.collision_and_empty (reference semantics)
    blocks = [rng.uniform([0.0, -0.06, -0.03], [0.04, 0.06, 0.03], 3) for _ in range(6)]
    pts = np.concatenate([b + rng.uniform(-0.008, 0.008, (300, 3)) for b in blocks])
    pts = np.concatenate([[[0.0, 0.0, 0.0]], pts])
    angles = np.linspace(0, np.pi, 8, endpoint=False)
    rots = np.stack([np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
                     for a in angles])  # (R, 3, 3), approach +x
    local = np.einsum("ki,rij->krj", pts, rots)[None].astype(np.float32)
    res = search_hands(local, np.zeros(local.shape[:-1], np.float32), GRIPPER, PARAMS)
    r_idx, d_idx = np.nonzero(res.valid[:])
    assert len(r_idx) > 0
    rot = rots[r_idx]
    grasps = GraspGroup.from_components(
        res.offsets[r_idx, d_idx, None] * rot[:, :, 1], rot, res.widths[r_idx, d_idx],
        np.asarray(PARAMS.depths)[d_idx])
    collision, empty = GRIPPER.collision_and_empty(grasps, pts)
    assert not collision.any() and not empty.any()


def test_fingertip_band_points_and_contact_levels() -> None:
    # a box whose visible sides end 1.5 cm below its top (x = 0): a hand deeper than that
    # closes its fingertip line (at x = depth) on nothing
    points, normals = _box_surface(-0.01, 0.03, x1=0.015)
    res = _search(points, normals)
    assert res.valid.all()
    # bands: (-depth_base, 0.01], (0.01, 0.02], (0.02, 0.03], (0.03, 0.04]
    assert res.tip_points[0, 0] > 0 and res.tip_points[0, 1] > 0
    np.testing.assert_array_equal(res.tip_points[0, 2:], 0)
    # whole-slab normals (contact_levels=0) see the sides at every depth ...
    whole = search_hands(points[None, :, None].astype(np.float32),
                         normals[None, :, None, 1].astype(np.float32), GRIPPER,
                         HandSearchParams(contact_levels=0))
    np.testing.assert_allclose(whole.antipodal, 1.0)
    # ... the fingertip band alone (the default of the detector) only where the sides reach
    tip = search_hands(points[None, :, None].astype(np.float32),
                       normals[None, :, None, 1].astype(np.float32), GRIPPER,
                       HandSearchParams(contact_levels=1))
    np.testing.assert_allclose(tip.antipodal[0], [1.0, 1.0, 0.0, 0.0])
    two = search_hands(points[None, :, None].astype(np.float32),
                       normals[None, :, None, 1].astype(np.float32), GRIPPER,
                       HandSearchParams(contact_levels=2))
    np.testing.assert_allclose(two.antipodal[0], [1.0, 1.0, 1.0, 0.0])


def test_contact_height_scores_only_normals_near_the_jaw_line() -> None:
    points, normals = _box_surface(-0.01, 0.03)
    near_line = (np.abs(points[:, 2]) < 0.003) & (np.abs(normals[:, 1]) > 0.5)
    normals[near_line] = [-1.0, 0.0, 0.0]  # the sides' normals at the jaw line are useless
    args = (points[None, :, None].astype(np.float32),
            normals[None, :, None, 1].astype(np.float32), GRIPPER)
    whole = search_hands(*args, HandSearchParams(contact_height=None))
    np.testing.assert_allclose(whole.antipodal, 1.0)  # good normals elsewhere on the fingers
    line = search_hands(*args, HandSearchParams(contact_height=0.006))
    np.testing.assert_allclose(line.antipodal, 0.0)
