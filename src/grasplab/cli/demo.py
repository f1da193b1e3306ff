"""``grasplab demo``: the whole pipeline on a fresh machine, with no data, in well under a minute.

1. build a seeded cluttered scene: objects from the library (:class:`grasplab.objects.ObjectLibrary`)
   fall into the tray (:func:`grasplab.scenes.generate_clutter`);
2. render RGB-D from a camera looking into the tray (PyBullet TinyRenderer);
3. run the default detector (:class:`grasplab.detection.AnalyticDetector`) on the depth image,
   with grasp points restricted to the tray's inner area (a workspace the user knows, not the
   ground-truth segmentation);
4. write the grasps (graspnetAPI ``.npy`` and JSON), the overlay PNG and the 3D scene (GLB, PLY);
5. score the grasps with the GraspNet AP protocol (:func:`grasplab.evaluation.evaluate_frame`)
   on the in-memory scene: object models from the library, poses from the simulation;
6. execute the best grasp with the simulated floating gripper and report whether it held.

Frames: world = table frame (z up); grasps are detected in the OpenCV camera frame and mapped to
the world with ``T_world_cam`` for execution. Metres.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from grasplab.cli.output import console
from grasplab.core import CameraIntrinsics, GraspGroup
from grasplab.detection.workspace import workspace_mask
from grasplab.evaluation.in_memory import in_memory_frame_scene, in_memory_scene_objects

#: Object pool of the demo scene: 40 seen procedural meshes and the first 10 novel objects.
DEMO_POOL = tuple(range(0, 40)) + tuple(range(1000, 1010))
#: What ``--out`` may already be: a folder of an earlier demo (which has no meta.json) or new.
DEMO_KIND = "demo"
#: Friction coefficient of the executed grasp (PLGP's middle value).
DEMO_MU = 0.6


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and found.

    Attributes:
        object_ids: ids of the objects in the scene.
        object_names: their names.
        num_grasps: grasps the detector returned.
        latency_s: detection wall time (s).
        ap: GraspNet AP of the frame, fraction (mean Precision@k, k = 1..50, 6 μ).
        ap_mu: AP at each μ, fraction.
        best: the executed grasp: score, world position, width, depth.
        held: whether the executed grasp lifted and held an object.
        outcome: the trial's reason (``success``, ``empty``, ``slipped``, ...).
        held_object: name of the lifted (or last touched) object, or None.
        timings: seconds per step.
        paths: what was written, by kind.
    """

    object_ids: tuple[int, ...]
    object_names: tuple[str, ...]
    num_grasps: int
    latency_s: float
    ap: float
    ap_mu: dict[float, float]
    best: dict[str, Any]
    held: bool
    outcome: str
    held_object: str | None
    timings: dict[str, float] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    learned: dict[str, float] | None = None


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> float:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now
        return self.laps[name]


def _observe(world: Any, record: Any) -> Any:
    """Render the tray from the demo camera; the observation's ROI is the tray floor's area."""
    from grasplab.detection import Observation
    from grasplab.scenes import TRAY_FLOOR_HALF_EXTENT, look_at, render_frame

    intrinsics = CameraIntrinsics.from_fov(45.0, 640, 480)
    centre = np.asarray(record.T_world_tray)[:3, 3]
    T_world_cam = look_at(centre + np.array([0.0, -0.28, 0.62]), centre)
    frame = render_frame(world, intrinsics, T_world_cam)
    roi = workspace_mask(frame.depth, intrinsics, T_world_cam, np.asarray(record.T_world_tray),
                         TRAY_FLOOR_HALF_EXTENT)
    return Observation(frame.depth, intrinsics, frame.rgb, roi, T_world_cam)


def _ap(library: Any, record: Any, grasps: GraspGroup, T_world_cam: np.ndarray) -> Any:
    """The GraspNet AP summary of one frame's grasps on the in-memory scene.

    Force closure by the ``exact`` backend (ray casting on the mesh): the ``reference`` one would
    first compute a signed distance field per object (seconds each), too slow for a demo.
    """
    from grasplab.evaluation import APConfig, evaluate_frame, summarize_ap

    objects = in_memory_scene_objects(library, record.object_ids)
    scene = in_memory_frame_scene(objects, np.asarray(record.T_world_obj),
                                  np.asarray(record.T_world_table), T_world_cam)
    return summarize_ap(evaluate_frame(grasps, scene, APConfig(fc_backend="exact")).accuracy[None])


