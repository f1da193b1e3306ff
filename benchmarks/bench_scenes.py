"""Scene synthesis speed: settling clutter, rendering frames, writing a dataset scene.

Measures, on this machine, with a fixed seed:
- seconds per settled scene of 5 and 15 seen objects (``generate_clutter``; objects pre-loaded);
- seconds per rendered 640x480 frame (TinyRenderer RGB + depth + mask), without and with the
  PLGP parallel depth image (embree ray casting);
- seconds per written frame of the whole job (``generate_scene``: settle, render, noise, write),
  with the dense object models already on disk, and the scene's time including writing them.

Run: ``python benchmarks/bench_scenes.py [--repeats 3]``; writes benchmarks/results/scenes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from grasplab.core.camera import CameraIntrinsics
from grasplab.core.rotations import invert_transform
from grasplab.objects import ObjectLibrary
from grasplab.scenes import (
    ClutterConfig,
    World,
    generate_clutter,
    populate_world,
    render_frame,
    render_parallel_depth,
    rig_camera_poses,
)
from grasplab.scenes.generate import GenerationConfig, generate_scene

SEED = 2024
RESULTS = Path(__file__).parent / "results" / "scenes.json"
INTRINSICS_640 = CameraIntrinsics(463.6, 463.7, 319.5, 239.5, 640, 480)  # RealSense fx at half size


def _settle_seconds(library: ObjectLibrary, pool: list[int], num_objects: int, repeats: int) -> list[float]:
    times = []
    for rep in range(repeats):
        start = time.perf_counter()
        rng = np.random.default_rng([SEED, num_objects, rep])
        generate_clutter(library, pool, rep, rng, ClutterConfig(num_objects=num_objects))
        times.append(time.perf_counter() - start)
    return times


def _render_seconds(library: ObjectLibrary, pool: list[int], views: int) -> dict[str, float]:
    record = generate_clutter(library, pool, 0, np.random.default_rng(SEED), ClutterConfig(num_objects=10))
    poses = rig_camera_poses(256, view_ids=np.linspace(0, 255, views).astype(int).tolist())
    plain, parallel = [], []
    with World() as world:
        populate_world(world, library, record, static=True)
        render_frame(world, INTRINSICS_640, poses[0])  # warm-up
        for pose in poses:
            start = time.perf_counter()
            render_frame(world, INTRINSICS_640, pose)
            mid = time.perf_counter()
            eta = INTRINSICS_640.fx / float(invert_transform(pose)[2, 3])
            render_parallel_depth(world, pose, eta=eta, width=640, height=480)
            end = time.perf_counter()
            plain.append(mid - start)
            parallel.append(end - start)
    return {
        "frame_640x480_s": float(np.median(plain)),
        "frame_640x480_with_parallel_s": float(np.median(parallel)),
    }


def _job_seconds(views: int) -> dict[str, float | str]:
    config = GenerationConfig(views=views, objects_per_scene=10, image_scale=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate_scene(Path(tmp), 0, "seen", config, SEED)  # also writes the 10 dense models
        first = time.perf_counter()
        generate_scene(Path(tmp), 0, "seen", config, SEED)  # models already written
        second = time.perf_counter()
    return {
        "job_views": views,
        "job_image_size": "640x360",
        "job_scene_with_model_writes_s": first - start,
        "job_scene_s": second - first,
        "job_per_frame_s": (second - first) / views,
    }


def main() -> None:
    """Run the benchmark and write benchmarks/results/scenes.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="settled scenes per size")
    parser.add_argument("--views", type=int, default=8, help="frames rendered / written")
    args = parser.parse_args()
    library = ObjectLibrary()
    rng = np.random.default_rng(SEED)
    pool = [int(i) for i in rng.choice(library.ids("seen"), size=30, replace=False)]
    for obj_id in pool:  # object processing is cached on disk; keep it out of the timings
        library.load(obj_id)
    results: dict[str, object] = {
        "seed": SEED,
        "machine": platform.processor() or platform.machine(),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
    }
    for n in (5, 15):
        times = _settle_seconds(library, pool, n, args.repeats)
        results[f"settle_{n}_objects_s"] = float(np.median(times))
        results[f"settle_{n}_objects_all_s"] = [round(t, 4) for t in times]
    results.update(_render_seconds(library, pool, args.views))
    results.update(_job_seconds(args.views))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"{key:34s} {value}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
