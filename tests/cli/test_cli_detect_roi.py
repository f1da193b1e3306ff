"""``grasplab detect --mask / --workspace``: grasps only where the user allows, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner, Result

from grasplab.cli.detect import register
from grasplab.core import CameraIntrinsics

runner = CliRunner()
K = CameraIntrinsics(150.0, 150.0, 79.5, 59.5, 160, 120)
TABLE_Z = 0.6
BOXES = ((-0.06, 0.0), (0.06, 0.0))  # centres x, y in the camera frame; 4 x 6 x 8 cm each
SIZE = (0.04, 0.06, 0.08)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def _frame() -> tuple[np.ndarray, np.ndarray]:
    """Depth (m) of two boxes on a table seen from straight above, and each box's pixels (1, 2)."""
    u, v = np.meshgrid(np.arange(K.width), np.arange(K.height))
    top = TABLE_Z - SIZE[2]
    x, y = (u - K.cx) / K.fx * top, (v - K.cy) / K.fy * top
    labels = np.zeros((K.height, K.width), np.uint8)
    for i, (cx, cy) in enumerate(BOXES):
        labels[(np.abs(x - cx) <= SIZE[0] / 2) & (np.abs(y - cy) <= SIZE[1] / 2)] = i + 1
    return np.where(labels > 0, top, TABLE_Z).astype(np.float32), labels


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    depth, labels = _frame()
    paths = {"depth": tmp_path / "d.png", "mask": tmp_path / "m.png"}
    Image.fromarray(np.round(depth * 1000).astype(np.uint16)).save(paths["depth"])
    Image.fromarray(np.where(labels == 2, 255, 0).astype(np.uint8)).save(paths["mask"])
    return paths


def _invoke(files: dict[str, Path], out: Path, *extra: str) -> Result:
    args = ["detect", "--depth", str(files["depth"]), "--intrinsics", f"{K.fx},{K.fy},{K.cx},{K.cy}",
            "--out", str(out / "g.npy"), "--json", str(out / "g.json"), "--top-k", "10", *extra]
    return runner.invoke(_app(), args)


def _box_of(translations: np.ndarray) -> np.ndarray:
    """Index of the box nearest each grasp point (x only: the boxes are 12 cm apart in x)."""
    return np.argmin(np.abs(translations[:, :1] - np.array([[c[0] for c in BOXES]])), axis=1)


def test_without_roi_both_boxes_are_grasped(files: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke(files, tmp_path)
    assert result.exit_code == 0, result.output
    assert set(_box_of(np.load(tmp_path / "g.npy")[:, 13:16]).tolist()) == {0, 1}


def test_mask_round_trip(files: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke(files, tmp_path, "--mask", str(files["mask"]))
    assert result.exit_code == 0, result.output
    grasps = np.load(tmp_path / "g.npy")
    assert len(grasps) > 0 and np.all(_box_of(grasps[:, 13:16]) == 1)
    meta = json.loads((tmp_path / "g.json").read_text())
    assert meta["mask"] == str(files["mask"]) and meta["workspace"] is None


def test_workspace_round_trip(files: dict[str, Path], tmp_path: Path) -> None:
    box = "-0.2,-0.01,-0.2,0.2,0.3,0.7"  # x < -1 cm: the left box only
    result = _invoke(files, tmp_path, f"--workspace={box}")
    assert result.exit_code == 0, result.output
    grasps = np.load(tmp_path / "g.npy")
    assert len(grasps) > 0 and np.all(_box_of(grasps[:, 13:16]) == 0)
    assert json.loads((tmp_path / "g.json").read_text())["workspace"] == box
    again = _invoke(files, tmp_path / "b", "--workspace", box)  # a leading '-' value parses too
    assert again.exit_code == 0, again.output
    np.testing.assert_array_equal(np.load(tmp_path / "b" / "g.npy"), grasps)


def test_mask_and_workspace_intersect(files: dict[str, Path], tmp_path: Path) -> None:
    result = _invoke(files, tmp_path, "--mask", str(files["mask"]), "--workspace=-0.2,-0.01,-0.2,0.2,0.3,0.7")
    assert result.exit_code == 2
    assert "mask and workspace holds no valid depth pixel" in result.stderr


@pytest.mark.parametrize(("case", "expected"), [
    ("small_mask", "mask small.png is 10x8 but the depth image is 160x120"),
    ("empty_mask", "mask empty.png has no non-zero pixel"),
    ("missing_mask", "mask file not found"),
    ("not_an_image", "mask junk.png: cannot read it"),
    ("five_numbers", "expected 6 numbers xmin,xmax,ymin,ymax,zmin,zmax"),
    ("min_above_max", "xmin 0.3 must be below xmax 0.1"),
    ("not_numbers", "not numbers"),
    ("box_elsewhere", "the workspace holds no valid depth pixel"),
])
def test_bad_roi_is_one_clear_line(files: dict[str, Path], tmp_path: Path, case: str, expected: str) -> None:
    extra: list[str]
    if case == "small_mask":
        Image.fromarray(np.full((8, 10), 255, np.uint8)).save(tmp_path / "small.png")
        extra = ["--mask", str(tmp_path / "small.png")]
    elif case == "empty_mask":
        Image.fromarray(np.zeros((K.height, K.width), np.uint8)).save(tmp_path / "empty.png")
        extra = ["--mask", str(tmp_path / "empty.png")]
    elif case == "missing_mask":
        extra = ["--mask", str(tmp_path / "nope.png")]
    elif case == "not_an_image":
        (tmp_path / "junk.png").write_bytes(b"junk")
        extra = ["--mask", str(tmp_path / "junk.png")]
    else:
        box = {"five_numbers": "0,1,0,1,0", "min_above_max": "0.3,0.1,-1,1,0,1",
               "not_numbers": "a,b,c,d,e,f", "box_elsewhere": "-1,1,-1,1,2,3"}[case]
        extra = [f"--workspace={box}"]
    result = _invoke(files, tmp_path / "out", *extra)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert not (tmp_path / "out" / "g.npy").exists()
