"""``grasplab detect`` on files written here: outputs on success, one clear line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner, Result

from grasplab.cli.detect import register
from grasplab.core import CameraIntrinsics, GraspGroup, quaternion_to_matrix

runner = CliRunner()
K = CameraIntrinsics(150.0, 150.0, 79.5, 59.5, 160, 120)
TABLE_Z = 0.6  # the camera looks straight down at a table 0.6 m away
BOX = (0.03, -0.01, 0.05, 0.07, 0.08)  # centre x, y (camera frame), size x, y, height (m)


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def _depth_m() -> np.ndarray:
    """A box standing on a table seen from straight above: its top is a rectangle of pixels."""
    u, v = np.meshgrid(np.arange(K.width), np.arange(K.height))
    top = TABLE_Z - BOX[4]
    x, y = (u - K.cx) / K.fx * top, (v - K.cy) / K.fy * top
    on_box = (np.abs(x - BOX[0]) <= BOX[2] / 2) & (np.abs(y - BOX[1]) <= BOX[3] / 2)
    return np.where(on_box, top, TABLE_Z).astype(np.float32)


@pytest.fixture
def frame(tmp_path: Path) -> dict[str, Path]:
    depth = _depth_m()
    paths = {"depth": tmp_path / "d.png", "rgb": tmp_path / "c.png", "K": tmp_path / "K.json"}
    Image.fromarray(np.round(depth * 1000).astype(np.uint16)).save(paths["depth"])
    rgb = np.where(depth[..., None] < TABLE_Z, [200, 60, 40], [90, 90, 90]).astype(np.uint8)
    Image.fromarray(rgb).save(paths["rgb"])
    paths["K"].write_text(json.dumps({"fx": K.fx, "fy": K.fy, "cx": K.cx, "cy": K.cy,
                                      "width": K.width, "height": K.height}))
    return paths


def _invoke(args: list[str]) -> Result:
    return runner.invoke(_app(), ["detect", *args])


def test_success_writes_npy_json_overlay_and_3d(frame: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--depth", str(frame["depth"]), "--rgb", str(frame["rgb"]), "--intrinsics",
            str(frame["K"]), "--depth-scale", "1000", "--out", str(out / "g.npy"), "--json",
            str(out / "g.json"), "--viz", str(out / "o.png"), "--export-3d", str(out / "s.glb"),
            "--top-k", "20"]
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    array = np.load(out / "g.npy")
    assert array.ndim == 2 and array.shape[1] == 17 and 1 <= len(array) <= 20
    grasps = GraspGroup(array)  # valid rows: finite, proper rotations
    assert np.all(np.diff(grasps.scores) <= 0)  # best first
    # every grasp is on the box (the only object); the best one's jaws span its 5 cm side
    t = grasps.translations
    assert np.all(np.abs(t[:, 0] - BOX[0]) < BOX[2] / 2 + 0.01)
    assert np.all(np.abs(t[:, 1] - BOX[1]) < BOX[3] / 2 + 0.01)
    assert np.all((t[:, 2] > TABLE_Z - BOX[4] - 0.005) & (t[:, 2] < TABLE_Z))
    assert grasps.widths[0] >= BOX[2] and np.all((grasps.widths > 0.03) & (grasps.widths <= 0.1))

    data = json.loads((out / "g.json").read_text())
    assert data["units"] == "metres" and data["frame"].startswith("camera")
    assert data["num_grasps"] == len(grasps) == len(data["grasps"])
    first = data["grasps"][0]
    assert set(first) >= {"position", "rotation_matrix", "quaternion_wxyz", "width", "depth", "score"}
    np.testing.assert_allclose(first["position"], t[0])
    np.testing.assert_allclose(first["rotation_matrix"], grasps.rotations[0])
    np.testing.assert_allclose(quaternion_to_matrix(first["quaternion_wxyz"]), grasps.rotations[0],
                               atol=1e-9)
    assert first["width"] == pytest.approx(grasps.widths[0])
    assert first["score"] == pytest.approx(grasps.scores[0])

    with Image.open(out / "o.png") as image:
        overlay = np.asarray(image.convert("RGB"))
    assert overlay.shape[1] >= K.width and overlay.shape[0] > K.height  # legend below
    assert (out / "s.glb").stat().st_size > 1000
    assert "grasps" in result.output and "wrote" in result.output


def test_npy_in_metres_inline_intrinsics_and_random_method(frame: dict[str, Path],
                                                           tmp_path: Path) -> None:
    np.save(tmp_path / "d.npy", _depth_m())
    inline = f"{K.fx},{K.fy},{K.cx},{K.cy}"
    for method in ("analytic", "random"):
        out = tmp_path / f"{method}.npy"
        result = _invoke(["--depth", str(tmp_path / "d.npy"), "--depth-scale", "1", "--intrinsics",
                          inline, "--out", str(out), "--method", method, "--top-k", "5"])
        assert result.exit_code == 0, result.output
        assert np.load(out).shape[1:] == (17,) and 1 <= len(np.load(out)) <= 5


def test_an_empty_table_gives_no_grasps_and_still_writes_every_file(tmp_path: Path) -> None:
    Image.fromarray(np.full((K.height, K.width), 600, np.uint16)).save(tmp_path / "flat.png")
    out = tmp_path / "out"
    result = _invoke(["--depth", str(tmp_path / "flat.png"), "--intrinsics",
                      f"{K.fx},{K.fy},{K.cx},{K.cy}", "--out", str(out / "g.npy"), "--json",
                      str(out / "g.json"), "--viz", str(out / "o.png")])
    assert result.exit_code == 0, result.output
    assert np.load(out / "g.npy").shape == (0, 17)
    assert json.loads((out / "g.json").read_text())["grasps"] == []
    with Image.open(out / "o.png") as image:  # the depth image in grey, "no grasps found"
        assert image.size[0] >= K.width


def _error_line(result: object) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("size_mismatch", "the images must be aligned and the same size"),
        ("millimetres_scale_1", "use --depth-scale 1000"),
        ("all_zero", "no valid pixel"),
        ("intrinsics_outside", "principal point 500.0 lies outside the image"),
        ("intrinsics_other_size", "are for a 640x480 image but the depth image is 160x120"),
        ("missing_file", "depth file not found"),
        ("colour_as_depth", "expected a 16-bit single-channel depth PNG"),
        ("bad_method", "--method 'nope' is unknown"),
        ("scene_aware_method", "--method 'oracle' is unknown; expected one of ['analytic', 'gsnet', "
                               "'pixel', 'random']"),
    ],
)
def test_bad_input_exits_with_one_clear_line(frame: dict[str, Path], tmp_path: Path, case: str,
                                             expected: str) -> None:
    depth, rgb, intrinsics = str(frame["depth"]), str(frame["rgb"]), str(frame["K"])
    extra: list[str] = []
    if case == "size_mismatch":
        Image.new("RGB", (80, 60)).save(tmp_path / "small.png")
        rgb = str(tmp_path / "small.png")
    elif case == "millimetres_scale_1":
        extra = ["--depth-scale", "1"]
    elif case == "all_zero":
        Image.fromarray(np.zeros((K.height, K.width), np.uint16)).save(tmp_path / "zero.png")
        depth = str(tmp_path / "zero.png")
    elif case == "intrinsics_outside":
        intrinsics = f"{K.fx},{K.fy},500,{K.cy}"
    elif case == "intrinsics_other_size":
        (tmp_path / "K640.json").write_text(json.dumps(
            {"fx": 500, "fy": 500, "cx": 319.5, "cy": 239.5, "width": 640, "height": 480}))
        intrinsics = str(tmp_path / "K640.json")
    elif case == "missing_file":
        depth = str(tmp_path / "nowhere.png")
    elif case == "colour_as_depth":
        depth = rgb
    elif case == "bad_method":
        extra = ["--method", "nope"]
    elif case == "scene_aware_method":  # the oracles need a simulated scene, not a file
        extra = ["--method", "oracle"]
    out = tmp_path / "g.npy"
    result = _invoke(["--depth", depth, "--rgb", rgb, "--intrinsics", intrinsics, "--out", str(out),
                      *extra])
    assert result.exit_code == 2
    assert expected in _error_line(result)
    assert not out.exists()  # nothing written on bad input


def test_pixel_method_runs_a_checkpoint_and_rejects_a_missing_one(frame: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from grasplab.models import build_pixel_model
    from grasplab.training import save_checkpoint

    weights = save_checkpoint(tmp_path / "w.safetensors", build_pixel_model("ggcnn2", 1, channels=4),
                              config={"data": {"input_mode": "depth"}})
    out = tmp_path / "pixel.npy"
    result = _invoke(["--depth", str(frame["depth"]), "--intrinsics", str(frame["K"]), "--out", str(out),
                      "--method", "pixel", "--weights", str(weights), "--top-k", "5"])
    assert result.exit_code == 0, result.output
    grasps = np.load(out)
    assert grasps.shape[1:] == (17,) and len(grasps) <= 5
    missing = _invoke(["--depth", str(frame["depth"]), "--intrinsics", str(frame["K"]), "--out",
                       str(tmp_path / "x.npy"), "--method", "pixel",
                       "--weights", str(tmp_path / "no.safetensors")])
    assert missing.exit_code == 2
    assert "no such file" in missing.output


def test_pixel_method_defaults_to_the_shipped_network(frame: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "shipped.npy"
    result = _invoke(["--depth", str(frame["depth"]), "--intrinsics", str(frame["K"]), "--out", str(out),
                      "--method", "pixel", "--top-k", "5"])
    assert result.exit_code == 0, result.output
    grasps = np.load(out)
    assert grasps.shape[1:] == (17,) and 1 <= len(grasps) <= 5
