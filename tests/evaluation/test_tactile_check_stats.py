"""Scores of a pre-lift check from hand-made attempt logs, overall and per friction coefficient."""

from __future__ import annotations

import pytest

from grasplab.evaluation.tactile_check import check_stats, check_stats_by_mu
from grasplab.execution.attempt_log import REJECTED, AttemptRecord

GRASP = (0.5, 0.08, 0.02, 0.02, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, -1)


def _row(mu: float, phase: str, held: bool, prediction: float | None, rejected: str = "") -> AttemptRecord:
    success = held and phase != REJECTED
    reason = "success" if success else ("rejected" if phase == REJECTED else "slipped")
    return AttemptRecord("d", 0, mu, phase, 0, success, reason, -1, 3, 3, 0.0, GRASP, prediction, rejected)


def test_check_stats_overall_and_per_mu() -> None:
    log = [
        _row(0.2, "clearance", True, 0.9),  # lifted, held, said hold: right
        _row(0.2, REJECTED, False, 0.1, rejected="slipped"),  # rightly rejected
        _row(0.2, REJECTED, False, 0.2, rejected="success"),  # a false reject
        _row(1.0, "clearance", False, 0.8),  # lifted, slipped, said hold: wrong
        _row(1.0, "clearance", True, 0.7),  # right
        _row(1.0, "clearance", True, None),  # not judged (e.g. no check): ignored
    ]
    overall = check_stats(log, 0.5)
    assert (overall.judged, overall.rejected, overall.would_hold, overall.false_rejects) == (5, 2, 3, 1)
    assert overall.false_reject_rate == pytest.approx(1 / 3)
    assert overall.wrong_rejection_share == pytest.approx(1 / 2)
    assert overall.accuracy == pytest.approx(3 / 5)
    by_mu = check_stats_by_mu(log, 0.5)
    assert list(by_mu) == [0.2, 1.0]
    low, high = by_mu[0.2], by_mu[1.0]
    assert (low.judged, low.rejected, low.would_hold, low.false_rejects) == (3, 2, 2, 1)
    assert low.accuracy == pytest.approx(2 / 3) and low.false_reject_rate == pytest.approx(1 / 2)
    assert (high.judged, high.rejected, high.would_hold, high.false_rejects) == (2, 0, 1, 0)
    assert high.accuracy == pytest.approx(1 / 2) and high.wrong_rejection_share == 0.0
    assert sum(s.judged for s in by_mu.values()) == overall.judged
    assert check_stats_by_mu([], 0.5) == {}
