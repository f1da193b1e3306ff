"""A tiny synthetic dataset root with PLGP pixel labels, for the pixel-detector tests.

Layout (what ``PixelGraspDataset`` reads): ``scenes/scene_%04d/realsense/{depth,rgb}/%04d.png``
and ``.../pixel_labels/%04d.npz`` written by ``pixel_label_jobs.save_pixel_labels``. Each frame
is a table at 0.6 m with a 12 x 5 px box at 0.55 m (long side along u) at a random place; the
labels are vertical-jaw grasps (bin K/2, across the short side) on the box's middle row, width
0.4 (of L4 = 0.1 m), grasp depth 0.02 m.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from grasplab.core import PixelGrasps
from grasplab.labels.pixel_label_jobs import pixel_label_path, save_pixel_labels
from grasplab.labels.pixel_labels import PixelLabels

NUM_ANGLES = 18
HEIGHT, WIDTH = 40, 48


def frame_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Depth (m), rgb and label maps of one frame with a box at a random place."""
    depth = np.full((HEIGHT, WIDTH), 0.6, np.float32)
    rgb = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    v0, u0 = int(rng.integers(10, HEIGHT - 14)), int(rng.integers(10, WIDTH - 22))
    depth[v0 : v0 + 5, u0 : u0 + 12] = 0.55
    rgb[v0 : v0 + 5, u0 : u0 + 12] = (200, 40, 40)
    depth[0, :3] = 0.0  # a few invalid pixels
    aq = np.zeros((NUM_ANGLES, HEIGHT, WIDTH), np.float32)
    aq[NUM_ANGLES // 2, v0 + 2, u0 + 3 : u0 + 9] = 1.0  # jaw across the short side
    width = aq * np.float32(0.4)
    return {
        "depth": depth,
        "rgb": rgb,
        "quality": aq.max(axis=0),
        "angle_quality": aq,
        "width": width,
        "grasp_depth": aq * np.float32(0.02),
    }


def write_root(root: Path, num_scenes: int = 2, frames_per_scene: int = 2, seed: int = 0) -> Path:
    """Write the synthetic dataset under ``root`` and return it."""
    rng = np.random.default_rng(seed)
    for scene in range(num_scenes):
        cam = root / "scenes" / f"scene_{scene:04d}" / "realsense"
        for folder in ("depth", "rgb", "pixel_labels"):
            (cam / folder).mkdir(parents=True, exist_ok=True)
        for ann in range(frames_per_scene):
            arrays = frame_arrays(rng)
            Image.fromarray(np.round(arrays["depth"] * 1000).astype(np.uint16)).save(
                cam / "depth" / f"{ann:04d}.png"
            )
            Image.fromarray(arrays["rgb"]).save(cam / "rgb" / f"{ann:04d}.png")
            aq = arrays["angle_quality"]
            k, v, u = np.nonzero(aq)
            rows = np.column_stack(
                [
                    u,
                    v,
                    arrays["grasp_depth"][k, v, u],
                    k * np.pi / NUM_ANGLES,
                    arrays["width"][k, v, u] * 0.1,
                    np.ones(len(k)),
                ]
            )
            labels = PixelLabels(
                quality=arrays["quality"],
                angle_quality=aq,
                width=arrays["width"],
                depth=arrays["grasp_depth"],
                grasps=PixelGrasps(rows),
                max_width=0.1,
            )
            save_pixel_labels(pixel_label_path(root, scene, ann), labels)
    return root
