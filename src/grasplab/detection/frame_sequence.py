"""A folder of RGB-D frames in, per-frame tracked grasps out (``grasplab track``).

Folder layout (one camera, frames in name order)::

    DIR/depth/0000.png   16-bit PNG in raw units (``depth_scale`` per metre, 1000 = mm) ...
    DIR/depth/0001.npy   ... or an (H, W) .npy (default scale 1: metres)
    DIR/rgb/0000.png     optional colour image with the same stem, same size as its depth

Every depth image must have the same size; the intrinsics (a JSON file with ``fx, fy, cx, cy``
and optionally ``width, height``, ``"fx,fy,cx,cy"`` or a preset name) hold for all frames. Bad
input raises :class:`~grasplab.scenes.frame_files.FrameInputError` (a ``ValueError``) naming the
file. :func:`track_sequence` runs a tracker over the frames; :func:`tracks_to_json` gives the
JSON written by ``grasplab track``. Camera frame (OpenCV), metres.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.detection.observation import Observation
from grasplab.detection.tracking import GraspTracker, TrackResult
from grasplab.scenes.frame_files import FrameInputError, read_depth_image, read_intrinsics, read_rgb_image

__all__ = ["DEPTH_SUFFIXES", "list_frame_files", "read_frame_sequence", "track_sequence", "tracks_to_json"]

#: Depth file suffixes read from ``DIR/depth``.
DEPTH_SUFFIXES = (".png", ".npy")


def list_frame_files(folder: str | Path) -> list[tuple[Path, Path | None]]:
    """``(depth, rgb or None)`` per frame of ``folder``, in name order.

    Raises:
        FrameInputError: no folder, no ``depth/`` inside, or no depth file in it.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FrameInputError(f"--frames {root}: no such folder")
    depth_dir = root / "depth"
    if not depth_dir.is_dir():
        raise FrameInputError(f"--frames {root}: no depth/ folder (expected depth/0000.png|npy and "
                              "optionally rgb/0000.png)")
    depths = sorted(p for p in depth_dir.iterdir() if p.suffix.lower() in DEPTH_SUFFIXES and p.is_file())
    if not depths:
        raise FrameInputError(f"--frames {root}: depth/ holds no .png or .npy frame")
    rgb_dir = root / "rgb"
    out = []
    for depth in depths:
        rgb = rgb_dir / f"{depth.stem}.png"
        out.append((depth, rgb if rgb.is_file() else None))
    return out


def read_frame_sequence(folder: str | Path, intrinsics: str, depth_scale: float | None = None,
                        ) -> list[Observation]:
    """The frames of ``folder`` as observations (module docstring).

    Args:
        folder: the frames folder.
        intrinsics: a JSON file, ``"fx,fy,cx,cy"`` or a preset name.
        depth_scale: raw depth units per metre (None: 1000 for PNG, 1 for .npy).

    Raises:
        FrameInputError: a missing folder / file / intrinsics, frames of different sizes, an
            unreadable image.
    """
    files = list_frame_files(folder)
    if not intrinsics.strip():
        raise FrameInputError("--intrinsics: missing (a K.json file, 'fx,fy,cx,cy' or a preset)")
    observations: list[Observation] = []
    camera = None
    for depth_path, rgb_path in files:
        scale = depth_scale if depth_scale is not None else (1.0 if depth_path.suffix == ".npy" else 1000.0)
        depth = read_depth_image(depth_path, scale)
        if observations and depth.shape != observations[0].shape:
            raise FrameInputError(f"{depth_path.name}: size {depth.shape[1]}x{depth.shape[0]} differs from "
                                  f"the first frame's {observations[0].shape[1]}x{observations[0].shape[0]}"
                                  " (every frame must have the same size)")
        if camera is None:
            camera = read_intrinsics(intrinsics, depth.shape)
        rgb = None if rgb_path is None else read_rgb_image(rgb_path, depth.shape, depth_path.name)
        try:
            observations.append(Observation(depth, camera, rgb))
        except ValueError as exc:
            raise FrameInputError(f"{depth_path.name}: {exc}") from exc
    return observations


def track_sequence(tracker: GraspTracker, observations: Sequence[Observation],
                   target_ids: Sequence[int] | None = None, frame_rate: float = 10.0,
                   progress: Callable[[int], None] | None = None) -> list[TrackResult]:
    """Reset ``tracker`` and run it over the frames (``target_ids``: rows of the first frame)."""
    tracker.reset()
    results = []
    for k, observation in enumerate(observations):
        results.append(tracker.update(observation, target_ids if k == 0 else None, time=k / frame_rate))
        if progress is not None:
            progress(1)
    return results


def tracks_to_json(results: Sequence[TrackResult], names: Sequence[str] | None = None) -> dict[str, Any]:
    """JSON-able frames: grasps (graspnetAPI rows, camera frame), track ids, scores, targets."""
    frames = []
    for k, r in enumerate(results):
        frames.append({
            "frame": names[k] if names is not None else k,
            "grasps": np.asarray(r.grasps).round(6).tolist(),
            "track_ids": r.track_ids.tolist(),
            "scores": np.round(r.scores, 4).tolist(),
            "target_ids": list(r.target_ids),
            "target_rows": r.target_rows.tolist(),
            "targets": np.asarray(r.targets).round(6).tolist(),
            "lost_ids": list(r.lost_ids),
        })
    return {"format": "grasplab-tracks-1", "columns": "score, width, height, depth, R (9, row-major), "
            "t (3), object_id; camera frame, metres", "frames": frames}
