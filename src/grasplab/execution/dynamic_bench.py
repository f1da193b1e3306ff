"""The dynamic-grasping benchmark: catch success, time to catch and failure causes per tracker.

Each episode draws objects (boxes and cylinders of
:func:`~grasplab.execution.moving.motion_objects`, or library objects of a split: ``objects=
"seen"|"similar"|"novel"``, :func:`draw_split_objects`) and their trajectories from the
episode's seed, builds a :class:`~grasplab.execution.moving.MovingScene`
and the floating gripper, and runs :func:`~grasplab.execution.dynamic.run_dynamic_episode`
with the given tracker. Every episode is one row of the per-attempt log (phase ``"catch"``);
the figures are computed from the episodes. Seconds: ``time_to_catch`` is simulated time,
``seconds_per_frame`` is wall time of detection + association per frame.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.detection.tracking import GraspTracker
from grasplab.execution.attempt_log import AttemptRecord, write_attempts_csv
from grasplab.execution.dynamic import DynamicConfig, DynamicEpisode, run_dynamic_episode
from grasplab.execution.grasp_execution import set_grasp_friction
from grasplab.execution.moving import MotionConfig, MovingScene, motion_objects
from grasplab.execution.sim_gripper import SimGripper
from grasplab.execution.trajectories import make_trajectories
from grasplab.objects import split_object_ids
from grasplab.scenes import ObjectSource

__all__ = ["OBJECT_SETS", "DynamicBenchResult", "draw_split_objects", "run_dynamic_bench"]

#: What an episode's objects are: generated boxes and cylinders, or library objects of a split.
OBJECT_SETS = ("primitives", "seen", "similar", "novel")


@dataclass(frozen=True)
class DynamicBenchResult:
    """Figures of one tracker on one motion.

    Attributes:
        name: ``<tracker>/<detector>``.
        motion: the motion settings (JSON-able).
        episodes: per-episode results.
        success_rate: caught / episodes.
        mean_time_to_catch: mean simulated seconds to close over caught episodes (NaN if none).
        reasons: episodes per outcome.
        seconds_per_frame: mean wall seconds of ``tracker.update`` per frame.
        mu: friction of the trials.
        switches: identity switches of the followed target, summed over episodes.
        objects: the object set (one of :data:`OBJECT_SETS`).
    """

    name: str
    motion: dict[str, Any]
    episodes: tuple[DynamicEpisode, ...]
    success_rate: float
    mean_time_to_catch: float
    reasons: dict[str, int]
    seconds_per_frame: float
    mu: float = 1.0
    switches: int = 0
    records: tuple[AttemptRecord, ...] = field(default=(), repr=False, compare=False)
    objects: str = "primitives"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures and episodes (NaN written as null)."""
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not np.isfinite(v) else v
        out = {k: clean(v) for k, v in asdict(self).items() if k not in ("episodes", "records")}
        out["episodes"] = [{k: clean(v) for k, v in asdict(e).items()} for e in self.episodes]
        return out

    def save_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON; returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2))
        return out

    def save_attempts_csv(self, path: str | Path) -> Path:
        """Write the per-episode log rows; returns the path."""
        return write_attempts_csv(path, self.records)

    def _motion_label(self) -> str:
        kind = str(self.motion["kind"])
        return kind if self.objects == "primitives" else f"{kind} ({self.objects})"

    def to_markdown(self) -> str:
        """One Markdown table row (with header) of the figures."""
        ttc = "–" if not np.isfinite(self.mean_time_to_catch) else f"{self.mean_time_to_catch:.2f}"
        causes = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
        return ("| tracker | motion | episodes | caught (%) | time to catch (s) | s / frame | "
                "switches | outcomes |\n|---|---|---|---|---|---|---|---|\n"
                f"| {self.name} | {self._motion_label()} | {len(self.episodes)} | "
                f"{100 * self.success_rate:.1f} | {ttc} | {self.seconds_per_frame:.3f} | "
                f"{self.switches} | {causes} |\n")


