"""``grasplab label``: analytic grasp labels in the GraspNet-1Billion format.

- ``grasplab label mesh PART.obj --out DIR`` labels one user mesh into
  ``DIR/grasp_label/%03d_labels.npz`` (+ extras, ``config.yaml`` and ``meta.json``);
- ``grasplab label objects --root DIR [--workers K]`` labels every ``models/%03d/textured.obj``
  of a dataset root, one shard per object, resumably.

Each command is one function of the ``label`` sub-app; more commands (scene projection, pixel
labels) join the same sub-app.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grasplab.cli.label_graspness import register_graspness_command
from grasplab.cli.label_scenes import register_label_commands, run_label_job
from grasplab.cli.label_sdf import register_sdf_command
from grasplab.cli.output import console, fail

#: ``meta.json`` kind of a ``grasplab label mesh`` output folder.
LABEL_MESH_KIND = "label-mesh"

label_app = typer.Typer(
    help="Analytic grasp labels (GraspNet-1Billion format).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``label`` command group to the ``grasplab`` app."""
    app.add_typer(label_app, name="label")


def _label_config(
    spacing: float, collision_spacing: float, views: int, angles: int, anygrasp_depths: bool,
    max_points: int | None,
) -> Any:
    from grasplab.labels import ANYGRASP_DEPTHS, GRASPNET_DEPTHS, ObjectLabelConfig

    return ObjectLabelConfig(
        spacing=spacing, collision_spacing=collision_spacing, num_views=views, num_angles=angles,
        depths=ANYGRASP_DEPTHS if anygrasp_depths else GRASPNET_DEPTHS, max_points=max_points,
    )


def _write_run_files(out: Path, config: dict[str, Any], seed: int) -> None:
    """``config.yaml`` (resolved settings) and ``meta.json`` (version, seed, command line)."""
    from grasplab import __version__

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    meta = {"kind": LABEL_MESH_KIND, "version": __version__, "seed": seed, "command": sys.argv,
            "python": platform.python_version(), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))




def _load_user_mesh(path: Path, scale: float, object_id: int) -> tuple[Any, Any]:
    """``(mesh, centre of mass)`` of a user's mesh file, processed by grasplab.objects.

    Raises:
        ValueError: a missing, unreadable or degenerate mesh (the message names it).
    """
    from grasplab.objects import load_mesh_object

    try:
        obj = load_mesh_object(path, object_id, scale=scale)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - trimesh raises many kinds on a file it cannot read
        raise ValueError(f"{path}: cannot read a mesh from this file "
                         f"({type(exc).__name__}: {exc})") from exc
    return obj.mesh, obj.center_of_mass


