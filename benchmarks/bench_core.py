"""Benchmark of grasplab.core hot paths: pose NMS and the gripper collision / empty check.

Run: ``python benchmarks/bench_core.py`` (seeded; one thread). Writes
``benchmarks/results/core.json`` and prints it.

* NMS: 10,000 grasps clustered like real detections (200 centres, 1 cm position noise,
  ~0.3 rad orientation noise), thresholds 3 cm / 30°. Baseline, measured in the same run:
  the plain greedy loop that compares each grasp with all kept grasps in numpy. Both
  must select the same grasps (checked).
* Collision: ``GripperModel().collision_and_empty`` of 100 grasps against a 20,000-point
  cloud (a table top and five objects), grasps placed on object points.

Targets: NMS well under 1 s; collision <= 25 ms.
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
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from grasplab.core.grasp_group import GraspGroup  # noqa: E402
from grasplab.core.gripper import GripperModel  # noqa: E402

SEED = 0
RESULTS = Path(__file__).resolve().parent / "results" / "core.json"


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall and CPU (process) time in seconds of ``repeats`` calls, after a warm-up.

    CPU time is reported too because the benchmark machines are shared: under load the
    wall time grows while the process's own CPU time stays close to the idle wall time.
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def clustered_detections(rng: np.random.Generator, num: int, num_centres: int) -> GraspGroup:
    centres = rng.uniform([-0.25, -0.25, 0.4], [0.25, 0.25, 0.8], (num_centres, 3))
    owner = rng.integers(0, num_centres, num)
    base = Rotation.random(num_centres, random_state=rng.integers(1 << 31))
    noise = Rotation.from_rotvec(rng.normal(0.0, 0.3, (num, 3)))
    return GraspGroup.from_components(
        centres[owner] + rng.normal(0.0, 0.01, (num, 3)),
        (base[owner] * noise).as_matrix(),
        widths=rng.uniform(0.02, 0.1, num),
        depths=rng.choice([0.01, 0.02, 0.03, 0.04], num),
        scores=rng.random(num),
    )


def naive_nms(group: GraspGroup, dist: float = 0.03, angle: float = np.pi / 6) -> np.ndarray:
    """Greedy NMS comparing each grasp with every kept grasp (vectorized per grasp)."""
    t, rot, s = group.translations, group.rotations.reshape(-1, 9), group.scores
    kept: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        if kept:
            k = np.asarray(kept)
            d = np.linalg.norm(t[k] - t[i], axis=1)
            trace = np.clip(rot[k] @ rot[i], -1.0, 3.0)
            if np.any((d < dist) & (np.arccos((trace - 1.0) / 2.0) < angle)):
                continue
        kept.append(int(i))
    return np.asarray(kept)


def bench_nms(rng: np.random.Generator) -> dict[str, Any]:
    group = clustered_detections(rng, 10_000, 200)
    kept = group.nms()
    reference = group[naive_nms(group)]
    if not np.array_equal(kept.array, reference.array):
        raise AssertionError("NMS disagrees with the naive greedy reference")
    fast, fast_cpu = median_time(group.nms, repeats=9)
    naive, naive_cpu = median_time(lambda: naive_nms(group), repeats=3)
    return {
        "num_grasps": len(group),
        "num_centres": 200,
        "num_kept": len(kept),
        "median_s": fast,
        "median_cpu_s": fast_cpu,
        "naive_greedy_median_s": naive,
        "naive_greedy_median_cpu_s": naive_cpu,
        "speedup_vs_naive": naive / fast,
        "target_s": 1.0,
        "meets_target": fast < 1.0,
    }


def table_and_objects(rng: np.random.Generator, num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(M, 3) cloud: a 0.5 m table top at z = 0 and five spheres/boxes on it; object points."""
    num_objects = 5
    num_obj_points = num_points * 3 // 10
    table = np.column_stack(
        [rng.uniform(-0.25, 0.25, (num_points - num_obj_points, 2)),
         np.zeros(num_points - num_obj_points)]
    )
    centres = np.column_stack([rng.uniform(-0.15, 0.15, (num_objects, 2)),
                               rng.uniform(0.03, 0.05, num_objects)])
    per = np.array_split(np.arange(num_obj_points), num_objects)
    parts = []
    for k, idx in enumerate(per):
        direction = rng.normal(size=(len(idx), 3))
        if k % 2 == 0:  # sphere
            surface = direction / np.linalg.norm(direction, axis=1, keepdims=True) * 0.035
        else:  # box: project to the cube surface
            surface = direction / np.abs(direction).max(axis=1, keepdims=True) * 0.03
        parts.append(surface + centres[k])
    objects = np.concatenate(parts)
    return np.concatenate([table, objects]), objects


def bench_collision(rng: np.random.Generator) -> dict[str, Any]:
    cloud, objects = table_and_objects(rng, 20_000)
    num = 100
    targets = objects[rng.choice(len(objects), num, replace=False)]
    # approach roughly downward (-z) with up to ~30 deg tilt, random jaw angle
    down = Rotation.from_rotvec([0.0, np.pi / 2, 0.0])  # x -> -z
    tilt = Rotation.from_rotvec(rng.normal(0.0, 0.3, (num, 3)))
    spin = Rotation.from_rotvec(np.column_stack([rng.uniform(-np.pi, np.pi, num),
                                                 np.zeros(num), np.zeros(num)]))
    grasps = GraspGroup.from_components(
        targets,
        (tilt * down * spin).as_matrix(),
        widths=rng.uniform(0.05, 0.1, num),
        depths=rng.choice([0.01, 0.02, 0.03, 0.04], num),
    )
    gripper = GripperModel()
    collision, empty = gripper.collision_and_empty(grasps, cloud)
    median, median_cpu = median_time(lambda: gripper.collision_and_empty(grasps, cloud), repeats=25)
    return {
        "num_grasps": num,
        "num_points": len(cloud),
        "num_collision": int(collision.sum()),
        "num_empty": int(empty.sum()),
        "median_ms": 1e3 * median,
        "median_cpu_ms": 1e3 * median_cpu,
        "target_ms": 25.0,
        "meets_target": 1e3 * median <= 25.0,
    }


def main() -> None:
    rng = np.random.default_rng(SEED)
    results = {
        "benchmark": "core",
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "seed": SEED,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "nms": bench_nms(rng),
        "collision": bench_collision(rng),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
