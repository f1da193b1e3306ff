"""``grasplab detect --method gsnet`` and ``grasplab train export-onnx`` of a GSNet checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner, Result  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.core import GraspGroup  # noqa: E402
from grasplab.models import build_model, build_pixel_model  # noqa: E402
from grasplab.training.checkpoints import save_checkpoint  # noqa: E402

runner = CliRunner()
TINY = {"feature_dim": 32, "depth2d_channels": [8, 16, 16], "num_seeds": 32, "group_dim": 16}
DATA = {"num_points": 512, "downsample": 1}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A box on a table seen from above (depth in metres, .npy), its intrinsics and weights."""
    u, v = np.meshgrid(np.arange(160), np.arange(120))
    depth = np.where((np.abs(u - 80) < 20) & (np.abs(v - 60) < 15), 0.55, 0.6).astype(np.float32)
    np.save(tmp_path / "depth.npy", depth)
    (tmp_path / "K.json").write_text(json.dumps({"fx": 150.0, "fy": 150.0, "cx": 79.5, "cy": 59.5}))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net: Any = build_model("gsnet", TINY)
        pixel = build_pixel_model("ggcnn2", 1, 4, channels=4)
    with torch.no_grad():  # widths of 8 cm, so that some grasps pass the collision check
        net.operation.mlp[-1].weight[60:120] = 0.0
        net.operation.mlp[-1].bias[60:120] = 0.8 * 10 / 1.2
    return {
        "depth": tmp_path / "depth.npy",
        "K": tmp_path / "K.json",
        "gsnet": save_checkpoint(tmp_path / "gsnet.safetensors", net, config={"data": DATA}),
        "pixel": save_checkpoint(tmp_path / "pixel.safetensors", pixel),
    }


def _detect(files: dict[str, Path], out: Path, *extra: str) -> Result:
    args = ["detect", "--depth", str(files["depth"]), "--depth-scale", "1", "--intrinsics",
            str(files["K"]), "--out", str(out), "--method", "gsnet", *extra]
    return runner.invoke(app, args)


def _error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ")
    return lines[0]


def test_detect_gsnet_writes_grasps(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "grasps.npy"
    result = _detect(files, out, "--weights", str(files["gsnet"]), "--top-k", "7")
    assert result.exit_code == 0, result.output
    grasps = GraspGroup.from_npy(out)
    assert 0 < len(grasps) <= 7 and grasps.array.shape[1] == 17
    assert np.all(np.diff(grasps.scores) <= 0)


def test_detect_gsnet_bad_weights_exit_2(files: dict[str, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g.npy"
    missing = _error_line(_detect(files, out, "--weights", str(tmp_path / "none.safetensors")))
    assert "no such file" in missing
    other = _error_line(_detect(files, out, "--weights", str(files["pixel"])))
    assert "'pixel' network, not a GSNet" in other and "grasplab train grasp" in other
    (tmp_path / "m.pt").write_bytes(b"\x80\x02}q\x00.")
    assert "pickle" in _error_line(_detect(files, out, "--weights", str(tmp_path / "m.pt")))
    assert "expected 'cpu'" in _error_line(_detect(files, out, "--weights", str(files["gsnet"]),
                                                   "--device", "tpu"))
    import grasplab.detection.shipped as shipped

    monkeypatch.setattr(shipped, "shipped_gsnet_weights", lambda: None)
    none = _error_line(_detect(files, out))
    assert "no gsnet model is shipped" in none and "grasplab train grasp --config" in none
    assert not out.exists()


def test_export_onnx_of_a_gsnet_then_detect_with_it(files: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "export" / "m.onnx"
    result = runner.invoke(app, ["train", "export-onnx", "--weights", str(files["gsnet"]),
                                 "--out", str(onnx_path)])
    assert result.exit_code == 0, result.output
    for name in ("m.onnx", "m.view.onnx", "m.operation.onnx", "m.json"):
        assert (onnx_path.parent / name).is_file()
    assert json.loads((onnx_path.parent / "m.json").read_text())["data"] == DATA
    torch_out, onnx_out = tmp_path / "t.npy", tmp_path / "o.npy"
    assert _detect(files, torch_out, "--weights", str(files["gsnet"]), "--top-k", "100").exit_code == 0
    assert _detect(files, onnx_out, "--weights", str(onnx_path), "--top-k", "100").exit_code == 0
    expected = GraspGroup.from_npy(torch_out)
    assert len(expected) > 0
    np.testing.assert_allclose(GraspGroup.from_npy(onnx_out).array, expected.array, atol=1e-4)
