from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from grasplab.core.camera import KINECT, REALSENSE, CameraIntrinsics
from grasplab.core.grasp_group import GraspGroup
from grasplab.core.rect import (
    PixelGrasps,
    RectGraspGroup,
    grasps_to_pixel_grasps,
    grasps_to_rects,
    pixel_grasp_rotations,
    pixel_grasps_to_grasps,
    rects_to_grasps,
)

SQUARE = CameraIntrinsics(1000.0, 1000.0, 640.0, 360.0, 1280, 720)  # fx == fy
FLIP = np.diag([1.0, -1.0, -1.0])  # jaw-flip symmetry of a parallel gripper


def top_down_rotations(thetas: np.ndarray) -> np.ndarray:
    """approach = camera +z, jaw axis (cos, sin, 0), height = approach x jaw."""
    c, s = np.cos(thetas), np.sin(thetas)
    rot = np.zeros((len(thetas), 3, 3))
    rot[:, :, 0] = [0.0, 0.0, 1.0]
    rot[:, :, 1] = np.stack([c, s, np.zeros_like(c)], axis=1)
    rot[:, :, 2] = np.cross(rot[:, :, 0], rot[:, :, 1])
    return rot


def rotation_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tr = np.einsum("nij,nij->n", a, b)
    return np.arccos(np.clip((tr - 1) / 2, -1, 1))


# ----------------------------------------------------------------------------- containers


def test_rect_group_accessors_and_upper_points() -> None:
    r = RectGraspGroup([[100.0, 50.0, 90.0, 50.0, 8.0, 0.7, 3.0]])
    np.testing.assert_array_equal(r.center_points, [[100.0, 50.0]])
    np.testing.assert_array_equal(r.open_points, [[90.0, 50.0]])
    assert r.heights.tolist() == [8.0] and r.scores.tolist() == [0.7]
    assert r.object_ids.tolist() == [3.0]
    # reference: center + [[0, -1], [1, 0]] @ unit(open - center) * h / 2 = (100, 46)
    np.testing.assert_allclose(r.upper_points, [[100.0, 46.0]])
    assert len(r[[0, 0]]) == 2 and len(RectGraspGroup()) == 0


