"""Weights shipped inside the package (``grasplab/assets``), found without importing torch."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_pixel_weights() -> Path | None:
    """The pixel-detector checkpoint shipped with grasplab, or None if this install has none.

    Returns:
        Path of the first ``grasplab/assets/pixel/*.safetensors`` (sorted by name).
    """
    folder = Path(str(resources.files("grasplab"))) / "assets" / "pixel"
    found = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return found[0] if found else None
