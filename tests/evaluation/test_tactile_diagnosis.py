"""The dataset diagnosis: image features, centre of mass in the grasp frame, classifier groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grasplab.evaluation.tactile_diagnosis import (
    DIAGNOSIS_GROUPS,
    IMAGE_FEATURES,
    com_in_grasp_frame,
    diagnose,
    feature_groups,
    fit_outcome_classifiers,
    image_features,
    load_trial_table,
)

pytest.importorskip("sklearn")


def test_image_features_of_a_half_pressed_pad_and_an_untouched_one() -> None:
    ta = np.full((1, 2, 6, 8, 3), 100, np.uint8)
    tb = ta.copy()
    tb[0, 0, :, 4:] = 115  # the left pad's right half is pressed by 15 grey levels
    f = image_features(ta, tb).reshape(1, 2, len(IMAGE_FEATURES))
    left, right = f[0, 0], f[0, 1]
    named = dict(zip(IMAGE_FEATURES, left, strict=True))
    assert named["area"] == pytest.approx(0.5)
    assert named["cx"] == pytest.approx(0.25) and named["cy"] == pytest.approx(0.0)
    # 3 × 3 smoothing: the boundary column reads 10 (above the threshold 6), its outer
    # neighbour 5 (below): the patch keeps its area, its mean drops a little
    assert named["peak"] == pytest.approx(15.0) and named["mean"] == pytest.approx(13.75)
    assert np.all(right == 0.0)


def test_image_features_bad_shapes() -> None:
    with pytest.raises(ValueError, match="ta, tb"):
        image_features(np.zeros((1, 2, 6, 8, 3), np.uint8), np.zeros((1, 2, 6, 8, 1), np.uint8))
    with pytest.raises(ValueError, match="ta, tb"):
        image_features(np.zeros((2, 6, 8, 3), np.uint8), np.zeros((2, 6, 8, 3), np.uint8))


def test_com_in_grasp_frame_known_rotation() -> None:
    grasp = np.zeros((1, 17))
    R = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # approach straight down
    grasp[0, 4:13] = R.ravel()
    grasp[0, 13:16] = [0.1, 0.0, 0.05]
    com = com_in_grasp_frame(grasp, np.array([[0.1, 0.01, 0.02]]))
    np.testing.assert_allclose(com, [[0.03, 0.01, 0.0]], atol=1e-12)
    with pytest.raises(ValueError):
        com_in_grasp_frame(grasp, np.zeros((2, 3)))


def test_classifiers_separate_separable_data_and_refuse_one_class() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 0.5, (60, 2)), rng.normal(2, 0.5, (60, 2))])
    y = np.repeat([False, True], 60)
    acc = fit_outcome_classifiers(x, y, x, y, rng=0)
    assert acc == {"logistic": 1.0, "boosting": 1.0}
    with pytest.raises(ValueError, match="both classes"):
        fit_outcome_classifiers(x, np.ones(120, bool), x, y)
    with pytest.raises(ValueError, match="finite"):
        fit_outcome_classifiers(np.full((4, 2), np.nan), y[:4], x, y)


def _table(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Trials whose outcome is friction > 0.6: invisible to the image features (noise)."""
    mu = rng.uniform(0.2, 1.0, n)
    table = {"success": mu > 0.6, "param_mu": mu, "param_mass": rng.uniform(0.1, 0.5, n),
             "param_force": rng.uniform(3, 15, n), "width": rng.uniform(0.02, 0.08, n),
             "depth": np.full(n, 0.02), "tilt": rng.uniform(0, 0.5, n)}
    for pad in ("left", "right"):
        for name in IMAGE_FEATURES:
            table[f"img_{pad}_{name}"] = rng.random(n)
    return table


def test_diagnosis_finds_an_outcome_decided_by_an_unobservable() -> None:
    scores, info = diagnose(_table(300, np.random.default_rng(1)), rng=0)
    by_group = {s.group: s.accuracy for s in scores}
    assert tuple(by_group) == DIAGNOSIS_GROUPS
    assert info["num_test"] == 100 and info["num_train"] == 200
    assert by_group["unobservable"]["boosting"] > 0.95 and by_group["physics"]["boosting"] > 0.95
    assert by_group["observable"]["logistic"] < 0.75  # noise: near the majority class
    x, names = feature_groups(_table(10, np.random.default_rng(2)))["observable"]
    assert x.shape == (10, 17) and names[-1] == "both_pads"


def test_load_trial_table_reads_a_dataset_without_keeping_images(tmp_path: Path) -> None:
    from grasplab.evaluation.tactile_study import write_synthetic_dataset

    root = write_synthetic_dataset(tmp_path / "ds", 12, 16, np.random.default_rng(0))
    table = load_trial_table(root)
    assert len(table["success"]) == 12 and table["grasp"].shape == (12, 17)
    assert {f"img_left_{n}" for n in IMAGE_FEATURES} <= set(table)
    assert not {"ta", "tb", "tc"} & set(table)
    with pytest.raises(FileNotFoundError):
        load_trial_table(tmp_path / "missing")
