"""Bin-picking with and without a tactile pre-lift check (``grasplab bench binpick --tactile-check``).

The same seeded scenes are cleared twice: once as the PLGP benchmark does
(:func:`~grasplab.evaluation.binpick.run_binpick`), once with a
:class:`~grasplab.execution.grasp_check.PreLiftCheck` (e.g. :class:`grasplab.tactile.check.
TactileCheck`) that re-opens the jaws on a grasp it predicts to fail and tries the frame's next
grasp. SR (successful lifts / lift attempts; a rejection is not an attempt) and PC are compared,
and the check itself is scored from the per-attempt log (:func:`check_stats`): every grasp it
judged has a known outcome, because a rejected grasp is also lifted from the saved state to see
what it would have done (``rejected_outcome``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from grasplab.core.validation import RngLike
from grasplab.detection.protocol import Detector
from grasplab.evaluation.binpick import BinpickConfig, BinpickResult, run_binpick
from grasplab.evaluation.report import JsonResult
from grasplab.execution.attempt_log import REJECTED, AttemptRecord
from grasplab.execution.grasp_check import PreLiftCheck
from grasplab.scenes import ObjectSource

__all__ = ["CheckStats", "TactileCheckResult", "check_stats", "check_stats_by_mu", "compare_with_check"]


@dataclass(frozen=True)
class CheckStats:
    """How a pre-lift check judged the clearance grasps it saw.

    Attributes:
        threshold: its success-probability threshold.
        judged: grasps it predicted (lifted or rejected).
        rejected: grasps it rejected (re-opened).
        would_hold: judged grasps whose lift held (or would have held, if rejected).
        false_rejects: rejected grasps that would have held.
        false_reject_rate: ``false_rejects / would_hold`` (0 without any).
        wrong_rejection_share: ``false_rejects / rejected`` (0 without rejections).
        accuracy: share of judged grasps whose outcome the prediction got right.
    """

    threshold: float
    judged: int
    rejected: int
    would_hold: int
    false_rejects: int
    false_reject_rate: float
    wrong_rejection_share: float
    accuracy: float


def check_stats(log: Iterable[AttemptRecord], threshold: float) -> CheckStats:
    """Score a check from the per-attempt log of a checked run.

    Args:
        log: attempt rows; rows with a ``prediction`` were judged (clearance rows held if
            ``success``; ``"rejected"`` rows would have held if ``rejected_outcome`` is
            ``"success"``).
        threshold: the check's threshold (a prediction below it means "will fail").

    Returns:
        :class:`CheckStats`.
    """
    judged = [r for r in log if r.prediction is not None and r.phase in ("clearance", REJECTED)]
    truth = [r.rejected_outcome == "success" if r.phase == REJECTED else r.success for r in judged]
    said_hold = [float(r.prediction) >= threshold for r in judged]  # type: ignore[arg-type]
    rejected = sum(r.phase == REJECTED for r in judged)
    false_rejects = sum(r.phase == REJECTED and t for r, t in zip(judged, truth, strict=True))
    hold = sum(truth)
    right = sum(s == t for s, t in zip(said_hold, truth, strict=True))
    return CheckStats(
        threshold=float(threshold), judged=len(judged), rejected=rejected, would_hold=hold,
        false_rejects=false_rejects, false_reject_rate=false_rejects / hold if hold else 0.0,
        wrong_rejection_share=false_rejects / rejected if rejected else 0.0,
        accuracy=right / len(judged) if judged else 0.0)


def check_stats_by_mu(log: Iterable[AttemptRecord], threshold: float) -> dict[float, CheckStats]:
    """:func:`check_stats` of each friction coefficient's rows, in increasing μ."""
    rows = list(log)
    return {mu: check_stats([r for r in rows if r.mu == mu], threshold)
            for mu in sorted({r.mu for r in rows})}


