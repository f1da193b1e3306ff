"""ONNX export of a GSNet (three graphs) and the ``gsnet`` detector run by onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from test_gsnet_detector import TINY, tiny_gsnet  # noqa: E402

from grasplab.detection import Observation, build_detector  # noqa: E402
from grasplab.detection.gsnet_detect import TorchStages, run_gsnet_stages  # noqa: E402
from grasplab.detection.gsnet_detector import GSNetDetector  # noqa: E402
from grasplab.detection.gsnet_onnx import OnnxStages, export_gsnet_onnx, gsnet_onnx_paths  # noqa: E402
from grasplab.training.checkpoints import save_checkpoint  # noqa: E402

Scene = Any  # tests/detection/conftest.py::Scene (conftest modules are not importable)
DATA = {"num_points": 1024, "downsample": 1}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("gsnet_onnx")
    weights = save_checkpoint(folder / "tiny.safetensors", tiny_gsnet(), config={"data": DATA})
    return weights, export_gsnet_onnx(tiny_gsnet(), folder / "m.onnx", data=DATA)


def test_export_writes_three_graphs_and_a_spec(exported: tuple[Path, Path]) -> None:
    _, onnx_path = exported
    files = gsnet_onnx_paths(onnx_path)
    assert all(path.is_file() for path in files.values())
    stored = json.loads(files["spec"].read_text())
    assert stored["family"] == "gsnet" and stored["data"] == DATA
    assert stored["model"]["feature_dim"] == TINY["feature_dim"]
    stages = OnnxStages(onnx_path)
    assert stages.spec == tiny_gsnet().spec


def test_onnx_stages_equal_torch_stages_on_other_sizes(exported: tuple[Path, Path]) -> None:
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(1, 700, 3, generator=gen) * 0.2 + torch.tensor([0.0, 0.0, 0.5])
    pixels = torch.rand(1, 700, 2, generator=gen) * torch.tensor([52.0, 37.0])
    image = torch.rand(1, 4, 38, 53, generator=gen)
    expected = run_gsnet_stages(TorchStages(tiny_gsnet()), points, pixels, image)
    out = run_gsnet_stages(OnnxStages(exported[1]), points, pixels, image)
    for name, value in expected.items():
        np.testing.assert_allclose(out[name].numpy(), value.numpy(), atol=1e-4, err_msg=name)


def test_onnx_detector_gives_the_torch_grasps(exported: tuple[Path, Path], box_scene: Scene) -> None:
    weights, onnx_path = exported
    obs = Observation(box_scene.depth, box_scene.intrinsics)
    torch_found = build_detector("gsnet", weights=weights).detect_with_features(obs)  # type: ignore[attr-defined]
    onnx_found = build_detector("gsnet", weights=onnx_path).detect_with_features(obs)  # type: ignore[attr-defined]
    one_thread = GSNetDetector(OnnxStages(onnx_path, threads=1)).detect(obs)  # data from the spec
    np.testing.assert_array_equal(one_thread.array, onnx_found.grasps.array)
    assert len(torch_found.grasps) > 0
    np.testing.assert_allclose(onnx_found.grasps.array, torch_found.grasps.array, atol=1e-4)
    np.testing.assert_array_equal(onnx_found.point_index, torch_found.point_index)
    np.testing.assert_allclose(onnx_found.grasp_features, torch_found.grasp_features, atol=1e-4)


def test_onnx_bad_inputs(exported: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="depth2d backbone only"):
        point_net = tiny_gsnet(backbone="pointnet2", pointnet_points=[64, 16], pointnet_radii=[0.05, 0.1],
                               pointnet_neighbors=[8, 8], pointnet_width=8)
        export_gsnet_onnx(point_net, tmp_path / "p.onnx")
    with pytest.raises(ValueError, match="expected a GSNet"):
        export_gsnet_onnx(torch.nn.Linear(2, 2), tmp_path / "l.onnx")
    with pytest.raises(ValueError, match="run on the CPU"):
        build_detector("gsnet", weights=exported[1], device="cuda:0")
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(exported[1].read_bytes())
    with pytest.raises(FileNotFoundError, match="spec not found"):
        OnnxStages(lonely)
    lonely.with_suffix(".json").write_text(json.dumps({"model": {"in_channels": 1}}))
    with pytest.raises(ValueError, match="'pixel' network, not a GSNet"):
        OnnxStages(lonely)
    spec = json.loads(gsnet_onnx_paths(exported[1])["spec"].read_text())
    lonely.with_suffix(".json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="view graph .* is missing"):
        OnnxStages(lonely)


@pytest.mark.slow  # torch.export takes about 40 s for the three graphs here
def test_the_dynamo_exporter_gives_the_same_stages(tmp_path: Path) -> None:
    path = export_gsnet_onnx(tiny_gsnet(), tmp_path / "d.onnx", data=DATA, exporter="dynamo")
    gen = torch.Generator().manual_seed(2)
    points = torch.rand(1, 300, 3, generator=gen) * 0.2 + torch.tensor([0.0, 0.0, 0.5])
    pixels = torch.rand(1, 300, 2, generator=gen) * torch.tensor([40.0, 30.0])
    image = torch.rand(1, 4, 31, 41, generator=gen)
    expected = run_gsnet_stages(TorchStages(tiny_gsnet()), points, pixels, image)
    out = run_gsnet_stages(OnnxStages(path), points, pixels, image)
    for name, value in expected.items():
        np.testing.assert_allclose(out[name].numpy(), value.numpy(), atol=1e-4, err_msg=name)
    with pytest.raises(ValueError, match="exporter: expected one of"):
        export_gsnet_onnx(tiny_gsnet(), tmp_path / "x.onnx", exporter="tf")
