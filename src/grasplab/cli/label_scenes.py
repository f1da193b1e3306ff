"""``grasplab label scenes`` and ``grasplab label pixels``: scene collision and PLGP pixel labels.

- ``grasplab label scenes --root DIR [--workers K]`` writes
  ``collision_label/scene_%04d/collision_labels.npz`` for every scene (needs the object labels of
  ``grasplab label objects``), one shard per scene;
- ``grasplab label pixels --root DIR [--stride S] [--workers K]`` writes
  ``scenes/scene_%04d/<camera>/pixel_labels/%04d.npz`` for every frame (needs the parallel depth
  images of ``grasplab scenes generate``), one shard per frame.

Both are resumable: items whose output exists and loads are skipped (the summary says how many),
failed items make the command exit 1 and are retried by a rerun. ``--engine ray`` runs the shards
on Ray (``RAY_ADDRESS`` or a local instance; docs/scaling.md). The commands join the
``label`` sub-app through :func:`register_label_commands`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grasplab.cli.output import console, fail


def _parse_ids(ids: str | None) -> list[int] | None:
    if not ids:
        return None
    try:
        chosen = [int(i) for i in ids.split(",") if i.strip()]
    except ValueError as exc:
        raise fail(f"--ids: expected comma-separated integers, got {ids!r}") from exc
    if not chosen or min(chosen) < 0:
        raise fail(f"--ids: expected integers >= 0, got {ids!r}")
    return chosen


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise fail(f"--workers: expected a positive integer, got {workers}")


def _check_scenes(root: Path, camera: str, chosen: Sequence[int] | None) -> list[int]:
    """The scene ids to label: all with a ``<camera>`` folder, or ``chosen`` (each must have one).

    Raises:
        typer.Exit: no scene has the camera, or a chosen scene does not exist.
    """
    scenes = root / "scenes"
    if not scenes.is_dir():
        raise fail(f"--root {root}: no scenes folder; expected a dataset root with scenes/")
    have = sorted(int(p.name[6:]) for p in scenes.glob("scene_[0-9]*") if p.is_dir()
                  and p.name[6:].isdigit())
    with_camera = [s for s in have if (scenes / f"scene_{s:04d}" / camera).is_dir()]
    if not with_camera:
        cams = sorted({p.name for s in have for p in (scenes / f"scene_{s:04d}").iterdir()
                       if p.is_dir()})
        raise fail(f"--camera {camera}: no scene under {root} has a {camera}/ folder "
                    f"(cameras there: {', '.join(cams) or 'none'})")
    if chosen is None:
        return with_camera
    missing = sorted(set(chosen) - set(with_camera))
    if missing:
        raise fail(f"--ids: scene(s) {', '.join(f'{s:04d}' for s in missing)} have no "
                    f"{camera}/ folder under {scenes}")
    return list(chosen)


def run_label_job(job: Callable[..., list[Any]], *args: Any, **kwargs: Any) -> list[Any]:
    """Run a label job; a busy output folder or a missing engine is a clean error (exit 2)."""
    from grasplab._optional import MissingExtraError
    from grasplab.runtime.jobs import FingerprintMismatchError, JobBusyError

    try:
        return job(*args, **kwargs)
    except FingerprintMismatchError as exc:
        raise fail(f"{exc}, or add --overwrite to redo every item with the new settings") from exc
    except (JobBusyError, MissingExtraError, ValueError) as exc:
        raise fail(str(exc)) from exc


def run_frame_job(job: Callable[..., list[Any]], num_frames: int, *args: Any, **kwargs: Any) -> list[Any]:
    """Run a per-frame label job (``job(*args, progress=..., **kwargs)``) with a frame progress bar."""
    with Progress(*_columns("frames"), console=console) as bar:
        task = bar.add_task("", total=num_frames)

        def advance(outcome: Any) -> None:
            bar.update(task, advance=1, description=f"{outcome.scene_id:04d}/{outcome.ann_id:04d} "
                                                    f"{outcome.status}")

        try:
            return run_label_job(job, *args, progress=advance, **kwargs)
        except FileNotFoundError as exc:
            raise fail(str(exc)) from exc


def _columns(what: str) -> tuple[Any, ...]:
    return (TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"))


def _finish(outcomes: Sequence[Any], name: str, target: str) -> None:
    """Print the failures and the counts; exit 1 when an item failed."""
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        table = Table(title=f"{name} not labelled")
        table.add_column(name)
        table.add_column("reason")
        for item in failed:
            key = f"{item.scene_id:04d}" + (f"/{item.ann_id:04d}" if hasattr(item, "ann_id") else "")
            table.add_row(key, item.message)
        console.print(table)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("labelled", "skipped", "failed")}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" → {target}")
    if failed:
        raise typer.Exit(code=1)


def scenes(
    root: Path = typer.Option(..., "--root", help="Dataset root with scenes/, models/, grasp_label/."),
    workers: int = typer.Option(1, help="Worker processes (one scene per task)."),
    engine: str = typer.Option("local", help="local (process pool) or ray (RAY_ADDRESS or a local Ray)."),
    ids: str | None = typer.Option(None, "--ids", help="Comma-separated scene ids (default all)."),
    camera: str = typer.Option("realsense", help="Camera folder whose frame 0 gives the poses."),
    point_spacing: float = typer.Option(0.003, "--point-spacing",
                                        help="Spacing of the object surface points, metres."),
    no_tray: bool = typer.Option(False, "--no-tray", help="Ignore the tray."),
    max_width: float = typer.Option(0.1, "--gripper-max-width", help="Largest jaw opening, m."),
    overwrite: bool = typer.Option(False, help="Recompute scenes that already have labels."),
    seed: int = typer.Option(0, min=0, help="Seed of the surface point sampling."),
) -> None:
    """Scene collision labels (collision_label/scene_%04d/collision_labels.npz), resumable."""
    from grasplab.core.gripper import GripperModel
    from grasplab.labels.scene_label_jobs import label_scenes
    from grasplab.labels.scene_labels import SceneCollisionConfig
    from grasplab.scenes.reader import GraspNetDataset

    _check_workers(workers)
    try:
        gripper = GripperModel(max_width=max_width)
        config = SceneCollisionConfig(point_spacing=point_spacing, include_tray=not no_tray)
        chosen = _check_scenes(root, camera, _parse_ids(ids))
        GraspNetDataset(root, camera)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    with Progress(*_columns("scenes"), console=console) as bar:
        task = bar.add_task("", total=len(chosen))

        def advance(outcome: Any) -> None:
            bar.update(task, advance=1, description=f"{outcome.scene_id:04d} {outcome.status}")

        outcomes = run_label_job(label_scenes, root, chosen, camera, gripper, config, seed=seed,
                                 workers=workers, overwrite=overwrite, progress=advance,
                                 engine=engine)
    _finish(outcomes, "scene", str(root / "collision_label"))


def pixels(
    root: Path = typer.Option(..., "--root", help="Dataset root with scenes/ (parallel depth)."),
    stride: int = typer.Option(1, help="Label every stride-th object pixel in u and v."),
    workers: int = typer.Option(1, help="Worker processes (one frame per task)."),
    engine: str = typer.Option("local", help="local (process pool) or ray (RAY_ADDRESS or a local Ray)."),
    ids: str | None = typer.Option(None, "--ids", help="Comma-separated scene ids (default all)."),
    camera: str = typer.Option("realsense", help="Camera folder."),
    angles: int = typer.Option(18, help="Grasp angles K (k·π/K)."),
    max_width: float = typer.Option(0.1, "--gripper-max-width", help="Largest jaw opening, m."),
    overwrite: bool = typer.Option(False, help="Recompute frames that already have labels."),
) -> None:
    """PLGP pixel-level 4-DoF labels of every frame (pixel_labels/%04d.npz), resumable."""
    from grasplab.core.gripper import GripperModel
    from grasplab.labels.pixel_label_jobs import dataset_frames, label_dataset_pixels
    from grasplab.labels.pixel_labels import PixelLabelConfig

    _check_workers(workers)
    try:
        gripper = GripperModel(max_width=max_width)
        config = PixelLabelConfig(num_angles=angles, stride=stride)
        frames = dataset_frames(root, _check_scenes(root, camera, _parse_ids(ids)), camera)
        if not frames:
            raise ValueError(f"--root {root}: no {camera} frame to label")
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    outcomes = run_frame_job(label_dataset_pixels, len(frames), root, frames, camera, gripper, config,
                             workers=workers, overwrite=overwrite, engine=engine)
    _finish(outcomes, "frame", f"{root}/scenes/scene_*/{camera}/pixel_labels")


def register_label_commands(label_app: typer.Typer) -> None:
    """Add ``scenes`` and ``pixels`` to the ``label`` sub-app."""
    label_app.command("scenes")(scenes)
    label_app.command("pixels")(pixels)
