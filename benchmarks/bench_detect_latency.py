"""Latency of the analytic detector on a synthetic cluttered 640×480 frame.

Run: ``python benchmarks/bench_detect_latency.py`` (seeded; one thread). Writes
``benchmarks/results/detect_latency.json`` and prints it.

Scene: a table plane with six objects (boxes and standing / lying cylinders, 3-10 cm) in a
30 × 30 cm patch, seen from 0.65 m at 25° from vertical by a 640×480 pinhole camera
(fx = fy = 615 px), depth ray cast with trimesh + embreex. The detector runs with its default
configuration (and once more with ``pixel_stride=1``); we report the median wall and CPU time of
``detect`` over repeats after one warm-up call, the median time per pipeline stage, and the
latency of the default :func:`grasplab.detection.postprocess` on its output.

Target: ``detect`` under 0.3 s on one core.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from grasplab.core import CameraIntrinsics  # noqa: E402
from grasplab.detection import (  # noqa: E402
    AnalyticDetector,
    AnalyticDetectorConfig,
    Observation,
    build_detector,
    postprocess,
)

SEED = 0
REPEATS = 9
RESULTS = Path(__file__).resolve().parent / "results" / "detect_latency.json"
INTRINSICS = CameraIntrinsics(615.0, 615.0, 319.5, 239.5, 640, 480)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """T_world_cam of an OpenCV camera at ``eye`` looking at ``target`` (world z up)."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = right, np.cross(forward, right), forward, eye
    return T


def clutter_meshes(rng: np.random.Generator, num_objects: int = 6) -> list[trimesh.Trimesh]:
    """A table slab (top at z = 0) and boxes / cylinders on a jittered 3 × 2 grid."""
    meshes = [trimesh.creation.box(extents=(1.0, 1.0, 0.02),
                                   transform=trimesh.transformations.translation_matrix(
                                       (0.0, 0.0, -0.01)))]
    slots = [(x, y) for x in (-0.1, 0.0, 0.1) for y in (-0.06, 0.06)]
    for i in range(num_objects):
        kind = ("box", "standing cylinder", "lying cylinder")[i % 3]
        if kind == "box":
            size = rng.uniform([0.03, 0.05, 0.03], [0.06, 0.09, 0.07])
            mesh = trimesh.creation.box(extents=size)
            height = size[2]
        elif kind == "standing cylinder":
            radius, height = rng.uniform(0.02, 0.035), rng.uniform(0.06, 0.1)
            mesh = trimesh.creation.cylinder(radius=radius, height=height, sections=48)
        else:
            radius, length = rng.uniform(0.015, 0.03), rng.uniform(0.06, 0.09)
            mesh = trimesh.creation.cylinder(radius=radius, height=length, sections=48)
            mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (1, 0, 0)))
            height = 2 * radius
        yaw = trimesh.transformations.rotation_matrix(rng.uniform(0, np.pi), (0, 0, 1))
        x, y = np.asarray(slots[i]) + rng.uniform(-0.01, 0.01, 2)
        place = trimesh.transformations.translation_matrix((x, y, height / 2))
        mesh.apply_transform(place @ yaw)
        meshes.append(mesh)
    return meshes


def render_depth(meshes: list[trimesh.Trimesh], T_world_cam: np.ndarray) -> np.ndarray:
    """(H, W) float32 depth in metres by embree ray casting (first hits), 0 where no hit."""
    from trimesh.ray.ray_pyembree import RayMeshIntersector

    scene = trimesh.util.concatenate(meshes)
    u, v = np.meshgrid(np.arange(INTRINSICS.width), np.arange(INTRINSICS.height))
    rays = np.stack([(u - INTRINSICS.cx) / INTRINSICS.fx, (v - INTRINSICS.cy) / INTRINSICS.fy,
                     np.ones(u.shape)], -1).reshape(-1, 3)
    dirs = rays @ T_world_cam[:3, :3].T
    origins = np.broadcast_to(T_world_cam[:3, 3], dirs.shape)
    locations, index_ray, _ = RayMeshIntersector(scene).intersects_location(
        origins, dirs / np.linalg.norm(dirs, axis=1, keepdims=True), multiple_hits=False)
    depth = np.zeros(len(rays))
    depth[index_ray] = (locations - T_world_cam[:3, 3]) @ T_world_cam[:3, 2]
    return depth.reshape(INTRINSICS.height, INTRINSICS.width).astype(np.float32)


def _analytic(config: AnalyticDetectorConfig) -> AnalyticDetector:
    """The analytic detector from the registry (its stage timings are read below)."""
    detector = build_detector("analytic", seed=SEED, config=config)
    assert isinstance(detector, AnalyticDetector)
    return detector


def time_detector(detector: AnalyticDetector, obs: Observation) -> dict[str, Any]:
    """Median wall / CPU seconds of ``detect`` and of each stage, after one warm-up call."""
    grasps = detector.detect(obs)
    wall, cpu, stages = [], [], []
    for _ in range(REPEATS):
        start, start_cpu = time.perf_counter(), time.process_time()
        grasps = detector.detect(obs)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        stages.append(detector.last_timings_)
    return {
        "median_wall_s": statistics.median(wall),
        "min_wall_s": min(wall),
        "median_cpu_s": statistics.median(cpu),
        "stages_median_wall_s": {k: statistics.median(s[k] for s in stages) for k in stages[0]},
        "num_grasps": len(grasps),
        "best_score": float(grasps.scores[0]) if len(grasps) else None,
    }


def main() -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    meshes = clutter_meshes(rng)
    tilt, azimuth = np.deg2rad(25.0), 0.7
    eye = 0.65 * np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth),
                           np.cos(tilt)])
    T_world_cam = look_at(eye, np.zeros(3))
    start = time.perf_counter()
    depth = render_depth(meshes, T_world_cam)
    render_s = time.perf_counter() - start
    obs = Observation(depth, INTRINSICS, T_world_cam=T_world_cam)

    default = _analytic(AnalyticDetectorConfig())
    result_default = time_detector(default, obs)
    full_res = time_detector(_analytic(AnalyticDetectorConfig(pixel_stride=1)), obs)
    grasps = default.detect(obs)
    post, post_cpu = [], []
    for _ in range(REPEATS):
        start, start_cpu = time.perf_counter(), time.process_time()
        kept = postprocess(grasps, obs)
        post.append(time.perf_counter() - start)
        post_cpu.append(time.process_time() - start_cpu)

    results = {
        "benchmark": "detect_latency",
        "seed": SEED,
        "repeats": REPEATS,
        "image": f"{INTRINSICS.width}x{INTRINSICS.height}",
        "valid_pixels": int((depth > 0).sum()),
        "render_s_embree": render_s,
        "analytic_default": result_default,
        "analytic_pixel_stride_1": full_res,
        "postprocess_default": {"median_wall_s": statistics.median(post),
                                "median_cpu_s": statistics.median(post_cpu),
                                "num_in": len(grasps), "num_out": len(kept)},
        "target_s": 0.3,
        "meets_target": result_default["median_wall_s"] < 0.3,
        "config": {k: (str(v) if not isinstance(v, int | float | tuple) else v)
                   for k, v in vars(AnalyticDetectorConfig()).items()},
        "machine": {"python": platform.python_version(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                    "numpy": np.__version__},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
