"""GraspNet-1Billion baseline heads: shapes for both backbones, decoding, spec checks, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab.detection.gsnet_decode import GSNetDecodeConfig, decode_gsnet  # noqa: E402
from grasplab.models import GraspNetBaselineSpec, build_model, model_family  # noqa: E402
from grasplab.training.checkpoints import load_model, save_checkpoint  # noqa: E402

TINY = {
    "feature_dim": 16,
    "depth2d_channels": [8, 8],
    "pointnet_points": [64, 16],
    "pointnet_radii": [0.05, 0.1],
    "pointnet_neighbors": [8, 8],
    "pointnet_width": 8,
    "num_seeds": 10,
    "group_dim": 16,
    "num_views": 40,
    "cylinder_samples": 8,
}


def _inputs() -> tuple:
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(2, 300, 3, generator=gen) * 0.2 + torch.tensor([0.0, 0.0, 0.5])
    pixels = torch.rand(2, 300, 2, generator=gen) * torch.tensor([31.0, 23.0])
    return points, pixels, torch.rand(2, 4, 24, 32, generator=gen)


@pytest.mark.parametrize("backbone", ["pointnet2", "depth2d"])
def test_forward_shapes_and_decoding(backbone: str) -> None:
    torch.manual_seed(0)
    net = build_model("graspnet-baseline", {**TINY, "backbone": backbone}).eval()
    with torch.no_grad():
        out = net(*_inputs())
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == {
        "graspable": (2, 2, 10),
        "seed_index": (2, 10),
        "seed_xyz": (2, 10, 3),
        "view_scores": (2, 10, 40),
        "view_index": (2, 10),
        "score": (2, 10, 12, 4),
        "angle_logits": (2, 10, 12, 4),
        "width": (2, 10, 12, 4),
        "tolerance": (2, 10, 12, 4),
        "grasp_features": (2, 10, 16),
    }
    assert model_family(net) == "graspnet-baseline"
    grasps = decode_gsnet(out, GSNetDecodeConfig((0.01, 0.02, 0.03, 0.04), 12, 40), index=1)
    assert len(grasps) == 10
    np.testing.assert_allclose(grasps.translations, out["seed_xyz"][1].numpy(), atol=1e-6)


def test_one_cylinder_per_depth_reaches_that_depth() -> None:
    net = build_model("graspnet-baseline", TINY)
    assert [crop.height_max for crop in net.crops] == [0.01, 0.02, 0.03, 0.04]
    out = net(*_inputs())
    sum(v.float().sum() for k, v in out.items() if v.is_floating_point() and k != "seed_xyz").backward()
    assert [n for n, p in net.named_parameters() if p.grad is None] == []


def test_spec_bad_values_and_checkpoint_round_trip(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backbone"):
        GraspNetBaselineSpec(backbone="pointnet")
    with pytest.raises(ValueError, match="depths"):
        GraspNetBaselineSpec(depths=(-0.03, 0.01))
    net = build_model("graspnet-baseline", TINY).eval()
    loaded = load_model(save_checkpoint(tmp_path / "b.safetensors", net))
    points, pixels, image = _inputs()
    with torch.no_grad():
        a, b = net(points, pixels, image), loaded(points, pixels, image)
    for key in a:
        assert torch.equal(a[key], b[key])
