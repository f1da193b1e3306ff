"""Probes on frozen features: how well a representation predicts a grasp's outcome.

The tactile MoCo paper evaluates a frozen encoder by fitting three classifiers on the training
trials' features and reporting their test accuracy: K-nearest neighbours with k = √n (n training
samples; Lall and Sharma), a linear support-vector machine and a multilayer perceptron. They are
scikit-learn estimators (the ``[probes]`` extra); features are standardised with the training
set's mean and spread first. Randomness (the SVM's and MLP's) comes from the ``rng`` argument.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.concatenate([rng.normal(-3, 1, (50, 4)), rng.normal(3, 1, (50, 4))])
>>> y = np.repeat([False, True], 50)
>>> run_probes(x, y, x, y, rng=rng).accuracy["knn"]
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grasplab._optional import require

__all__ = ["MLP_ALPHA", "PROBES", "ProbeResult", "knn_k", "make_probe", "run_probes"]

#: the paper's probes, in its column order
PROBES = ("knn", "svm", "mlp")


@dataclass(frozen=True)
class ProbeResult:
    """Test accuracies of the probes on one representation.

    Attributes:
        accuracy: probe name -> fraction of test trials whose outcome it predicts.
        num_train: training trials n.
        num_test: test trials.
        k: neighbours of the KNN probe (round √n).
        test_success_rate: fraction of successful test trials (the majority-class baseline is
            ``max(rate, 1 - rate)``).
    """

    accuracy: dict[str, float]
    num_train: int
    num_test: int
    k: int
    test_success_rate: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "accuracy": dict(self.accuracy),
            "num_train": self.num_train,
            "num_test": self.num_test,
            "k": self.k,
            "test_success_rate": self.test_success_rate,
        }


#: L2 penalty of the MLP probe (make_probe's comment says how it was chosen)
MLP_ALPHA = 1.0


def knn_k(num_train: int) -> int:
    """K = round(√n), at least 1 (the paper: √6000 ≈ 77).

    >>> knn_k(6000)
    77
    """
    return max(1, int(round(math.sqrt(num_train))))


def make_probe(name: str, num_train: int, seed: int, mlp_hidden: Sequence[int] = (256,)) -> Any:
    """An unfitted scikit-learn pipeline (standardisation + classifier) for probe ``name``.

    Args:
        name: "knn", "svm" or "mlp".
        num_train: training samples (sets the KNN's k).
        seed: random state of the SVM's and MLP's solvers.
        mlp_hidden: hidden layer widths of the MLP probe.
    """
    require("sklearn")
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if name == "knn":
        classifier: Any = KNeighborsClassifier(n_neighbors=min(knn_k(num_train), num_train))
    elif name == "svm":
        classifier = LinearSVC(C=1.0, max_iter=5000, random_state=seed)
    elif name == "mlp":
        # L2 weight 1.0: with the former 1e-3 the probe fit 97 % of 5,184 MoCo features of
        # data/tactile_v2 and 71 % of the other 576 trials of the training side; alpha 1.0 gave
        # 81 / 77 % (early stopping 81 / 75 %, alpha 10 77 / 76 %): chosen on the training side
        # only (benchmarks/tactile_probe_alpha.py), the same for every method and control
        classifier = MLPClassifier(
            hidden_layer_sizes=tuple(mlp_hidden), alpha=MLP_ALPHA, max_iter=300, random_state=seed
        )
    else:
        raise ValueError(f"unknown probe {name!r}, expected one of {PROBES}")
    return make_pipeline(StandardScaler(), classifier)


def _check(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"{what}: need features (N, F) and labels (N,), got {x.shape} and {y.shape}")
    if x.shape[0] == 0 or not np.isfinite(x).all():
        raise ValueError(f"{what}: features must be non-empty and finite")
    return x, y


def run_probes(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    rng: np.random.Generator,
    probes: Sequence[str] = PROBES,
    mlp_hidden: Sequence[int] = (256,),
) -> ProbeResult:
    """Fit each probe on the training features and score it on the test features.

    Args:
        train_x: (n, F) training features.
        train_y: (n,) training outcomes (bool; both classes must occur).
        test_x: (m, F) test features.
        test_y: (m,) test outcomes.
        rng: draws the solvers' random state.
        probes: which probes, from :data:`PROBES`.
        mlp_hidden: hidden widths of the MLP probe.

    Returns:
        The test accuracies.
    """
    train_x, train_y = _check(train_x, train_y, "train")
    test_x, test_y = _check(test_x, test_y, "test")
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"train has {train_x.shape[1]} features, test {test_x.shape[1]}")
    if train_y.all() or not train_y.any():
        raise ValueError("the training outcomes must contain both successes and failures")
    accuracy = {}
    for name in probes:
        seed = int(rng.integers(0, 2**31 - 1))
        model = make_probe(name, len(train_y), seed, mlp_hidden).fit(train_x, train_y)
        accuracy[name] = float(np.mean(model.predict(test_x) == test_y))
    return ProbeResult(accuracy, len(train_y), len(test_y), knn_k(len(train_y)), float(test_y.mean()))
