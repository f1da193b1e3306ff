"""``grasplab bench dynamic``: catching moving objects with a grasp tracker (AnyGrasp §VI-B).

``grasplab bench dynamic --episodes N --tracker nearest|oracle|learned --motion
conveyor|turntable|random|crossing --out DIR [--detector analytic] [--speed 0.05]
[--seed S] [--tracker-weights ASSOC.safetensors] [--object-set primitives|seen|similar|novel]``:
catch success, time to catch (simulated
seconds) and failure causes; writes ``DIR/dynamic_<tracker>_<motion>.json``, ``.md`` and the
per-episode log ``.attempts.csv`` (a split's object set adds ``_<set>`` to the names). The
default objects are boxes and cylinders of 3-5 cm; ``--object-set seen`` (or ``similar``,
``novel``) draws library objects of that split instead (not for ``crossing``, which moves two
identical boxes).

``--tracker learned`` is built by the tracker registry from its association checkpoint
(``--tracker-weights``, ``grasplab train association``; default the shipped head) as
``grasplab bench tracking`` builds it: the GSNet named in that checkpoint is its detector and
feature source, so it asks for ``--detector gsnet`` and the 640×480 frames
(``--image-width 640``) its heads were trained and benchmarked on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grasplab.cli.output import console, fail

_MOTIONS = ("conveyor", "turntable", "random", "crossing")
#: Trackers that take an association checkpoint (``--tracker-weights``).
_WEIGHTED_TRACKERS = ("learned",)
#: Frame width of the learned tracker's training cache and of ``bench tracking`` (640×480).
_LEARNED_IMAGE_WIDTH = 640


def _check_tracker_weights(tracker: str, weights: Path | None, detector: str,
                           image_width: int) -> Path | None:
    """Check ``--tracker-weights`` and what a weighted tracker asks of the other options.

    Args:
        tracker: ``--tracker`` value (a registered name).
        weights: ``--tracker-weights`` or None.
        detector: ``--detector`` value.
        image_width: ``--image-width`` (pixels).

    Returns:
        The weights of a weighted tracker (``weights``, else the shipped head), else None.

    Raises:
        ValueError: one line naming the option: weights missing (none given, none shipped), not
            a file or given to a tracker without weights; a learned tracker with another
            detector than ``gsnet`` or frames other than 640 wide.
    """
    from grasplab.detection.shipped import shipped_association_weights

    if tracker not in _WEIGHTED_TRACKERS:
        if weights is not None:
            raise ValueError(f"--tracker-weights: tracker {tracker!r} takes no weights (only "
                             f"{', '.join(_WEIGHTED_TRACKERS)})")
        return None
    weights = weights if weights is not None else shipped_association_weights()
    if weights is None:
        raise ValueError(f"--tracker {tracker} needs weights: pass --tracker-weights ASSOC.safetensors "
                         "(an association checkpoint of `grasplab train association`; this install "
                         "ships none)")
    if not weights.is_file():
        raise ValueError(f"--tracker-weights {weights}: no such file")
    if detector != "gsnet":
        raise ValueError(f"--tracker {tracker} detects with the GSNet of its checkpoint (per-seed "
                         f"features): pass --detector gsnet, got {detector!r}")
    if image_width != _LEARNED_IMAGE_WIDTH:
        raise ValueError(f"--image-width: --tracker {tracker} was trained on "
                         f"{_LEARNED_IMAGE_WIDTH}×480 frames: pass --image-width "
                         f"{_LEARNED_IMAGE_WIDTH}, got {image_width}")
    return weights


def _tracker_factory(tracker: str, detector: str, options: dict[str, Any],
                     weights: Path | None) -> Callable[[], Any]:
    """What ``run_dynamic_bench`` calls (once) for its tracker; fails here on bad input.

    A weighted tracker is built now by the registry from its checkpoint alone (its GSNet detects);
    the others get a fresh ``detector`` of the registry with ``options``.
    """
    from grasplab.detection.registry import build_detector
    from grasplab.detection.tracker_registry import build_tracker

    if weights is not None:
        built = build_tracker(tracker, None, {"weights": str(weights)})
        return lambda: built
    build_detector(detector, options)  # fail early on an unknown detector
    return lambda: build_tracker(tracker, build_detector(detector, options))


def dynamic(
    episodes: int = typer.Option(5, "--episodes", help="Episodes (one catch each)."),
    tracker: str = typer.Option("nearest", "--tracker", help="Tracker: nearest, oracle or learned."),
    motion: str = typer.Option("conveyor", "--motion", help=f"Motion: {', '.join(_MOTIONS)}."),
    detector: str = typer.Option("analytic", "--detector",
                                 help="A real-frame detector of the registry (analytic, gsnet)."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Output folder."),
    speed: float = typer.Option(0.05, "--speed", help="Object speed (m/s)."),
    objects: int = typer.Option(1, "--objects", help="Moving objects (crossing: 2)."),
    image_width: int = typer.Option(160, "--image-width", help="Rendered width (pixels; learned: 640)."),
    max_grasps: int = typer.Option(30, "--max-grasps", help="Grasps per frame (analytic)."),
    seed: int = typer.Option(0, "--seed", help="Seed of objects, trajectories and detector."),
    tracker_weights: Path | None = typer.Option(
        None, "--tracker-weights",
        help="Association checkpoint of --tracker learned (default: the shipped head)."),
    object_set: str = typer.Option(
        "primitives", "--object-set",
        help="Objects: primitives (boxes, cylinders) or library objects of seen, similar, novel."),
) -> None:
    """Dynamic grasping (Alg. 1): catch success, time to catch, failure causes."""
    from grasplab.detection.registry import available_detectors
    from grasplab.detection.tracker_registry import available_trackers
    from grasplab.execution.dynamic_bench import OBJECT_SETS, run_dynamic_bench
    from grasplab.execution.moving import MotionConfig
    from grasplab.objects import ObjectLibrary
    from grasplab.runtime.checks import check_output_dir, check_output_file

    stem = f"dynamic_{tracker}_{motion}" + ("" if object_set == "primitives" else f"_{object_set}")
    try:
        if object_set not in OBJECT_SETS:
            raise ValueError(f"--object-set: expected one of {', '.join(OBJECT_SETS)}, got {object_set!r}")
        if object_set != "primitives" and motion == "crossing":
            raise ValueError("--object-set: crossing moves two identical boxes; a split's objects "
                             "are for conveyor, turntable and random")
        check_output_dir(out, "--out")
        for suffix in (".json", ".md", ".attempts.csv"):
            check_output_file(out / f"{stem}{suffix}", "--out")
        if episodes < 1 or seed < 0 or image_width < 32 or max_grasps < 1:
            raise ValueError("--episodes and --max-grasps must be >= 1, --seed >= 0 and "
                             "--image-width >= 32")
        if tracker not in available_trackers():
            raise ValueError(f"--tracker: expected one of {', '.join(available_trackers())}, "
                             f"got {tracker!r}")
        tracker_weights = _check_tracker_weights(tracker, tracker_weights, detector, image_width)
        num = 2 if motion == "crossing" else objects
        config = MotionConfig(kind=motion, num_objects=num, speed=speed, image_width=image_width,
                              image_height=max(32, image_width * 3 // 4))
        if detector not in available_detectors(scene_aware=False):
            raise ValueError(f"--detector: expected one of "
                             f"{', '.join(available_detectors(scene_aware=False))}, got {detector!r}")
        options = ({"seed": seed, "max_grasps": max_grasps} if detector == "analytic"
                   else {"seed": seed} if detector == "random" else {})
        make_tracker = _tracker_factory(tracker, detector, options, tracker_weights)
        with Progress(TextColumn(f"[bold]dynamic {tracker} {motion}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("episodes", total=episodes)
            result = run_dynamic_bench(make_tracker, config, episodes, seed, name=f"{tracker}/{detector}",
                                       progress=lambda n: bar.advance(task, n), objects=object_set,
                                       library=None if object_set == "primitives" else ObjectLibrary())
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    path = result.save_json(out / f"{stem}.json")
    result.save_attempts_csv(out / f"{stem}.attempts.csv")
    markdown = result.to_markdown()
    (out / f"{stem}.md").write_text(markdown)
    console.print(markdown)
    console.print(f"→ {path}")


def add_dynamic_command(app: typer.Typer) -> None:
    """Add ``dynamic`` to the ``bench`` command group."""
    app.command("dynamic")(dynamic)
