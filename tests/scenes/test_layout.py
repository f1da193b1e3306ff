"""Writer of the GraspNet-1Billion layout: names, shapes, dtypes, precision and determinism."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from PIL import Image
from scipy.io import loadmat
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from grasplab.core.camera import CameraIntrinsics
from grasplab.scenes.layout import (
    DatasetWriter,
    annotation_xml,
    dense_model_mesh,
    depth_to_millimetres,
    frame_file,
    model_dir,
    save_npz_deterministic,
    scene_dir,
)

INTR = CameraIntrinsics(60.0, 61.0, 15.5, 11.5, 32, 24)
IDS = [4, 11, 702]


def _poses(rng: np.random.Generator, k: int = 3) -> np.ndarray:
    T = np.tile(np.eye(4), (k, 1, 1))
    T[:, :3, :3] = Rotation.random(k, random_state=rng).as_matrix()
    T[:, :3, 3] = rng.uniform(-0.2, 0.2, (k, 3)) + [0, 0, 0.6]
    return T


def _frame(rng: np.random.Generator) -> dict[str, Any]:
    h, w = INTR.height, INTR.width
    depth = rng.uniform(0.3, 0.9, (h, w)).astype(np.float32)
    depth[0, :5] = 0.0
    mask = rng.choice(np.array([0, 5, 12, 703]), size=(h, w))
    return {
        "rgb": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        "depth": depth,
        "mask": mask,
        "intrinsics": INTR,
        "object_ids": IDS,
        "T_cam_obj": _poses(rng),
        "depth_clean": depth + 0.001,
        "parallel_depth": depth * 0.5,
        "parallel_mask": mask,
        "eta": 700.0,
    }


def _write_scene(root: Path, rng: np.random.Generator, frames: int = 2) -> tuple[Path, list[dict[str, Any]]]:
    writer = DatasetWriter(root, "realsense")
    tmp = writer.begin_scene(3)
    writer.write_scene_static(tmp, IDS, INTR, _poses(rng, frames), _poses(rng, 1)[0])
    data = [_frame(rng) for _ in range(frames)]
    for ann, frame in enumerate(data):
        writer.write_frame(tmp, ann, **frame)
    return writer.commit_scene(tmp, 3), data


def test_names_follow_the_reference_layout(tmp_path: Path) -> None:
    assert scene_dir(tmp_path, 7) == tmp_path / "scenes" / "scene_0007"
    assert model_dir(tmp_path, 5) == tmp_path / "models" / "005"
    assert model_dir(tmp_path, 1002).name == "1002"
    expected = {
        "rgb": "rgb/0012.png",
        "depth": "depth/0012.png",
        "label": "label/0012.png",
        "meta": "meta/0012.mat",
        "annotations": "annotations/0012.xml",
        "depth_clean": "depth_clean/0012.png",
        "parallel_depth": "parallel_depth/0012.npz",
    }
    for folder, name in expected.items():
        assert frame_file(folder, 12) == name
    with pytest.raises(ValueError, match="unknown frame folder"):
        frame_file("rect2", 0)


def test_annotation_xml_known_text() -> None:
    T = np.eye(4)[None].repeat(2, axis=0)
    T[1, :3, :3] = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    T[1, :3, 3] = [0.123456, -0.5, 0.70004]
    root = ET.fromstring(annotation_xml([3, 17], T, ["a", "b"], ["models/003", "models/017"]))
    assert root.tag == "scene" and len(root) == 2
    obj = root[1]
    assert [child.tag for child in obj] == ["obj_id", "obj_name", "obj_path", "pos_in_world", "ori_in_world"]
    assert obj[0].text == "17" and obj[1].text == "b" and obj[2].text == "models/017"
    assert obj[3].text == "0.1235 -0.5000 0.7000"
    assert obj[4].text == "0.7071 0.0000 0.0000 0.7071"  # wxyz, w >= 0
    assert root[0][4].text == "1.0000 0.0000 0.0000 0.0000"


def test_frame_files_have_reference_shapes_and_dtypes(tmp_path: Path, rng: np.random.Generator) -> None:
    path, data = _write_scene(tmp_path, rng)
    cam = path / "realsense"
    frame = data[1]
    with Image.open(cam / "rgb/0001.png") as im:
        assert im.mode == "RGB" and im.size == (32, 24)
        np.testing.assert_array_equal(np.asarray(im), frame["rgb"])
    with Image.open(cam / "depth/0001.png") as im:
        depth_mm = np.asarray(im)
    assert depth_mm.dtype == np.uint16 and depth_mm.shape == (24, 32)
    np.testing.assert_array_equal(depth_mm, np.rint(frame["depth"] * 1000).astype(np.uint16))
    with Image.open(cam / "label/0001.png") as im:
        label = np.asarray(im)
    assert label.dtype == np.uint16
    np.testing.assert_array_equal(label, frame["mask"])
    meta = loadmat(cam / "meta/0001.mat")
    np.testing.assert_array_equal(meta["cls_indexes"].ravel(), np.array(IDS) + 1)
    assert meta["poses"].shape == (3, 4, 3)
    np.testing.assert_allclose(meta["poses"][:, :, 2], frame["T_cam_obj"][2, :3, :])
    np.testing.assert_allclose(meta["intrinsic_matrix"], INTR.matrix)
    assert float(meta["factor_depth"].squeeze()) == 1000.0
    with np.load(cam / "parallel_depth/0001.npz") as npz:
        np.testing.assert_array_equal(npz["depth"], frame["parallel_depth"])
        np.testing.assert_array_equal(npz["mask"], frame["mask"])
        assert float(npz["eta"]) == 700.0
    with Image.open(cam / "depth_clean/0001.png") as im:
        np.testing.assert_array_equal(np.asarray(im), np.rint(frame["depth_clean"] * 1000))


def test_static_scene_files(tmp_path: Path, rng: np.random.Generator) -> None:
    path, _ = _write_scene(tmp_path, rng, frames=3)
    assert (path / "object_id_list.txt").read_text() == "4\n11\n702\n"
    K = np.load(path / "realsense/camK.npy")
    assert K.shape == (3, 3) and K.dtype == np.float64
    np.testing.assert_array_equal(K, INTR.matrix)
    assert np.load(path / "realsense/camera_poses.npy").shape == (3, 4, 4)
    assert np.load(path / "realsense/cam0_wrt_table.npy").shape == (4, 4)
    assert sorted(p.name for p in (path / "realsense/annotations").iterdir()) == [
        "0000.xml",
        "0001.xml",
        "0002.xml",
    ]
    assert not list((tmp_path / "scenes").glob(".tmp-*"))  # the temp folder was renamed


def test_depth_to_millimetres_known_values() -> None:
    depth = np.array([[0.0, 0.0004, 0.5126, np.nan, 70.0, 1.0]])
    np.testing.assert_array_equal(depth_to_millimetres(depth), [[0, 0, 513, 0, 0, 1000]])
    with pytest.raises(ValueError, match="negative depth"):
        depth_to_millimetres(np.array([[-0.1]]))


def test_dense_model_covers_the_surface_at_2mm(tmp_path: Path) -> None:
    box = trimesh.creation.box((0.06, 0.03, 0.02))
    dense = dense_model_mesh(box)
    edges = np.linalg.norm(np.diff(dense.vertices[dense.edges_unique], axis=1)[:, 0], axis=1)
    assert edges.max() <= 0.002 + 1e-12
    samples, _ = trimesh.sample.sample_surface(box, 3000, seed=0)
    dist, _ = cKDTree(dense.vertices).query(samples)
    assert dist.max() <= 0.002 / np.sqrt(3) + 1e-9
    assert np.abs(box.bounds - dense.bounds).max() < 1e-12  # vertices stay on the surface

    writer = DatasetWriter(tmp_path)
    folder = writer.write_model(5, box)
    ply = trimesh.load(folder / "nontextured.ply", process=False)
    assert len(getattr(ply, "vertices", [])) == len(dense.vertices)
    obj = trimesh.load(folder / "textured.obj", force="mesh", process=False)
    np.testing.assert_allclose(obj.bounds, box.bounds, atol=1e-7)
    before = (folder / "nontextured.ply").stat().st_mtime_ns
    writer.write_model(5, trimesh.creation.icosphere())  # present: left untouched
    assert (folder / "nontextured.ply").stat().st_mtime_ns == before
    assert len(list((tmp_path / "models").iterdir())) == 1


def test_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    first, _ = _write_scene(tmp_path / "a", np.random.default_rng(3))
    second, _ = _write_scene(tmp_path / "b", np.random.default_rng(3))
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 4 + 2 * 7
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_npz_is_deterministic_and_loadable(tmp_path: Path) -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_npz_deterministic(tmp_path / "a.npz", depth=arr, eta=np.array(5.0))
    save_npz_deterministic(tmp_path / "b.npz", depth=arr, eta=np.array(5.0))
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as data:
        np.testing.assert_array_equal(data["depth"], arr)


def test_commit_replaces_a_partial_scene(tmp_path: Path, rng: np.random.Generator) -> None:
    partial = scene_dir(tmp_path, 3)
    partial.mkdir(parents=True)
    (partial / "junk.txt").write_text("half-written")
    path, _ = _write_scene(tmp_path, rng)
    assert not (path / "junk.txt").exists() and (path / "object_id_list.txt").is_file()


def test_bad_inputs_are_rejected(tmp_path: Path, rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="realsense"):
        DatasetWriter(tmp_path, "zed")
    writer = DatasetWriter(tmp_path)
    tmp = writer.begin_scene(0)
    frame = _frame(rng)
    with pytest.raises(ValueError, match="rgb"):
        writer.write_frame(tmp, 0, **{**frame, "rgb": frame["rgb"][:-1]})
    with pytest.raises(ValueError, match="mask"):
        writer.write_frame(tmp, 0, **{**frame, "mask": -frame["mask"] - 1})
    with pytest.raises(ValueError, match="eta"):
        writer.write_frame(tmp, 0, **{**frame, "eta": None})
    with pytest.raises(ValueError, match="T_cam_obj"):
        writer.write_frame(tmp, 0, **{**frame, "T_cam_obj": frame["T_cam_obj"][:2]})
    with pytest.raises(ValueError, match="depth"):
        writer.write_frame(tmp, 0, **{**frame, "depth": frame["depth"].T})
