"""The ``grasplab`` console script: a thin typer shell over the library.

Each stage's commands live in ``grasplab/cli/<stage>.py`` and expose ``register(app)``; this module
only assembles them. Commands parse arguments, call the library and show progress; they hold no
algorithm of their own.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import typer
from rich.table import Table

from grasplab import __version__
from grasplab.cli.output import console

app = typer.Typer(
    name="grasplab",
    help="Grasp perception for parallel-jaw grippers: label, synthesize, detect, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Stage modules that add commands, in the order of the pipeline. A module that is not there yet
# (a later issue) is skipped; an import error inside an existing module is not hidden.
_STAGE_MODULES = (
    "scenes", "label", "evaluate", "bench", "detect", "track", "demo", "train", "pretrain", "tactile"
)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details.")) -> None:
    """Grasp perception for parallel-jaw grippers."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def version() -> None:
    """Print the grasplab version."""
    console.print(f"grasplab {__version__}")


@app.command()
def info(path: Path = typer.Argument(..., help="A GraspGroup .npy file (graspnetAPI layout).")) -> None:
    """Summarize a grasp file: count, score range, widths, depths and plausibility findings.

    Exit code 1 when the file holds impossible values (problems), 2 when it cannot be read;
    implausible but legal values are listed as warnings.
    """
    import numpy as np

    from grasplab.core import GraspGroup, summarize_grasps
    from grasplab.core.plausibility import grasp_findings

    if path.is_file() and path.stat().st_size == 0:
        console.print(f"[red]error:[/red] {path} is empty (0 bytes); expected a grasp .npy file")
        raise typer.Exit(code=2)
    try:
        group = GraspGroup.from_npy(path, validate=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: truncated file
        console.print(f"[red]error:[/red] {path}: cannot read a grasp array ({exc})")
        raise typer.Exit(code=2) from exc
    summary = summarize_grasps(group)
    found = grasp_findings(np.asarray(group))
    summary["problems"] = "; ".join(found.errors) or "none"
    summary["warnings"] = "; ".join(found.warnings) or "none"
    table = Table(title=f"{path} ({len(group)} grasps)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, value if isinstance(value, str) else f"{value:.4g}")
    console.print(table)
    if summary.get("problems", "none") != "none":
        raise typer.Exit(code=1)


def _register_stages() -> None:
    for name in _STAGE_MODULES:
        module_name = f"grasplab.cli.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(app)


_register_stages()


