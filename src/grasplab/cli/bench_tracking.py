"""``grasplab bench tracking``: association accuracy of the learned tracker and the nearest heuristic.

``grasplab bench tracking --gsnet CKPT --learned ASSOC.safetensors [--learned w001=ASSOC2]
[--static-root DS --static-scenes 104-107] [--sequences 2] [--frames 10] [--out DIR] [--quick]
[--postprocess]``
detects each frame of held-out moving sequences (conveyor, turntable, random, crossing; two
objects) and adjacent static views once with the GSNet, runs every tracker on the same grasps
and scores MotionGrasp's protocol (:mod:`grasplab.evaluation.tracking_bench`): a target is
correct within 10 cm and 30° of the grasp it started on; lost targets, identity switches,
detection and association milliseconds per frame. Writes ``DIR/tracking.json`` and
``DIR/tracking.md`` and prints the table. ``--quick``: one short sequence per motion and two
static pairs (a smoke test). ``--postprocess``: the trackers follow the detector's
post-processed grasps (workspace, NMS, centring, collision), as ``grasplab track`` does by
default; without it every seed's raw grasp, as in the association head's training cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console, fail

__all__ = ["add_tracking_command", "tracking"]

_MOTIONS = ("conveyor", "turntable", "random", "crossing")


def _named(values: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for text in values:
        name, sep, path = text.partition("=")
        key = f"learned-{name}" if sep else "learned" if "learned" not in out else f"learned{len(out)}"
        out[key] = Path(path if sep else name)
    return out


def tracking(
    gsnet: Path = typer.Option(..., "--gsnet", help="GSNet checkpoint (detector and features)."),
    learned: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--learned", help="Association checkpoint, or NAME=PATH (repeatable)."
    ),
    static_root: Path | None = typer.Option(None, "--static-root", help="Labelled dataset with scenes/."),
    static_scenes: str = typer.Option("104-107", "--static-scenes", help="Held-out scenes."),
    sequences: int = typer.Option(2, "--sequences", help="Moving sequences per motion kind."),
    frames: int = typer.Option(10, "--frames", help="Frames per moving sequence."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Output folder."),
    seed: int = typer.Option(2000, "--seed", help="Seed of the held-out sequences."),
    quick: bool = typer.Option(False, "--quick", help="One short sequence per motion (smoke test)."),
    postprocess: bool = typer.Option(
        False, "--postprocess", help="Track the detector's post-processed grasps, as `grasplab track` "
        "does (default: every seed's raw grasp, as the association head's training cache)."),
) -> None:
    """Association accuracy (10 cm / 30°), identity switches and speed of the trackers."""
    from grasplab.cli.train_association import parse_id_range
    from grasplab.detection.association_features import GSNetFeatureSource
    from grasplab.detection.learned_tracker import build_learned_tracker, detector_postprocess
    from grasplab.detection.tracker_registry import LearnedTrackerOptions, build_tracker
    from grasplab.evaluation.tracking_bench import run_tracking_bench, tracking_markdown
    from grasplab.evaluation.tracking_data import motion_sequences, static_view_pairs
    from grasplab.runtime.checks import check_output_dir, check_output_file
    from grasplab.training.checkpoints import load_checkpoint

    try:
        check_output_dir(out, "--out")
        for name in ("tracking.json", "tracking.md"):
            check_output_file(out / name, "--out")
        if sequences < 0 or frames < 2:
            raise ValueError("--sequences must be >= 0 and --frames >= 2")
        scenes = parse_id_range(static_scenes, "--static-scenes") if static_root else []
        checkpoint = load_checkpoint(gsnet)
        if checkpoint.family != "gsnet":
            raise ValueError(f"--gsnet {gsnet}: expected a GSNet checkpoint, got {checkpoint.family!r}")
        source = GSNetFeatureSource(checkpoint.model, 4096,
                                    int(checkpoint.config.get("data", {}).get("downsample", 2)),
                                    postprocess=detector_postprocess() if postprocess else None)
        heads = _named(learned)
        trackers: dict[str, Any] = {"nearest": lambda: build_tracker("nearest", None)}
        for name, path in heads.items():
            tracker = build_learned_tracker(source, LearnedTrackerOptions(weights=str(path)))
            trackers[name] = lambda t=tracker: t
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    per_kind, length = (1, 5) if quick else (sequences, frames)
    sets: dict[str, Any] = {k: motion_sequences([k], per_kind, length, seed, prefix="bench") for k in _MOTIONS
                            if per_kind}
    if static_root is not None:
        pairs = static_view_pairs(static_root, scenes[:1] if quick else scenes)
        sets["static"] = (p for i, p in enumerate(pairs) if not quick or i < 2)
    with Progress(TextColumn("[bold]bench tracking"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("sequences", total=None)
        try:
            result = run_tracking_bench(source, trackers, sets, progress=lambda n: bar.advance(task, n))
        except (ValueError, FileNotFoundError) as exc:
            raise fail(str(exc)) from exc
    result["gsnet"] = str(gsnet)
    result["learned"] = {k: str(v) for k, v in heads.items()}
    result["quick"] = quick
    result["postprocess"] = postprocess
    out.mkdir(parents=True, exist_ok=True)
    (out / "tracking.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = tracking_markdown(result)
    (out / "tracking.md").write_text(markdown)
    console.print(markdown)
    console.print(f"→ {out / 'tracking.json'}")


def add_tracking_command(app: typer.Typer) -> None:
    """Add ``tracking`` to the ``bench`` command group."""
    app.command("tracking")(tracking)
