"""Pixel networks: registry, parameter counts, output shapes and ranges, peak decoding."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from grasplab.models import (  # noqa: E402
    build_pixel_model,
    count_parameters,
    find_peaks,
    pixel_model_names,
    top_grasp_indices,
)


def test_registry_names() -> None:
    assert pixel_model_names() == ("ggcnn2", "grconvnet", "affga")


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("ggcnn2", 60_000, 100_000), ("grconvnet", 1_700_000, 2_100_000), ("affga", 1_000_000, 3_000_000)],
)
def test_parameter_counts(name: str, low: int, high: int) -> None:
    # GG-CNN2 ~0.07 M and GR-ConvNet ~1.9 M as in PLGP Table II; AFFGA-style CPU-sized
    for channels in (1, 4):
        assert low <= count_parameters(build_pixel_model(name, channels)) <= high


@pytest.mark.parametrize("name", ["ggcnn2", "grconvnet", "affga"])
@pytest.mark.parametrize("in_channels", [1, 3, 4])
def test_output_shapes_and_ranges(name: str, in_channels: int) -> None:
    torch.manual_seed(0)
    model = build_pixel_model(name, in_channels, num_angles=6, channels=8).eval()
    x = torch.randn(2, in_channels, 36, 44)  # not a multiple of 8: outputs still match the input
    with torch.no_grad():
        q_p, q_theta, w_g = model(x)
        logits = model.logits(x)
    assert q_p.shape == (2, 1, 36, 44) and q_theta.shape == w_g.shape == (2, 6, 36, 44)
    for out, raw in zip((q_p, q_theta, w_g), logits, strict=True):
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        torch.testing.assert_close(out, torch.sigmoid(raw))
    assert model.spec == {"name": name, "in_channels": in_channels, "num_angles": 6, "channels": 8}


def test_quality_heads_start_near_the_prior() -> None:
    model = build_pixel_model("ggcnn2", 1)
    assert torch.sigmoid(model.point_head.bias).item() == pytest.approx(0.01)


def test_build_errors() -> None:
    with pytest.raises(ValueError, match="unknown pixel model"):
        build_pixel_model("resnet", 1)
    with pytest.raises(ValueError, match="in_channels"):
        build_pixel_model("ggcnn2", 2)
    with pytest.raises(ValueError, match="bad options"):
        build_pixel_model("ggcnn2", 1, num_residual=3)
    model = build_pixel_model("ggcnn2", 1)
    with pytest.raises(ValueError, match="expected"):
        model(torch.zeros(1, 3, 16, 16))


def test_top_grasp_indices_known_answer() -> None:
    q_p = torch.zeros(2, 1, 4, 5)
    q_theta = torch.zeros(2, 3, 4, 5)
    q_p[0, 0, 1, 3], q_theta[0, 2, 1, 3] = 0.9, 0.8
    q_p[1, 0, 3, 0], q_theta[1, 1, 3, 0] = 0.7, 0.6
    q_theta[0, 0, 0, 0] = 1.0  # a strong angle elsewhere must not matter
    v, u, k = top_grasp_indices(q_p, q_theta)
    assert v.tolist() == [1, 3] and u.tolist() == [3, 0] and k.tolist() == [2, 1]


def test_find_peaks_suppresses_neighbours() -> None:
    q = torch.zeros(20, 20)
    q[5, 5], q[5, 6], q[15, 14], q[2, 17] = 0.9, 0.8, 0.7, 0.05
    v, u, s = find_peaks(q, num_peaks=10, kernel=5, min_quality=0.1)
    assert list(zip(v.tolist(), u.tolist(), strict=True)) == [(5, 5), (15, 14)]
    torch.testing.assert_close(s, torch.tensor([0.9, 0.7]))
    v, _, _ = find_peaks(q, num_peaks=1, kernel=1)
    assert v.tolist() == [5]
    with pytest.raises(ValueError, match="odd"):
        find_peaks(q, 3, kernel=4)


def test_fused_heads_equal_separate_heads() -> None:
    torch.manual_seed(1)
    model = build_pixel_model("grconvnet", 1, num_angles=4, channels=4, num_residual=1).eval()
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        features = model.backbone(x)[0]
        separate = (model.point_head(features), model.angle_head(features), model.width_head(features))
        for a, b in zip(model.logits(x), separate, strict=True):
            torch.testing.assert_close(a, b)


def test_ggcnn2_cpu_variant_keeps_full_resolution_outputs() -> None:
    model = build_pixel_model("ggcnn2", 1, stem_stride=2, up_kernel=3).eval()
    assert count_parameters(model) < 100_000
    x = torch.randn(1, 1, 50, 66)  # odd halves: the features are resized back to the input size
    with torch.no_grad():
        q_p, q_theta, w_g = model(x)
    assert q_p.shape == (1, 1, 50, 66) and q_theta.shape == w_g.shape == (1, 18, 50, 66)
    assert model.spec["stem_stride"] == 2 and model.spec["up_kernel"] == 3
    with pytest.raises(ValueError, match="stem_stride"):
        build_pixel_model("ggcnn2", 1, stem_stride=4)
    with pytest.raises(ValueError, match="up_kernel"):
        build_pixel_model("ggcnn2", 1, up_kernel=4)
