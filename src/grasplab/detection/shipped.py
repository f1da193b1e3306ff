"""Weights shipped inside the package (``grasplab/assets``), found without importing torch."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["installed_asset", "shipped_association_weights", "shipped_gsnet_weights", "shipped_pixel_weights"]


def _assets() -> Path:
    return Path(str(resources.files("grasplab"))) / "assets"


def _first_shipped(family: str) -> Path | None:
    folder = _assets() / family
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


def shipped_association_weights() -> Path | None:
    """The grasp-association head shipped with grasplab (the ``learned`` tracker's), or None.

    Returns:
        Path of the first ``grasplab/assets/association/*.safetensors`` (sorted by name).
    """
    return _first_shipped("association")


def installed_asset(recorded: str | Path) -> Path | None:
    """The installed copy of a shipped file named by a path recorded elsewhere, or None.

    A checkpoint trained against shipped weights records their path on the training machine
    (e.g. ``src/grasplab/assets/gsnet/gsnet_cpu.safetensors``); this maps any path ending in
    ``assets/<family>/<name>`` to this install's ``grasplab/assets/<family>/<name>`` when it exists.

    >>> installed_asset("/elsewhere/weights.safetensors") is None
    True
    """
    parts = Path(recorded).parts
    if len(parts) < 3 or parts[-3] != "assets":
        return None
    found = _assets() / parts[-2] / parts[-1]
    return found if found.is_file() else None
