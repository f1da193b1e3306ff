"""Probes on frozen features: separable features are classified perfectly, noise at chance."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from grasplab.evaluation.tactile_probes import PROBES, knn_k, make_probe, run_probes  # noqa: E402


def _blobs(rng: np.random.Generator, num: int, gap: float) -> tuple[np.ndarray, np.ndarray]:
    y = rng.random(num) < 0.5
    x = rng.normal(0, 1, (num, 16))
    x[:, 3] += np.where(y, gap, -gap)
    return x, y


def test_separable_features_give_full_accuracy(rng: np.random.Generator) -> None:
    x, y = _blobs(rng, 300, 6.0)
    tx, ty = _blobs(rng, 100, 6.0)
    result = run_probes(x, y, tx, ty, rng=rng)
    assert set(result.accuracy) == set(PROBES)
    for name, acc in result.accuracy.items():
        assert acc >= 0.99, name
    assert result.k == 17 and result.num_train == 300 and result.num_test == 100
    assert 0.3 < result.test_success_rate < 0.7
    assert result.to_dict()["accuracy"] == result.accuracy


def test_noise_features_stay_near_chance(rng: np.random.Generator) -> None:
    x, y = _blobs(rng, 300, 0.0)
    tx, ty = _blobs(rng, 300, 0.0)
    result = run_probes(x, y, tx, ty, rng=rng, probes=("knn", "svm"))
    assert set(result.accuracy) == {"knn", "svm"}
    assert all(0.35 < acc < 0.65 for acc in result.accuracy.values())


def test_probes_are_deterministic_per_rng(rng: np.random.Generator) -> None:
    x, y = _blobs(rng, 120, 1.0)
    a = run_probes(x, y, x, y, rng=np.random.default_rng(5), probes=("mlp",))
    b = run_probes(x, y, x, y, rng=np.random.default_rng(5), probes=("mlp",))
    assert a.accuracy == b.accuracy


def test_knn_k_is_root_n() -> None:
    assert knn_k(6000) == 77 and knn_k(1) == 1 and knn_k(99) == 10
    assert make_probe("knn", 4, 0)[-1].n_neighbors == 2


def test_bad_inputs(rng: np.random.Generator) -> None:
    x, y = _blobs(rng, 20, 3.0)
    with pytest.raises(ValueError, match="both"):
        run_probes(x, np.ones(20, bool), x, y, rng=rng)
    with pytest.raises(ValueError, match="features"):
        run_probes(x, y, x[:, :4], y, rng=rng)
    with pytest.raises(ValueError, match="labels"):
        run_probes(x, y[:5], x, y, rng=rng)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        run_probes(bad, y, x, y, rng=rng)
    with pytest.raises(ValueError, match="unknown probe"):
        make_probe("forest", 10, 0)


def test_mlp_probe_is_regularised_with_the_documented_weight() -> None:
    from grasplab.evaluation.tactile_probes import MLP_ALPHA, make_probe

    probe = make_probe("mlp", 100, 0)
    assert probe[-1].alpha == MLP_ALPHA == 1.0 and probe[-1].hidden_layer_sizes == (256,)
