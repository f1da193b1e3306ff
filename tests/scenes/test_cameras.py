from __future__ import annotations

import numpy as np
import pytest

from grasplab.core.camera import CameraIntrinsics
from grasplab.scenes import (
    look_at,
    plgp_camera_pose,
    plgp_initial_pose,
    rig_camera_poses,
    rig_view_grid,
)


def _assert_proper(poses: np.ndarray) -> None:
    R = poses[:, :3, :3]
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    np.testing.assert_array_equal(poses[:, 3], np.broadcast_to([0, 0, 0, 1], (len(poses), 4)))


def _assert_looks_at(poses: np.ndarray, center: np.ndarray) -> None:
    to_center = center - poses[:, :3, 3]
    to_center /= np.linalg.norm(to_center, axis=1, keepdims=True)
    np.testing.assert_allclose(np.einsum("ni,ni->n", poses[:, :3, 2], to_center), 1.0, atol=1e-12)


def test_look_at_known_answer_opencv_axes() -> None:
    # camera on the +x axis looking back at the origin, world z up
    T = look_at((1.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    np.testing.assert_allclose(T[:3, 2], [-1, 0, 0], atol=1e-15)  # optical axis
    np.testing.assert_allclose(T[:3, 0], [0, 1, 0], atol=1e-15)  # x right (facing -x, z up)
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-15)  # y down
    down = look_at((0.0, 0.0, 1.0), (0.0, 0.0, 0.0))  # parallel to up: uses a fallback
    _assert_proper(down[None])
    with pytest.raises(ValueError, match="differ"):
        look_at((1, 2, 3), (1, 2, 3))


def test_rig_trajectory_geometry() -> None:
    center = np.array([0.1, -0.2, 0.02])
    poses = rig_camera_poses(256, center=center, radius=0.6)
    assert poses.shape == (256, 4, 4) and poses.dtype == np.float64
    _assert_proper(poses)
    _assert_looks_at(poses, center)
    offsets = poses[:, :3, 3] - center
    np.testing.assert_allclose(np.linalg.norm(offsets, axis=1), 0.6, atol=1e-12)
    np.testing.assert_allclose(poses[:, 2, 0], 0.0, atol=1e-12)  # x axis horizontal: no roll
    assert np.all(poses[:, 2, 1] < 0)  # image "up" (-y) leans to world up
    elev = np.degrees(np.arcsin(offsets[:, 2] / 0.6))
    azim = np.degrees(np.arctan2(offsets[:, 1], offsets[:, 0]))
    assert elev.min() == pytest.approx(30.0) and elev.max() == pytest.approx(80.0)
    assert azim.min() == pytest.approx(-90.0) and azim.max() == pytest.approx(90.0)  # a half turn
    assert len(np.unique(np.round(offsets, 9), axis=0)) == 256  # all distinct
    # serpentine: consecutive views are neighbours (no jump back across the half circle)
    steps = np.linalg.norm(np.diff(offsets, axis=0), axis=1)
    assert steps.max() < 0.6 * np.deg2rad(180 / 15 + 1)


def test_rig_views_see_the_center_at_the_principal_point() -> None:
    K = CameraIntrinsics(500.0, 500.0, 319.5, 239.5, 640, 480)
    poses = rig_camera_poses(32, num_rings=4)
    cam = np.einsum("nij,j->ni", np.linalg.inv(poses), np.array([0.0, 0.0, 0.0, 1.0]))
    uv = cam[:, :2] / cam[:, 2:3] * [K.fx, K.fy] + [K.cx, K.cy]
    np.testing.assert_allclose(uv, np.broadcast_to([K.cx, K.cy], uv.shape), atol=1e-9)
    assert np.all(cam[:, 2] > 0)


def test_rig_subsample_and_grid() -> None:
    full = rig_camera_poses()
    ids = list(range(0, 256, 16))
    np.testing.assert_array_equal(rig_camera_poses(view_ids=ids), full[ids])
    grid = rig_view_grid(8, num_rings=2, elevation_deg=(20.0, 60.0), azimuth_deg=(0.0, 90.0))
    np.testing.assert_allclose(
        grid,
        [[20, 0], [20, 30], [20, 60], [20, 90], [60, 90], [60, 60], [60, 30], [60, 0]],
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_views": 250}, "multiple"),
        ({"view_ids": [256]}, "view_ids"),
        ({"radius": 0.0}, "radius"),
        ({"elevation_deg": (50.0, 30.0)}, "elevation"),
        ({"center": (0.0, 0.0)}, "center"),
    ],
)
def test_rig_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rig_camera_poses(**kwargs)  # type: ignore[arg-type]


def test_plgp_initial_pose_looks_straight_down() -> None:
    T = plgp_initial_pose((0.1, 0.2, 0.0), 0.6)
    np.testing.assert_allclose(T[:3, :3], np.diag([1.0, -1.0, -1.0]))
    np.testing.assert_allclose(T[:3, 3], [0.1, 0.2, 0.6])
    np.testing.assert_allclose(plgp_camera_pose(0, center=(0.1, 0.2, 0.0), height=0.6, max_offset=0.0), T)


def test_plgp_pose_offsets_and_aim() -> None:
    center = np.array([0.0, 0.05, 0.01])
    poses = np.stack([plgp_camera_pose(s, center=center, height=0.7, max_offset=0.1) for s in range(200)])
    _assert_proper(poses)
    _assert_looks_at(poses, center)
    offset = poses[:, :3, 3] - center
    np.testing.assert_allclose(offset[:, 2], 0.7, atol=1e-12)  # t_o has no z component
    assert np.all(np.abs(offset[:, :2]) <= 0.1 + 1e-12)
    assert offset[:, :2].min() < -0.09 and offset[:, :2].max() > 0.09  # covers [-l, l]
    # roll stays close to T_i's: x axis nearly world +x
    assert np.all(poses[:, 0, 0] > 0.98)


def test_plgp_pose_deterministic_and_validated() -> None:
    np.testing.assert_array_equal(plgp_camera_pose(7), plgp_camera_pose(np.random.default_rng(7)))
    assert not np.allclose(plgp_camera_pose(7), plgp_camera_pose(8))
    with pytest.raises(ValueError, match="max_offset"):
        plgp_camera_pose(0, max_offset=-0.1)
    with pytest.raises(ValueError, match="height"):
        plgp_camera_pose(0, height=0.0)
