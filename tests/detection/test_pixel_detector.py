"""PixelDetector: decoding known answers, a random tiny network end to end, checkpoints, ONNX extra."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab._optional import MissingExtraError  # noqa: E402
from grasplab.core import CameraIntrinsics, GripperModel  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.detection.pixel_detector import (  # noqa: E402
    PixelDetector,
    PixelDetectorConfig,
    collision_free_depth,
    decode_pixel_grasps,
    export_onnx,
)
from grasplab.detection.protocol import Detector  # noqa: E402
from grasplab.models import build_pixel_model  # noqa: E402
from grasplab.training import save_checkpoint  # noqa: E402

K = 18
INTR = CameraIntrinsics(300.0, 300.0, 31.5, 23.5, 64, 48)


def _ridge(surround: float = 0.6) -> np.ndarray:
    """Depth: a plane at ``surround`` with a ridge (columns 28-35) at 0.55 m running along v."""
    depth = np.full((48, 64), surround, np.float32)
    depth[:, 28:36] = 0.55
    return depth


def _maps(v: int, u: int, k: int, width: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q_p, q_theta, w_g = torch.zeros(48, 64), torch.zeros(K, 48, 64), torch.zeros(K, 48, 64)
    q_p[v, u], q_theta[k, v, u], w_g[k, v, u] = 0.8, 0.7, width
    return q_p, q_theta, w_g


def test_decode_known_answer() -> None:
    depth = _ridge()
    q_p, q_theta, w_g = _maps(24, 32, 0, 0.5)
    q_theta[3, 24, 32] = 0.2  # a weaker angle at the same pixel
    grasps = decode_pixel_grasps(q_p, q_theta, w_g, depth, INTR)
    assert len(grasps) == 1
    np.testing.assert_array_equal(grasps.pixels, [[32, 24]])
    assert grasps.thetas[0] == 0.0 and grasps.widths[0] == pytest.approx(0.05)
    assert grasps.depths[0] == pytest.approx(0.04)  # fingers over the plane 5 cm down: capped at L3
    assert grasps.scores[0] == pytest.approx(0.8)


def test_grasp_depth_stops_at_the_surface() -> None:
    pixels = np.array([[32, 24], [32, 24]])
    widths = np.array([0.05, 0.05])
    thetas = np.array([0.0, np.pi / 2])  # across the ridge / along the ridge
    d = collision_free_depth(_ridge(0.56), pixels, thetas, widths, INTR, GripperModel())
    np.testing.assert_allclose(d, [0.01, 0.0], atol=1e-6)
    # a narrow opening puts the fingers on the ridge itself
    assert (
        collision_free_depth(_ridge(), pixels[:1], thetas[:1], np.array([0.004]), INTR, GripperModel())[0]
        == 0
    )


def test_decode_respects_mask_and_invalid_depth() -> None:
    depth = _ridge()
    depth[24, 32] = 0.0
    grasps = decode_pixel_grasps(*_maps(24, 32, 0, 0.5), depth, INTR)
    assert len(grasps) == 0
    valid = np.zeros((48, 64), bool)
    assert len(decode_pixel_grasps(*_maps(20, 30, 0, 0.5), _ridge(), INTR, valid=valid)) == 0


def _random_detector(in_channels: int = 1, **config: object) -> PixelDetector:
    torch.manual_seed(0)
    model = build_pixel_model("ggcnn2", in_channels, channels=4)
    return PixelDetector(model=model, config=PixelDetectorConfig(min_quality=0.0, **config))  # type: ignore[arg-type]


def _check_group(group, limit: int) -> None:  # noqa: ANN001
    assert 0 < len(group) <= limit
    assert group.invalid_rows() == []
    scores = group.scores
    assert np.all(np.diff(scores) <= 0)
    np.testing.assert_allclose(group.rotations[:, :, 0], np.tile([0.0, 0.0, 1.0], (len(group), 1)), atol=1e-9)
    assert np.all((group.widths >= 0) & (group.widths <= 0.1))
    assert np.all((group.depths >= 0) & (group.depths <= 0.04 + 1e-12))
    assert np.all(group.translations[:, 2] > 0.5)


def test_random_network_returns_valid_grasps() -> None:
    detector = _random_detector(num_grasps=10, nms_kernel=5)
    assert isinstance(detector, Detector)
    obs = Observation(_ridge(), INTR)
    group = detector.detect(obs)
    _check_group(group, 10)
    assert detector.detect(obs).array.tobytes() == group.array.tobytes()  # deterministic


def test_rgbd_detector_needs_rgb_and_uses_mask() -> None:
    detector = _random_detector(4, num_grasps=5)
    depth = _ridge()
    with pytest.raises(ValueError, match="no rgb"):
        detector.detect(Observation(depth, INTR))
    mask = np.zeros((48, 64), np.int32)
    mask[:, 28:36] = 3
    rgb = np.full((48, 64, 3), 120, np.uint8)
    group = detector.detect(Observation(depth, INTR, rgb=rgb, mask=mask))
    _check_group(group, 5)
    u = group.translations[:, 0] * 300.0 / group.translations[:, 2] + 31.5
    assert np.all((u > 27.5) & (u < 35.5))


def test_checkpoint_detector_matches_model(tmp_path: Path) -> None:
    detector = _random_detector()
    assert detector.model is not None
    path = save_checkpoint(
        tmp_path / "w.safetensors", detector.model, config={"data": {"input_mode": "depth"}}
    )
    loaded = PixelDetector(weights=path, config=detector.config)
    obs = Observation(_ridge(), INTR)
    np.testing.assert_array_equal(loaded.detect(obs).array, detector.detect(obs).array)
    assert loaded.input_mode == "depth"
    with pytest.raises(ValueError, match="input_mode"):
        PixelDetector(weights=path, input_mode="rgbd")
    with pytest.raises(ValueError, match="needs weights"):
        PixelDetector()


def test_detector_scales_depth_as_in_training(tmp_path: Path) -> None:
    detector = _random_detector()
    assert detector.model is not None and detector.depth_scale == 1.0
    config = {"data": {"input_mode": "depth", "depth_scale": 10.0}}
    path = save_checkpoint(tmp_path / "w.safetensors", detector.model, config=config)
    scaled = PixelDetector(weights=path, config=detector.config)
    assert scaled.depth_scale == 10.0
    obs = Observation(_ridge(), INTR)
    a, b = scaled.predict_maps(obs), detector.predict_maps(obs)
    assert not torch.allclose(a[0], b[0])
    x10 = Observation(np.where(obs.depth > 0, (obs.depth - obs.depth.mean()) * 10 + obs.depth.mean(), 0.0)
                      .astype(np.float32), INTR)
    torch.testing.assert_close(a[0], detector.predict_maps(x10)[0], atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(importlib.util.find_spec("onnx") is not None, reason="onnx is installed")
def test_onnx_export_names_the_extra(tmp_path: Path) -> None:
    with pytest.raises(MissingExtraError, match=r"grasplab\[onnx\]"):
        export_onnx(build_pixel_model("ggcnn2", 1, channels=4), tmp_path / "m.onnx")


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is not None, reason="onnxruntime is installed")
def test_onnx_inference_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(MissingExtraError, match=r"grasplab\[onnx\]"):
        PixelDetector(weights=tmp_path / "m.onnx")


@pytest.mark.slow  # torch.onnx's exporter takes about a minute per model on one core
@pytest.mark.parametrize("options", [{}, {"stem_stride": 2, "up_kernel": 3}])
def test_onnx_export_detects_like_torch(tmp_path: Path, options: dict[str, int]) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = build_pixel_model("ggcnn2", 1, channels=4, **options).eval()
    path = export_onnx(model, tmp_path / "m.onnx", 48, 64, data={"depth_scale": 10.0})
    assert path.with_suffix(".json").is_file()
    onnx_detector = PixelDetector(weights=path, config=PixelDetectorConfig(num_grasps=8, min_quality=0.0))
    torch_detector = PixelDetector(model=model, config=PixelDetectorConfig(num_grasps=8, min_quality=0.0))
    torch_detector.depth_scale = 10.0  # what a checkpoint trained with data.depth_scale = 10 sets
    assert not onnx_detector.returns_logits and onnx_detector.depth_scale == 10.0
    depth = np.pad(_ridge(), ((0, 12), (0, 8)), mode="edge")  # another size than the export's
    obs = Observation(depth, CameraIntrinsics(300.0, 300.0, 35.5, 29.5, 72, 60))
    maps_onnx = onnx_detector.predict_maps(obs)
    maps_torch = torch_detector.predict_maps(obs)
    for a, b in zip(maps_onnx, maps_torch, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    a, b = onnx_detector.detect(obs), torch_detector.detect(obs)
    # the maps agree to 1e-5; an untrained network's maps are nearly flat, so which of its
    # near-equal peaks come first may differ between the runtimes: compare counts only
    assert len(a) == len(b) > 0


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="odd"):
        PixelDetectorConfig(nms_kernel=4)
    with pytest.raises(ValueError, match="min_quality"):
        PixelDetectorConfig(min_quality=2.0)


def test_decoding_logits_matches_probabilities() -> None:
    gen = torch.Generator().manual_seed(0)
    maps = [
        torch.randn(48, 64, generator=gen),
        torch.randn(K, 48, 64, generator=gen),
        torch.randn(K, 48, 64, generator=gen),
    ]
    cfg = PixelDetectorConfig(min_quality=0.6, nms_kernel=3)
    from_logits = decode_pixel_grasps(*maps, _ridge(), INTR, cfg, logits=True)
    from_probs = decode_pixel_grasps(*(torch.sigmoid(m) for m in maps), _ridge(), INTR, cfg)
    assert len(from_logits) > 5 and np.all(from_logits.scores >= 0.6)
    np.testing.assert_allclose(from_logits.array, from_probs.array, rtol=1e-6, atol=1e-7)
