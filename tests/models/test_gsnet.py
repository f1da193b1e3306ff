"""GSNet / AnyGrasp network: head shapes for both backbones, seeds, spec checks, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab.models import GSNetSpec, build_model, model_family, model_spec  # noqa: E402
from grasplab.models.gsnet import select_seeds  # noqa: E402
from grasplab.models.point_backbone import lift_pixel_features  # noqa: E402
from grasplab.training.checkpoints import load_model, save_checkpoint  # noqa: E402

TINY = {
    "feature_dim": 32,
    "depth2d_channels": [8, 16, 16],
    "pointnet_points": [128, 32],
    "pointnet_radii": [0.05, 0.1],
    "pointnet_neighbors": [8, 8],
    "pointnet_width": 8,
    "num_seeds": 16,
    "group_dim": 16,
    "num_views": 60,
}


def _inputs(batch: int = 2, num: int = 500, h: int = 24, w: int = 32, channels: int = 4) -> tuple:
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(batch, num, 3, generator=gen) * 0.2 + torch.tensor([0.0, 0.0, 0.5])
    pixels = torch.rand(batch, num, 2, generator=gen) * torch.tensor([w - 1.0, h - 1.0])
    image = torch.rand(batch, channels, h, w, generator=gen)
    return points, pixels, image


@pytest.mark.parametrize("backbone", ["depth2d", "pointnet2"])
def test_forward_shapes(backbone: str) -> None:
    torch.manual_seed(0)
    net = build_model("gsnet", {**TINY, "backbone": backbone}).eval()
    points, pixels, image = _inputs()
    with torch.no_grad():
        out = net(points, pixels, image if backbone == "depth2d" else None)
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == {
        "objectness": (2, 2, 500),
        "graspness": (2, 500),
        "seed_index": (2, 16),
        "seed_xyz": (2, 16, 3),
        "view_scores": (2, 16, 60),
        "view_index": (2, 16),
        "score": (2, 16, 12, 5),
        "width": (2, 16, 12, 5),
        "stable": (2, 16, 12),
    }
    assert torch.equal(out["seed_xyz"][1], points[1, out["seed_index"][1]])
    assert model_family(net) == "gsnet"


def test_without_stable_and_four_depths() -> None:
    net = build_model("gsnet", {**TINY, "stable": False, "depths": [0.01, 0.02, 0.03, 0.04]}).eval()
    with torch.no_grad():
        out = net(*_inputs(batch=1))
    assert "stable" not in out and out["score"].shape == (1, 16, 12, 4)


def test_rgb_input_needs_seven_channels() -> None:
    net = build_model("gsnet", {**TINY, "use_rgb": True}).eval()
    points, pixels, image = _inputs(channels=7)
    with torch.no_grad():
        assert net(points, pixels, image)["score"].shape[1] == 16
    with pytest.raises(ValueError, match="image"):
        net(points, pixels, image[:, :4])
    with pytest.raises(ValueError, match="pixels"):
        net(points)


def test_spec_bad_values() -> None:
    with pytest.raises(ValueError, match="backbone"):
        GSNetSpec(backbone="minkunet")
    with pytest.raises(ValueError, match="depths"):
        GSNetSpec(depths=(0.0, 0.01))
    with pytest.raises(ValueError, match="cylinder"):
        GSNetSpec(cylinder_height_min=0.05)
    with pytest.raises(ValueError, match="num_seeds"):
        GSNetSpec(num_seeds=0)
    with pytest.raises(ValueError, match="unknown"):
        build_model("gsnet", {"backbone": "depth2d", "seeds": 3})


def test_select_seeds_take_graspable_object_points_first() -> None:
    points = torch.tensor([[[float(i), 0.0, 0.0] for i in range(6)]])
    logits = torch.tensor([[[1.0, 1, -1, -1, -1, 1], [0.0, 0, 1, 1, 1, 0]]])  # objects: 2, 3, 4
    graspness = torch.tensor([[0.9, 0.9, 0.05, 0.5, 0.8, 0.9]])  # 2 is below the threshold
    seeds = select_seeds(points, logits, graspness, 4, 0.1)
    assert seeds.tolist() == [[4, 3, 4, 3]]


def test_lift_pixel_features_reads_pixel_centres_at_any_stride() -> None:
    full = torch.arange(16.0).reshape(1, 1, 4, 4)
    pixels = torch.tensor([[[1.0, 2.0], [3.0, 0.0]]])
    assert lift_pixel_features(full, pixels, (4, 4))[0, 0].tolist() == [9.0, 3.0]
    constant = torch.full((1, 2, 2, 2), 5.0)  # stride 2: a constant map samples its constant
    assert torch.allclose(lift_pixel_features(constant, pixels, (4, 4)), torch.full((1, 2, 2), 5.0))


@pytest.mark.parametrize("backbone", ["depth2d", "pointnet2"])
def test_checkpoint_round_trip(tmp_path: Path, backbone: str) -> None:
    torch.manual_seed(1)
    net = build_model("gsnet", {**TINY, "backbone": backbone}).eval()
    path = save_checkpoint(tmp_path / "gsnet.safetensors", net, config={"note": "test"})
    loaded = load_model(path)
    assert model_family(loaded) == "gsnet" and model_spec(loaded) == model_spec(net)
    points, pixels, image = _inputs(batch=1)
    with torch.no_grad():
        a, b = net(points, pixels, image), loaded(points, pixels, image)
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_one_backward_pass_reaches_every_parameter() -> None:
    torch.manual_seed(0)
    net = build_model("gsnet", TINY).train()
    out = net(*_inputs())
    total = sum(v.float().sum() for k, v in out.items() if v.is_floating_point() and k != "seed_xyz")
    total.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert missing == []
