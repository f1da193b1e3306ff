"""Pixel-level label speed: seconds per 640x480 frame of PLGP's PDG labels (goal: under 2 s).

Builds seeded clutter scenes of seen objects (PyBullet), renders each from a PLGP camera pose at
640x480 (60° vertical field of view, as PLGP §III-B) together with its parallel depth image
(eta = fx / depth of the tray centre, the dataset convention, so both images cover the tray),
and times :func:`grasplab.labels.pixel_labels.pixel_labels` with K = 18 angles and 2 mm depth
steps at pixel strides 1, 2 and 4. Rendering is not timed.

Run: ``python benchmarks/bench_pixel_labels.py [--scenes 2] [--objects 10]``;
writes benchmarks/results/pixel_labels.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core.camera import CameraIntrinsics
from grasplab.core.rotations import invert_transform
from grasplab.labels.pixel_labels import PixelLabelConfig, pixel_labels
from grasplab.objects import ObjectLibrary
from grasplab.scenes import (
    ClutterConfig,
    World,
    generate_clutter,
    plgp_camera_pose,
    populate_world,
    render_frame,
    render_parallel_depth,
)

SEED = 2024
GOAL_SECONDS = 2.0
RESULTS = Path(__file__).parent / "results" / "pixel_labels.json"
INTRINSICS = CameraIntrinsics.from_fov(60.0, 640, 480)


def _frames(num_scenes: int, num_objects: int) -> list[dict[str, Any]]:
    """Render ``num_scenes`` seeded clutter frames with their parallel depth."""
    library = ObjectLibrary()
    pool = list(library.ids("seen"))
    frames = []
    for scene in range(num_scenes):
        rng = np.random.default_rng([SEED, scene])
        record = generate_clutter(library, pool, scene, rng, ClutterConfig(num_objects=num_objects))
        centre = record.T_world_tray[:3, 3]
        pose = plgp_camera_pose(rng, center=centre)
        with World() as world:
            populate_world(world, library, record, static=True)
            frame = render_frame(world, INTRINSICS, pose)
            z_centre = float((invert_transform(pose) @ np.append(centre, 1.0))[2])
            eta = round(INTRINSICS.fx / z_centre, 1)
            parallel = render_parallel_depth(world, pose, eta=eta, width=640, height=480)
        frames.append({"depth": frame.depth, "mask": frame.mask, "parallel": parallel.depth,
                       "eta": eta})
    return frames


def _time_stride(frames: list[dict[str, Any]], stride: int) -> dict[str, Any]:
    config = PixelLabelConfig(stride=stride)
    seconds, cpu, pixels, grasps = [], [], [], []
    for item in frames:
        start, start_cpu = time.perf_counter(), time.process_time()
        labels = pixel_labels(item["depth"], item["mask"], INTRINSICS, item["parallel"],
                              item["eta"], config=config)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        mask = (item["mask"] > 0) & (item["depth"] > 0)
        rows, cols = np.nonzero(mask)
        pixels.append(int(((rows % stride == 0) & (cols % stride == 0)).sum()))
        grasps.append(len(labels.grasps))
    return {"stride": stride, "seconds_per_frame": float(np.mean(seconds)),
            "cpu_seconds_per_frame": float(np.mean(cpu)),
            "seconds": [round(s, 4) for s in seconds], "object_pixels": pixels,
            "grasps": grasps, "under_goal": bool(np.mean(seconds) < GOAL_SECONDS)}


def main() -> None:
    """Run the benchmark and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=2)
    parser.add_argument("--objects", type=int, default=10)
    args = parser.parse_args()
    frames = _frames(args.scenes, args.objects)
    runs = [_time_stride(frames, stride) for stride in (1, 2, 4)]
    result = {
        "benchmark": "pixel_labels",
        "image_size": [640, 480],
        "num_angles": 18,
        "depth_step_m": 0.002,
        "scenes": args.scenes,
        "objects_per_scene": args.objects,
        "eta": [item["eta"] for item in frames],
        "goal_seconds": GOAL_SECONDS,
        "runs": runs,
        "machine": platform.platform(),
        "python": platform.python_version(),
        "seed": SEED,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for run in runs:
        print(f"stride {run['stride']}: {run['seconds_per_frame']:.2f} s per 640x480 frame "
              f"(CPU {run['cpu_seconds_per_frame']:.2f} s) "
              f"({np.mean(run['object_pixels']):.0f} object pixels, "
              f"{np.mean(run['grasps']):.0f} grasps; goal < {GOAL_SECONDS} s)")
    print(f"→ {RESULTS}")


if __name__ == "__main__":
    main()
