"""``grasplab bench``: physics benchmarks with the simulated floating gripper.

- ``grasplab bench binpick --detector oracle|pixel-oracle|random|analytic|pixel --objects 5
  --split seen --scenes N --out DIR [--mu 0.2,0.4,...] [--seed S] [--weights W]``: the PLGP
  bin-picking benchmark (SR, PC, AP); writes ``DIR/binpick_<detector>.json``, ``.md`` and the
  per-attempt log ``DIR/binpick_<detector>.attempts.csv``. Any registered detector
  (``grasplab.detection.available_detectors()``) can be named.
  ``pixel`` is the shipped PLGP network (or ``--weights``), ``pixel-oracle`` the pixel labels of
  the live scene decoded like network output (the ceiling of a pixel network).
  ``--tactile-check [--tactile-weights W] [--tactile-threshold 0.5]`` also clears the scenes
  with a tactile pre-lift check and compares (:mod:`grasplab.cli.tactile_check`).
- ``grasplab bench labels --objects N --out DIR``: label score vs lift success (GraspNet-1Billion
  Table 2 analogue); writes ``DIR/label_quality.json`` and ``.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console
from grasplab.detection.registry import available_detectors

#: Smallest rendered side (pixels) the bin-picking detectors and labels can work with.
_MIN_IMAGE_SIDE = 32
bench_app = typer.Typer(help="Physics benchmarks: bin-picking and label quality.",
                        no_args_is_help=True)

#: Detectors that grasp only above the tray floor, as a user who knows where the bin is would.
_IN_TRAY = ("analytic", "gsnet", "pixel")
#: CLI values handed to a detector whose options have a field of that name.
_SHARED_OPTIONS = ("library", "seed", "weights", "device")


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}") from exc
    if not values:
        raise ValueError(f"{name}: expected at least one number, got {text!r}")
    return values


def _progress(label: str) -> Progress:
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console)


def _make_detector(name: str, library: Any, seed: int, weights: Path | None = None,
                   device: str = "cpu") -> Any:
    """The ``--detector`` from the registry, given the CLI values its options take."""
    import dataclasses

    from grasplab.detection.registry import build_detector, detector_entry

    entry = detector_entry(name)  # ValueError naming the known detectors
    accepted = {f.name for f in dataclasses.fields(entry.options_type)}
    if weights is not None and "weights" not in accepted:
        users = [n for n in available_detectors() if "weights" in
                 {f.name for f in dataclasses.fields(detector_entry(n).options_type)}]
        raise ValueError(f"--weights is only used with --detector {' or '.join(users)}")
    _check_weights(weights)
    given = {"library": library, "seed": seed, "weights": weights, "device": device}
    options = {k: given[k] for k in _SHARED_OPTIONS if k in accepted}
    if name in _IN_TRAY:
        options["tray_workspace"] = True
    return build_detector(name, options)


def _pool(split: str, size: int, library: Any) -> list[int]:
    ids = list(library.ids(split))
    if size > len(ids):
        raise ValueError(f"--pool-size: split {split!r} has {len(ids)} objects, got {size}")
    return ids[:size] if size > 0 else ids


def _check_least(**values: tuple[int, int]) -> None:
    """ValueError naming the first option whose value is below its least value."""
    for name, (value, least) in values.items():
        if value < least:
            option = "--" + name.replace("_", "-")
            raise ValueError(f"{option}: expected an integer >= {least}, got {value}")


def _check_out(out: Path, stem: str, suffixes: tuple[str, ...]) -> None:
    """The output folder and the files the command writes there can be written (before work)."""
    from grasplab.runtime.checks import check_output_dir, check_output_file

    check_output_dir(out, "--out")
    for suffix in suffixes:
        check_output_file(out / f"{stem}{suffix}", "--out")


def _check_weights(weights: Path | None) -> None:
    from grasplab.runtime.checks import check_weights_file

    if weights is not None:
        check_weights_file(weights)


@bench_app.command("binpick")
def binpick(
    detector: str = typer.Option(
        "oracle", help=f"Detector: {', '.join(available_detectors())}."),
    objects: int = typer.Option(5, "--objects", help="Objects per scene (PLGP: 5 and 15)."),
    split: str = typer.Option("seen", help="Object split: seen, similar or novel."),
    scenes: int = typer.Option(10, "--scenes", help="Number of scenes."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Output folder."),
    mu: str = typer.Option("0.2,0.4,0.6,0.8,1.0", "--mu", help="Friction coefficients."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of scenes, cameras and detectors."),
    image_width: int = typer.Option(320, "--image-width", help="Rendered width (pixels)."),
    image_height: int = typer.Option(240, "--image-height", help="Rendered height (pixels)."),
    top_k: int = typer.Option(50, "--top-k", help="Grasps executed for AP."),
    pool_size: int = typer.Option(0, "--pool-size", help="Use the first N ids of the split (0: all)."),
    weights: Path | None = typer.Option(None, "--weights",
                                        help="Pixel network checkpoint or .onnx (--detector pixel)."),
    device: str = typer.Option("cpu", "--device", help="Torch device of --detector pixel."),
    tactile_check: bool = typer.Option(
        False, "--tactile-check", help="Also clear with a tactile pre-lift check and compare."),
    tactile_weights: Path | None = typer.Option(
        None, "--tactile-weights", help="Supervised tactile checkpoint (default: shipped)."),
    tactile_threshold: float = typer.Option(
        0.5, "--tactile-threshold", help="Lift at a predicted success probability >= this."),
) -> None:
    """Bin-picking in PyBullet: Success Rate, Percent Cleared and AP averaged over μ."""
    from grasplab.evaluation.binpick import BinpickConfig, binpick_work_units, run_binpick
    from grasplab.objects import ObjectLibrary
    from grasplab.runtime.checks import parse_device

    try:
        _check_out(out, f"binpick_{detector}", (".json", ".attempts.csv", ".md"))
        _check_least(objects=(objects, 1), scenes=(scenes, 1), top_k=(top_k, 1),
                     pool_size=(pool_size, 0), image_width=(image_width, _MIN_IMAGE_SIDE),
                     image_height=(image_height, _MIN_IMAGE_SIDE))
        device = parse_device(device)
        config = BinpickConfig(num_objects=objects, split=split, num_scenes=scenes,
                               mu_values=_floats(mu, "--mu"), image_width=image_width,
                               image_height=image_height, top_k=top_k,
                               provide_mask=detector == "pixel-oracle")
        library = ObjectLibrary()
        pool = _pool(split, pool_size, library)
        det = _make_detector(detector, library, seed, weights, device)
        if tactile_check:
            from grasplab.cli import tactile_check as touch

            _check_out(out, f"binpick_{detector}", touch.TACTILE_SUFFIXES)
            check = touch.load_check(tactile_weights, tactile_threshold, device, seed)
            with _progress(f"binpick {detector} ± touch") as bar:
                task = bar.add_task("binpick", total=touch.work_units(config))
                report = touch.run_binpick_with_check(det, detector, config, seed, library, pool,
                                                      out, check, lambda n: bar.advance(task, n))
            console.print(report)
            return
        with _progress(f"binpick {detector}") as bar:
            task = bar.add_task("binpick", total=binpick_work_units(config))
            result = run_binpick(det, config, seed, library=library, object_pool=pool,
                                 detector_name=detector, progress=lambda n: bar.advance(task, n))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    out.mkdir(parents=True, exist_ok=True)
    path = result.save_json(out / f"binpick_{detector}.json")
    attempts = result.save_attempts_csv(out / f"binpick_{detector}.attempts.csv")
    markdown = result.to_markdown()
    (out / f"binpick_{detector}.md").write_text(markdown)
    console.print(markdown)
    console.print(f"{result.seconds:.1f} s → {path} (attempts: {attempts.name})")


@bench_app.command("labels")
def labels(
    objects: int = typer.Option(5, "--objects", help="Number of objects (drawn from the split)."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Output folder."),
    split: str = typer.Option("seen", help="Object split: seen, similar or novel."),
    per_bucket: int = typer.Option(20, "--per-bucket", help="Grasps per object and score bucket."),
    mu: str = typer.Option("0.2,0.4,0.6,0.8,1.0", "--mu", help="Frictions of the fixed mode."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of object draws, poses and grasp draws."),
) -> None:
    """Label score vs physics lift success (GraspNet-1Billion Table 2 analogue)."""
    from grasplab.evaluation.label_quality import LabelQualityConfig, run_label_quality
    from grasplab.objects import ObjectLibrary

    try:
        _check_out(out, "label_quality", (".json", ".md"))
        _check_least(per_bucket=(per_bucket, 1))
        config = LabelQualityConfig(grasps_per_bucket=per_bucket, sim_mus=_floats(mu, "--mu"))
        library = ObjectLibrary()
        ids = list(library.ids(split))
        if not 1 <= objects <= len(ids):
            raise ValueError(f"--objects: expected 1..{len(ids)} for split {split!r}, got {objects}")
        chosen = sorted(int(i) for i in np.random.default_rng(seed).choice(ids, objects,
                                                                           replace=False))
        with _progress("label quality") as bar:
            task = bar.add_task("objects", total=len(chosen))
            result = run_label_quality(library, chosen, config, seed,
                                       progress=lambda n: bar.advance(task, n))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    out.mkdir(parents=True, exist_ok=True)
    path = result.save_json(out / "label_quality.json")
    markdown = result.to_markdown()
    (out / "label_quality.md").write_text(markdown)
    console.print(markdown)
    console.print(f"{result.seconds:.1f} s → {path}")


def register(app: typer.Typer) -> None:
    """Add the ``bench`` sub-command group to the ``grasplab`` app."""
    __import__("grasplab.cli.bench_dynamic").cli.bench_dynamic.add_dynamic_command(bench_app)
    __import__("grasplab.cli.bench_tracking").cli.bench_tracking.add_tracking_command(bench_app)
    app.add_typer(bench_app, name="bench")
