"""Weights shipped inside the package (``grasplab/assets``), found without importing torch."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["shipped_gsnet_weights", "shipped_pixel_weights"]


def _first_shipped(family: str) -> Path | None:
    folder = Path(str(resources.files("grasplab"))) / "assets" / family
    found = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return found[0] if found else None


def shipped_pixel_weights() -> Path | None:
    """The pixel-detector checkpoint shipped with grasplab, or None if this install has none.

    Returns:
        Path of the first ``grasplab/assets/pixel/*.safetensors`` (sorted by name).
    """
    return _first_shipped("pixel")


def shipped_gsnet_weights() -> Path | None:
    """The GSNet checkpoint shipped with grasplab, or None if this install has none.

    Returns:
        Path of the first ``grasplab/assets/gsnet/*.safetensors`` (sorted by name).
    """
    return _first_shipped("gsnet")
