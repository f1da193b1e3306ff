"""``grasplab bench dynamic``: catching moving objects with a grasp tracker (AnyGrasp §VI-B).

``grasplab bench dynamic --episodes N --tracker nearest|oracle --motion
conveyor|turntable|random|crossing --out DIR [--detector analytic] [--speed 0.05]
[--seed S]``: catch success, time to catch (simulated seconds) and failure causes; writes
``DIR/dynamic_<tracker>_<motion>.json``, ``.md`` and the per-episode log ``.attempts.csv``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console

_MOTIONS = ("conveyor", "turntable", "random", "crossing")


def dynamic(
    episodes: int = typer.Option(5, "--episodes", help="Episodes (one catch each)."),
    tracker: str = typer.Option("nearest", "--tracker", help="Tracker: nearest or oracle."),
    motion: str = typer.Option("conveyor", "--motion", help=f"Motion: {', '.join(_MOTIONS)}."),
    detector: str = typer.Option("analytic", "--detector",
                                 help="A real-frame detector of the registry (analytic)."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Output folder."),
    speed: float = typer.Option(0.05, "--speed", help="Object speed (m/s)."),
    objects: int = typer.Option(1, "--objects", help="Moving objects (crossing: 2)."),
    image_width: int = typer.Option(160, "--image-width", help="Rendered width (pixels)."),
    max_grasps: int = typer.Option(30, "--max-grasps", help="Grasps per frame (analytic)."),
    seed: int = typer.Option(0, "--seed", help="Seed of objects, trajectories and detector."),
) -> None:
    """Dynamic grasping (Alg. 1): catch success, time to catch, failure causes."""
    from grasplab.detection.registry import available_detectors, build_detector
    from grasplab.detection.tracker_registry import available_trackers, build_tracker
    from grasplab.execution.dynamic_bench import run_dynamic_bench
    from grasplab.execution.moving import MotionConfig
    from grasplab.runtime.checks import check_output_dir, check_output_file

    stem = f"dynamic_{tracker}_{motion}"
    try:
        check_output_dir(out, "--out")
        for suffix in (".json", ".md", ".attempts.csv"):
            check_output_file(out / f"{stem}{suffix}", "--out")
        if episodes < 1 or seed < 0 or image_width < 32 or max_grasps < 1:
            raise ValueError("--episodes and --max-grasps must be >= 1, --seed >= 0 and "
                             "--image-width >= 32")
        if tracker not in available_trackers():
            raise ValueError(f"--tracker: expected one of {', '.join(available_trackers())}, "
                             f"got {tracker!r}")
        num = 2 if motion == "crossing" else objects
        config = MotionConfig(kind=motion, num_objects=num, speed=speed, image_width=image_width,
                              image_height=max(32, image_width * 3 // 4))
        if detector not in available_detectors(scene_aware=False):
            raise ValueError(f"--detector: expected one of "
                             f"{', '.join(available_detectors(scene_aware=False))}, got {detector!r}")
        options = ({"seed": seed, "max_grasps": max_grasps} if detector == "analytic"
                   else {"seed": seed} if detector == "random" else {})
        build_detector(detector, options)  # fail early on an unknown detector
        with Progress(TextColumn(f"[bold]dynamic {tracker} {motion}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("episodes", total=episodes)
            result = run_dynamic_bench(
                lambda: build_tracker(tracker, build_detector(detector, options)), config,
                episodes, seed, name=f"{tracker}/{detector}",
                progress=lambda n: bar.advance(task, n))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    out.mkdir(parents=True, exist_ok=True)
    path = result.save_json(out / f"{stem}.json")
    result.save_attempts_csv(out / f"{stem}.attempts.csv")
    markdown = result.to_markdown()
    (out / f"{stem}.md").write_text(markdown)
    console.print(markdown)
    console.print(f"→ {path}")


def add_dynamic_command(app: typer.Typer) -> None:
    """Add ``dynamic`` to the ``bench`` command group."""
    app.command("dynamic")(dynamic)
