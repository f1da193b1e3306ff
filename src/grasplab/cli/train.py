"""``grasplab train``: train learned detectors.

- ``grasplab train pixel --config configs/pixel/ggcnn2_depth.yaml --out runs/X [--device cpu|cuda]
  [--set key=value ...]`` trains the PLGP pixel-level network (the generic
  :class:`grasplab.training.Trainer` on a :class:`grasplab.training.PixelTask`). The run folder gets
  the resolved ``config.yaml``, ``meta.json`` (kind ``train-pixel``), ``history.json`` and safetensors
  checkpoints; rerunning the same command on the same ``--out`` resumes after the last finished
  epoch. Data-parallel: ``torchrun --nproc_per_node 2 --no-python grasplab train pixel ...`` (gloo
  on CPU, NCCL with ``--device cuda``; ``optim.batch_size`` is the global batch; rank 0 writes).
- ``grasplab train export-onnx --weights CKPT --out model.onnx`` exports a trained pixel network
  to ONNX (with the ``.json`` spec beside it) for ``grasplab detect --method pixel --weights
  model.onnx``, run by onnxruntime (extra ``grasplab[onnx]``); a GSNet checkpoint (family
  "gsnet") becomes three graphs, ``model.onnx`` (backbone), ``model.view.onnx`` and
  ``model.operation.onnx`` (:mod:`grasplab.detection.gsnet_onnx`), for ``--method gsnet``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from grasplab.cli.output import console, fail
from grasplab.cli.training_run import is_main_rank, run_with_progress, torch_device

#: ``meta.json`` kind of a ``grasplab train pixel`` run folder.
TRAIN_PIXEL_KIND = "train-pixel"
_MIN_EXPORT_SIZE, _MAX_EXPORT_SIZE = 32, 4096
train_app = typer.Typer(help="Train learned grasp detectors.", no_args_is_help=True)


@train_app.command("pixel")
def pixel(
    out: Path = typer.Option(..., "--out", help="Run folder (created; an existing run is resumed)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML preset, e.g. configs/pixel/ggcnn2_depth.yaml."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    overrides: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--set", help="Override a config value: --set optim.lr=1e-4 (repeatable)."
    ),
) -> None:
    """Train (or resume) the PLGP pixel-level grasp network."""
    from grasplab.runtime.checks import check_output_dir
    from grasplab.training.config import load_train_config
    from grasplab.training.pixel_task import PixelTask
    from grasplab.training.trainer import Trainer

    try:
        check_output_dir(out, "--out", TRAIN_PIXEL_KIND)
        cfg = load_train_config(config, overrides)
        device = torch_device(device)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    result = run_with_progress(
        lambda show: Trainer(PixelTask(cfg), cfg, out, device, progress=show, argv=sys.argv).fit(), out
    )
    if not is_main_rank():
        return
    table = Table(
        title=f"{out} (resumed after epoch {result.resumed_from})" if result.resumed_from else str(out)
    )
    for column in ("epoch", "lr", "train loss", "val loss", "val success", "seconds"):
        table.add_column(column, justify="right")
    for m in result.history:
        table.add_row(
            str(m.epoch + 1),
            f"{m.lr:.2g}",
            f"{m.train_loss:.4f}",
            f"{m.val_loss:.4f}",
            f"{m.val_success:.3f}",
            f"{m.seconds:.1f}",
        )
    console.print(table)
    console.print(f"checkpoints: {result.last_checkpoint}, {result.best_checkpoint}")


@train_app.command("export-onnx")
def export_onnx_command(
    weights: Path = typer.Option(
        ..., "--weights", help="Pixel or GSNet checkpoint (.safetensors)."),
    out: Path = typer.Option(
        ..., "--out", help="ONNX file to write (a .json spec goes beside it; a GSNet also writes "
        "<name>.view.onnx and <name>.operation.onnx)."),
    size: int = typer.Option(
        320, "--size", help="Side of the pixel network's example input (any size runs later)."),
) -> None:
    """Export a trained pixel network or GSNet to ONNX for onnxruntime."""
    from grasplab._optional import MissingExtraError
    from grasplab.detection.pixel_detector import export_onnx
    from grasplab.runtime.checks import check_output_file, check_weights_file
    from grasplab.training.checkpoints import load_checkpoint

    try:
        if out.suffix != ".onnx":
            raise ValueError(f"--out must end in .onnx, got {out}")
        check_output_file(out, "--out")
        check_output_file(out.with_suffix(".json"), "--out (its .json spec)")
        if not _MIN_EXPORT_SIZE <= size <= _MAX_EXPORT_SIZE:
            raise ValueError(f"--size: expected {_MIN_EXPORT_SIZE}..{_MAX_EXPORT_SIZE} pixels, "
                             f"got {size}")
        if check_weights_file(weights) != "safetensors":
            raise ValueError(f"--weights {weights} is already an ONNX file; export-onnx reads a "
                             ".safetensors checkpoint")
        checkpoint = load_checkpoint(weights)
        out.parent.mkdir(parents=True, exist_ok=True)
        if checkpoint.family == "gsnet":
            written = _export_gsnet(checkpoint, out)
        elif checkpoint.family == "pixel":
            path = export_onnx(checkpoint.model, out, size, size, data=checkpoint.config.get("data"))
            written = [path, path.with_suffix(".json")]
        else:
            raise ValueError(f"--weights {weights}: ONNX export supports pixel and gsnet networks, "
                             f"not {checkpoint.family!r}")
    except (ValueError, FileNotFoundError, MissingExtraError) as exc:
        raise fail(str(exc)) from exc
    console.print("wrote " + ", ".join(str(p) for p in written))


def _export_gsnet(checkpoint: Any, out: Path) -> list[Path]:
    """Export a GSNet checkpoint as its three graphs and spec beside ``out`` (the files written)."""
    from grasplab.detection.gsnet_onnx import export_gsnet_onnx, gsnet_onnx_paths
    from grasplab.runtime.checks import check_output_file

    files = gsnet_onnx_paths(out)
    for name, path in files.items():
        check_output_file(path, f"--out (its {name} file)")
    export_gsnet_onnx(checkpoint.model, out, data=checkpoint.config.get("data"))
    return list(files.values())


def register(app: typer.Typer) -> None:
    """Add the ``train`` command group to the main app."""
    from grasplab.cli.train_grasp import add_grasp_command

    add_grasp_command(train_app)
    __import__("grasplab.cli.train_association").cli.train_association.add_association_commands(train_app)
    app.add_typer(train_app, name="train")
