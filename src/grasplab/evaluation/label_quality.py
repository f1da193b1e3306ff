"""Label quality in physics: the GraspNet-1Billion Table 2 analogue (label score vs lift success).

GraspNet-1Billion §5.1 executes label grasps of score s = 1.0, 0.5 and 0.1 (label friction
μ = 1.1 - s = 0.1, 0.6, 1.0) on a real robot and reports success per score: high scores must
succeed far more often than low ones. Here each object rests alone in the tray; its analytic
labels (``labels.label_object``, via :class:`~grasplab.detection.baselines.OracleDetector`:
collision-free with the table and tray, approach within ``max_approach_angle`` of straight
down) are bucketed by score, and up to ``grasps_per_bucket`` grasps per bucket are executed
with the floating gripper, each from the reset scene.

Two friction modes:

- ``"fixed"``: every grasp at one simulation friction (a real robot has one friction), for each
  of ``sim_mus``: the Table 2 analogue. A grasp with label μ ≤ the simulation's μ is force
  closure there, one with a larger μ is not, so at a given friction success should fall with
  the score, and for a given score it should rise with the friction.
- ``"matching"``: each bucket at exactly its own label μ (a consistency check). The label μ is
  the *smallest* grid μ that closes the two-point contact model, so at exactly that friction a
  grasp sits on the edge of its friction cone; small differences between the label's contacts
  and the simulated finger patches then decide, and success well below the ``"fixed"`` rows at
  larger frictions is expected. Force closure also ignores force magnitudes: the fingers
  squeeze with ``finger_force`` F each, so friction can carry at most 2 μ F; at μ = 0.1 and
  F = 5 N that is 1 N, about the weight of a 100 g object.

Each row also reports a *strict* success: lifted **and** the object turned by at most
``max_turn`` while the jaws closed. Light objects on a support are often re-oriented by the
closing jaws into an antipodal pose (PLGP Fig. 7b); such a lift says little about the grasp that
was labelled, so the strict figure is the closer analogue of judging the label itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from grasplab.core import GraspGroup, GripperModel, as_rng, make_transform
from grasplab.core.rotations import quaternion_to_matrix
from grasplab.core.validation import RngLike
from grasplab.detection.baselines import COARSE_LABEL_CONFIG, OracleConfig, OracleDetector, SceneState
from grasplab.evaluation.report import JsonResult
from grasplab.execution.grasp_execution import ExecutionConfig, execute_grasp, set_grasp_friction
from grasplab.execution.sim_gripper import SimGripper, SimGripperConfig
from grasplab.labels import ObjectLabelConfig
from grasplab.scenes import TRAY_FLOOR_Z, ObjectSource, World

__all__ = ["LabelQualityConfig", "LabelQualityResult", "LabelQualityRow", "run_label_quality"]

FRICTION_MODES = ("fixed", "matching")


@dataclass(frozen=True)
class LabelQualityConfig:
    """Settings of :func:`run_label_quality`.

    Attributes:
        scores: label score buckets (GraspNet: 1.0, 0.5, 0.1; label μ = 1.1 - score).
        grasps_per_bucket: grasps executed per object and bucket (fewer if fewer exist).
        friction_modes: ``"fixed"`` and/or ``"matching"`` (module docstring).
        sim_mus: the simulation frictions of the ``"fixed"`` mode.
        label_config: label settings.
        max_approach_angle: largest angle between an approach and straight down (rad).
        max_turn: largest object rotation while closing for a strict success (rad).
        gripper: gripper geometry.
        execution: grasp-trial settings.
        hand: physical settings of the simulated gripper.
    """

    scores: tuple[float, ...] = (1.0, 0.5, 0.1)
    grasps_per_bucket: int = 20
    friction_modes: tuple[str, ...] = FRICTION_MODES
    sim_mus: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    label_config: ObjectLabelConfig = field(default_factory=lambda: COARSE_LABEL_CONFIG)
    max_approach_angle: float = float(np.deg2rad(45.0))
    max_turn: float = float(np.deg2rad(10.0))
    gripper: GripperModel = field(default_factory=GripperModel)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    hand: SimGripperConfig = field(default_factory=SimGripperConfig)

    def __post_init__(self) -> None:
        scores = tuple(float(s) for s in self.scores)
        if not scores or any(not 0.05 <= s <= 1.05 for s in scores):
            raise ValueError(f"LabelQualityConfig.scores: expected scores in [0.1, 1.0], got {scores}")
        object.__setattr__(self, "scores", scores)
        if int(self.grasps_per_bucket) < 1:
            raise ValueError(f"LabelQualityConfig.grasps_per_bucket: expected >= 1, got "
                             f"{self.grasps_per_bucket}")
        bad = [m for m in self.friction_modes if m not in FRICTION_MODES]
        if bad or not self.friction_modes:
            raise ValueError(f"LabelQualityConfig.friction_modes: expected some of {FRICTION_MODES}, "
                             f"got {self.friction_modes}")
        mus = tuple(float(m) for m in self.sim_mus)
        if not mus or any(not np.isfinite(m) or m <= 0 for m in mus):
            raise ValueError(f"LabelQualityConfig.sim_mus: expected positive frictions, got {mus}")
        object.__setattr__(self, "sim_mus", mus)


@dataclass(frozen=True)
class LabelQualityRow:
    """Success of one score bucket in one friction mode (pooled over objects)."""

    mode: str
    score: float
    label_mu: float
    sim_mu: float
    executed: int
    successes: int
    success_rate: float
    strict_successes: int
    strict_success_rate: float
    reasons: dict[str, int]


@dataclass(frozen=True)
class LabelQualityResult(JsonResult):
    """Rows per (mode, score), the objects used and the wall time."""

    rows: tuple[LabelQualityRow, ...]
    object_ids: tuple[int, ...]
    config: dict[str, Any]
    seconds: float

    def to_markdown(self) -> str:
        """A Markdown table: success per score bucket and friction mode."""
        lines = [f"### Label quality ({len(self.object_ids)} objects)", "",
                 "| friction mode | score s | label μ | sim μ | success | strict success "
                 "| executed | reasons |", "|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            sim = f"{r.sim_mu:.1f}" + ("" if r.mode == "fixed" else " (= label μ)")
            why = ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items()))
            lines.append(f"| {r.mode} | {r.score:.1f} | {r.label_mu:.1f} | {sim} | "
                         f"{100 * r.success_rate:.1f}% | {100 * r.strict_success_rate:.1f}% | "
                         f"{r.executed} | {why} |")
        return "\n".join(lines) + "\n"


def _place_object(world: World, library: ObjectSource, object_id: int,
                  gen: np.random.Generator) -> None:
    """Drop the object at a random orientation onto the tray floor and let it settle."""
    obj = library.load(object_id)
    q = gen.normal(size=(1, 4))
    R = quaternion_to_matrix(q / np.linalg.norm(q))[0]
    low = float((np.asarray(obj.mesh.vertices) @ R.T)[:, 2].min())
    world.add_object(obj, make_transform(R, np.array([0.0, 0.0, TRAY_FLOOR_Z + 0.01 - low])))
    world.settle(max_steps=1200)


def _buckets(grasps: GraspGroup, scores: Sequence[float], per_bucket: int,
             gen: np.random.Generator) -> list[GraspGroup]:
    out = []
    for s in scores:
        idx = np.flatnonzero(np.abs(grasps.scores - s) < 1e-3)
        if len(idx) > per_bucket:
            idx = np.sort(gen.choice(idx, per_bucket, replace=False))
        out.append(grasps[idx])
    return out


def _object_trials(library: ObjectSource, object_id: int, cfg: LabelQualityConfig,
                   oracle: OracleDetector, gen: np.random.Generator,
                   tally: dict[tuple[str, float, float], Counter[str]]) -> None:
    """Execute one object's bucketed label grasps in every friction mode; adds to ``tally``."""
    with World() as world:
        world.add_table_and_tray()
        _place_object(world, library, object_id, gen)
        oracle.bind(SceneState.from_world(world))
        buckets = _buckets(oracle.world_grasps(), cfg.scores, cfg.grasps_per_bucket, gen)
        hand = SimGripper(world, cfg.gripper, cfg.hand)
        p, client = world.p, world.client
        state = p.saveState(physicsClientId=client)
        for mode, score, sim_mu in tally:
            group = buckets[cfg.scores.index(score)]
            set_grasp_friction(world, hand, sim_mu)
            for row in range(len(group)):
                p.restoreState(stateId=state, physicsClientId=client)
                hand.park()
                outcome = execute_grasp(world, hand, group[row], cfg.execution)
                tally[(mode, score, sim_mu)][outcome.reason] += 1
                if outcome.success and outcome.object_rotation <= cfg.max_turn:
                    tally[(mode, score, sim_mu)]["strict"] += 1


