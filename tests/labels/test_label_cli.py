"""``grasplab label mesh`` and ``grasplab label objects`` end to end on tiny settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh
import typer
import yaml
from typer.testing import CliRunner

from grasplab.cli.label import register
from grasplab.labels import load_object_labels, object_labels_complete

runner = CliRunner()
TINY = ["--views", "12", "--angles", "4", "--max-points", "4", "--spacing", "0.01"]


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def _write_models(root: Path) -> None:
    box = trimesh.creation.box((0.03, 0.04, 0.05))
    meshes = {
        0: box,
        1: trimesh.Trimesh(box.vertices, box.faces[:-2]),  # open: not watertight
        2: trimesh.creation.box((0.2, 0.25, 0.3)),  # too big for the gripper
        4: trimesh.creation.cylinder(radius=0.015, height=0.05, sections=32),
    }
    for object_id, mesh in meshes.items():
        folder = root / "models" / f"{object_id:03d}"
        folder.mkdir(parents=True)
        mesh.export(folder / "textured.obj")


def test_label_objects_is_resumable_and_skips_bad_meshes(tmp_path: Path) -> None:
    _write_models(tmp_path)
    result = runner.invoke(_app(), ["label", "objects", "--root", str(tmp_path), *TINY])
    assert result.exit_code == 1, result.output  # skipped objects: work left undone (issue 13)
    assert "2 labelled" in result.output and "2 degenerate" in result.output
    assert "watertight" in result.output and "too big" in result.output
    assert object_labels_complete(tmp_path, 0) and object_labels_complete(tmp_path, 4)
    assert not object_labels_complete(tmp_path, 1)
    labels = load_object_labels(tmp_path, 0)
    assert labels.grid_shape == (4, 12, 4, 4) and labels.stable is not None
    mtime = (tmp_path / "grasp_label" / "000_labels.npz").stat().st_mtime_ns
    again = runner.invoke(_app(), ["label", "objects", "--root", str(tmp_path), *TINY])
    assert again.exit_code == 1, again.output  # the two bad meshes are still not labelled
    assert "2 skipped" in again.output and "0 labelled" in again.output
    assert (tmp_path / "grasp_label" / "000_labels.npz").stat().st_mtime_ns == mtime


def test_label_objects_without_models_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["label", "objects", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "models" in result.output


def test_label_mesh_writes_labels_config_and_meta(tmp_path: Path) -> None:
    mesh_path = tmp_path / "part.stl"
    trimesh.creation.box((0.02, 0.03, 0.04)).export(mesh_path)
    out = tmp_path / "out"
    args = ["label", "mesh", str(mesh_path), "--out", str(out), "--object-id", "5", *TINY]
    result = runner.invoke(_app(), [*args, "--gripper-max-width", "0.08", "--anygrasp-depths"])
    assert result.exit_code == 0, result.output
    labels = load_object_labels(out, 5)
    assert labels.grid_shape == (4, 12, 4, 5)
    assert np.all(labels.offsets[..., 2] <= 0.08 + 1e-7)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["gripper"]["max_width"] == 0.08 and config["labels"]["num_views"] == 12
    assert json.loads((out / "meta.json").read_text())["seed"] == 0


def test_label_mesh_scales_a_millimetre_mesh(tmp_path: Path) -> None:
    # --scale goes through the same object loader as scale 1 (no silent second code path)
    mesh_path = tmp_path / "part_mm.stl"
    trimesh.creation.box((20.0, 30.0, 40.0)).export(mesh_path)
    out = tmp_path / "out_mm"
    args = ["label", "mesh", str(mesh_path), "--out", str(out), "--scale", "0.001", *TINY]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    labels = load_object_labels(out, 0)
    assert np.abs(labels.points).max() <= 0.02 + 1e-6  # metres, half the largest extent


def test_label_mesh_rejects_degenerate_meshes(tmp_path: Path) -> None:
    big = tmp_path / "big.stl"
    trimesh.creation.box((20.0, 30.0, 40.0)).export(big)  # millimetres by mistake
    result = runner.invoke(_app(), ["label", "mesh", str(big), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "too big" in result.output
    missing = runner.invoke(_app(), ["label", "mesh", str(tmp_path / "nope.obj"), "--out",
                                     str(tmp_path / "o")])
    assert missing.exit_code == 2 and "no such file" in missing.output
