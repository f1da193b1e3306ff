"""``grasplab track``: a sequence of RGB-D frames in, per-frame grasps with stable track ids out.

``grasplab track --frames DIR --intrinsics K.json --out tracks.json [--viz tracks.gif]
[--tracker learned|nearest] [--weights ASSOC.safetensors] [--gsnet GSNET.safetensors]
[--targets 0,3] [--smoothing one_euro|kalman|none] [--depth-scale 1000] [--frame-rate 10] [--raw]``

Frames: ``DIR/depth/0000.png`` (16-bit, millimetres by default) or ``.npy`` (metres by
default), optional ``DIR/rgb/0000.png`` with the same stem; all the same size (see
:mod:`grasplab.detection.frame_sequence`). The GSNet detects each frame; ``learned`` associates
with the trained association head (``--weights``, default the shipped head; the GSNet defaults
to the one it was trained on), ``nearest`` by pose distance (``--gsnet``, default the shipped
GSNet). Both follow the GSNet detector's post-processed grasps (workspace, NMS, centring,
collision check, the 50 best, as ``detect --method gsnet``); ``--raw`` follows every seed's
grasp instead. Bad inputs (no folder or no frame, frames of different sizes,
a missing intrinsics file, missing weights) exit with code 2 and one ``error:`` line.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console, fail

__all__ = ["register", "track"]


def _targets(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        rows = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"--targets: expected rows like 0,3, got {text!r}") from exc
    if not rows or min(rows) < 0:
        raise ValueError(f"--targets: expected non-negative rows like 0,3, got {text!r}")
    return rows


def track(
    frames: Path = typer.Option(..., "--frames", help="Folder with depth/ (and rgb/) frames."),
    intrinsics: str = typer.Option(
        ..., "--intrinsics", help="K.json (fx, fy, cx, cy), 'fx,fy,cx,cy' or a preset."
    ),
    out: Path = typer.Option(..., "--out", help="tracks.json to write."),
    viz: Path | None = typer.Option(None, "--viz", help="Also write an animated .gif of the tracks."),
    tracker: str = typer.Option("learned", "--tracker", help="learned or nearest."),
    weights: Path | None = typer.Option(
        None, "--weights", help="Association checkpoint (learned; default: the shipped head)."),
    gsnet: Path | None = typer.Option(
        None, "--gsnet", help="GSNet checkpoint (default: the head's; nearest: the shipped GSNet)."),
    targets: str | None = typer.Option(None, "--targets", help="Rows of the first frame to follow."),
    smoothing: str = typer.Option("one_euro", "--smoothing", help="one_euro, kalman or none."),
    depth_scale: float | None = typer.Option(None, "--depth-scale", help="Raw depth units per metre."),
    frame_rate: float = typer.Option(10.0, "--frame-rate", help="Frames per second (smoothing)."),
    raw: bool = typer.Option(False, "--raw", help="Every seed's grasp, no post-processing."),
) -> None:
    """Track grasps through a sequence of RGB-D frames."""
    from dataclasses import replace

    from grasplab.detection.frame_sequence import read_frame_sequence, track_sequence, tracks_to_json
    from grasplab.detection.smoothing import SMOOTHING_KINDS
    from grasplab.runtime.checks import check_output_file

    try:
        if tracker not in ("learned", "nearest"):
            raise ValueError(f"--tracker: expected learned or nearest, got {tracker!r}")
        if smoothing not in SMOOTHING_KINDS:
            raise ValueError(f"--smoothing: expected one of {', '.join(SMOOTHING_KINDS)}, "
                             f"got {smoothing!r}")
        if depth_scale is not None and not depth_scale > 0:
            raise ValueError(f"--depth-scale must be a positive number, got {depth_scale:g}")
        if not frame_rate > 0:
            raise ValueError(f"--frame-rate must be positive, got {frame_rate:g}")
        if viz is not None and viz.suffix.lower() != ".gif":
            raise ValueError(f"--viz: expected a .gif file, got {viz}")
        check_output_file(out, "--out")
        rows = _targets(targets)
        observations = read_frame_sequence(frames, intrinsics, depth_scale)
        built = _build(tracker, weights, gsnet, not raw)
        built.config = replace(built.config, frame_rate=frame_rate,
                               smoothing=replace(built.config.smoothing, kind=smoothing))
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    with Progress(TextColumn("[bold]track"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("frames", total=len(observations))
        try:
            results = track_sequence(built, observations, rows, frame_rate, lambda n: bar.advance(task, n))
        except ValueError as exc:
            raise fail(str(exc)) from exc
    names = [f"{k:04d}" for k in range(len(results))]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tracks_to_json(results, names)) + "\n")
    console.print(f"{len(results)} frames, {len({i for r in results for i in r.track_ids.tolist()})} "
                  f"tracks → {out}")
    if viz is not None:
        from grasplab.viz.tracks import save_tracks_gif

        console.print(f"→ {save_tracks_gif(viz, observations, results)}")


def _build(tracker: str, weights: Path | None, gsnet: Path | None,  # type: ignore[no-untyped-def]
           postprocess: bool = True):
    """The tracker with its GSNet feature source (ValueError naming the missing option)."""
    from grasplab.detection.association_features import GSNetFeatureSource
    from grasplab.detection.learned_tracker import build_learned_tracker, detector_postprocess
    from grasplab.detection.shipped import shipped_association_weights, shipped_gsnet_weights
    from grasplab.detection.tracker_registry import LearnedTrackerOptions, build_tracker
    from grasplab.training.checkpoints import load_checkpoint

    for path, name in ((weights, "--weights"), (gsnet, "--gsnet")):
        if path is not None and not path.is_file():
            raise ValueError(f"{name} {path}: no such file")
    if tracker == "learned":
        weights = weights if weights is not None else shipped_association_weights()
        if weights is None:
            raise ValueError("--tracker learned needs --weights (an association checkpoint of "
                             "`grasplab train association`; this install ships none)")
        options = LearnedTrackerOptions(weights=str(weights),
                                        gsnet_weights=None if gsnet is None else str(gsnet),
                                        postprocess=postprocess)
        return build_learned_tracker(None, options)
    gsnet = gsnet if gsnet is not None else shipped_gsnet_weights()
    if gsnet is None:
        raise ValueError("--tracker nearest needs --gsnet (the detector of every frame; this install "
                         "ships none)")
    checkpoint = load_checkpoint(gsnet)
    downsample = int(checkpoint.config.get("data", {}).get("downsample", 2))
    source = GSNetFeatureSource(checkpoint.model, 4096, downsample,
                                postprocess=detector_postprocess() if postprocess else None)
    return build_tracker("nearest", _SourceDetector(source))


class _SourceDetector:
    """A feature source as a plain detector (its grasps only)."""

    def __init__(self, source: object) -> None:
        self.source = source

    def detect(self, observation: object):  # type: ignore[no-untyped-def]
        return self.source.describe(observation).grasps  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    """Add ``grasplab track``."""
    app.command("track")(track)
