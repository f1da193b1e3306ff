"""SR, PC and AP from a hand-built attempt log (known answers)."""

from __future__ import annotations

import copy

import pytest

from grasplab.evaluation.binpick_summary import summarize
from grasplab.execution.attempt_log import AttemptRecord

G = tuple(float(v) for v in range(17))


def _a(scene: int, mu: float, phase: str, k: int, ok: bool | None, n: int = 2) -> AttemptRecord:
    """``ok`` None: a frame without a grasp."""
    reason = "no_grasp" if ok is None else ("success" if ok else "slipped")
    return AttemptRecord("d", scene, mu, phase, k, bool(ok), reason, -1, n, n, 0.0,
                         () if ok is None else G)


def hand_log() -> list[AttemptRecord]:
    return [
        # scene 0 (2 objects): top-4 at μ 0.5 -> 3/4; clearance S F S -> 2 of 3 attempts, 2/2 lifted
        *[_a(0, 0.5, "top_k", k, ok) for k, ok in enumerate((True, False, True, True))],
        *[_a(0, 0.5, "clearance", k, ok) for k, ok in enumerate((True, False, True))],
        # scene 1 (3 objects): no grasp on the first frame -> AP 0; clearance no-grasp, S, F
        _a(1, 0.5, "top_k", 0, None, 3),
        *[_a(1, 0.5, "clearance", k, ok, 3) for k, ok in enumerate((None, True, False))],
        # μ 1.0, scene 0 only: top-2 -> 1/2; clearance S S
        *[_a(0, 1.0, "top_k", k, ok) for k, ok in enumerate((False, True))],
        *[_a(0, 1.0, "clearance", k, ok) for k, ok in enumerate((True, True))],
    ]


def test_summary_of_a_hand_built_log() -> None:
    log = hand_log()
    before = copy.deepcopy(log)
    s = summarize(log, (0.5, 1.0))
    assert log == before  # the log is not modified
    lo, hi = s.per_mu
    # μ 0.5: SR = 3 successes / 6 attempts; PC = 3 lifted / 5 objects; AP = (3/4 + 0) / 2
    assert (lo.attempts, lo.cleared, lo.objects) == (6, 3, 5)
    assert (lo.ap_executed, lo.ap_successes) == (4, 3)
    assert lo.success_rate == pytest.approx(0.5)
    assert lo.percent_cleared == pytest.approx(0.6)
    assert lo.ap == pytest.approx(0.375)
    # μ 1.0: SR 2/2, PC 2/2, AP 1/2
    assert (hi.success_rate, hi.percent_cleared, hi.ap) == (1.0, 1.0, 0.5)
    assert s.success_rate == pytest.approx(0.75)
    assert s.percent_cleared == pytest.approx(0.8)
    assert s.ap == pytest.approx(0.4375)
    # every executed trial and every clearance frame without a grasp; not the AP no-grasp row
    assert s.reasons == {"no_grasp": 1, "slipped": 4, "success": 9}


def test_mu_order_and_missing_mu() -> None:
    log = hand_log()
    assert [r.mu for r in summarize(log).per_mu] == [0.5, 1.0]
    empty = summarize(log, (0.2,)).per_mu[0]
    assert (empty.attempts, empty.success_rate, empty.ap) == (0, 0.0, 0.0)
    with pytest.raises(ValueError, match="mu_values"):
        summarize(log, ())
