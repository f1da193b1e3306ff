"""Label throughput: candidates scored per second per core, and seconds per object.

Runs on one representative object (pybullet_data ``random_urdfs/000`` scaled to a 6 cm largest
extent; a trimesh capsule if pybullet_data is missing) with the GraspNet grid of 300 views × 12
angles × 4 depths:

1. throughput: ``label_object`` on a subset of grasp points (everything included: sampling,
   widths, collision, force closure, stable score, tolerance), per core = CPU seconds of this
   single-threaded process (robust to other jobs sharing the machine), wall seconds alongside;
2. seconds per object for the full label set (all grasp points at the default 5 mm spacing);
3. baseline in the same run: the same candidates' collision / emptiness with the dense
   ``GripperModel.collision_and_empty`` instead of the structured kernel (a few points);
4. force-closure ray casting alone (grasps per second, two rays each).

Usage: ``python benchmarks/bench_labels.py [--points 40] [--no-full] [--seed 0]``; writes
``benchmarks/results/labels.json`` and prints the figures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # per-core figures: one thread

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from grasplab.core.gripper import GraspPoses, GripperModel  # noqa: E402
from grasplab.labels import (  # noqa: E402
    MeshRayCaster,
    ObjectLabelConfig,
    candidate_rotations,
    force_closure,
    label_object,
    sample_surface_voxels,
)
from grasplab.labels.candidates import (  # noqa: E402
    CandidateFrames,
    WidthRule,
    point_candidate_geometry,
)

RESULTS = Path(__file__).parent / "results" / "labels.json"


def representative_object() -> tuple[str, trimesh.Trimesh]:
    """A ~6 cm procedural object from pybullet_data, or a capsule without it."""
    try:
        import pybullet_data

        path = Path(pybullet_data.getDataPath()) / "random_urdfs" / "000" / "000.obj"
        mesh = trimesh.load(str(path), force="mesh")
        name = "pybullet_data random_urdfs/000 scaled to 6 cm"
    except ImportError:
        mesh = trimesh.creation.capsule(height=0.04, radius=0.012)
        name = "trimesh capsule (pybullet_data missing)"
    mesh.apply_scale(0.06 / float(np.max(mesh.extents)))
    mesh.apply_translation(-mesh.center_mass)
    return name, mesh


def timed(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``(result, cpu seconds, wall seconds)``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def bench_throughput(mesh: trimesh.Trimesh, points: int, seed: int) -> dict[str, float]:
    cfg = ObjectLabelConfig(max_points=points)
    labels, cpu, wall = timed(label_object, mesh, GripperModel(), cfg, seed)
    num = int(labels.scores.size)
    return {"grasp_points": int(labels.grid_shape[0]), "candidates": num,
            "cpu_s": cpu, "wall_s": wall, "candidates_per_s_per_core": num / cpu,
            "candidates_per_s_wall": num / wall,
            "fraction_force_closure": float((labels.scores > 0).mean()),
            "fraction_self_collision": float(labels.collision.mean())}


def bench_full(mesh: trimesh.Trimesh, seed: int) -> dict[str, float]:
    labels, cpu, wall = timed(label_object, mesh, GripperModel(), ObjectLabelConfig(), seed)
    num = int(labels.scores.size)
    good = (labels.scores > 0) & ~labels.collision
    return {"grasp_points": int(labels.grid_shape[0]), "candidates": num,
            "seconds_per_object_cpu": cpu, "seconds_per_object_wall": wall,
            "candidates_per_s_per_core": num / cpu,
            "fraction_good_and_collision_free": float(good.mean()),
            "fraction_score_le_0.4": float(((labels.scores > 0) & (labels.scores <= 0.4)).mean())}


def bench_baseline(mesh: trimesh.Trimesh, seed: int, num_points: int = 2) -> dict[str, float]:
    """Structured kernel vs the dense GripperModel test on the same candidates."""
    gripper, cfg = GripperModel(), ObjectLabelConfig()
    rng = np.random.default_rng(seed)
    surface = sample_surface_voxels(mesh, cfg.collision_spacing, rng)
    points = surface[rng.choice(len(surface), num_points, replace=False)]
    rotations = candidate_rotations(cfg.num_views, cfg.num_angles).reshape(-1, 3, 3)
    frames = CandidateFrames.from_rotations(rotations.reshape(cfg.num_views, cfg.num_angles, 3, 3))
    depths = np.asarray(cfg.depths)
    fast_cpu = dense_cpu = 0.0
    agree = []
    for point in points:
        geom, cpu, _ = timed(point_candidate_geometry, surface - point, frames, depths, gripper,
                             WidthRule(cfg.width_margin, cfg.width_resolution))
        fast_cpu += cpu
        poses = GraspPoses(np.repeat(rotations, len(depths), axis=0),
                           np.repeat(point[None], geom.widths.size, axis=0),
                           geom.widths.reshape(-1), np.tile(depths, len(rotations)))
        (collision, empty), cpu, _ = timed(gripper.collision_and_empty, poses, surface)
        dense_cpu += cpu
        agree.append(float(np.mean((collision == geom.collision.reshape(-1))
                                   & (empty == geom.empty.reshape(-1)))))
    return {"points": num_points, "structured_cpu_s_per_point": fast_cpu / num_points,
            "dense_gripper_model_cpu_s_per_point": dense_cpu / num_points,
            "speedup": dense_cpu / fast_cpu, "flag_agreement": float(np.mean(agree))}


def bench_force_closure(mesh: trimesh.Trimesh, seed: int, num: int = 200_000) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    caster = MeshRayCaster(mesh)
    centers = rng.uniform(-0.02, 0.02, size=(num, 3))
    axes = rng.normal(size=(num, 3))
    result, cpu, wall = timed(force_closure, caster, centers, axes, np.full(num, 0.08))
    return {"grasps": num, "rays": 2 * num, "rays_per_s_per_core": 2 * num / cpu,
            "grasps_per_s_per_core": num / cpu, "wall_s": wall,
            "fraction_force_closure": float((result.min_mu > 0).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=40, help="Grasp points for throughput.")
    parser.add_argument("--no-full", action="store_true", help="Skip the full-object run.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    name, mesh = representative_object()
    report: dict[str, Any] = {
        "object": name, "extents_m": [float(e) for e in mesh.extents],
        "faces": int(len(mesh.faces)), "grid": "300 views x 12 angles x 4 depths",
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "trimesh": trimesh.__version__, "cpu_count": os.cpu_count(),
                    "load_average_at_start": list(os.getloadavg())},
        "seed": args.seed,
    }
    # Warm-up: lazy imports inside trimesh / scipy must not count as labelling time.
    label_object(mesh, GripperModel(), ObjectLabelConfig(num_views=4, num_angles=2, max_points=2))
    report["throughput"] = bench_throughput(mesh, args.points, args.seed)
    report["baseline_dense_collision"] = bench_baseline(mesh, args.seed)
    report["force_closure_raycast"] = bench_force_closure(mesh, args.seed)
    if not args.no_full:
        report["full_object"] = bench_full(mesh, args.seed)
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
