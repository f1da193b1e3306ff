"""``grasplab demo``: the whole pipeline on a fresh cache, its files and its table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from grasplab.cli.demo import register
from grasplab.core import CameraIntrinsics, GraspGroup
from grasplab.detection.workspace import workspace_mask
from grasplab.scenes import look_at

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def test_workspace_mask_keeps_the_square_above_the_tray_floor() -> None:
    K = CameraIntrinsics(100.0, 100.0, 49.5, 49.5, 100, 100)
    T_world_cam = look_at((0.0, 0.0, 1.0), (0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0))
    depth = np.full((100, 100), 1.0, dtype=np.float32)  # the floor z = 0, seen from 1 m above
    mask = workspace_mask(depth, K, T_world_cam, np.eye(4), half_extent=0.2)
    # |x|, |y| < 0.2 m at 1 m with f = 100 px: |u - 49.5| < 20 and |v - 49.5| < 20
    u = np.arange(100)
    inside = np.abs(u - 49.5) < 20
    np.testing.assert_array_equal(mask, inside[:, None] & inside[None, :])


@pytest.mark.slow
def test_demo_writes_its_files_and_prints_the_table(tmp_path: Path) -> None:
    pytest.importorskip("pybullet")
    out = tmp_path / "demo"
    start = time.perf_counter()
    result = runner.invoke(_app(), ["demo", "--out", str(out)])
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert seconds < 60
    for row in ("grasps found", "detection latency", "GraspNet AP", "executed grasp",
                "held after lifting"):
        assert row in result.output
    names = {"grasps.npy", "grasps.json", "overlay.png", "scene.glb", "scene.ply"}
    assert names <= {p.name for p in out.iterdir()}
    for name in names:
        assert str(out / name) in result.output.replace("\n", "")
    grasps = GraspGroup.from_npy(out / "grasps.npy")
    assert len(grasps) > 0
    data = json.loads((out / "grasps.json").read_text())
    assert data["num_grasps"] == len(grasps)
    with Image.open(out / "overlay.png") as image:
        assert image.size[0] >= 640 and np.asarray(image).std() > 10
