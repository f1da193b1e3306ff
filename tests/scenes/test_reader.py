"""Reader of the GraspNet-1Billion layout: round trips, the reference pose precision, errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from grasplab.core.camera import CameraIntrinsics
from grasplab.core.rotations import rotation_x, rotation_y, rotation_z
from grasplab.scenes.annotations import (
    euler_sxyz_to_matrix,
    quaternion_to_euler_sxyz,
    read_annotation_xml,
    reference_pose_matrices,
)
from grasplab.scenes.layout import DatasetWriter
from grasplab.scenes.reader import GraspNetDataset

INTR = CameraIntrinsics(60.0, 61.0, 15.5, 11.5, 32, 24)
IDS = [4, 11]


def _poses(rng: np.random.Generator, k: int) -> np.ndarray:
    T = np.tile(np.eye(4), (k, 1, 1))
    T[:, :3, :3] = Rotation.random(k, random_state=rng).as_matrix()
    T[:, :3, 3] = rng.uniform(-0.2, 0.2, (k, 3)) + [0, 0, 0.6]
    return T


def _make_dataset(root: Path, rng: np.random.Generator, frames: int = 3) -> dict[str, Any]:
    """Write scene 2 with ``frames`` frames and models 4 and 11; return what was written."""
    writer = DatasetWriter(root, "realsense")
    writer.write_model(4, trimesh.creation.box((0.04, 0.03, 0.02)))
    writer.write_model(11, trimesh.creation.icosphere(subdivisions=1, radius=0.02))
    cam_poses, table = _poses(rng, frames), _poses(rng, 1)[0]
    cam_poses[0] = np.eye(4)
    tmp = writer.begin_scene(2)
    writer.write_scene_static(tmp, IDS, INTR, cam_poses, table)
    written = []
    for ann in range(frames):
        depth = rng.uniform(0.3, 0.9, (24, 32)).astype(np.float32)
        depth[:2] = 0.0
        frame: dict[str, Any] = {
            "rgb": rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
            "depth": depth,
            "mask": rng.choice(np.array([0, 5, 12]), size=(24, 32)),
            "T_cam_obj": _poses(rng, 2),
        }
        writer.write_frame(
            tmp, ann, intrinsics=INTR, object_ids=IDS, parallel_depth=depth, eta=650.0, **frame
        )
        written.append(frame)
    writer.commit_scene(tmp, 2)
    return {"frames": written, "camera_poses": cam_poses, "table": table}


def test_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    truth = _make_dataset(tmp_path, rng)
    ds = GraspNetDataset(tmp_path)
    assert ds.scene_ids() == [2]
    assert ds.object_ids(2) == IDS
    assert ds.frame_ids(2) == [0, 1, 2]
    for ann, written in enumerate(truth["frames"]):
        frame = ds.frame(2, ann)
        np.testing.assert_array_equal(frame.rgb, written["rgb"])
        assert frame.depth.dtype == np.float32
        assert np.abs(frame.depth - written["depth"]).max() <= 0.0005 + 1e-6  # within 1 mm
        np.testing.assert_array_equal(frame.mask, written["mask"])
        assert frame.object_ids == tuple(IDS)
        assert frame.T_cam_obj.shape == (2, 4, 4) and frame.T_cam_obj.dtype == np.float64
        np.testing.assert_allclose(frame.T_cam_obj[:, :3, 3], written["T_cam_obj"][:, :3, 3], atol=5e-5)
        np.testing.assert_allclose(frame.T_cam_obj[:, :3, :3], written["T_cam_obj"][:, :3, :3], atol=4e-4)
        np.testing.assert_allclose(frame.T_cam0_cam, truth["camera_poses"][ann])
        np.testing.assert_allclose(frame.T_table_cam, truth["table"] @ truth["camera_poses"][ann])
        assert frame.intrinsics == INTR
    assert ds.camera_poses(2).shape == (3, 4, 4)
    np.testing.assert_allclose(ds.T_table_cam0(2), truth["table"])
    depth, eta = ds.parallel_depth(2, 1)
    assert eta == 650.0 and depth.shape == (24, 32)
    box = ds.model_mesh(4)
    np.testing.assert_allclose(box.extents, [0.04, 0.03, 0.02], atol=1e-7)
    points = ds.model_points(4)
    assert points.shape[1] == 3 and len(points) > 100  # dense: 2 mm spacing or finer
    np.testing.assert_allclose(points.max(axis=0), [0.02, 0.015, 0.01], atol=1e-7)


def test_point_cloud_back_projects_depth(tmp_path: Path, rng: np.random.Generator) -> None:
    _make_dataset(tmp_path, rng, frames=1)
    frame = GraspNetDataset(tmp_path).frame(2, 0)
    points, pixels = frame.point_cloud()
    assert len(points) == np.count_nonzero(frame.depth)
    u, v = pixels[:, 0], pixels[:, 1]
    z = frame.depth[v, u]
    np.testing.assert_allclose(points[:, 2], z, rtol=1e-6)
    np.testing.assert_allclose(points[:, 0], (u - INTR.cx) / INTR.fx * z, rtol=1e-5, atol=1e-7)
    table_points, _ = frame.point_cloud(in_table_frame=True)
    expected = points @ frame.T_table_cam[:3, :3].T + frame.T_table_cam[:3, 3]
    np.testing.assert_allclose(table_points, expected)


def test_euler_path_known_answers() -> None:
    # 90 deg about z from the 4-decimal text; transforms3d normalises by |q|^2
    angles = quaternion_to_euler_sxyz(np.array([[0.7071, 0.0, 0.0, 0.7071]]))
    np.testing.assert_allclose(angles, [[0.0, 0.0, np.pi / 2]], atol=1e-12)
    # a zero quaternion reads as the identity, as transforms3d's quat2mat returns
    np.testing.assert_array_equal(np.abs(quaternion_to_euler_sxyz(np.zeros((1, 4)))), [[0.0, 0.0, 0.0]])
    a = np.array([[0.3, -0.7, 2.0]])
    expected = rotation_z(2.0) @ rotation_y(-0.7) @ rotation_x(0.3)
    np.testing.assert_allclose(euler_sxyz_to_matrix(a)[0], expected, atol=1e-15)
    # gimbal lock (ay = 90 deg) takes the degenerate branch and still reproduces the rotation
    R = rotation_y(np.pi / 2) @ rotation_x(0.4)
    q = Rotation.from_matrix(R).as_quat(scalar_first=True)
    back = euler_sxyz_to_matrix(quaternion_to_euler_sxyz(q[None]))[0]
    np.testing.assert_allclose(back, R, atol=1e-7)


def test_reference_precision_matches_an_independent_path(rng: np.random.Generator) -> None:
    quats = np.round(Rotation.random(200, random_state=rng).as_quat(scalar_first=True), 4)
    positions = np.round(rng.uniform(-1, 1, (200, 3)), 4)
    poses = reference_pose_matrices(positions, quats)
    assert poses.dtype == np.float32 and poses.shape == (200, 4, 4)
    # scipy: normalise the 4-decimal quaternion, extrinsic xyz Euler, back to a matrix
    euler = Rotation.from_quat(quats, scalar_first=True).as_euler("xyz")
    expected = Rotation.from_euler("xyz", euler).as_matrix().astype(np.float32)
    np.testing.assert_allclose(poses[:, :3, :3], expected, atol=2e-7)
    np.testing.assert_array_equal(poses[:, :3, 3], positions.astype(np.float32))
    np.testing.assert_array_equal(poses[:, 3], np.tile([0, 0, 0, 1], (200, 1)))


def test_object_poses_are_float32_values_from_the_xml(tmp_path: Path, rng: np.random.Generator) -> None:
    truth = _make_dataset(tmp_path, rng, frames=1)
    ids, poses = GraspNetDataset(tmp_path).object_poses(2, 0)
    assert ids == IDS
    np.testing.assert_array_equal(poses, poses.astype(np.float32).astype(np.float64))
    R_true = truth["frames"][0]["T_cam_obj"][:, :3, :3]
    angle = Rotation.from_matrix(np.swapaxes(poses[:, :3, :3], 1, 2) @ R_true).magnitude()
    assert angle.max() < 5e-4  # 4 decimals of a unit quaternion


def test_reference_style_xml_is_read_by_position(tmp_path: Path) -> None:
    text = """<?xml version="1.0" ?>
