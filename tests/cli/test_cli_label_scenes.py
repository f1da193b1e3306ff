"""``grasplab label scenes`` and ``grasplab label pixels`` on a tiny two-box dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
import typer
from typer.testing import CliRunner

from grasplab.cli.label_scenes import register_label_commands
from grasplab.core import CameraIntrinsics
from grasplab.labels import ObjectLabelConfig, label_object, save_object_labels
from grasplab.labels.pixel_label_jobs import load_pixel_labels, pixel_label_path
from grasplab.labels.raycast import MeshRayCaster
from grasplab.labels.scene_label_jobs import collision_label_path, load_collision_labels
from grasplab.scenes.layout import DatasetWriter
from grasplab.scenes.render import render_parallel_depth
from grasplab.scenes.world import PosedMesh

pytest.importorskip("embreex")

runner = CliRunner()
BOX = (0.03, 0.04, 0.05)
INTR = CameraIntrinsics(120.0, 120.0, 39.5, 29.5, 80, 60)
HEIGHT = 0.4


def _app() -> typer.Typer:
    app, label_app = typer.Typer(), typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register_label_commands(label_app)
    app.add_typer(label_app, name="label")
    return app


def _pose(x: float = 0.0, z: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, 0.0, z)
    return T


def _render(meshes: list[PosedMesh], T_world_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parts = [item.world_mesh() for item in meshes]
    labels = np.concatenate([np.full(len(m.faces), item.label)
                             for m, item in zip(parts, meshes, strict=True)])
    scene = trimesh.util.concatenate(parts)
    scene.apply_transform(np.linalg.inv(T_world_cam))
    cols, rows = np.meshgrid(np.arange(INTR.width), np.arange(INTR.height))
    rays = np.stack([(cols.ravel() - INTR.cx) / INTR.fx, (rows.ravel() - INTR.cy) / INTR.fy,
                     np.ones(cols.size)], axis=1)
    hits = MeshRayCaster(scene).first_hits(np.zeros_like(rays), rays)
    depth = np.where(hits.hit, hits.locations[:, 2], 0.0).reshape(INTR.height, INTR.width)
    mask = np.where(hits.hit, labels[np.maximum(hits.faces, 0)], 0).reshape(depth.shape)
    return depth, mask


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Objects 3 and 5 (boxes 1.5 cm apart) on a table, one frame from above, with labels."""
    root = tmp_path_factory.mktemp("data")
    writer = DatasetWriter(root)
    ids = [5, 3]
    labels = label_object(trimesh.creation.box(BOX), rng=0, config=ObjectLabelConfig(
        num_views=30, num_angles=4, spacing=0.015, max_points=12))
    for obj_id in ids:
        writer.write_model(obj_id, trimesh.creation.box(BOX))
        save_object_labels(root, obj_id, labels)
    T_world_cam = _pose(z=HEIGHT)
    T_world_cam[:3, :3] = np.diag([1.0, -1.0, -1.0])
    poses = np.stack([_pose(x=-0.0225, z=BOX[2] / 2), _pose(x=0.0225, z=BOX[2] / 2)])
    meshes = [PosedMesh(trimesh.creation.box((1.0, 1.0, 0.05)), _pose(z=-0.025), 0)]
    meshes += [PosedMesh(trimesh.creation.box(BOX), pose, i + 1) for pose, i in zip(poses, ids, strict=True)]
    depth, mask = _render(meshes, T_world_cam)
    eta = INTR.fx / HEIGHT
    parallel = render_parallel_depth(meshes, T_world_cam, eta=eta, width=80, height=60)
    tmp = writer.begin_scene(0)
    writer.write_scene_static(tmp, ids, INTR, np.eye(4)[None], T_world_cam)
    writer.write_frame(tmp, 0, rgb=np.zeros((60, 80, 3), np.uint8), depth=depth, mask=mask,
                       intrinsics=INTR, object_ids=ids, T_cam_obj=np.linalg.inv(T_world_cam) @ poses,
                       depth_clean=depth, parallel_depth=parallel.depth,
                       parallel_mask=parallel.mask, eta=eta)
    writer.commit_scene(tmp, 0)
    return root


def test_label_scenes_then_resume(dataset: Path) -> None:
    result = runner.invoke(_app(), ["label", "scenes", "--root", str(dataset)])
    assert result.exit_code == 0, result.output
    assert "1 labelled" in result.output
    masks = load_collision_labels(dataset, 0)
    assert len(masks) == 2 and masks[0].shape == (12, 30, 4, 4) and masks[0].any()
    mtime = collision_label_path(dataset, 0).stat().st_mtime_ns
    again = runner.invoke(_app(), ["label", "scenes", "--root", str(dataset)])
    assert again.exit_code == 0 and "1 skipped" in again.output, again.output
    assert collision_label_path(dataset, 0).stat().st_mtime_ns == mtime


def test_label_pixels_then_resume(dataset: Path) -> None:
    result = runner.invoke(_app(), ["label", "pixels", "--root", str(dataset), "--stride", "2"])
    assert result.exit_code == 0, result.output
    assert "1 labelled" in result.output
    labels = load_pixel_labels(pixel_label_path(dataset, 0, 0))
    assert labels.angle_quality.shape == (18, 60, 80) and labels.stride == 2
    assert len(labels.grasps) > 0 and labels.quality[1::2].sum() == 0
    again = runner.invoke(_app(), ["label", "pixels", "--root", str(dataset), "--stride", "2"])
    assert again.exit_code == 0 and "1 skipped" in again.output, again.output


def test_bad_arguments_fail_cleanly(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["label", "pixels", "--root", str(dataset), "--stride", "0"])
    assert result.exit_code == 2 and "stride" in result.output
    result = runner.invoke(_app(), ["label", "scenes", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "no scenes folder" in result.output
    result = runner.invoke(_app(), ["label", "scenes", "--root", str(dataset), "--workers", "0"])
    assert result.exit_code == 2 and "workers" in result.output


def test_missing_inputs_are_reported_as_failures(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["label", "pixels", "--root", str(dataset), "--ids", "0",
                                    "--overwrite", "--angles", "4"])
    assert result.exit_code == 0, result.output
    empty = tmp_path / "scenes" / "scene_0001" / "realsense" / "annotations"
    empty.mkdir(parents=True)
    (empty / "0000.xml").write_text("<scene></scene>")
    result = runner.invoke(_app(), ["label", "pixels", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "1 failed" in result.output
