"""One registry of model families: a family name, a frozen spec dataclass and a builder.

A *family* is a kind of network (``"pixel"``: the PLGP pixel-level networks, whose spec's
``name`` picks the backbone ggcnn2 / grconvnet / affga). Its *spec* is a frozen dataclass that
rebuilds the network exactly; checkpoints store ``family`` and the spec as JSON
(:func:`spec_to_dict`), never a pickled module. Later families (a 6-DoF detector, contrastive and
tactile encoders) register themselves with :func:`register_model` next to their modules.

>>> "pixel" in model_families()
True
>>> model = build_model("pixel", {"name": "ggcnn2", "in_channels": 1, "num_angles": 6, "channels": 4})
>>> model.spec["num_angles"], model_family(model)
(6, 'pixel')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from grasplab._optional import require

require("torch")
from torch import nn  # noqa: E402

from grasplab.models.pixel_net import build_pixel_model  # noqa: E402
from grasplab.runtime.config import config_from_dict  # noqa: E402

__all__ = [
    "ModelFamily",
    "PixelNetSpec",
    "build_model",
    "model_families",
    "model_family",
    "model_spec",
    "register_model",
    "spec_from_dict",
    "spec_to_dict",
]

#: attribute set on every module built by :func:`build_model`
FAMILY_ATTR = "model_family"


@dataclass(frozen=True)
class ModelFamily:
    """A registered family: its spec dataclass and the builder taking an instance of it."""

    name: str
    builder: Callable[[Any], nn.Module]
    spec_type: type


_FAMILIES: dict[str, ModelFamily] = {}


def register_model(family: str, builder: Callable[[Any], nn.Module], spec_type: type) -> None:
    """Register ``builder(spec) -> nn.Module`` under ``family`` with its frozen spec dataclass.

    Raises:
        ValueError: an empty name, a family registered twice with another builder, or a spec type
            that is not a dataclass.
    """
    if not family:
        raise ValueError("a model family needs a name")
    if not dataclasses.is_dataclass(spec_type):
        raise ValueError(f"spec_type of {family!r} must be a dataclass, got {spec_type!r}")
    known = _FAMILIES.get(family)
    if known is not None and (known.builder is not builder or known.spec_type is not spec_type):
        raise ValueError(f"model family {family!r} is already registered")
    _FAMILIES[family] = ModelFamily(family, builder, spec_type)


def model_families() -> tuple[str, ...]:
    """Registered family names, sorted."""
    return tuple(sorted(_FAMILIES))


def _family(family: str) -> ModelFamily:
    if family not in _FAMILIES:
        raise ValueError(f"unknown model family {family!r}, expected one of {model_families()}")
    return _FAMILIES[family]


def spec_from_dict(family: str, values: Mapping[str, Any]) -> Any:
    """The family's spec dataclass from a (JSON) dict, strictly checked (ValueError naming a key)."""
    return config_from_dict(_family(family).spec_type, values)


def spec_to_dict(spec: Any) -> dict[str, Any]:
    """A spec as a JSON-ready dict without its None (= default) fields."""
    values = dataclasses.asdict(spec)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items() if v is not None}


def build_model(family: str, spec: Any) -> nn.Module:
    """Build a (randomly initialised, training-mode) network of ``family`` from its spec.

    Args:
        family: a registered family name.
        spec: the family's spec dataclass, or a dict of its fields.

    Returns:
        The module, with ``model_family`` set to ``family``. Initialisation draws from torch's
        global RNG; scope it with ``torch.random.fork_rng`` and seed inside for a fixed init.
    """
    entry = _family(family)
    if isinstance(spec, Mapping):
        spec = spec_from_dict(family, spec)
    if not isinstance(spec, entry.spec_type):
        raise ValueError(f"family {family!r} takes a {entry.spec_type.__name__}, got {type(spec).__name__}")
    model = entry.builder(spec)
    setattr(model, FAMILY_ATTR, family)
    return model


def model_family(model: nn.Module) -> str:
    """The family of a model built by :func:`build_model` (pixel networks are always ``"pixel"``).

    Raises:
        ValueError: a module the registry did not build.
    """
    family = getattr(model, FAMILY_ATTR, None)
    if family is None and hasattr(model, "spec") and hasattr(model, "num_angles"):
        family = "pixel"  # built directly with build_pixel_model
    if not isinstance(family, str):
        raise ValueError(f"{type(model).__name__} was not built by grasplab.models.build_model")
    return family


def model_spec(model: nn.Module) -> dict[str, Any]:
    """The JSON spec that rebuilds ``model`` with :func:`build_model` (its ``spec`` dict)."""
    spec = getattr(model, "spec", None)
    if isinstance(spec, Mapping):
        return dict(spec)
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        return spec_to_dict(spec)
    raise ValueError(f"{type(model).__name__} carries no spec (build it with grasplab.models.build_model)")


# ------------------------------------------------------------------------------- pixel family
@dataclass(frozen=True)
class PixelNetSpec:
    """Arguments of :func:`grasplab.models.pixel_net.build_pixel_model` (None = backbone default).

    Attributes:
        name: backbone, "ggcnn2", "grconvnet" or "affga".
        in_channels: 1 (depth), 3 (RGB) or 4 (RGB-D).
        num_angles: K angle bins.
        channels: base width.
        num_residual: residual blocks (grconvnet).
        dropout: dropout on decoded features (grconvnet).
        stem_stride: stride of the first convolution (ggcnn2).
        up_kernel: kernel of the last decoder convolution (ggcnn2).
    """

    name: str
    in_channels: int
    num_angles: int = 18
    channels: int | None = None
    num_residual: int | None = None
    dropout: float | None = None
    stem_stride: int | None = None
    up_kernel: int | None = None


def _build_pixel(spec: PixelNetSpec) -> nn.Module:
    options = {k: v for k, v in spec_to_dict(spec).items() if k not in ("name", "in_channels", "num_angles")}
    return build_pixel_model(spec.name, spec.in_channels, spec.num_angles, **options)


register_model("pixel", _build_pixel, PixelNetSpec)
