"""Bin-picking figures from the per-attempt log: Success Rate, Percent Cleared and AP per μ.

:func:`summarize` reads only the log (:class:`~grasplab.execution.attempt_log.AttemptRecord`
rows, in the order they were run) and never modifies it. Per friction μ:

- **SR** = successful clearance attempts / clearance attempts, pooled over scenes;
- **PC** = objects lifted / objects in the scenes, pooled over scenes (each scene's object count
  read from its rows);
- **AP** (PLGP's precision of the top-k grasps) = per scene, successes / grasps executed from
  the reset scene (0 for a scene whose frame had no grasp), then the mean over scenes.

The headline figures are the means over μ, as PLGP reports them; ``reasons`` counts the outcome
of every executed trial and every clearance frame without a grasp (``no_grasp``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from grasplab.execution.attempt_log import AttemptRecord

__all__ = ["BinpickMuResult", "BinpickSummary", "summarize"]


@dataclass(frozen=True)
class BinpickMuResult:
    """Counts and metrics at one friction μ, pooled over scenes."""

    mu: float
    success_rate: float
    percent_cleared: float
    ap: float
    attempts: int
    cleared: int
    objects: int
    ap_executed: int
    ap_successes: int


@dataclass(frozen=True)
class BinpickSummary:
    """Figures of a log (fractions in [0, 1]).

    Attributes:
        per_mu: one row per μ.
        success_rate: mean SR over μ.
        percent_cleared: mean PC over μ.
        ap: mean AP over μ.
        reasons: how many trials ended with each ``GraspOutcome.reason`` (plus ``no_grasp``),
            sorted by name.
    """

    per_mu: tuple[BinpickMuResult, ...]
    success_rate: float
    percent_cleared: float
    ap: float
    reasons: dict[str, int]


def _mu_row(mu: float, rows: Sequence[AttemptRecord]) -> BinpickMuResult:
    clearance = [r for r in rows if r.phase == "clearance"]
    attempts, cleared = len(clearance), sum(r.success for r in clearance)
    objects = sum({r.scene: r.num_objects for r in clearance}.values())
    per_scene: dict[int, list[AttemptRecord]] = {}
    for r in rows:
        if r.phase == "top_k":
            per_scene.setdefault(r.scene, []).append(r)
    ap_sum, executed, ap_ok = 0.0, 0, 0
    for scene_rows in per_scene.values():  # scenes in the order they were run
        n = sum(r.executed for r in scene_rows)
        ok = sum(r.success for r in scene_rows)
        executed, ap_ok = executed + n, ap_ok + ok
        ap_sum += ok / n if n else 0.0
    scenes = len(per_scene)
    return BinpickMuResult(
        mu=mu, success_rate=cleared / attempts if attempts else 0.0,
        percent_cleared=cleared / objects if objects else 0.0,
        ap=ap_sum / scenes if scenes else 0.0, attempts=attempts, cleared=int(cleared),
        objects=objects, ap_executed=executed, ap_successes=int(ap_ok))


def summarize(log: Iterable[AttemptRecord],
              mu_values: Sequence[float] | None = None) -> BinpickSummary:
    """SR, PC and AP per μ and their means from a per-attempt log (module docstring).

    Args:
        log: attempt rows of one detector, in the order they were run.
        mu_values: the μ rows to report, in order (a μ without rows reports zeros); default
            the μ of the log in order of appearance.

    Returns:
        :class:`BinpickSummary`.

    Raises:
        ValueError: an empty ``mu_values``.
    """
    rows = tuple(log)
    mus = tuple(float(m) for m in mu_values) if mu_values is not None else tuple(
        dict.fromkeys(float(r.mu) for r in rows))
    if mu_values is not None and not mus:
        raise ValueError("summarize: mu_values is empty")
    per_mu = tuple(_mu_row(mu, [r for r in rows if float(r.mu) == mu]) for mu in mus)
    reasons = Counter(r.reason for r in rows if r.executed or r.phase == "clearance")
    return BinpickSummary(
        per_mu=per_mu,
        success_rate=float(np.mean([r.success_rate for r in per_mu])) if per_mu else 0.0,
        percent_cleared=float(np.mean([r.percent_cleared for r in per_mu])) if per_mu else 0.0,
        ap=float(np.mean([r.ap for r in per_mu])) if per_mu else 0.0,
        reasons=dict(sorted(reasons.items())))
