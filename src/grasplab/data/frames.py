"""Which frames of a dataset have a given per-frame file: the frame lists of the torch datasets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from grasplab.scenes.reader import GraspNetDataset


def list_frames_with_files(
    root: Path | str,
    camera: str,
    scene_ids: Sequence[int] | None,
    folder_of: Callable[[int], Path | None],
) -> list[tuple[int, int]]:
    """Sorted ``(scene_id, ann_id)`` pairs whose ``%04d.npz`` exists in the scene's folder.

    Args:
        root: dataset root.
        camera: camera folder.
        scene_ids: scenes to look at (None: every scene of the dataset).
        folder_of: the folder holding a scene's per-frame files, or None to skip the scene.
    """
    reader = GraspNetDataset(root, camera)
    scenes = reader.scene_ids() if scene_ids is None else sorted(int(s) for s in scene_ids)
    frames = []
    for scene in scenes:
        folder = folder_of(scene)
        if folder is not None:
            frames += [(scene, int(p.stem)) for p in sorted(folder.glob("[0-9][0-9][0-9][0-9].npz"))]
    return frames
