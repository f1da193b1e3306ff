"""``grasplab tactile pretrain`` and ``grasplab tactile probe``: outcome learning from touch.

- ``grasplab tactile pretrain --method moco|memory-bank|triplet|autoencoder|supervised --data DS
  --out runs/T [--config configs/tactile/<method>.yaml] [--set key=value ...] [--device cpu]``
  trains an encoder of Tb - Ta on the pretraining trials of the dataset (generic Trainer; run
  folder with ``config.yaml``, ``meta.json``, ``history.json``, safetensors checkpoints;
  rerunning on the same ``--out`` resumes).
- ``grasplab tactile probe --weights runs/T/checkpoints/last.safetensors --data DS [--split
  sample|object] [--out probe.json]`` fits the KNN / SVM / MLP probes on the frozen features of the
  training side and prints their test accuracy.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from grasplab.cli.output import console, fail
from grasplab.cli.training_run import run_with_progress, torch_device


def pretrain(
    method: str = typer.Option(
        ..., "--method", help="moco, memory-bank, triplet, autoencoder or supervised."
    ),
    data: Path = typer.Option(..., "--data", help="Tactile dataset DS (grasplab tactile generate)."),
    out: Path = typer.Option(..., "--out", help="Run folder (created; an existing run is resumed)."),
    config: Path | None = typer.Option(None, "--config", help="YAML preset, e.g. configs/tactile/moco.yaml."),
    overrides: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--set", help="Override a config value: --set optim.epochs=5 (repeatable)."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
) -> None:
    """Pretrain a tactile encoder with one of the paper's methods (or the supervised ceiling)."""
    from grasplab._optional import MissingExtraError
    from grasplab.evaluation.tactile_study import pretrain_tactile
    from grasplab.tactile.dataset import load_tactile_dataset
    from grasplab.training.tactile_config import load_tactile_config

    try:
        cfg = load_tactile_config(config, overrides)
        cfg = replace(cfg, method=method, data=replace(cfg.data, root=str(data)))
        dev = torch_device(device)
        ds = load_tactile_dataset(data)
    except (ValueError, FileNotFoundError, MissingExtraError) as exc:
        raise fail(str(exc)) from exc
    result = run_with_progress(
        lambda show: pretrain_tactile(cfg, ds, out, dev, progress=show, argv=sys.argv), out, f"{method} "
    )
    last = result.history[-1]
    console.print(
        f"{method}: {len(result.history)} epochs, train loss {last.train_loss:.4f}, "
        f"val loss {last.val_loss:.4f}; checkpoints {result.last_checkpoint}, {result.best_checkpoint}"
    )


def probe(
    weights: Path = typer.Option(..., "--weights", help="Checkpoint of grasplab tactile pretrain."),
    data: Path = typer.Option(..., "--data", help="The tactile dataset it was trained on."),
    split: str | None = typer.Option(None, "--split", help="sample or object (default: the run's split)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the accuracies to this JSON file."),
    seed: int = typer.Option(0, "--seed", help="Seed of the SVM / MLP solvers."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N (feature extraction)."),
) -> None:
    """Fit KNN (k = √n), linear-SVM and MLP probes on frozen features; print test accuracy."""
    import numpy as np

    from grasplab._optional import MissingExtraError
    from grasplab.evaluation.tactile_study import probe_weights
    from grasplab.tactile.dataset import load_tactile_dataset

    if split is not None and split not in ("sample", "object"):
        raise fail(f"--split must be sample or object, got {split!r}")
    try:
        ds = load_tactile_dataset(data)
        result, cfg = probe_weights(
            weights, ds, rng=np.random.default_rng(seed), split=split, device=torch_device(device)
        )
    except (ValueError, FileNotFoundError, MissingExtraError) as exc:
        raise fail(str(exc)) from exc
    sizes = f"{result.num_train} train / {result.num_test} test"
    table = Table(title=f"{cfg.method} on the {cfg.data.split} split ({sizes})")
    for name in result.accuracy:
        table.add_column(name.upper(), justify="right")
    table.add_row(*(f"{100 * v:.2f} %" for v in result.accuracy.values()))
    console.print(table)
    rate = result.test_success_rate
    console.print(f"KNN k = {result.k}; majority-class baseline {100 * max(rate, 1 - rate):.2f} %")
    if out is not None:
        body = {"weights": str(weights), "method": cfg.method, "split": cfg.data.split, **result.to_dict()}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(body, indent=2) + "\n")
        console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``pretrain`` and ``probe`` to the ``tactile`` command group."""
    app.command("pretrain")(pretrain)
    app.command("probe")(probe)
