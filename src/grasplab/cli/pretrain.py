"""``grasplab pretrain``: self-supervised pretraining of detector backbones.

``grasplab pretrain contrast --config configs/pretrain/contrast_cpu.yaml --out runs/P [--device
cpu|cuda] [--set key=value ...]`` pretrains GSNet's backbone by GraspContrast (PointInfoNCE with
false-negative elimination on pairs of views of unlabelled scenes,
:class:`grasplab.training.contrast_task.ContrastTask`) with the generic Trainer. The run folder
gets ``config.yaml``, ``meta.json`` (kind ``pretrain-contrast``), ``history.json`` (loss and
match accuracy per epoch) and safetensors checkpoints of the backbone alone; rerunning the same
command on the same ``--out`` resumes. ``grasplab train grasp --init
runs/P/checkpoints/last.safetensors`` fine-tunes a detector from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from grasplab.cli.output import console, fail
from grasplab.cli.training_run import is_main_rank, run_with_progress, torch_device

#: ``meta.json`` kind of a ``grasplab pretrain contrast`` run folder.
PRETRAIN_CONTRAST_KIND = "pretrain-contrast"
pretrain_app = typer.Typer(help="Self-supervised pretraining of detector backbones.", no_args_is_help=True)


@pretrain_app.command("contrast")
def contrast(
    out: Path = typer.Option(..., "--out", help="Run folder (created; an existing run is resumed)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML preset, e.g. configs/pretrain/contrast_cpu.yaml."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    overrides: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--set", help="Override a config value: --set data.root=DS (repeatable)."
    ),
) -> None:
    """Pretrain (or resume) GSNet's backbone with GraspContrast on unlabelled view pairs."""
    from grasplab.runtime.checks import check_output_dir
    from grasplab.training.contrast_config import load_contrast_config
    from grasplab.training.contrast_task import ContrastTask, pretraining_scenes
    from grasplab.training.trainer import Trainer

    try:
        check_output_dir(out, "--out", PRETRAIN_CONTRAST_KIND)
        cfg = load_contrast_config(config, overrides)
        device = torch_device(device)
        train, val = pretraining_scenes(cfg)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    if is_main_rank():
        console.print(f"pretraining on {len(train)} scene(s), validating on {len(val)}: {val[:8]}")
    task = ContrastTask(cfg)
    result = run_with_progress(
        lambda show: Trainer(
            task, cfg, out, device, progress=show, argv=sys.argv, kind=PRETRAIN_CONTRAST_KIND
        ).fit(),
        out,
    )
    if not is_main_rank():
        return
    table = Table(title=str(out))
    for column in ("epoch", "lr", "loss", "match acc", "val loss", "val match acc", "s"):
        table.add_column(column, justify="right")
    for m in result.history:
        table.add_row(
            str(m.epoch + 1),
            f"{m.lr:.2g}",
            f"{m.train_loss:.4f}",
            f"{m.train.get('match_acc', float('nan')):.3f}",
            f"{m.val_loss:.4f}",
            f"{m.val.get('match_acc', float('nan')):.3f}",
            f"{m.seconds:.1f}",
        )
    console.print(table)
    console.print(
        f"backbone checkpoints: {result.last_checkpoint}, {result.best_checkpoint}\n"
        f"fine-tune: grasplab train grasp --init {result.last_checkpoint} --config ... --out ..."
    )


def register(app: typer.Typer) -> None:
    """Add the ``pretrain`` command group."""
    app.add_typer(pretrain_app, name="pretrain")
