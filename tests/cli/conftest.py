"""Shared inputs of the bad-input battery: one tiny dataset and hostile files, made once a session."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner


def _write_meta(folder: Path, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").write_text(json.dumps({"kind": kind}))
    (folder / "config.yaml").write_text("a: 1\n")
    return folder


def _images(world: Path) -> None:
    from PIL import Image

    depth_mm = np.full((48, 64), 700, dtype=np.uint16)
    depth_mm[16:32, 20:40] = 650
    Image.fromarray(depth_mm).save(world / "depth.png")
    np.save(world / "depth_m.npy", depth_mm.astype(np.float32) / 1000.0)
    np.save(world / "depth_mm.npy", depth_mm.astype(np.float32))  # millimetres given as metres
    Image.fromarray(np.full((48, 64, 3), 128, dtype=np.uint8)).save(world / "rgb.png")
    Image.fromarray(np.full((24, 32, 3), 128, dtype=np.uint8)).save(world / "rgb_small.png")
    (world / "K.json").write_text(json.dumps({"fx": 60.0, "fy": 60.0, "cx": 31.5, "cy": 23.5}))
    (world / "K_bad.json").write_text("{fx: 60,")
    (world / "K_huge.json").write_text(json.dumps({"fx": 1e12, "fy": 1e12, "cx": 31.5, "cy": 23.5}))


def _weights(world: Path) -> None:
    (world / "garbage.safetensors").write_bytes(b"this is not a tensor file at all" * 4)
    (world / "pickle.pt").write_bytes(pickle.dumps({"weight": [1.0, 2.0]}, protocol=2))
    (world / "empty.safetensors").write_bytes(b"")
    (world / "garbage.onnx").write_bytes(b"\x08\x07garbage onnx bytes that end mid-field\x3a\xff")
    (world / "weights_dir").mkdir()


def _meshes(world: Path) -> None:
    import trimesh

    box = trimesh.creation.box((0.04, 0.04, 0.04))
    box.export(world / "box.stl")
    data = (world / "box.stl").read_bytes()
    (world / "truncated.stl").write_bytes(data[: len(data) // 3])
    (world / "truncated_ascii.stl").write_text("solid x\nfacet normal 0 0 1\n outer loop\n vertex 0")
    (world / "empty.obj").write_text("")
    (world / "text.obj").write_text("this is not an OBJ file\n")


def _dumps(world: Path) -> None:
    empty = world / "dump_empty"
    (empty / "scene_0000" / "realsense").mkdir(parents=True)
    garbage = world / "dump_garbage" / "scene_0000" / "realsense"
    garbage.mkdir(parents=True)
    for ann in range(2):
        (garbage / f"{ann:04d}.npy").write_bytes(b"not an npy")
    (world / "grasps_empty.npy").write_bytes(b"")
    (world / "grasps_text.npy").write_text("hello")
    np.save(world / "grasps_wrong_shape.npy", np.zeros((3, 5)))


def _configs(world: Path) -> None:
    (world / "broken.yaml").write_text("optim: {lr: [1, oops\n")
    (world / "list.yaml").write_text("- 1\n- 2\n")
    (world / "unknown_key.yaml").write_text("no_such_section: 1\n")


def _dataset(root: Path) -> None:
    from grasplab.cli.main import app

    runner = CliRunner()
    args = ["scenes", "generate", "--split", "seen", "--num-scenes", "1", "--views", "2",
            "--objects-per-scene", "2", "--image-scale", "0.15", "--out", str(root), "--seed", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of hostile inputs plus ``data/``: a generated dataset (1 scene, 2 frames, 2 objects).

    Also ``labelled/``: a copy of it whose objects are labelled with a tiny config (views 8,
    angles 2), ``label_mesh/`` and ``train_run/`` run folders (their ``meta.json`` kinds) and
    ``a_file`` (a plain file, to put outputs under).
    """
    pytest.importorskip("pybullet")
    world = tmp_path_factory.mktemp("bad_inputs")
    _images(world)
    _weights(world)
    _meshes(world)
    _dumps(world)
    _configs(world)
    _write_meta(world / "label_mesh", "label-mesh")
    _write_meta(world / "train_run", "train-pixel")
    (world / "a_file").write_text("I am a file\n")
    shutil.copy(world / "rgb.png", world / "image.png")
    _dataset(world / "data")
    return world


@pytest.fixture(scope="session")
def labelled(world: Path) -> Path:
    """A copy of the session dataset with object labels from ``--views 8 --angles 2``."""
    from grasplab.cli.main import app

    root = world / "labelled"
    shutil.copytree(world / "data", root)
    args = ["label", "objects", "--root", str(root), "--views", "8", "--angles", "2",
            "--spacing", "0.02", "--max-points", "20"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root
