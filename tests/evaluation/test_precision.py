import numpy as np
import pytest

from grasplab.evaluation.precision import MU_GRID, precision_at_k, summarize_ap


def test_precision_hand_computed_with_fewer_grasps_than_k():
    # sorted by confidence: 0.2 (good everywhere), -1 (bad), 0.6 (good for mu >= 0.6), 1.2
    scores = np.array([0.2, -1.0, 0.6, 1.2])
    acc = precision_at_k(scores)
    assert acc.shape == (50, 6)
    # mu = 0.2: hits 1,1,1,1 then stays 1 -> 1/k
    np.testing.assert_allclose(acc[:, 0], 1.0 / np.arange(1, 51))
    # mu = 0.6: cumulative hits 1,1,2,2,2,... ; denominator is always k
    np.testing.assert_allclose(acc[:5, 2], [1, 1 / 2, 2 / 3, 2 / 4, 2 / 5])
    np.testing.assert_allclose(acc[49, 2], 2 / 50)
    # mu = 1.2: 1,1,2,3 hits
    np.testing.assert_allclose(acc[:4, 5], [1, 1 / 2, 2 / 3, 3 / 4])
    np.testing.assert_allclose(acc[49, 5], 3 / 50)


def test_precision_empty_and_truncation():
    np.testing.assert_array_equal(precision_at_k(np.zeros(0)), np.zeros((50, 6)))
    many = np.full(70, 0.4)
    acc = precision_at_k(many)
    np.testing.assert_allclose(acc[:, 0], 0.0)
    np.testing.assert_allclose(acc[:, 1:], 1.0)
    with pytest.raises(ValueError):
        precision_at_k(np.zeros(3), top_k=0)


def test_summarize_ap_means():
    acc = np.zeros((2, 50, 6))
    acc[0, :, 5] = 1.0  # only mu = 1.2 counts in frame 0
    acc[1, :, 0] = 0.5
    summary = summarize_ap(acc)
    assert summary.num_frames == 2
    assert summary.ap == pytest.approx((1.0 + 0.5) / 12)
    assert summary.ap_paper == pytest.approx(0.5 / 10)
    assert summary.ap_mu[1.2] == pytest.approx(0.5)
    pct = summary.as_percent()
    assert pct["AP_mu"]["1.2"] == pytest.approx(50.0)
    assert set(pct["AP_mu"]) == {f"{mu:.1f}" for mu in MU_GRID}
    assert summarize_ap(np.zeros((0, 50, 6))).ap == 0.0