def test_rect_npy_roundtrip(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).uniform(0, 100, (5, 7))
    RectGraspGroup(rows).save_npy(tmp_path / "r.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), rows)
    np.testing.assert_array_equal(RectGraspGroup.from_npy(tmp_path / "r.npy").array, rows)
    np.save(tmp_path / "f32.npy", rows.astype(np.float32))
    loaded = RectGraspGroup.from_npy(tmp_path / "f32.npy")
    assert loaded.array.dtype == np.float64
    np.testing.assert_allclose(loaded.array, rows, rtol=1e-6)
    np.save(tmp_path / "one.npy", rows[0])
    assert len(RectGraspGroup.from_npy(tmp_path / "one.npy")) == 1


def test_containers_reject_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\(N, 7\)"):
        RectGraspGroup(np.zeros((2, 6)))
    bad = np.zeros((3, 7))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows \[2\]"):
        RectGraspGroup(bad)
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        PixelGrasps(np.zeros((2, 7)))
    pg = np.zeros((3, 6))
    pg[1, 4] = -0.01
    with pytest.raises(ValueError, match=r"negative width.*\[1\]"):
        PixelGrasps(pg)


# ----------------------------------------------------------------------------- 6-DoF -> rect


def test_grasps_to_rects_known_answer() -> None:
    g = GraspGroup.from_components(
        [[0.0, 0.0, 0.5]], top_down_rotations(np.zeros(1)), widths=0.04, depths=0.02,
        scores=0.6, object_ids=7,
    )
    r = grasps_to_rects(g, SQUARE)
    # key points at gripper x = -0.02, i.e. camera z = 0.48
    np.testing.assert_allclose(r.center_points, [[640.0, 360.0]], atol=1e-6)
    np.testing.assert_allclose(r.open_points, [[640.0 - 1000 * 0.02 / 0.48, 360.0]], atol=1e-4)
    np.testing.assert_allclose(r.heights, [1000 * 0.02 / 0.48], atol=1e-4)
    assert r.scores.tolist() == [0.6] and r.object_ids.tolist() == [7.0]


def test_grasps_to_rects_keeps_only_near_top_down() -> None:
    base = top_down_rotations(np.zeros(1))[0]
    tilts = [Rotation.from_rotvec([np.deg2rad(a), 0.0, 0.0]).as_matrix() @ base
             for a in (5.0, 8.0, 8.2, 30.0)]
    g = GraspGroup.from_components(np.tile([0.0, 0.0, 0.5], (4, 1)), np.stack(tilts), 0.04, 0.02,
                                   scores=[0.1, 0.2, 0.3, 0.4])
    # reference rule R[2, 0] > 0.99 <=> tilt < 8.11 deg
    assert grasps_to_rects(g, SQUARE).scores.tolist() == [0.1, 0.2]
    assert len(grasps_to_rects(g[2:], SQUARE)) == 0


# ----------------------------------------------------------------------------- rect -> 6-DoF


def test_rects_to_grasps_known_answer() -> None:
    depth = np.full((720, 1280), 0.5, dtype=np.float32)
    r = RectGraspGroup([[640.0, 360.0, 600.0, 360.0, 20.0, 0.9, 2.0]])
    g = rects_to_grasps(r, depth, SQUARE)
    np.testing.assert_allclose(g.translations, [[0.0, 0.0, 0.5]])
    # open point is to the left (-x), upper point is rot90(-1, 0) = (0, -1): up (-y)
    np.testing.assert_allclose(g.rotations[0], [[0, -1, 0], [0, 0, -1], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(g.widths, [2 * 40 * 0.5 / 1000])
    np.testing.assert_allclose(g.heights, [2 * 10 * 0.5 / 1000])
    assert g.depths.tolist() == [0.02] and g.scores.tolist() == [0.9]
    assert g.object_ids.tolist() == [2.0]


def test_rects_to_grasps_drops_invalid() -> None:
    depth = np.full((720, 1280), 0.5, dtype=np.float32)
    depth[100, 200] = 0.0
    rows = [
        [640.0, 360.0, 600.0, 360.0, 20.0, 0.1, 0.0],  # fine
        [200.2, 99.8, 180.0, 100.0, 20.0, 0.2, 0.0],  # zero depth at the rounded center
        [640.0, 360.0, 640.0, 360.0, 20.0, 0.3, 0.0],  # degenerate: open == center
        [1300.0, 360.0, 1290.0, 360.0, 20.0, 0.4, 0.0],  # center outside the image
        [640.0, 360.0, 600.0, 360.0, 0.0, 0.5, 0.0],  # zero height: upper == center
    ]
    assert rects_to_grasps(RectGraspGroup(rows), depth, SQUARE).scores.tolist() == [0.1]
    with pytest.raises(ValueError, match="millimetres"):
        rects_to_grasps(RectGraspGroup(rows), depth * 1000, SQUARE)


@pytest.mark.parametrize("intrinsics", [SQUARE, REALSENSE, KINECT])
def test_roundtrip_6dof_rect_6dof(intrinsics: CameraIntrinsics) -> None:
    rng = np.random.default_rng(1)
    n = 50
    thetas = rng.uniform(-np.pi, np.pi, n)
    z = 0.6
    t = np.column_stack([rng.uniform(-0.15, 0.15, (n, 2)), np.full(n, z)])
    g = GraspGroup.from_components(t, top_down_rotations(thetas), rng.uniform(0.01, 0.1, n),
                                   0.03, scores=rng.random(n), object_ids=rng.integers(0, 9, n))
    # the reference rect sits at the palm: its depth pixel sees the plane z - 0.02
    depth = np.full((intrinsics.height, intrinsics.width), z - 0.02, dtype=np.float32)
    back = rects_to_grasps(grasps_to_rects(g, intrinsics), depth, intrinsics)
    assert len(back) == n
    np.testing.assert_allclose(back.translations, t - [0.0, 0.0, 0.02], atol=1e-7)
    np.testing.assert_allclose(back.widths, g.widths, atol=1e-7)
    np.testing.assert_allclose(back.heights, 0.02, atol=1e-6)
    np.testing.assert_array_equal(back.depths, 0.02)
    np.testing.assert_array_equal(back.scores, g.scores)
    np.testing.assert_array_equal(back.object_ids, g.object_ids)
    # the same physical grasp with the jaws swapped (reference quirk)
    tol = 1e-7 if intrinsics is SQUARE else 1e-3  # fx != fy skews the reference's axes
    assert rotation_angles(back.rotations, g.rotations @ FLIP).max() < tol
    assert back.invalid_rows() == []


def test_roundtrip_rect_6dof_rect() -> None:
    rng = np.random.default_rng(2)
    n = 20
    c = rng.uniform(200, 600, (n, 2))
    ang = rng.uniform(-np.pi, np.pi, n)
    half = rng.uniform(5, 40, n)
    rows = np.column_stack([c, c + half[:, None] * np.column_stack([np.cos(ang), np.sin(ang)]),
                            rng.uniform(5, 20, n), rng.random(n), np.arange(n)])
    rects = RectGraspGroup(rows)
    depth = np.full((720, 1280), 0.7, dtype=np.float32)
    grasps = rects_to_grasps(rects, depth, SQUARE)
    # the 6-DoF grasp sits at the rect's plane; move it forward so that its palm lands there
    forward = grasps.with_columns(translations=grasps.translations + [0.0, 0.0, 0.02])
    again = grasps_to_rects(forward, SQUARE)
    np.testing.assert_allclose(again.center_points, rects.center_points, atol=1e-4)
    # open point: the reference frame flips the jaw, so it comes back on the other side
    np.testing.assert_allclose(again.open_points, 2 * rects.center_points - rects.open_points,
                               atol=1e-4)
    np.testing.assert_array_equal(again.scores, rects.scores)


# ----------------------------------------------------------------------------- PLGP 4-DoF


def test_pixel_grasp_rotations_are_proper_and_follow_eq9() -> None:
    thetas = np.linspace(-np.pi, np.pi, 13)
    rot = pixel_grasp_rotations(thetas)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0)
    np.testing.assert_allclose(rot.transpose(0, 2, 1) @ rot, np.broadcast_to(np.eye(3), rot.shape),
                               atol=1e-12)
    for theta, r in zip(thetas, rot, strict=True):
        c, s = np.cos(theta), np.sin(theta)
        eq9 = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
        np.testing.assert_allclose(r, eq9[:, [2, 0, 1]], atol=1e-12)


def test_pixel_grasps_to_grasps_known_answer() -> None:
    depth = np.full((720, 1280), 0.5, dtype=np.float32)
    pg = PixelGrasps([[640.0, 360.0, 0.02, 0.0, 0.05, 0.8],
                      [740.0, 360.0, 0.01, np.pi / 2, 0.03, 0.4]])
    g = pixel_grasps_to_grasps(pg, depth, SQUARE)
    np.testing.assert_allclose(g.translations, [[0.0, 0.0, 0.5], [0.05, 0.0, 0.5]])
    np.testing.assert_allclose(g.rotations[:, :, 0], [[0, 0, 1]] * 2, atol=1e-12)  # approach
    np.testing.assert_allclose(g.rotations[0, :, 1], [1, 0, 0], atol=1e-12)  # theta 0: +u
    np.testing.assert_allclose(g.rotations[1, :, 1], [0, -1, 0], atol=1e-12)  # 90 deg: up
    np.testing.assert_array_equal(g.depths, [0.02, 0.01])
    np.testing.assert_array_equal(g.widths, [0.05, 0.03])
    np.testing.assert_array_equal(g.scores, [0.8, 0.4])
    # eq. 8: gripper centre = I(p) K^-1 [p; 1] + [0, 0, d] = graspnet fingertip centre t + d a
    K_inv = np.linalg.inv(SQUARE.matrix)
    eq8 = 0.5 * K_inv @ [740.0, 360.0, 1.0] + [0.0, 0.0, 0.01]
    np.testing.assert_allclose(g.translations[1] + g.depths[1] * g.rotations[1, :, 0], eq8)


def test_pixel_grasps_drop_invalid_depth() -> None:
    depth = np.full((720, 1280), 0.5, dtype=np.float32)
    depth[10, 20] = 0.0
    pg = PixelGrasps([[20.0, 10.0, 0.02, 0.0, 0.05, 0.1], [-5.0, 10.0, 0.02, 0.0, 0.05, 0.2],
                      [30.0, 10.0, 0.02, 0.0, 0.05, 0.3]])
    assert pixel_grasps_to_grasps(pg, depth, SQUARE).scores.tolist() == [0.3]


@pytest.mark.parametrize("intrinsics", [SQUARE, REALSENSE])
def test_roundtrip_6dof_4dof_6dof(intrinsics: CameraIntrinsics) -> None:
    rng = np.random.default_rng(3)
    n = 40
    z = 0.55
    t = np.column_stack([rng.uniform(-0.15, 0.15, (n, 2)), np.full(n, z)])
    g = GraspGroup.from_components(t, top_down_rotations(rng.uniform(-np.pi, np.pi, n)),
                                   rng.uniform(0.01, 0.1, n), rng.uniform(0.0, 0.04, n),
                                   scores=rng.random(n))
    depth = np.full((intrinsics.height, intrinsics.width), z, dtype=np.float32)
    pg = grasps_to_pixel_grasps(g, intrinsics)
    assert len(pg) == n
    back = pixel_grasps_to_grasps(pg, depth, intrinsics)
    np.testing.assert_allclose(back.translations, g.translations, atol=1e-9)
    np.testing.assert_allclose(back.rotations, g.rotations, atol=1e-12)
    np.testing.assert_allclose(back.widths, g.widths)
    np.testing.assert_allclose(back.depths, g.depths)
    np.testing.assert_array_equal(back.scores, g.scores)
    # and 4-DoF -> 6-DoF -> 4-DoF
    np.testing.assert_allclose(grasps_to_pixel_grasps(back, intrinsics).array, pg.array,
                               atol=1e-9)


def test_grasps_to_pixel_grasps_filters_and_projects() -> None:
    base = top_down_rotations(np.array([0.4]))[0]
    tilted = Rotation.from_rotvec([0.0, np.deg2rad(20.0), 0.0]).as_matrix() @ base
    g = GraspGroup.from_components([[0.1, -0.05, 0.5]] * 2, np.stack([base, tilted]), 0.05, 0.02,
                                   scores=[0.9, 0.1])
    pg = grasps_to_pixel_grasps(g, SQUARE)
    assert pg.scores.tolist() == [0.9]
    np.testing.assert_allclose(pg.pixels, [[640 + 200.0, 360 - 100.0]])
    # theta: jaw (cos 0.4, sin 0.4, 0) in the image is (du, dv) = (cos th, -sin th)
    np.testing.assert_allclose(pg.thetas, [-0.4])
    assert len(grasps_to_pixel_grasps(g, SQUARE, min_cos=0.9)) == 2


def test_rects_to_grasps_non_square_pixels_need_orthonormalize() -> None:
    skewed = CameraIntrinsics(1000.0, 1100.0, 640.0, 360.0, 1280, 720)
    depth = np.full((720, 1280), 0.5, dtype=np.float32)
    r = RectGraspGroup([[640.0, 360.0, 620.0, 340.0, 20.0, 0.9, 0.0]])  # 45 deg rectangle
    with pytest.raises(ValueError, match="orthonormal"):
        rects_to_grasps(r, depth, skewed)
    g = rects_to_grasps(r, depth, skewed, orthonormalize=True)
    assert g.invalid_rows() == []
    np.testing.assert_allclose(g.rotations[0, :, 0], [0.0, 0.0, 1.0], atol=1e-12)


def test_grasps_behind_the_camera_are_dropped() -> None:
    rot = top_down_rotations(np.zeros(2))
    g = GraspGroup.from_components([[0.0, 0.0, 0.5], [0.0, 0.0, -0.3]], rot, 0.04, 0.02,
                                   scores=[0.5, 0.6])
    assert grasps_to_rects(g, SQUARE).scores.tolist() == [0.5]
    assert grasps_to_pixel_grasps(g, SQUARE).scores.tolist() == [0.5]


def test_pixel_grasps_from_components() -> None:
    pg = PixelGrasps.from_components([[1.0, 2.0], [3.0, 4.0]], 0.02, [0.1, 0.2], 0.05)
    np.testing.assert_array_equal(pg.array, [[1, 2, 0.02, 0.1, 0.05, 1.0], [3, 4, 0.02, 0.2, 0.05, 1.0]])
    np.testing.assert_array_equal(pg.pixels, [[1.0, 2.0], [3.0, 4.0]])
    assert pg.depths.tolist() == [0.02, 0.02] and pg.thetas.tolist() == [0.1, 0.2]
    assert pg.widths.tolist() == [0.05, 0.05] and pg.scores.tolist() == [1.0, 1.0]
    assert len(pg[np.array([False, True])]) == 1
    with pytest.raises(ValueError, match="thetas"):
        PixelGrasps.from_components([[1.0, 2.0]], 0.02, [0.1, 0.2], 0.05)


def test_rect_from_npy_rejects_an_npz_archive(tmp_path: Path) -> None:
    np.savez(tmp_path / "r.npz", rects=np.zeros((2, 7)))
    with pytest.raises(ValueError, match=r"\.npz archive"):
        RectGraspGroup.from_npy(tmp_path / "r.npz")