def _execute_best(world: Any, grasps: GraspGroup, T_world_cam: np.ndarray) -> tuple[GraspGroup, Any]:
    """Execute the best grasp (mapped to the world) at friction ``DEMO_MU``; (grasp, outcome)."""
    from grasplab.execution.grasp_execution import execute_grasp, set_grasp_friction
    from grasplab.execution.sim_gripper import SimGripper

    hand = SimGripper(world)
    set_grasp_friction(world, hand, DEMO_MU)
    best = grasps.sort_by_score()[:1].transform(T_world_cam)
    return best, (execute_grasp(world, hand, best) if len(best) else None)


def run_demo(out: Path, seed: int = 0, num_objects: int = 8, say: Any = None) -> DemoResult:
    """Run the demo (module docstring), writing its files under ``out``.

    Args:
        out: output folder (created).
        seed: seeds the scene and the detector.
        num_objects: objects dropped into the tray.
        say: optional ``callable(str)`` told what step runs now.

    Returns:
        :class:`DemoResult`.
    """
    from grasplab.detection import build_detector
    from grasplab.objects import ObjectLibrary
    from grasplab.scenes import ClutterConfig, World, generate_clutter, populate_world

    def step(text: str) -> None:
        if say is not None:
            say(text)

    clock = _Clock()
    out.mkdir(parents=True, exist_ok=True)
    library = ObjectLibrary()
    step(f"dropping {num_objects} objects into the tray")
    record = generate_clutter(library, DEMO_POOL, scene_id=0, rng=seed,
                              config=ClutterConfig(num_objects=num_objects))
    clock.lap("scene")
    with World() as world:
        populate_world(world, library, record)
        step("rendering RGB-D")
        observation = _observe(world, record)
        T_world_cam = np.asarray(observation.T_world_cam)
        clock.lap("render")
        step("detecting grasps")
        grasps = build_detector("analytic", seed=seed).detect(observation).sort_by_score()
        latency = clock.lap("detect")
        step("writing the grasps, the overlay and the 3D scene")
        paths = _write_files(out, grasps, observation)
        clock.lap("write")
        step("scoring the grasps with the GraspNet AP protocol")
        summary = _ap(library, record, grasps, T_world_cam)
        clock.lap("ap")
        step("running the shipped pixel detector beside it")
        learned = _learned_beside(library, record, observation, T_world_cam)
        clock.lap("learned")
        step("executing the best grasp in the physics simulator")
        best, outcome = _execute_best(world, grasps, T_world_cam)
        clock.lap("execute")
    held_id = None if outcome is None else outcome.object_id
    best_info = {} if not len(best) else {
        "score": float(best.scores[0]), "position_world": best.translations[0].round(4).tolist(),
        "width": float(best.widths[0]), "depth": float(best.depths[0]), "mu": DEMO_MU}
    return DemoResult(
        object_ids=record.object_ids,
        object_names=tuple(library.load(oid).name for oid in record.object_ids),
        num_grasps=len(grasps), latency_s=latency, ap=summary.ap, ap_mu=summary.ap_mu,
        best=best_info, held=bool(outcome is not None and outcome.success),
        outcome="no grasp" if outcome is None else outcome.reason,
        held_object=None if held_id is None else library.load(held_id).name,
        timings=clock.laps, paths=paths, learned=learned)


