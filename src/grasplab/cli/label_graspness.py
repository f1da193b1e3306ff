"""``grasplab label graspness``: GSNet / AnyGrasp graspness labels of every frame, resumable.

``grasplab label graspness --root DIR [--camera realsense] [--workers K] [--engine local|ray]``
writes ``scenes/scene_%04d/<camera>/graspness/objects.npz`` (per scene, object frame) and
``scenes/scene_%04d/<camera>/graspness/%04d.npz`` (per frame, camera frame) from the object
labels (``grasplab label objects``) and the scene collision labels (``grasplab label scenes``);
format: ``docs/graspness_labels.md``. Frames whose files exist with the same settings are
skipped; failed frames make the command exit 1 and are retried by a rerun; missing inputs, and a
rerun with other settings without ``--overwrite``, exit 2 (naming the command to run first or
the settings that differ). The command joins the ``label`` sub-app through
:func:`register_graspness_command`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from grasplab.cli.label_scenes import (
    _check_scenes,
    _check_workers,
    _finish,
    _parse_ids,
    run_frame_job,
)
from grasplab.cli.output import console, fail


def graspness(
    root: Path = typer.Option(..., "--root", help="Dataset root with object and collision labels."),
    camera: str = typer.Option("realsense", help="Camera folder."),
    workers: int = typer.Option(1, help="Worker processes (one frame per task)."),
    engine: str = typer.Option("local", help="local (process pool) or ray (RAY_ADDRESS or a local Ray)."),
    ids: str | None = typer.Option(None, "--ids", help="Comma-separated scene ids (default all)."),
    voxel_size: float = typer.Option(0.005, "--voxel-size",
                                     help="One observed point per voxel of this edge, m (0: all)."),
    max_distance: float = typer.Option(0.01, "--max-distance",
                                       help="Largest observed-to-label point distance, m."),
    clean_depth: bool = typer.Option(False, "--clean-depth",
                                     help="Back-project depth_clean/ instead of the sensor depth."),
    max_width: float = typer.Option(0.1, "--gripper-max-width", help="Largest jaw opening, m."),
    overwrite: bool = typer.Option(False, help="Recompute every frame, also with other settings."),
) -> None:
    """Graspness labels (point, view, objectness, score/width, stable) of every frame, resumable."""
    from grasplab.labels.graspness import GraspnessConfig
    from grasplab.labels.graspness_jobs import label_dataset_graspness
    from grasplab.labels.pixel_label_jobs import dataset_frames

    _check_workers(workers)
    try:
        config = GraspnessConfig(max_width=max_width, max_distance=max_distance,
                                 voxel_size=voxel_size,
                                 depth_folder="depth_clean" if clean_depth else "depth")
        frames = dataset_frames(root, _check_scenes(root, camera, _parse_ids(ids)), camera)
        if not frames:
            raise ValueError(f"--root {root}: no {camera} frame to label")
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    outcomes = run_frame_job(label_dataset_graspness, len(frames), root, frames, camera, config,
                             workers=workers, overwrite=overwrite, engine=engine)
    labelled = [o for o in outcomes if o.status == "labelled"]
    if labelled:
        seconds = sum(o.seconds for o in labelled)
        console.print(f"{seconds / len(labelled):.2f} s per labelled frame (scene files included), "
                      f"{sum(o.num_points for o in labelled) / len(labelled):.0f} points per frame")
    _finish(outcomes, "frame", f"{root}/scenes/scene_*/{camera}/graspness")


def register_graspness_command(label_app: typer.Typer) -> None:
    """Add ``graspness`` to the ``label`` sub-app."""
    label_app.command("graspness")(graspness)