<scene>
    <obj>
        <obj_id>7</obj_id>
        <obj_name>007.ply</obj_name>
        <obj_path>/data/models/007.ply</obj_path>
        <pos_in_world>0.0100 -0.0200 0.5300</pos_in_world>
        <ori_in_world>0.0000 1.0000 0.0000 0.0000</ori_in_world>
    </obj>
</scene>
"""
    path = tmp_path / "0000.xml"
    path.write_text(text)
    ids, positions, quats = read_annotation_xml(path)
    assert ids == [7]
    np.testing.assert_array_equal(positions, [[0.01, -0.02, 0.53]])
    pose = reference_pose_matrices(positions, quats)[0]
    np.testing.assert_allclose(pose[:3, :3], np.diag([1.0, -1.0, -1.0]), atol=1e-7)


def test_annotation_only_root(tmp_path: Path, rng: np.random.Generator) -> None:
    _make_dataset(tmp_path, rng, frames=2)
    cam = tmp_path / "scenes/scene_0002/realsense"
    for folder in ("rgb", "depth", "label", "meta", "parallel_depth"):
        shutil.rmtree(cam / folder)
    ds = GraspNetDataset(tmp_path)
    assert ds.scene_ids() == [2] and ds.frame_ids(2) == [0, 1]
    ids, poses = ds.object_poses(2, 1)
    assert ids == IDS and poses.shape == (2, 4, 4)
    assert ds.camera_poses(2).shape == (2, 4, 4) and ds.T_table_cam0(2).shape == (4, 4)
    assert ds.intrinsics(2).width == 1280  # no image and no manifest: the reference size
    assert ds.model_points(11).shape[1] == 3
    with pytest.raises(FileNotFoundError, match="rgb/0000.png"):
        ds.frame(2, 0)


def test_missing_and_corrupted_files_name_the_file(tmp_path: Path, rng: np.random.Generator) -> None:
    _make_dataset(tmp_path, rng, frames=2)
    ds = GraspNetDataset(tmp_path)
    cam = tmp_path / "scenes/scene_0002/realsense"
    (cam / "depth/0001.png").unlink()
    with pytest.raises(FileNotFoundError, match="depth/0001.png"):
        ds.frame(2, 1)
    (cam / "rgb/0000.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="rgb/0000.png"):
        ds.frame(2, 0)
    (cam / "annotations/0001.xml").write_text("<scene><obj><obj_id>1</obj_id></obj>")
    with pytest.raises(ValueError, match="annotations/0001.xml"):
        ds.object_poses(2, 1)
    np.save(cam / "camera_poses.npy", np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="camera_poses.npy"):
        ds.camera_poses(2)
    (cam / "cam0_wrt_table.npy").unlink()
    with pytest.raises(FileNotFoundError, match="cam0_wrt_table.npy"):
        ds.T_table_cam0(2)
    with pytest.raises(FileNotFoundError, match="models/099"):
        ds.model_points(99)
    with pytest.raises(FileNotFoundError, match="scene_0005"):
        ds.object_ids(5)
    with pytest.raises(ValueError, match="camera must be one of"):
        GraspNetDataset(tmp_path, camera="zed")
    with pytest.raises(FileNotFoundError, match="scenes"):
        GraspNetDataset(tmp_path / "nowhere")


def test_load_npy_rejects_an_npz_archive_cleanly(tmp_path: Path) -> None:
    from grasplab.scenes.reader import _load_npy

    path = tmp_path / "camK.npy"
    with open(path, "wb") as handle:
        np.savez(handle, K=np.eye(3))
    with pytest.raises(ValueError, match="npz archive"):
        _load_npy(path, (3, 3))


def test_old_import_paths_of_the_annotation_helpers_still_work() -> None:
    from grasplab import scenes
    from grasplab.scenes import annotations, reader

    for name in annotations.__all__:
        assert getattr(reader, name) is getattr(annotations, name) is getattr(scenes, name)
