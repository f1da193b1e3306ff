"""Label quality in physics (GraspNet-1Billion Table 2 analogue) on primitive objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import trimesh

from grasplab.evaluation.label_quality import (
    LabelQualityConfig,
    LabelQualityResult,
    run_label_quality,
)
from grasplab.execution.primitives import PrimitiveLibrary
from grasplab.labels import ObjectLabelConfig

pytest.importorskip("pybullet")

TINY_LABELS = ObjectLabelConfig(spacing=0.01, num_views=30, num_angles=6, max_points=60)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveLibrary:
    return PrimitiveLibrary.random(tmp_path_factory.mktemp("labelq"), 4, rng=0, first_id=100)


def test_rows_counts_and_report(library: PrimitiveLibrary, tmp_path: Path) -> None:
    config = LabelQualityConfig(grasps_per_bucket=3, sim_mus=(1.0,), label_config=TINY_LABELS)
    result = run_label_quality(library, [100], config, rng=0)
    assert isinstance(result, LabelQualityResult) and result.object_ids == (100,)
    keys = [(r.mode, r.score, r.sim_mu) for r in result.rows]
    assert keys == [("fixed", 1.0, 1.0), ("fixed", 0.5, 1.0), ("fixed", 0.1, 1.0),
                    ("matching", 1.0, 0.1), ("matching", 0.5, 0.6), ("matching", 0.1, 1.0)]
    for row in result.rows:
        assert 0 < row.executed <= 3 and sum(row.reasons.values()) == row.executed
        assert row.success_rate == pytest.approx(row.successes / row.executed)
        assert row.label_mu == pytest.approx(1.1 - row.score)
    # the same grasps at the same friction give the same outcomes
    fixed_low = next(r for r in result.rows if r.mode == "fixed" and r.score == 0.1)
    matching_low = next(r for r in result.rows if r.mode == "matching" and r.score == 0.1)
    assert fixed_low.reasons == matching_low.reasons
    assert "| fixed | 1.0 | 0.1 | 1.0 |" in result.to_markdown()
    assert result.save_json(tmp_path / "lq.json").exists()


@pytest.mark.slow
def test_high_scores_succeed_more_often(tmp_path: Path) -> None:
    boxes = {k: trimesh.creation.box(dims) for k, dims in
             enumerate([(0.04, 0.06, 0.05), (0.05, 0.07, 0.03), (0.035, 0.05, 0.06)])}
    library = PrimitiveLibrary(tmp_path, boxes)
    config = LabelQualityConfig(grasps_per_bucket=10, sim_mus=(0.4,), friction_modes=("fixed",),
                                scores=(1.0, 0.5), label_config=TINY_LABELS)
    result = run_label_quality(library, library.ids(), config, rng=0)
    high, low = result.rows
    # how many labels each bucket holds depends on the seeded label sampling; a few boxes give
    # only a handful of collision-free mu = 1.0 labels, so the low bucket is mu = 0.6
    assert high.executed >= 10 and low.executed >= 10
    # held as labelled (the object turned < 10 degrees while the jaws closed): the labels with
    # mu = 0.1 <= 0.4 hold, those that need mu = 0.6 mostly lift only after the jaws re-orient
    # the object
    assert high.strict_success_rate >= low.strict_success_rate + 0.3
    assert high.strict_successes <= high.successes and low.strict_successes <= low.successes


def test_bad_config(library: PrimitiveLibrary) -> None:
    with pytest.raises(ValueError, match="friction_modes"):
        LabelQualityConfig(friction_modes=("sometimes",))
    with pytest.raises(ValueError, match="scores"):
        LabelQualityConfig(scores=(2.0,))
    with pytest.raises(ValueError, match="sim_mus"):
        LabelQualityConfig(sim_mus=(0.0,))
    with pytest.raises(ValueError, match="object_ids"):
        run_label_quality(library, [])