def _learned_beside(library: Any, record: Any, observation: Any,
                    T_world_cam: np.ndarray) -> dict[str, float] | None:
    """Grasps, latency and AP of the shipped pixel detector on the same frame, if one is shipped.

    The analytic detector stays the demo's detector: the shipped network does not beat it
    (README, bench_pixel.py); it is shown so that a user sees both on the same scene.
    """
    from grasplab.detection import TrayWorkspace, build_detector
    from grasplab.detection.shipped import shipped_pixel_weights

    weights = shipped_pixel_weights()
    if weights is None:
        return None
    try:
        pixel = build_detector("pixel", weights=weights)
    except ImportError:  # torch is an extra; the demo runs without it
        return None
    detector = TrayWorkspace(pixel, np.asarray(record.T_world_tray))
    start = time.perf_counter()
    grasps = detector.detect(observation).sort_by_score()
    latency = time.perf_counter() - start
    summary = _ap(library, record, grasps, T_world_cam)
    return {"num_grasps": float(len(grasps)), "latency_s": latency, "ap": summary.ap}


def _write_files(out: Path, grasps: GraspGroup, observation: Any) -> dict[str, Path]:
    """Grasps (.npy, .json), the overlay PNG and the 3D scene (.glb, .ply) under ``out``."""
    from grasplab.core.grasp_json import write_grasps_json
    from grasplab.viz import OverlayStyle, export_grasp_scene, observation_cloud, save_overlay

    paths = {"grasps": out / "grasps.npy", "json": out / "grasps.json"}
    grasps.save_npy(paths["grasps"])
    write_grasps_json(paths["json"], grasps, {"source": "grasplab demo"})
    paths["overlay"] = save_overlay(out / "overlay.png", observation.rgb, grasps,
                                    observation.intrinsics, style=OverlayStyle(max_grasps=25))
    points, colors = observation_cloud(observation.depth, observation.intrinsics, observation.rgb)
    for suffix in ("glb", "ply"):
        paths[f"3d_{suffix}"] = export_grasp_scene(out / f"scene.{suffix}", points, grasps, colors,
                                                   max_grasps=25)
    return paths


def print_result(result: DemoResult, seconds: float) -> None:
    """Print the demo's table and the paths it wrote."""
    table = Table(title="grasplab demo: a simulated cluttered tray")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("objects in the tray", f"{len(result.object_ids)}")
    table.add_row("grasps found", str(result.num_grasps))
    table.add_row("detection latency", f"{result.latency_s * 1e3:.0f} ms")
    table.add_row("GraspNet AP (6 μ, exact)", f"{100 * result.ap:.1f} %")
    table.add_row("AP at μ = 0.8 / 0.4", f"{100 * result.ap_mu.get(0.8, 0.0):.1f} / "
                  f"{100 * result.ap_mu.get(0.4, 0.0):.1f} %")
    if result.best:
        pos = ", ".join(f"{v:+.3f}" for v in result.best["position_world"])
        table.add_row("executed grasp (the best)", f"score {result.best['score']:.2f}, width "
                      f"{100 * result.best['width']:.1f} cm")
        table.add_row("its position (world)", f"({pos}) m")
    held = "yes" if result.held else f"no ({result.outcome})"
    if result.held_object is not None:
        held += f": {result.held_object}"
    table.add_row(f"held after lifting (μ = {DEMO_MU})", held)
    if result.learned is not None:
        table.add_row("shipped pixel net (not default)", f"{int(result.learned['num_grasps'])} grasps, "
                      f"{result.learned['latency_s'] * 1e3:.0f} ms, AP {100 * result.learned['ap']:.1f} %")
    table.add_row("total time", f"{seconds:.1f} s")
    console.print(table)
    for kind, path in result.paths.items():
        console.print(f"wrote {kind:8s} {path}")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""

    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo_out"), "--out", help="Folder for the demo's outputs."),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the scene and the detector."),
        num_objects: int = typer.Option(8, "--num-objects", min=1, max=15,
                                        help="Objects dropped into the tray."),
    ) -> None:
        """Simulate a cluttered tray, detect grasps, score them (AP) and execute the best one."""
        from grasplab.runtime.checks import check_output_dir

        try:
            check_output_dir(out, "--out", DEMO_KIND)
        except ValueError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=2) from exc
        start = time.perf_counter()
        with console.status("starting") as status:
            result = run_demo(out, seed, num_objects,
                              say=lambda text: status.update(f"{text} ..."))
        print_result(result, time.perf_counter() - start)
