"""``grasplab train association-cache`` and ``grasplab train association``: the learned tracker's head.

- ``grasplab train association-cache --gsnet CKPT --out CACHE [--static-root DS]
  [--static-scenes 0-23] [--val-scenes 100-103] [--sequences 4] [--frames 8] [--seed 0] [--postprocess]``
  runs the frozen GSNet once per frame of adjacent static views and moving-object sequences and
  writes the feature cache (``CACHE/index.json``, ``CACHE/frames/*.npz``); rerunning reuses the
  frames already there.
- ``grasplab train association --config configs/tracking/association.yaml --out runs/X
  [--set data.cache=CACHE] [--set data.w_max=0.01]`` trains the association head with the
  supervised contrastive loss (generic Trainer; run folder with ``config.yaml``, ``meta.json``,
  ``history.json`` and safetensors checkpoints; rerunning resumes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grasplab.cli.output import console, fail
from grasplab.cli.training_run import run_with_progress, torch_device

__all__ = ["add_association_commands", "association", "association_cache", "parse_id_range"]

#: ``meta.json`` kind of a ``grasplab train association`` run folder.
TRAIN_ASSOCIATION_KIND = "train-association"
_MOTIONS = ("conveyor", "turntable", "random", "crossing")


def parse_id_range(text: str, name: str) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]`` (ValueError naming ``name`` when malformed)."""
    out: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            low, _, high = part.partition("-")
            out += list(range(int(low), int(high or low) + 1))
    except ValueError as exc:
        raise ValueError(f"{name}: expected ids like 0-23,30, got {text!r}") from exc
    if not out or min(out) < 0:
        raise ValueError(f"{name}: expected non-negative ids like 0-23,30, got {text!r}")
    return out


def association_cache(
    gsnet: Path = typer.Option(..., "--gsnet", help="GSNet checkpoint (frozen feature extractor)."),
    out: Path = typer.Option(..., "--out", help="Cache folder (created; existing frames are reused)."),
    static_root: Path | None = typer.Option(None, "--static-root", help="Labelled dataset with scenes/."),
    static_scenes: str = typer.Option("0-23", "--static-scenes", help="Training scenes, e.g. 0-23."),
    val_scenes: str = typer.Option("100-103", "--val-scenes", help="Validation scenes."),
    sequences: int = typer.Option(4, "--sequences", help="Training sequences per motion kind."),
    frames: int = typer.Option(8, "--frames", help="Frames per moving sequence."),
    num_points: int = typer.Option(4096, "--num-points", help="Points per frame for the GSNet."),
    seed: int = typer.Option(0, "--seed", help="Seed of the moving sequences."),
    postprocess: bool = typer.Option(
        False, "--postprocess", help="Cache the detector's post-processed grasps (as `grasplab track` "
        "follows them) instead of every seed's raw grasp."),
) -> None:
    """Compute and cache GSNet features of static view pairs and moving sequences."""
    from grasplab.detection.association_features import GSNetFeatureSource
    from grasplab.detection.learned_tracker import detector_postprocess
    from grasplab.evaluation.tracking_data import build_association_cache, motion_sequences, static_view_pairs
    from grasplab.training.checkpoints import load_checkpoint

    try:
        if sequences < 0 or frames < 2 or num_points < 1:
            raise ValueError("--sequences must be >= 0, --frames >= 2 and --num-points >= 1")
        train_ids = parse_id_range(static_scenes, "--static-scenes") if static_root else []
        val_ids = parse_id_range(val_scenes, "--val-scenes") if static_root else []
        if static_root is not None and not (static_root / "scenes").is_dir():
            raise ValueError(f"--static-root {static_root}: no scenes/ folder")
        checkpoint = load_checkpoint(gsnet)
        if checkpoint.family != "gsnet":
            raise ValueError(f"--gsnet {gsnet}: expected a GSNet checkpoint, got family "
                             f"{checkpoint.family!r}")
        downsample = int(checkpoint.config.get("data", {}).get("downsample", 2))
        source = GSNetFeatureSource(checkpoint.model, num_points, downsample,
                                    postprocess=detector_postprocess() if postprocess else None)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    root = static_root

    def split(ids: list[int], per_kind: int, offset: int):  # type: ignore[no-untyped-def]
        def make():  # type: ignore[no-untyped-def]
            if root is not None and ids:
                yield from static_view_pairs(root, ids)
            if per_kind:
                yield from motion_sequences(_MOTIONS, per_kind, frames, seed + offset,
                                            prefix=f"motion{offset}")
        return make

    meta = {"seed_dim": source.feature_dims[0], "grasp_dim": source.feature_dims[1],
            "colour_samples": source.num_samples, "gsnet_weights": str(gsnet),
            "num_points": num_points, "downsample": downsample, "postprocess": postprocess}
    with Progress(TextColumn("[bold]association cache"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("frames", total=None)
        try:
            index = build_association_cache(
                source, out, {"train": split(train_ids, sequences, 0),
                              "val": split(val_ids, max(1, sequences // 4), 1000)},
                meta, progress=lambda n: bar.advance(task, n))
        except (ValueError, FileNotFoundError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"→ {index}")


def association(
    out: Path = typer.Option(..., "--out", help="Run folder (created; an existing run is resumed)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML preset, e.g. configs/tracking/association.yaml."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    overrides: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--set", help="Override a config value: --set data.cache=CACHE (repeatable)."
    ),
) -> None:
    """Train (or resume) the grasp association head (supervised contrastive, τ = 0.1)."""
    from dataclasses import replace

    from grasplab.data.association_pairs import load_cache_index
    from grasplab.runtime.checks import check_output_dir
    from grasplab.training.association_task import AssociationTask, load_association_config
    from grasplab.training.trainer import Trainer

    try:
        check_output_dir(out, "--out", TRAIN_ASSOCIATION_KIND)
        cfg = load_association_config(config, overrides)
        meta = load_cache_index(cfg.data.cache).get("meta", {})
        cfg = replace(cfg, features=replace(cfg.features, gsnet_weights=str(meta.get("gsnet_weights", "")),
                                            num_points=int(meta.get("num_points", 4096)),
                                            downsample=int(meta.get("downsample", 2))))
        device = torch_device(device)
        task = AssociationTask(cfg)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    result = run_with_progress(
        lambda show: Trainer(task, cfg, out, device, progress=show, argv=sys.argv).fit(), out
    )
    table = Table(title=str(out))
    for column in ("epoch", "lr", "train loss", "val loss", "val top-1", "s"):
        table.add_column(column, justify="right")
    for m in result.history:
        table.add_row(str(m.epoch + 1), f"{m.lr:.2g}", f"{m.train_loss:.4f}", f"{m.val_loss:.4f}",
                      f"{m.val.get('top1', float('nan')):.3f}", f"{m.seconds:.1f}")
    console.print(table)
    console.print(f"checkpoints: {result.last_checkpoint}, {result.best_checkpoint}")


def add_association_commands(app: typer.Typer) -> None:
    """Add ``association-cache`` and ``association`` to the ``train`` command group."""
    app.command("association-cache")(association_cache)
    app.command("association")(association)
