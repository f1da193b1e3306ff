"""3D export: gripper meshes, coloured clouds, PLY and GLB files that load back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel
from grasplab.viz import export_grasp_scene, grasp_colors, gripper_mesh, observation_cloud

K = CameraIntrinsics(100.0, 100.0, 31.5, 23.5, 64, 48)


def _grasps(n: int = 3) -> GraspGroup:
    R = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    points = np.stack([np.linspace(-0.1, 0.1, n), np.zeros(n), np.full(n, 0.5)], axis=1)
    return GraspGroup.from_components(points, np.stack([R] * n), 0.05, 0.03,
                                      scores=np.linspace(0.1, 0.9, n))


def test_gripper_mesh_is_three_closed_boxes_per_grasp() -> None:
    grasps = _grasps(3)
    gripper = GripperModel()
    mesh = gripper_mesh(grasps, gripper)
    assert mesh.faces.shape == (3 * 3 * 12, 3) and mesh.vertices.shape == (3 * 3 * 36, 3)
    corners = gripper.box_corners(grasps).reshape(-1, 3)
    np.testing.assert_allclose(mesh.bounds, [corners.min(axis=0), corners.max(axis=0)])
    # volume of one grasp: two fingers (depth_base + depth) x 0.01 x 0.02 and a 0.01-thick palm
    fingers = 2 * (0.02 + 0.03) * 0.01 * 0.02
    palm = 0.01 * (0.05 + 2 * 0.01) * 0.02
    assert mesh.volume == pytest.approx(3 * (fingers + palm), rel=1e-9)  # outward winding
    colors = np.asarray(mesh.visual.vertex_colors)
    # the best (last, score 0.9) grasp is magenta, the worst red
    assert colors[-1, :3].tolist() == [236, 0, 140] and colors[0, :3].tolist() == [215, 48, 39]


def test_grasp_colors_and_bad_colors() -> None:
    grasps = _grasps(2)
    assert grasp_colors(grasps, highlight_best=False).tolist() == [[215, 48, 39], [26, 152, 80]]
    with pytest.raises(ValueError, match="colors"):
        gripper_mesh(grasps, colors=np.zeros((3, 3), np.uint8))


def test_observation_cloud_back_projects_with_colours() -> None:
    depth = np.full((K.height, K.width), 0.8, dtype=np.float32)
    depth[0, 0] = 0.0
    rgb = np.zeros((K.height, K.width, 3), np.uint8)
    rgb[..., 0] = np.arange(K.width, dtype=np.uint8)[None]  # red channel = column
    points, colors = observation_cloud(depth, K, rgb, stride=2)
    assert len(points) == (K.height // 2) * (K.width // 2) - 1  # pixel (0, 0) is invalid
    np.testing.assert_allclose(points[:, 2], 0.8)
    columns = np.round(points[:, 0] / 0.8 * K.fx + K.cx)
    np.testing.assert_array_equal(colors[:, 0], columns)
    grey_points, grey = observation_cloud(depth, K, stride=1)
    assert np.all(grey == 160) and len(grey_points) == K.height * K.width - 1
    with pytest.raises(ValueError, match="stride"):
        observation_cloud(depth, K, stride=0)


def test_ply_holds_cloud_points_and_gripper_faces(tmp_path: Path) -> None:
    cloud = np.random.default_rng(0).uniform(-0.1, 0.1, (50, 3)) + [0, 0, 0.6]
    colors = np.full((50, 3), 7, np.uint8)
    path = export_grasp_scene(tmp_path / "s.ply", cloud, _grasps(3), colors)
    loaded = trimesh.load(path, process=False)
    assert len(loaded.vertices) == 50 + 3 * 3 * 36 and len(loaded.faces) == 3 * 3 * 12
    np.testing.assert_allclose(loaded.vertices[:50], cloud, atol=1e-6)
    assert np.all(np.asarray(loaded.visual.vertex_colors)[:50, :3] == 7)
    assert loaded.faces.min() == 50  # no face uses a cloud point


def test_glb_scene_loads_with_named_nodes_and_a_y_up_root(tmp_path: Path) -> None:
    cloud = np.array([[0.0, 0.1, 0.5], [0.02, -0.1, 0.7]])
    path = export_grasp_scene(tmp_path / "s.glb", cloud, _grasps(2), max_grasps=1)
    scene = trimesh.load(path)
    assert set(scene.geometry) == {"observed_cloud", "grasps"}
    assert len(scene.geometry["grasps"].faces) == 36  # max_grasps=1
    transform, name = scene.graph["observed_cloud"]
    np.testing.assert_allclose(transform, np.diag([1.0, -1.0, -1.0, 1.0]))
    np.testing.assert_allclose(np.asarray(scene.geometry[name].vertices), cloud, atol=1e-6)


def test_export_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown 3D format"):
        export_grasp_scene(tmp_path / "s.obj", np.zeros((1, 3)), _grasps())
    with pytest.raises(ValueError, match="points"):
        export_grasp_scene(tmp_path / "s.ply", np.zeros((4, 2)), _grasps())
    with pytest.raises(ValueError, match="point_colors"):
        export_grasp_scene(tmp_path / "s.ply", np.zeros((4, 3)), _grasps(), np.zeros((3, 3)))