@label_app.command("mesh")
def mesh(
    path: Path = typer.Argument(..., help="Mesh file in metres (OBJ, PLY, STL, ...)."),
    out: Path = typer.Option(..., "--out", help="Output root (grasp_label/ is written under it)."),
    object_id: int = typer.Option(0, "--object-id", help="Object index of the file name %03d."),
    spacing: float = typer.Option(0.005, help="Grasp point spacing (voxel edge), metres."),
    collision_spacing: float = typer.Option(0.004, "--collision-spacing",
                                            help="Surface point spacing for collision, metres."),
    views: int = typer.Option(300, help="Approach views (reference Fibonacci sphere)."),
    angles: int = typer.Option(12, help="In-plane angles i·π/A."),
    anygrasp_depths: bool = typer.Option(False, "--anygrasp-depths",
                                         help="Add AnyGrasp's 0.005 m depth."),
    max_width: float = typer.Option(0.1, "--gripper-max-width", help="Largest jaw opening, m."),
    scale: float = typer.Option(1.0, help="Scale the mesh (0.001 for millimetres)."),
    max_points: int | None = typer.Option(None, "--max-points", help="Cap on grasp points."),
    seed: int = typer.Option(0, min=0, help="Random seed of the surface sampling."),
) -> None:
    """Label one mesh: dense grasps, scores (min μ), collision, stable score, tolerance."""
    import numpy as np

    from grasplab.core.gripper import GripperModel
    from grasplab.labels import (
        check_labelable_mesh,
        label_object,
        sample_grasp_points,
        save_object_labels,
    )
    from grasplab.runtime.checks import check_output_dir

    if not path.is_file():
        raise fail(f"{path}: no such file")
    try:
        check_output_dir(out, "--out", LABEL_MESH_KIND)
        if object_id < 0:
            raise ValueError(f"--object-id: expected an integer >= 0, got {object_id}")
        gripper = GripperModel(max_width=max_width)
        config = _label_config(spacing, collision_spacing, views, angles, anygrasp_depths,
                               max_points)
        mesh_obj, com = _load_user_mesh(path, scale, object_id)
        check_labelable_mesh(mesh_obj, gripper)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    resolved = {"mesh": str(path), "object_id": object_id, "scale": scale,
                "gripper": asdict(gripper), "labels": config.to_dict()}
    _write_run_files(out, resolved, seed)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    points = sample_grasp_points(mesh_obj, config, rng)
    with Progress(TextColumn("[bold]grasp points"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("points", total=len(points))
        labels = label_object(mesh_obj, gripper, config, rng, center_of_mass=com, points=points,
                              progress=lambda n: bar.advance(task, n))
    target = save_object_labels(out, object_id, labels, config=resolved)
    num_p, num_v, num_a, num_d = labels.grid_shape
    good = float(((labels.scores > 0) & ~labels.collision).mean())
    console.print(f"{num_p} points × {num_v} views × {num_a} angles × {num_d} depths in "
                  f"{time.perf_counter() - start:.1f} s; {100 * good:.1f}% force-closure and "
                  f"collision-free → {target}")


def _outcome_table(outcomes: list[Any]) -> Table:
    table = Table(title="objects not labelled")
    table.add_column("object", justify="right")
    table.add_column("status")
    table.add_column("reason")
    for item in outcomes:
        if item.status in ("degenerate", "failed"):
            table.add_row(f"{item.object_id:03d}", item.status, item.message)
    return table


@label_app.command("objects")
def objects(
    root: Path = typer.Option(..., "--root", help="Dataset root with models/%03d/textured.obj."),
    workers: int = typer.Option(1, help="Worker processes (one object per task)."),
    engine: str = typer.Option("local", help="local (process pool) or ray (RAY_ADDRESS or a local Ray)."),
    ids: str | None = typer.Option(None, "--ids", help="Comma-separated object ids (default all)."),
    spacing: float = typer.Option(0.005, help="Grasp point spacing (voxel edge), metres."),
    collision_spacing: float = typer.Option(0.004, "--collision-spacing",
                                            help="Surface point spacing for collision, metres."),
    views: int = typer.Option(300, help="Approach views (reference Fibonacci sphere)."),
    angles: int = typer.Option(12, help="In-plane angles i·π/A."),
    anygrasp_depths: bool = typer.Option(False, "--anygrasp-depths",
                                         help="Add AnyGrasp's 0.005 m depth."),
    max_width: float = typer.Option(0.1, "--gripper-max-width", help="Largest jaw opening, m."),
    max_points: int | None = typer.Option(None, "--max-points", help="Cap on grasp points."),
    overwrite: bool = typer.Option(False, help="Relabel objects that already have labels."),
    seed: int = typer.Option(0, min=0, help="Dataset seed (object k uses SeedSequence([seed, k]))."),
) -> None:
    """Label every object of a dataset root (resumable; bad meshes are skipped)."""
    from grasplab.core.gripper import GripperModel
    from grasplab.labels.dataset_labels import label_dataset_objects

    try:
        if workers < 1:
            raise ValueError(f"--workers: expected an integer >= 1, got {workers}")
        gripper = GripperModel(max_width=max_width)
        config = _label_config(spacing, collision_spacing, views, angles, anygrasp_depths,
                               max_points)
        chosen = _chosen_ids(root, ids)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    columns = (TextColumn("[bold]objects"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("", total=len(chosen))

        def advance(outcome: Any) -> None:
            bar.update(task, advance=1, description=f"{outcome.object_id:03d} {outcome.status}")
            if outcome.status in ("degenerate", "failed"):
                bar.console.print(f"[yellow]skipped {outcome.object_id:03d}[/yellow] "
                                  f"({outcome.status}): {outcome.message}")

        outcomes = run_label_job(label_dataset_objects, root, chosen, gripper, config, seed=seed,
                                 workers=workers, overwrite=overwrite, progress=advance,
                                 engine=engine)
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("labelled", "skipped", "degenerate", "failed")}
    if counts["degenerate"] or counts["failed"]:
        console.print(_outcome_table(outcomes))
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" → {root / 'grasp_label'}")
    if counts["degenerate"] or counts["failed"]:  # work left undone is never a success
        console.print(f"error: {counts['degenerate'] + counts['failed']} object(s) not labelled "
                      "(reasons above); a rerun retries failed ones")
        raise typer.Exit(code=1)


def _chosen_ids(root: Path, ids: str | None) -> list[int]:
    """``--ids`` parsed (ValueError naming it), or every object under ``root/models``."""
    from grasplab.labels.dataset_labels import dataset_object_ids

    available = dataset_object_ids(root)
    if not ids:
        if not available:
            raise ValueError(f"--root {root}: no models/%03d/textured.obj to label")
        return available
    try:
        chosen = [int(i) for i in ids.split(",") if i.strip()]
    except ValueError as exc:
        raise ValueError(f"--ids: expected comma-separated integers, got {ids!r}") from exc
    if not chosen or min(chosen) < 0:
        raise ValueError(f"--ids: expected integers >= 0, got {ids!r}")
    missing = sorted(set(chosen) - set(available))
    if missing:
        raise ValueError(f"--ids {ids}: no model {', '.join(f'{i:03d}' for i in missing)} under "
                         f"{root / 'models'} (there are {len(available)} objects)")
    return chosen


# Scene collision and pixel-level labels live in their own module; they join the same sub-app.
register_label_commands(label_app)
register_graspness_command(label_app)
register_sdf_command(label_app)
