"""What every training command shares: the ``--device`` check and running the Trainer with progress.

``grasplab train pixel``, ``grasplab train grasp`` and ``grasplab tactile pretrain`` differ in
their task and config; the device check, the per-epoch progress bars, the one-line errors, the
resume hint on Ctrl-C and the silence of non-zero ranks under ``torchrun`` are the same and live
here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console, fail

R = TypeVar("R")


def torch_device(text: str) -> str:
    """The ``--device`` value normalised (``cpu``, ``cuda``, ``cuda:N``) and usable by torch here.

    Raises:
        ValueError: a malformed device, or CUDA that torch does not see (naming ``--device``).
    """
    import torch

    from grasplab.runtime.checks import parse_device

    try:
        device = parse_device(text)
    except ValueError as exc:  # "device 'tpu9': expected ..." → "--device 'tpu9': expected ..."
        raise ValueError(f"--{exc}") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available to torch here")
    index = int(device.partition(":")[2] or 0)
    if device.startswith("cuda") and index >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s)")
    return device


def is_main_rank() -> bool:
    """False in the processes of ``torchrun`` other than rank 0 (they neither print nor write)."""
    return int(os.environ.get("RANK", "0")) == 0


def run_with_progress(fit: Callable[[Callable[[Any], None]], R], out: Path, label: str = "") -> R:
    """Run ``fit(progress)`` with a progress bar per epoch and the commands' error handling.

    Args:
        fit: starts the training; calls ``progress(event)`` with ``TrainProgress`` events.
        out: the run folder (named in the resume hint).
        label: prefix of the bar's text (e.g. the method).

    Returns:
        What ``fit`` returned.

    Raises:
        typer.Exit: 130 after Ctrl-C (rerun the command to resume), 2 after a ValueError or a
            missing file (one ``error:`` line).
    """
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not is_main_rank()) as bar:
        tasks: dict[int, TaskID] = {}

        def show(event: Any) -> None:
            if not is_main_rank():
                return
            if event.phase == "train":
                if event.epoch not in tasks:
                    tasks[event.epoch] = bar.add_task("", total=event.steps_per_epoch)
                text = f"{label}epoch {event.epoch + 1}/{event.epochs} loss {event.loss:.4f}"
                bar.update(tasks[event.epoch], completed=event.step, description=text)
            else:
                extra = "".join(f" {k} {v:.4f}" for k, v in event.terms.items() if k != "loss")
                epoch = f"epoch {event.epoch + 1}/{event.epochs}"
                console.print(f"{epoch}: validation loss {event.loss:.4f}{extra}")

        try:
            return fit(show)
        except KeyboardInterrupt as exc:
            console.print(f"[yellow]interrupted[/yellow]; rerun the same command to resume from {out}")
            raise typer.Exit(code=130) from exc
        except (ValueError, FileNotFoundError) as exc:
            raise fail(str(exc)) from exc
