"""``grasplab train grasp``: train the GSNet / AnyGrasp graspness network.

``grasplab train grasp --config configs/grasp/gsnet_cpu.yaml --out runs/X [--device cpu|cuda]
[--set key=value ...]`` trains :class:`grasplab.models.gsnet.GSNet` with the generic
:class:`grasplab.training.Trainer` on a :class:`grasplab.training.grasp_task.GraspTask` over the
frames labelled by ``grasplab label graspness``. The run folder gets ``config.yaml``,
``meta.json`` (kind ``train-grasp``), ``history.json`` (every loss term per epoch) and
safetensors checkpoints; rerunning the same command on the same ``--out`` resumes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from grasplab.cli.output import console, fail
from grasplab.cli.training_run import is_main_rank, run_with_progress, torch_device

__all__ = ["add_grasp_command", "grasp"]


#: ``meta.json`` kind of a ``grasplab train grasp`` run folder.
TRAIN_GRASP_KIND = "train-grasp"


def grasp(
    out: Path = typer.Option(..., "--out", help="Run folder (created; an existing run is resumed)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML preset, e.g. configs/grasp/gsnet_cpu.yaml."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    overrides: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--set", help="Override a config value: --set data.root=DS (repeatable)."
    ),
) -> None:
    """Train (or resume) the GSNet / AnyGrasp graspness network."""
    from grasplab.runtime.checks import check_output_dir
    from grasplab.training.grasp_config import load_grasp_train_config
    from grasplab.training.grasp_task import GraspTask
    from grasplab.training.trainer import Trainer

    try:
        check_output_dir(out, "--out", TRAIN_GRASP_KIND)
        cfg = load_grasp_train_config(config, overrides)
        device = torch_device(device)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    result = run_with_progress(
        lambda show: Trainer(GraspTask(cfg), cfg, out, device, progress=show, argv=sys.argv).fit(), out
    )
    if not is_main_rank():
        return
    table = Table(title=str(out))
    names = ("objectness", "graspness", "view", "score", "width", "stable")
    for column in ("epoch", "lr", "loss", *names, "val loss", "val success", "s"):
        table.add_column(column, justify="right")
    for m in result.history:
        terms = [f"{m.train.get(n, float('nan')):.4f}" for n in names]
        table.add_row(
            str(m.epoch + 1),
            f"{m.lr:.2g}",
            f"{m.train_loss:.4f}",
            *terms,
            f"{m.val_loss:.4f}",
            f"{m.val_success:.3f}",
            f"{m.seconds:.1f}",
        )
    console.print(table)
    console.print(f"checkpoints: {result.last_checkpoint}, {result.best_checkpoint}")


def add_grasp_command(app: typer.Typer) -> None:
    """Add ``grasp`` to the ``train`` command group."""
    app.command("grasp")(grasp)
