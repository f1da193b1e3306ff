"""Data: torch datasets, augmentation and sharding of grasplab datasets."""

from __future__ import annotations

from typing import Any

from grasplab.data.augment import (
    INPUT_MODES,
    AugmentConfig,
    CropTransform,
    PixelLabelMaps,
    center_crop,
    enhance_labels,
    input_channels,
    normalize_input,
    sample_crop,
    warp_bilinear,
    warp_labels,
    warp_nearest,
)

# torch-backed names, imported on first use so that ``grasplab.data.augment`` works without torch
_LAZY = {
    "PixelGraspDataset": "grasplab.data.pixel_dataset",
    "list_labelled_frames": "grasplab.data.pixel_dataset",
    "load_label_maps": "grasplab.data.pixel_dataset",
    "split_frames": "grasplab.data.pixel_dataset",
}

__all__ = [
    "INPUT_MODES",
    "AugmentConfig",
    "CropTransform",
    "PixelGraspDataset",
    "PixelLabelMaps",
    "center_crop",
    "enhance_labels",
    "input_channels",
    "list_labelled_frames",
    "load_label_maps",
    "normalize_input",
    "sample_crop",
    "split_frames",
    "warp_bilinear",
    "warp_labels",
    "warp_nearest",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'grasplab.data' has no attribute {name!r}")