@dataclass(frozen=True)
class TactileCheckResult(JsonResult):
    """Bin-picking without and with the check, and the check's scores.

    Attributes:
        without: the plain benchmark.
        with_check: the clearance runs with the check (no AP: the check does not change it).
        stats: the check's scores on the checked run.
        stats_by_mu: the same per friction coefficient.
    """

    without: BinpickResult
    with_check: BinpickResult
    stats: CheckStats
    stats_by_mu: dict[float, CheckStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures of both runs and the check (overall and per μ)."""
        return {"without": self.without.to_dict(), "with_check": self.with_check.to_dict(),
                "check": asdict(self.stats),
                "check_by_mu": {f"{mu:g}": asdict(s) for mu, s in self.stats_by_mu.items()}}

    def _mu_rows(self) -> list[str]:
        if not self.stats_by_mu:
            return []
        plain = {r.mu: r for r in self.without.per_mu}
        checked = {r.mu: r for r in self.with_check.per_mu}
        rows = ["| μ | SR without / with (%) | PC without / with (%) | judged | would hold | rejected | "
                "false-reject rate (%) | accuracy (%) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for mu, s in self.stats_by_mu.items():
            a, b = plain.get(mu), checked.get(mu)
            sr = f"{100 * a.success_rate:.1f} / {100 * b.success_rate:.1f}" if a and b else "–"
            pc = f"{100 * a.percent_cleared:.1f} / {100 * b.percent_cleared:.1f}" if a and b else "–"
            rows.append(f"| {mu:g} | {sr} | {pc} | {s.judged} | {s.would_hold} | {s.rejected} | "
                        f"{100 * s.false_reject_rate:.1f} | {100 * s.accuracy:.1f} |")
        return [*rows, ""]

    def to_markdown(self) -> str:
        """A Markdown table: SR / PC without and with the check, and the check's scores."""
        s, a, b = self.stats, self.without, self.with_check
        attempts = sum(r.attempts for r in b.per_mu)
        return "\n".join([
            f"### Bin-picking with a tactile pre-lift check: {a.detector} "
            f"({a.config['num_objects']} objects, {a.config['split']}, "
            f"{a.config['num_scenes']} scenes)", "",
            "| run | SR (%) | PC (%) | lift attempts | rejections |", "|---|---:|---:|---:|---:|",
            f"| without | {100 * a.success_rate:.1f} | {100 * a.percent_cleared:.1f} | "
            f"{sum(r.attempts for r in a.per_mu)} | 0 |",
            f"| with tactile check | {100 * b.success_rate:.1f} | {100 * b.percent_cleared:.1f} | "
            f"{attempts} | {s.rejected} |", "",
            f"Check (threshold {s.threshold:.2f}): {s.judged} grasps judged, accuracy "
            f"{100 * s.accuracy:.1f} %; false-reject rate {100 * s.false_reject_rate:.1f} % "
            f"({s.false_rejects} of {s.would_hold} grasps that would hold); "
            f"{100 * s.wrong_rejection_share:.1f} % of the rejections were wrong.", "",
            *self._mu_rows()])


def compare_with_check(detector: Detector, check: PreLiftCheck, config: BinpickConfig,
                       rng: int, *, library: ObjectSource | None = None,
                       object_pool: Sequence[int] | None = None, detector_name: str | None = None,
                       progress: Callable[[int], None] | None = None) -> TactileCheckResult:
    """Run the benchmark without and with ``check`` on the same scenes (module docstring).

    Args:
        detector: the grasp detector.
        check: the pre-lift check.
        config: the benchmark (the checked run skips AP).
        rng: an integer seed (both runs draw the same scenes from it).
        library, object_pool, detector_name, progress: as :func:`run_binpick`.
    """
    seed: RngLike = int(rng)
    kwargs: dict[str, Any] = {"library": library, "object_pool": object_pool,
                              "detector_name": detector_name, "progress": progress}
    without = run_binpick(detector, config, seed, **kwargs)
    checked_cfg = replace(config, run_ap=False, run_clearance=True)
    with_check = run_binpick(detector, checked_cfg, seed, check=check, **kwargs)
    return TactileCheckResult(without, with_check, check_stats(with_check.log, check.threshold),
                              check_stats_by_mu(with_check.log, check.threshold))
