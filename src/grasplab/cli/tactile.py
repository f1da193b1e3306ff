"""``grasplab tactile show`` and ``grasplab tactile examples``: pictures of touch.

``show`` runs one grasp on one object and draws Ta / Tb / Tc of both GelSight pads. The object
(a library id or name, e.g. ``1019`` or ``box_block``) rests alone in the tray; a straight-down
grasp across its narrow axis (:func:`grasplab.tactile.top_down_grasp`) is executed with the
floating gripper, and the figure shows the scene at each phase beside the left and right pad
images. ``examples`` draws trials of a dataset that held beside trials that dropped
(:mod:`grasplab.evaluation.tactile_examples`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from grasplab.cli.output import console, fail

tactile_app = typer.Typer(help="Simulated GelSight touch sensing.", no_args_is_help=True)


def _object_id(text: str) -> int:
    from grasplab.objects.splits import object_spec, split_object_ids

    if text.strip().isdigit():
        return int(text)
    for split in ("seen", "similar", "novel"):
        for oid in split_object_ids(split):
            if object_spec(oid).name == text.strip():
                return oid
    raise typer.BadParameter(f"unknown object {text!r}: give an id or a library name (e.g. box_block)")


def _scene_camera(target: np.ndarray) -> tuple[object, np.ndarray]:
    from grasplab.core import CameraIntrinsics
    from grasplab.scenes import look_at

    eye = target + np.array([0.22, -0.28, 0.20])
    return CameraIntrinsics.from_fov(45.0, 320, 240), look_at(eye, target)


def _figure(images: dict[str, np.ndarray], scenes: dict[str, np.ndarray], title: str,
            out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {"before_contact": "Ta (before contact)", "closed": "Tb (closed)",
             "lifted": "Tc (lifted)"}
    fig, axes = plt.subplots(len(images), 3, figsize=(12, 3.1 * len(images)), squeeze=False)
    for row, phase in enumerate(images):
        panels = (scenes[phase], images[phase][0], images[phase][1])
        for col, (panel, label) in enumerate(zip(panels, ("scene", "left pad", "right pad"),
                                                 strict=True)):
            axes[row, col].imshow(panel)
            axes[row, col].set_title(f"{names[phase]}: {label}", fontsize=9)
            axes[row, col].axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


@tactile_app.command("show")
def show(
    object_name: str = typer.Option("cylinder_tall", "--object", help="Library id or name."),
    out: Path = typer.Option(Path("tactile_show.png"), "--out", help="PNG to write."),
    seed: int = typer.Option(0, "--seed", help="Seed of the object's pose and the pixel noise."),
    mu: float = typer.Option(0.6, "--mu", help="Friction coefficient of finger-object contacts."),
) -> None:
    """Run one grasp on one object and draw Ta / Tb / Tc of both pads beside the scene."""
    from grasplab.core import make_transform
    from grasplab.core.rotations import rotation_z
    from grasplab.execution import SimGripper, set_grasp_friction
    from grasplab.objects import ObjectLibrary
    from grasplab.scenes import TRAY_FLOOR_Z, World, render_frame
    from grasplab.tactile import GelSightSensor, capture_grasp, top_down_grasp

    oid = _object_id(object_name)
    gen = np.random.default_rng(seed)
    try:
        obj = ObjectLibrary().load(oid)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    R = rotation_z(float(gen.uniform(-np.pi, np.pi)))
    low = float((np.asarray(obj.mesh.vertices) @ R.T)[:, 2].min())
    scenes: dict[str, np.ndarray] = {}
    with World() as world:
        world.add_table_and_tray()
        world.add_object(obj, make_transform(R, np.array([0.0, 0.0, TRAY_FLOOR_Z + 0.003 - low])))
        world.settle(max_steps=1200)
        hand = SimGripper(world)
        set_grasp_friction(world, hand, mu)
        posed = world.posed_meshes(include_static=False)[0]
        points = posed.mesh.vertices @ posed.T_world_mesh[:3, :3].T + posed.T_world_mesh[:3, 3]
        grasp = top_down_grasp(points)
        intrinsics, T_world_cam = _scene_camera(grasp.translations[0])

        def snap(phase: str) -> None:
            T = T_world_cam.copy()
            T[2, 3] += 0.0 if phase != "lifted" else 0.15
            scenes[phase] = render_frame(world, intrinsics, T).rgb  # type: ignore[arg-type]

        trial = capture_grasp(world, hand, grasp, GelSightSensor(), rng=gen, on_phase=snap)
    if not trial.images:
        console.print(f"[red]error:[/red] the grasp on {obj.name} ended before the jaws reached "
                      f"the object ({trial.outcome.reason}); no tactile images. Try another --seed.")
        raise typer.Exit(code=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    forces = ", ".join(f"{p} {r[0].normal_force:.1f}/{r[1].normal_force:.1f} N"
                       for p, r in trial.readings.items())
    title = (f"{obj.name} (id {oid}), μ = {mu}: {trial.outcome.reason}; "
             f"normal force left/right: {forces}")
    _figure(trial.images, scenes, title, out)
    console.print(f"{title}\nwrote {out}")


@tactile_app.command("examples")
def examples(
    data: Path = typer.Option(..., "--data", help="Tactile dataset DS (grasplab tactile generate)."),
    out: Path = typer.Option(Path("tactile_examples.png"), "--out", help="PNG to write."),
    per_class: int = typer.Option(3, "--per-class", help="Held and dropped trials drawn (each)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the choice of trials."),
    gain: float = typer.Option(2.0, "--gain", help="Contrast of the difference images."),
) -> None:
    """Draw trials that held beside trials that dropped: Ta, Tb and the differences the networks read."""
    from grasplab._optional import MissingExtraError
    from grasplab.evaluation.tactile_examples import draw_examples, pick_examples
    from grasplab.runtime.checks import check_output_file
    from grasplab.tactile.dataset import load_tactile_dataset

    if per_class < 1:
        raise fail(f"--per-class must be >= 1, got {per_class}")
    if not np.isfinite(gain) or gain <= 0:
        raise fail(f"--gain must be a positive number, got {gain}")
    try:
        check_output_file(out, "--out")
        ds = load_tactile_dataset(data)
        indices = pick_examples(ds.success, per_class, np.random.default_rng(seed))
        draw_examples(ds, indices, out, gain=gain)
    except (ValueError, FileNotFoundError, MissingExtraError) as exc:
        raise fail(str(exc)) from exc
    held = int(ds.success.sum())
    console.print(f"{data}: {len(ds)} trials, {held} held; drew trials {indices.tolist()}\nwrote {out}")


def register(app: typer.Typer) -> None:
    """Add the ``tactile`` command group to ``app``."""
    __import__("grasplab.cli.tactile_generate", fromlist=["register"]).register(tactile_app)
    __import__("grasplab.cli.tactile_pretrain", fromlist=["register"]).register(tactile_app)
    app.add_typer(tactile_app, name="tactile")
