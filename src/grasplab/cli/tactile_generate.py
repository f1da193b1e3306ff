"""``grasplab tactile generate``: the grasp-outcome tactile dataset (docs/tactile_dataset.md).

``grasplab tactile generate --trials N --out DS [--split seen] [--seed 0] [--workers K]
[--engine local|ray] [--shard-size 64] [--image-width 80] [--version 1|2]`` runs grasp trials on
single objects with Ta / Tb / Tc of both GelSight pads and writes ``DS/trials/shard_%05d.npz`` and
``DS/tactile_dataset.json``. Resumable: complete shards are skipped, failed shards make the
command exit 1 and are retried by a rerun; a folder made with other settings is refused.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console, fail


def generate(
    trials: int = typer.Option(..., "--trials", help="Number of grasp trials N."),
    out: Path = typer.Option(..., "--out", help="Dataset directory DS."),
    split: str = typer.Option("seen", "--split", help="Object split: seen, similar or novel."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (Ray: shards at once)."),
    engine: str = typer.Option("local", "--engine", help="local or ray."),
    shard_size: int = typer.Option(64, "--shard-size", help="Trials per shard (one object each)."),
    image_width: int = typer.Option(80, "--image-width",
                                    help="Stored image width (px); height keeps the pad's 4:3."),
    version: int = typer.Option(1, "--version",
                                help="Generator version: 1 (tactile_v1) or 2 (outcome visible "
                                     "to the pads; docs/tactile_diagnosis.md)."),
) -> None:
    """Simulate grasp trials with GelSight Ta / Tb / Tc and write a tactile dataset."""
    from grasplab._optional import MissingExtraError
    from grasplab.runtime.jobs import JobBusyError, ShardResult
    from grasplab.tactile.presets import dataset_settings

    if trials < 1 or shard_size < 1 or workers < 1:
        raise fail("--trials, --shard-size and --workers must be positive integers")
    if image_width < 8:
        raise fail(f"--image-width: expected at least 8 px, got {image_width}")
    try:
        settings = dataset_settings(version, (image_width, int(round(image_width * 0.75))))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    from grasplab.tactile.generate import generate_dataset

    counts = {"done": 0, "skipped": 0, "failed": 0, "trials": 0, "success": 0}
    num_shards = -(-trials // shard_size)
    with Progress(TextColumn("shards"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console) as bar:
        task = bar.add_task("", total=num_shards)

        def progress(result: ShardResult) -> None:
            counts[result.status] = counts.get(result.status, 0) + 1
            if result.status == "done":
                counts["trials"] += int(result.value["num_trials"])
                counts["success"] += int(result.value["num_success"])
            rate = counts["success"] / counts["trials"] if counts["trials"] else 0.0
            bar.update(task, advance=1, description=f"success {rate:.0%} of {counts['trials']} new")

        try:
            report = generate_dataset(out, trials, split=split, seed=seed, shard_size=shard_size,
                                      settings=settings, workers=workers, engine=engine,
                                      progress=progress)
        except (JobBusyError, MissingExtraError, ValueError) as exc:
            raise fail(str(exc)) from exc
    per_trial = report.seconds / counts["trials"] if counts["trials"] else 0.0
    console.print(f"{out}: {len(report.done)} shards made, {len(report.skipped)} already there, "
                  f"{len(report.failed)} failed; {counts['trials']} new trials, "
                  f"{counts['success']} held; {report.seconds:.0f} s ({per_trial:.2f} s/trial)")
    for result in report.failed:
        console.print(f"[red]shard {result.key} failed:[/red] {result.error_type}: {result.error}")
    if report.failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``generate`` to the ``tactile`` command group."""
    app.command("generate")(generate)
