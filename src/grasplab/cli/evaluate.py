"""``grasplab eval``: benchmark commands. ``grasplab eval ap`` runs the GraspNet AP protocol.

This module only parses options, calls :mod:`grasplab.evaluation` and shows progress; later
benchmarks add their commands to :data:`eval_app`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grasplab.cli.output import console, fail

eval_app = typer.Typer(
    name="eval",
    help="Evaluate grasp predictions: GraspNet AP protocol and other benchmarks.",
    no_args_is_help=True,
)


def parse_scene_ids(text: str) -> list[int]:
    """Parse ``"0,3-5"`` into ``[0, 3, 4, 5]`` (sorted, unique).

    Raises:
        ValueError: an empty list, a bad number or a descending range.
    """
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            if "-" in part:
                first_text, last_text = part.split("-", 1)
                first, last = int(first_text), int(last_text)
                if first > last or first < 0:
                    raise ValueError
                ids.update(range(first, last + 1))
            else:
                value = int(part)
                if value < 0:
                    raise ValueError
                ids.add(value)
        except ValueError as exc:
            raise ValueError(
                f"bad scene list entry {part!r}; expected ids like '0,3-5' (non-negative)"
            ) from exc
    if not ids:
        raise ValueError(f"no scene id in {text!r}; expected ids like '0,3-5'")
    return sorted(ids)


def _print_tables(data: dict[str, object]) -> None:
    tables = data["tables"]
    assert isinstance(tables, dict)
    table = Table(title=f"GraspNet AP (percent; force closure: {data.get('fc_backend')})")
    for column in ("split", "frames", "AP", "AP_paper", "AP_0.8", "AP_0.4"):
        table.add_column(column, justify="right")
    for name, row in tables.items():
        table.add_row(
            name,
            str(row["num_frames"]),
            *(f"{row[key]:.2f}" for key in ("AP", "AP_paper", "AP_0.8", "AP_0.4")),
        )
    console.print(table)


@eval_app.command("ap")
def ap_command(
    root: Path = typer.Option(..., "--root", help="Dataset root in the GraspNet-1Billion layout."),
    dump: Path = typer.Option(
        ..., "--dump", help="Dump folder: scene_%04d/<camera>/%04d.npy grasp arrays."
    ),
    camera: str = typer.Option("realsense", "--camera", help="realsense or kinect."),
    split: str | None = typer.Option(
        None, "--split", help="Scenes of a split (seen, similar, novel, test, ...)."
    ),
    scenes: str | None = typer.Option(None, "--scenes", help="Scene ids, e.g. '0,3-5'."),
    out: Path = typer.Option(
        Path("ap_result.json"), "--out", help="Result JSON; .npz, .md and a plot go beside it."
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (one per scene)."),
    engine: str = typer.Option(
        "local", "--engine", help="local (process pool) or ray (RAY_ADDRESS or a local Ray)."
    ),
    backend: str = typer.Option(
        "reference", "--backend",
        help="Force closure: reference (graspnetAPI's SDF contact search, models/%03d/textured.sdf "
        "or computed) or exact (ray casting on the mesh).",
    ),
) -> None:
    """Score grasp dumps with the GraspNet-1Billion AP protocol (reference rules)."""
    from grasplab._optional import MissingExtraError
    from grasplab.evaluation.ap import APEvaluator
    from grasplab.evaluation.report import write_report

    if (split is None) == (scenes is None):
        console.print("[red]error:[/red] give exactly one of --split or --scenes")
        raise typer.Exit(code=2)
    try:
        from grasplab.evaluation.frame import APConfig
        from grasplab.runtime.checks import check_output_file

        check_output_file(out, "--out")  # before any work: the report is written last
        evaluator = APEvaluator(root, camera, APConfig(fc_backend=backend))
        ids = evaluator.scene_ids_of_split(split) if split else parse_scene_ids(scenes or "")
        total = evaluator.num_frames(ids)
        with Progress(
            TextColumn("[bold]AP[/bold]"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=console,
        ) as bar:
            task = bar.add_task("frames", total=total)
            result = evaluator.evaluate(
                dump, ids, progress=lambda n: bar.advance(task, n), workers=workers, engine=engine
            )
        if all(record.status != "ok" for record in result.records):
            # nothing was scored: a wrong path must not leave a report that reads as AP 0
            raise fail(f"no readable dump file under {dump}/scene_XXXX/{camera}/ for scenes "
                       f"{ids[0]}-{ids[-1]}; check --dump and --camera (no report written)", code=1)
        data = write_report(result, out)
    except (ValueError, FileNotFoundError, MissingExtraError) as exc:
        raise fail(str(exc)) from exc
    _print_tables(data)
    problems = data["issues"]
    assert isinstance(problems, list)
    if problems:
        console.print(f"[yellow]{len(problems)} problems[/yellow], e.g. {problems[0]}")
    console.print(f"wrote {out} (+ .npz, .md, _precision.png)")


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command group to the main app."""
    app.add_typer(eval_app, name="eval")