def draw_split_objects(split: str, num_objects: int, rng: np.random.Generator) -> list[int]:
    """``num_objects`` distinct library object ids of a split, drawn with ``rng``.

    Raises:
        ValueError: unknown split, or fewer objects in it than asked for.
    """
    ids = split_object_ids(split)
    if num_objects > len(ids):
        raise ValueError(f"split {split!r} has {len(ids)} objects, asked for {num_objects}")
    return [int(i) for i in rng.choice(ids, size=num_objects, replace=False)]


def _check_objects(objects: str, motion: MotionConfig, library: ObjectSource | None) -> None:
    if objects not in OBJECT_SETS:
        raise ValueError(f"objects: expected one of {', '.join(OBJECT_SETS)}, got {objects!r}")
    if objects != "primitives" and motion.kind == "crossing":
        raise ValueError("objects: 'crossing' moves two identical boxes; library objects of a split "
                         "are for conveyor, turntable and random")
    if objects != "primitives" and library is None:
        raise ValueError(f"objects {objects!r}: pass the object library that loads them")


def run_dynamic_bench(make_tracker: Callable[[], GraspTracker], motion: MotionConfig,
                      episodes: int, seed: int = 0, *, name: str = "tracker",
                      config: DynamicConfig | None = None, mu: float = 1.0,
                      progress: Callable[[int], None] | None = None, objects: str = "primitives",
                      library: ObjectSource | None = None) -> DynamicBenchResult:
    """Run ``episodes`` dynamic catches of fresh trackers on one motion.

    Args:
        make_tracker: builds the tracker (called once; reset before each episode).
        motion: the moving-object setup.
        episodes: number of episodes, >= 1.
        seed: episode ``k`` draws objects and trajectories from ``[seed, k]``.
        name: the name written in the log.
        config: loop constants.
        mu: friction of finger-object contacts.
        progress: called with 1 after each episode.
        objects: ``"primitives"`` (boxes and cylinders of 3-5 cm) or a split whose library
            objects are drawn (``"seen"``, ``"similar"``, ``"novel"``; not for ``crossing``).
        library: loads a split's objects (e.g. :class:`grasplab.objects.ObjectLibrary`).

    Raises:
        ValueError: ``episodes`` < 1, an unknown object set, a split with ``crossing`` or
            without a library.
    """
    if episodes < 1:
        raise ValueError(f"episodes: expected >= 1, got {episodes}")
    _check_objects(objects, motion, library)
    tracker = make_tracker()
    results: list[DynamicEpisode] = []
    source: ObjectSource
    for k in range(int(episodes)):
        gen = np.random.default_rng([seed, k])
        with tempfile.TemporaryDirectory(prefix="grasplab_motion_") as folder:
            if objects == "primitives":
                primitives = motion_objects(folder, motion.kind, motion.num_objects, gen)
                source, ids = primitives, primitives.ids()
            else:
                assert library is not None  # _check_objects
                source, ids = library, draw_split_objects(objects, motion.num_objects, gen)
            trajectories = make_trajectories(motion.kind, motion.num_objects, motion.speed, gen)
            with MovingScene(source, ids, trajectories, motion) as scene:
                hand = SimGripper(scene.world)
                set_grasp_friction(scene.world, hand, mu)
                results.append(run_dynamic_episode(scene, hand, tracker, config))
        if progress is not None:
            progress(1)
    caught = [e for e in results if e.success]
    frames = sum(e.frames for e in results)
    records = tuple(e.to_record(name, k, motion.num_objects, mu) for k, e in enumerate(results))
    return DynamicBenchResult(
        name, asdict(motion), tuple(results), len(caught) / len(results),
        float(np.mean([e.time_to_catch for e in caught])) if caught else float("nan"),
        dict(Counter(e.reason for e in results)),
        sum(e.track_seconds for e in results) / max(frames, 1), mu,
        sum(e.switches for e in results), records, objects)
