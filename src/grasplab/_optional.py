"""Lazy imports of optional dependencies with a message that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

# module name -> the grasplab extra that provides it
_EXTRA_OF = {
    "pybullet": "sim",
    "pybullet_data": "sim",
    "torch": "torch",
    "safetensors": "torch",
    "matplotlib": "viz",
    "ray": "ray",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "onnxscript": "onnx",
    "sklearn": "probes",
}


class MissingExtraError(ImportError):
    """Raised when an optional dependency of grasplab is not installed."""


def require(module: str) -> ModuleType:
    """Import ``module`` or fail with a message naming the grasplab extra that installs it.

    Args:
        module: dotted module name, e.g. ``"pybullet"`` or ``"torch.nn"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        root = module.split(".")[0]
        extra = _EXTRA_OF.get(root, "all")
        raise MissingExtraError(
            f"grasplab needs the optional package '{root}' for this feature; "
            f"install it with: pip install 'grasplab[{extra}]'"
        ) from exc
