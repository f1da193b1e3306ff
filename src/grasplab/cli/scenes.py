"""``grasplab scenes``: synthesize cluttered scenes in the GraspNet-1Billion layout and look at them.

- ``grasplab scenes generate --split seen --num-scenes N --views V --out DIR`` writes the dataset
  (resumable: rerun the same command to finish an interrupted job);
- ``grasplab scenes show DIR --scene 0 --frame 0 --out view.png`` draws RGB, depth, instance masks
  and the parallel depth of one frame side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")
scenes_app = typer.Typer(
    help="Synthesize cluttered RGB-D scenes (GraspNet-1Billion layout).", no_args_is_help=True
)


@scenes_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Dataset root to write (created if missing)."),
    split: str = typer.Option("seen", help="Object split: seen, similar or novel."),
    num_scenes: int = typer.Option(1, "--num-scenes", help="Number of scenes."),
    views: int = typer.Option(
        256, help="Frames per scene, taken evenly from the 256-view rig; camera_poses.npy is (V, 4, 4)."
    ),
    workers: int = typer.Option(1, help="Worker processes (one scene per task); Ray: scenes at once."),
    engine: str = typer.Option("local", help="local (process pool) or ray (RAY_ADDRESS or a local Ray)."),
    seed: int = typer.Option(0, min=0, help="Dataset seed; scene s uses SeedSequence(seed, spawn_key=(s,))."),
    camera: str = typer.Option("realsense", help="Intrinsics preset and folder: realsense or kinect."),
    objects_per_scene: int = typer.Option(5, "--objects-per-scene", help="Objects dropped per scene."),
    image_scale: float = typer.Option(0.5, "--image-scale", help="Scale of the 1280x720 preset."),
    first_scene: int = typer.Option(0, "--first-scene", help="Id of the first scene (test-seen: 100)."),
    depth_noise: str = typer.Option("gaussian", "--depth-noise", help="depth/ noise: none, gaussian, plgp."),
    parallel_depth: bool = typer.Option(
        True, "--parallel-depth/--no-parallel-depth", help="Also render PLGP parallel depth."
    ),
    object_pool: int | None = typer.Option(
        None, "--object-pool", help="Draw objects from the split's first N ids only (default all)."
    ),
) -> None:
    """Generate scenes (atomic per scene; rerun the same command to resume)."""
    from grasplab._optional import MissingExtraError
    from grasplab.runtime.checks import DATASET_KIND, check_output_dir
    from grasplab.runtime.jobs import FingerprintMismatchError, JobBusyError
    from grasplab.scenes.generate import GenerationConfig, generate_dataset

    try:
        _check_counts(num_scenes=num_scenes, views=views, workers=workers,
                      objects_per_scene=objects_per_scene, first_scene=first_scene)
        check_output_dir(out, "--out", DATASET_KIND)
        config = GenerationConfig(
            views=views,
            camera=camera,
            objects_per_scene=objects_per_scene,
            image_scale=image_scale,
            depth_noise=depth_noise,
            parallel_depth=parallel_depth,
            object_pool=object_pool,
        )
        columns = (TextColumn("[bold]scenes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("scenes", total=num_scenes)
            summary = generate_dataset(
                out,
                split,
                num_scenes,
                views=views,
                seed=seed,
                workers=workers,
                camera=camera,
                progress=lambda n: bar.advance(task, n),
                first_scene=first_scene,
                config=config,
                engine=engine,
            )
    except FingerprintMismatchError as exc:
        console.print(f"[red]error:[/red] {exc} (the same --seed and options resume; a new --out "
                      "starts another dataset)")
        raise typer.Exit(code=2) from exc
    except (ValueError, JobBusyError, MissingExtraError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(
        f"{len(summary.generated)} scenes written, {len(summary.skipped)} already complete (skipped), "
        f"in {summary.seconds:.1f} s → {out}"
    )
    for scene_id, reason in summary.failed:
        console.print(f"[red]scene {scene_id} failed:[/red] {reason}")
    if summary.failed:
        console.print(f"{len(summary.failed)} scene(s) failed; rerun the same command to retry them")
        raise typer.Exit(code=1)


def _check_counts(**counts: int) -> None:
    """ValueError naming the first option below its smallest value (views: 1..256)."""
    least = {"first_scene": 0}
    for name, value in counts.items():
        option = "--" + name.replace("_", "-")
        if value < least.get(name, 1):
            raise ValueError(f"{option}: expected an integer >= {least.get(name, 1)}, got {value}")
    if counts.get("views", 1) > 256:
        raise ValueError(f"--views: the rig has 256 views, got {counts['views']}")


def _colour_labels(mask: np.ndarray, object_ids: tuple[int, ...]) -> np.ndarray:
    """(H, W) instance labels (object_id + 1) → (H, W, 3) uint8 colours, one per object, background black."""
    palette = np.array(
        [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
         [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40]],
        dtype=np.uint8,
    )  # fmt: skip
    lut = np.zeros(max(int(mask.max(initial=0)), *object_ids, 0) + 2, dtype=np.int64)
    lut[np.asarray(object_ids, dtype=np.int64) + 1] = np.arange(len(object_ids)) + 1
    rank = lut[mask.astype(np.int64)]  # 0 = background, k = k-th object of the scene
    colours = palette[(rank - 1) % len(palette)]
    colours[rank == 0] = 0
    return colours


@scenes_app.command("show")
def show(
    root: Path = typer.Argument(..., help="Dataset root."),
    scene: int = typer.Option(0, help="Scene id."),
    frame: int = typer.Option(0, help="Frame (annotation) id."),
    out: Path = typer.Option(Path("view.png"), "--out", help="PNG to write."),
    camera: str = typer.Option("realsense", help="Camera folder: realsense or kinect."),
) -> None:
    """Draw RGB, depth, instance masks and parallel depth of one frame side by side."""
    from grasplab._optional import require
    from grasplab.runtime.checks import check_output_file
    from grasplab.scenes.reader import GraspNetDataset

    try:
        check_output_file(out, "--out")
        if out.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ValueError(f"--out {out}: expected one of {', '.join(_IMAGE_SUFFIXES)}")
        if min(scene, frame) < 0:
            raise ValueError(f"--scene {scene} --frame {frame}: ids are integers >= 0")
        dataset = GraspNetDataset(root, camera=camera)
        data = dataset.frame(scene, frame)
        try:
            parallel, eta = dataset.parallel_depth(scene, frame)
        except FileNotFoundError:
            parallel, eta = None, None
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot")
    panels = 4 if parallel is not None else 3
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), constrained_layout=True)
    valid = data.depth[data.depth > 0]
    vmin, vmax = (float(valid.min()), float(valid.max())) if valid.size else (0.0, 1.0)
    axes[0].imshow(data.rgb)
    axes[0].set_title(f"scene {scene} frame {frame}: RGB")
    shown = {"cmap": "viridis", "vmin": vmin, "vmax": vmax}
    image = axes[1].imshow(np.where(data.depth > 0, data.depth, np.nan), **shown)
    axes[1].set_title("depth (m)")
    fig.colorbar(image, ax=axes[1], fraction=0.046)
    axes[2].imshow(_colour_labels(data.mask, data.object_ids))
    axes[2].set_title(f"instance masks ({len(np.unique(data.mask)) - 1} objects visible)")
    if parallel is not None:
        image = axes[3].imshow(np.where(parallel > 0, parallel, np.nan), **shown)
        axes[3].set_title(f"parallel depth (m), eta {eta:g} px/m")
        fig.colorbar(image, ax=axes[3], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the ``scenes`` sub-command group to the ``grasplab`` app."""
    app.add_typer(scenes_app, name="scenes")
