"""Which split (seen / similar / novel / ...) each scene belongs to.

The dataset manifest ``grasplab_dataset.json`` written by ``grasplab scenes generate`` records the
split of every scene (``"scenes": {"%04d": split}``); other layouts of that information
(``"splits": {name: [ids]}``, ``"scene_splits"``) are read too. A root without a manifest is taken
to be the real GraspNet-1Billion data, whose splits are fixed scene ranges (graspnetAPI
``GraspNet.__init__``): train 0-99, test 100-189 = seen 100-129 + similar 130-159 + novel 160-189.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["REFERENCE_SPLITS", "TABLE_SPLITS", "scene_splits", "split_scene_ids"]

#: Scene ranges of the reference dataset (graspnetAPI ``GraspNet.__init__``).
REFERENCE_SPLITS: dict[str, range] = {
    "train": range(0, 100),
    "test": range(100, 190),
    "seen": range(100, 130),
    "similar": range(130, 160),
    "novel": range(160, 190),
}
#: Splits that get their own AP table when scenes of them are evaluated.
TABLE_SPLITS = ("seen", "similar", "novel")


def _manifest_splits(data: Any) -> dict[int, str]:
    """Scene → split from a manifest dict; accepts the layouts grasplab writers use."""
    splits: dict[int, str] = {}
    by_name = data.get("splits") if isinstance(data, dict) else None
    if isinstance(by_name, dict):
        for name, scenes in by_name.items():
            if isinstance(scenes, list):
                splits.update({int(s): str(name) for s in scenes})
            elif isinstance(scenes, str):  # {"100": "seen"}
                splits[int(name)] = scenes
    for key in ("scene_splits", "scenes"):
        entries = data.get(key) if isinstance(data, dict) else None
        if isinstance(entries, dict):
            for scene, value in entries.items():
                split = value.get("split") if isinstance(value, dict) else value
                if isinstance(split, str):
                    splits[int(scene)] = split
        elif isinstance(entries, list):
            for value in entries:
                if isinstance(value, dict) and "split" in value:
                    scene = value.get("scene_id", value.get("scene"))
                    if scene is not None:
                        splits[int(scene)] = str(value["split"])
    return splits


def scene_splits(root: Path | str) -> dict[int, str] | None:
    """Scene → split name from ``<root>/grasplab_dataset.json``; None without a manifest.

    Raises:
        ValueError: the manifest exists but is not valid JSON.
    """
    path = Path(root) / "grasplab_dataset.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"could not parse the dataset manifest {path}: {exc}") from exc
    try:
        return _manifest_splits(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: unexpected split entries: {exc}") from exc


def split_scene_ids(root: Path | str, split: str, available: Iterable[int]) -> list[int]:
    """Scene ids of a split: from the manifest, else the reference ranges.

    Args:
        root: dataset root.
        split: split name (``seen``, ``similar``, ``novel``, ``test``, ``train`` or a manifest name).
        available: scene ids present in the dataset.

    Raises:
        ValueError: unknown split, or no scene of it in the dataset.
    """
    have = sorted(set(int(s) for s in available))
    manifest = scene_splits(root)
    if manifest:
        names = set(manifest.values())
        if split == "test" and split not in names:
            wanted = [s for s in have if manifest.get(s) in TABLE_SPLITS]
        elif split in names:
            wanted = [s for s in have if manifest.get(s) == split]
        else:
            raise ValueError(f"unknown split {split!r}; the manifest has {sorted(names)}")
    elif split in REFERENCE_SPLITS:
        wanted = [s for s in have if s in REFERENCE_SPLITS[split]]
    else:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(REFERENCE_SPLITS)}")
    if not wanted:
        raise ValueError(f"split {split!r} has no scene in this dataset (scenes: {have})")
    return wanted
