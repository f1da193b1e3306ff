"""Render time of the simulated GelSight pad per image, on one core.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_tactile_sensor.py`` → prints a table and writes
``benchmarks/results/tactile_sensor.json``. Three height maps per size: no contact (background
plus noise), a 10 mm sphere pressed by the force that 5 N gives, and a flat face covering the
whole pad (the worst case: every pixel is shaded); the geometry step alone (Embree ray casting of
the sphere mesh at the default stride); and the whole reading from the physics state (both pads of
a gripper holding a lifted 5 × 4 × 3 cm box: contacts, ray casting, pressing depth, rendering).
Median CPU time (``time.process_time``) of repeated runs after one warm-up, plus the wall time of
the full-pad case (the machine is shared, so wall times include waiting for a core).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from grasplab.core import make_transform  # noqa: E402
from grasplab.tactile import (  # noqa: E402
    GelSightConfig,
    mesh_distance,
    pad_caster,
    press,
    pressing_depth,
    render_tactile,
)

OUT = Path(__file__).parent / "results" / "tactile_sensor.json"


def _median_ms(fn: object, repeats: int) -> float:
    """Median CPU time (ms) of one call: process time, which a busy shared machine inflates far
    less than wall time for single-threaded code."""
    fn()  # type: ignore[operator]
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return 1e3 * float(np.median(times))


def _wall_ms(fn: object, repeats: int) -> float:
    """Median wall time (ms) of one call."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def bench_size(cfg: GelSightConfig, repeats: int) -> dict[str, float]:
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=0.01)
    caster = pad_caster(sphere)
    T = make_transform(np.eye(3), np.array([0.0, 0.0, -0.01]))
    stride = cfg.raycast_stride if all(r % cfg.raycast_stride == 0 for r in cfg.resolution) else 1
    distance = mesh_distance(caster, T, cfg, stride)
    gap = distance - distance.min()
    depth = pressing_depth(gap, 5.0, (stride * cfg.pixel_pitch) ** 2, cfg)
    full_gap = mesh_distance(caster, T, cfg, 1)
    sphere_h = press(full_gap - full_gap.min(), depth, cfg.gel_thickness)
    flat_h = np.full(cfg.image_shape, 3e-4, dtype=np.float32)
    gen = np.random.default_rng(0)
    return {
        "no_contact_ms": _median_ms(lambda: render_tactile(np.zeros(cfg.image_shape), cfg, rng=gen), repeats),
        "sphere_ms": _median_ms(lambda: render_tactile(sphere_h, cfg, rng=gen, shear=(2e-4, 0)), repeats),
        "full_pad_ms": _median_ms(lambda: render_tactile(flat_h, cfg, rng=gen), repeats),
        "full_pad_wall_ms": _wall_ms(lambda: render_tactile(flat_h, cfg, rng=gen), repeats),
        "raycast_ms": _median_ms(lambda: mesh_distance(caster, T, cfg, stride), repeats),
        "raycast_stride": stride,
        "sphere_depth_mm": 1e3 * depth,
    }


def bench_state(configs: dict[str, GelSightConfig], repeats: int) -> dict[str, float]:
    """ms to read and render both pads of a gripper holding a lifted box, per config."""
    import tempfile

    from grasplab.execution import PrimitiveLibrary, SimGripper, set_grasp_friction
    from grasplab.scenes import TRAY_FLOOR_Z, World
    from grasplab.tactile import GelSightSensor, capture_grasp, top_down_grasp

    out = {}
    with tempfile.TemporaryDirectory() as folder, World() as world:
        library = PrimitiveLibrary(folder, {0: trimesh.creation.box(extents=(0.05, 0.04, 0.03))})
        world.add_table_and_tray()
        world.add_object(library.load(0), make_transform(np.eye(3), np.array(
            [0.0, 0.0, TRAY_FLOOR_Z + 0.016])))
        world.settle(max_steps=600)
        hand = SimGripper(world)
        set_grasp_friction(world, hand, 0.8)
        posed = world.posed_meshes(include_static=False)[0]
        points = posed.mesh.vertices @ posed.T_world_mesh[:3, :3].T + posed.T_world_mesh[:3, 3]
        first = GelSightSensor(next(iter(configs.values())))
        capture_grasp(world, hand, top_down_grasp(points), first, rng=0)
        for name, cfg in configs.items():
            sensor = GelSightSensor(cfg)
            gen = np.random.default_rng(0)
            out[name] = _median_ms(lambda s=sensor, g=gen: s.render(world, hand, g), repeats)
    return out


def main() -> None:
    configs = {"640x480": GelSightConfig(),
               "160x120 (training)": GelSightConfig().with_resolution(160)}
    results = {name: bench_size(cfg, repeats=20) for name, cfg in configs.items()}
    for name, ms in bench_state(configs, repeats=10).items():
        results[name]["state_to_both_pads_ms"] = ms
    record = {"results": results, "threads": os.environ.get("OMP_NUM_THREADS"),
              "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "load_average": os.getloadavg(), "timer": "process_time (CPU) unless *_wall_ms",
              "note": "shared 2-core machine; other jobs were running"}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{'size':<20}{'no contact':>12}{'sphere':>10}{'full pad':>10}{'raycast':>10}"
          f"{'state→2 pads':>14}  (ms)")
    for name, r in results.items():
        print(f"{name:<20}{r['no_contact_ms']:>12.1f}{r['sphere_ms']:>10.1f}"
              f"{r['full_pad_ms']:>10.1f}{r['raycast_ms']:>10.1f}{r['state_to_both_pads_ms']:>14.1f}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