def run_label_quality(
    library: ObjectSource,
    object_ids: Sequence[int],
    config: LabelQualityConfig | None = None,
    rng: RngLike = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> LabelQualityResult:
    """Execute label grasps per score bucket on single objects in the tray (module docstring).

    Args:
        library: loads objects by id.
        object_ids: the objects to test.
        config: :class:`LabelQualityConfig`.
        rng: seed or generator (poses, labels, grasp draws).
        progress: called with 1 after each object.

    Returns:
        :class:`LabelQualityResult` with one row per (friction mode, score).

    Raises:
        ValueError: no object ids or a bad config.
    """
    cfg = config or LabelQualityConfig()
    ids = tuple(int(i) for i in object_ids)
    if not ids:
        raise ValueError("object_ids: expected at least one object id")
    gen, start = as_rng(rng), time.perf_counter()
    oracle = OracleDetector(library, cfg.gripper, OracleConfig(
        label_config=cfg.label_config, max_mu=1.0, max_per_object=100_000,
        max_approach_angle=cfg.max_approach_angle, max_grasps=1_000_000), rng=gen)
    tally: dict[tuple[str, float, float], Counter[str]] = {}
    for mode in cfg.friction_modes:
        for score in cfg.scores:
            for sim_mu in cfg.sim_mus if mode == "fixed" else (round(1.1 - score, 6),):
                tally[(mode, score, sim_mu)] = Counter()
    for oid in ids:
        _object_trials(library, oid, cfg, oracle, gen, tally)
        if progress is not None:
            progress(1)
    rows = []
    for (mode, score, sim_mu), counts in tally.items():
        strict = counts.pop("strict", 0)
        reasons = counts
        executed, ok = sum(reasons.values()), reasons.get("success", 0)
        rows.append(LabelQualityRow(
            mode=mode, score=score, label_mu=round(1.1 - score, 6), sim_mu=sim_mu,
            executed=executed,
            successes=ok, success_rate=ok / executed if executed else 0.0,
            strict_successes=strict, strict_success_rate=strict / executed if executed else 0.0,
            reasons=dict(sorted(reasons.items()))))
    return LabelQualityResult(tuple(rows), ids, asdict(cfg), time.perf_counter() - start)
