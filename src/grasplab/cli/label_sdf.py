"""``grasplab label sdf``: the files graspnetAPI's evaluation needs beside a grasplab dataset.

``grasplab label sdf --root DS [--dim 100] [--padding 5] [--overwrite]`` writes
``models/%03d/textured.sdf`` (SDFGen text format, Dex-Net sizing) for every model and
``scenes/scene_%04d/rs_wrt_kn.npy`` for scenes with both cameras. ``grasplab eval ap`` reads the
SDF files for its ``reference`` force closure and graspnetAPI's ``GraspNetEval`` can then load
the models. The command joins the ``label`` sub-app through :func:`register_sdf_command`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console


def sdf(
    root: Path = typer.Option(..., "--root", help="Dataset root with models/%03d/textured.obj."),
    dim: int = typer.Option(100, "--dim", min=2, help="SDF cells along the longest side."),
    padding: int = typer.Option(5, "--padding", min=0, help="SDF cells added on every side."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Recompute existing files."),
) -> None:
    """Write textured.sdf for every model (and rs_wrt_kn.npy) so graspnetAPI can evaluate."""
    from grasplab.scenes.reference_files import dataset_model_ids, write_model_sdfs, write_rs_wrt_kn

    ids = dataset_model_ids(root)
    if not ids:
        console.print(f"[red]error:[/red] no models/%03d/textured.obj under {root}")
        raise typer.Exit(code=2)
    try:
        with Progress(
            TextColumn("[bold]SDF[/bold]"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console,
        ) as bar:
            task = bar.add_task("models", total=len(ids))
            written = write_model_sdfs(
                root, ids, dim=dim, padding=padding, overwrite=overwrite,
                progress=lambda n: bar.advance(task, n),
            )
        poses = write_rs_wrt_kn(root)
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(
        f"wrote {len(written)} textured.sdf ({len(ids) - len(written)} kept) and "
        f"{len(poses)} rs_wrt_kn.npy under {root}"
    )


def register_sdf_command(label_app: typer.Typer) -> None:
    """Add ``label sdf`` to the ``label`` sub-app."""
    label_app.command("sdf")(sdf)
