"""Pictures of grasp tracks: each frame's tracked grasps with their track ids, as an animated GIF.

Each frame shows the best ``max_grasps`` grasps (projected gripper outlines of
:func:`grasplab.viz.overlay.draw_grasps`), a red ring at each target's smoothed grasp point,
and the track id written at each drawn grasp's centre: an id that stays on the same grasp from
frame to frame is a track kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from grasplab.core import project_points
from grasplab.detection.observation import Observation
from grasplab.detection.tracking import TrackResult
from grasplab.viz.overlay import OverlayStyle, draw_grasps

__all__ = ["draw_track_frame", "save_tracks_gif"]


def draw_track_frame(observation: Observation, result: TrackResult, max_grasps: int = 10,
                     min_width: int = 640) -> np.ndarray:
    """(H', W', 3) uint8: one frame's grasps with their track ids (module docstring)."""
    image = observation.rgb if observation.rgb is not None else observation.depth
    count = max(1, min(max_grasps, len(result.grasps)))
    style = OverlayStyle(max_grasps=count, min_width=min_width, legend=False, highlight_best=False)
    drawn = draw_grasps(image, result.grasps[:count], observation.intrinsics, style=style)
    canvas = Image.fromarray(drawn)
    draw = ImageDraw.Draw(canvas)
    factor = canvas.width / observation.shape[1]
    uv, _ = project_points(result.grasps.translations[:count], observation.intrinsics)
    for (u, v), tid in zip(uv, result.track_ids[:count].tolist(), strict=True):
        if np.all(np.isfinite((u, v))):
            draw.text((u * factor + 3, v * factor + 3), str(tid), fill=(255, 255, 0))
    tuv, _ = project_points(result.targets.translations, observation.intrinsics)
    for (u, v), tid in zip(tuv, result.target_ids, strict=True):
        if np.all(np.isfinite((u, v))):
            x, y, r = u * factor, v * factor, 6 * max(factor, 1.0)
            draw.ellipse((x - r, y - r, x + r, y + r), outline=(255, 40, 40), width=3)
            draw.text((x + r + 2, y - r - 12), f"target {tid}", fill=(255, 80, 80))
    draw.text((6, 6), f"frame {result.frame}  targets {list(result.target_ids)}", fill=(255, 255, 255))
    return np.asarray(canvas)


def save_tracks_gif(path: str | Path, observations: Sequence[Observation], results: Sequence[TrackResult],
                    max_grasps: int = 10, frame_ms: int = 200) -> Path:
    """Write an animated GIF of the tracks; returns the path.

    Raises:
        ValueError: no frames, or different numbers of observations and results.
    """
    if not results or len(observations) != len(results):
        raise ValueError(f"save_tracks_gif: need as many observations as results, got "
                         f"{len(observations)} and {len(results)}")
    frames = [Image.fromarray(draw_track_frame(o, r, max_grasps)) for o, r in
              zip(observations, results, strict=True)]
    size = frames[0].size
    frames = [f if f.size == size else f.resize(size) for f in frames]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=int(frame_ms), loop=0)
    return out
