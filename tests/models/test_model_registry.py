"""The model registry: families, strict specs, builders and the pixel family."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")

from grasplab.models import build_pixel_model  # noqa: E402
from grasplab.models.registry import (  # noqa: E402
    PixelNetSpec,
    build_model,
    model_families,
    model_family,
    model_spec,
    register_model,
    spec_from_dict,
    spec_to_dict,
)


def test_pixel_family_builds_every_backbone() -> None:
    assert "pixel" in model_families()
    for name in ("ggcnn2", "grconvnet", "affga"):
        model = build_model("pixel", {"name": name, "in_channels": 4, "num_angles": 6, "channels": 8})
        assert model_family(model) == "pixel" and model.spec["name"] == name
        q_p, q_theta, w_g = model(torch.zeros(1, 4, 32, 32))
        assert q_p.shape == (1, 1, 32, 32) and q_theta.shape == w_g.shape == (1, 6, 32, 32)


def test_registry_and_direct_builds_agree() -> None:
    spec = PixelNetSpec("ggcnn2", 1, 18, channels=4, stem_stride=2)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        a = build_model("pixel", spec)
        torch.manual_seed(0)
        b = build_pixel_model("ggcnn2", 1, 18, channels=4, stem_stride=2)
    assert (
        a.spec
        == b.spec
        == model_spec(a)
        == {"name": "ggcnn2", "in_channels": 1, "num_angles": 18, "channels": 4, "stem_stride": 2}
    )
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert model_family(b) == "pixel"  # built without the registry
    assert spec_from_dict("pixel", spec_to_dict(spec)) == spec


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown model family"):
        build_model("nope", {})
    with pytest.raises(ValueError, match="bogus"):
        build_model("pixel", {"name": "ggcnn2", "in_channels": 1, "bogus": 3})
    with pytest.raises(ValueError, match="in_channels"):
        build_model("pixel", {"name": "ggcnn2", "in_channels": "one"})
    with pytest.raises(ValueError, match="takes a PixelNetSpec"):
        build_model("pixel", 3)
    with pytest.raises(ValueError, match="not built"):
        model_family(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no spec"):
        model_spec(torch.nn.Linear(2, 2))


@dataclass(frozen=True)
class _LinearSpec:
    features: int = 3


def _linear(spec: _LinearSpec) -> torch.nn.Module:
    module = torch.nn.Linear(spec.features, 1)
    module.spec = spec  # type: ignore[assignment]
    return module


def test_register_a_family() -> None:
    register_model("test-linear", _linear, _LinearSpec)
    register_model("test-linear", _linear, _LinearSpec)  # the same registration again is harmless
    model = build_model("test-linear", {"features": 5})
    assert model.in_features == 5 and model_family(model) == "test-linear"
    assert model_spec(model) == {"features": 5}
    with pytest.raises(ValueError, match="already registered"):
        register_model("test-linear", lambda spec: torch.nn.Identity(), _LinearSpec)
    with pytest.raises(ValueError, match="dataclass"):
        register_model("test-bad", _linear, int)


def test_every_model_family_is_registered_by_importing_the_package() -> None:
    # a checkpoint of any family must load without importing the family's module first
    import grasplab.models as models

    assert {"pixel", "gsnet", "graspnet-baseline", "tactile"} <= set(models.model_families())
