"""The PLGP bin-picking benchmark: metric arithmetic, determinism, oracle vs random."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grasplab.detection.baselines import OracleConfig, OracleDetector, RandomDetector
from grasplab.evaluation.binpick import (
    BinpickConfig,
    BinpickResult,
    ClearanceRecord,
    binpick_work_units,
    clearance_finished,
    run_binpick,
)
from grasplab.execution.primitives import PrimitiveLibrary
from grasplab.labels import ObjectLabelConfig

pytest.importorskip("pybullet")

TINY = BinpickConfig(num_objects=3, num_scenes=1, mu_values=(0.6,), image_width=96,
                     image_height=72, top_k=8)
TINY_LABELS = ObjectLabelConfig(spacing=0.01, num_views=20, num_angles=4, max_points=40)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveLibrary:
    return PrimitiveLibrary.random(tmp_path_factory.mktemp("binpick"), 5, rng=3, first_id=200)


def _oracle(library: PrimitiveLibrary) -> OracleDetector:
    return OracleDetector(library, config=OracleConfig(label_config=TINY_LABELS), rng=0)


def test_clearance_arithmetic_on_a_hand_made_sequence() -> None:
    # 5 objects: S F S F F S then 5 failures in a row -> stop after 11 attempts, 3 lifted
    seq = [True, False, True, False, False, True, False, False, False, False, False]
    assert not any(clearance_finished(seq[:k], 5) for k in range(len(seq)))
    assert clearance_finished(seq, 5)
    record = ClearanceRecord(5, tuple(seq))
    assert (record.attempts, record.cleared) == (11, 3)
    assert record.success_rate == pytest.approx(3 / 11)
    assert record.percent_cleared == pytest.approx(3 / 5)
    # all objects lifted ends the run; no attempts gives 0
    assert clearance_finished([True, False, True], 2)
    assert ClearanceRecord(4, ()).success_rate == 0.0
    assert clearance_finished([False] * 3, 4, max_consecutive_failures=3)


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="mu_values"):
        BinpickConfig(mu_values=(0.2, -1.0))
    with pytest.raises(ValueError, match="num_scenes"):
        BinpickConfig(num_scenes=0)
    with pytest.raises(ValueError, match="run_ap or run_clearance"):
        BinpickConfig(run_ap=False, run_clearance=False)
    assert binpick_work_units(BinpickConfig(num_scenes=2)) == 2 * 5 * 2


def test_tiny_run_is_deterministic_and_reports(library: PrimitiveLibrary, tmp_path: Path) -> None:
    runs = [run_binpick(_oracle(library), TINY, 7, library=library, object_pool=library.ids())
            for _ in range(2)]
    first, second = (r.to_dict() for r in runs)
    first.pop("seconds"), second.pop("seconds")
    assert first == second
    result = runs[0]
    assert isinstance(result, BinpickResult) and len(result.per_mu) == 1
    row = result.per_mu[0]
    assert row.objects == 3 and 1 <= row.attempts <= 9 and 0 <= row.cleared <= 3
    assert row.success_rate == pytest.approx(row.cleared / row.attempts)
    assert result.percent_cleared == pytest.approx(row.cleared / 3)
    assert sum(result.reasons.values()) == row.attempts + row.ap_executed
    loaded = json.loads(result.save_json(tmp_path / "r.json").read_text())
    assert loaded["per_mu"][0]["attempts"] == row.attempts
    assert "| 0.6 |" in result.to_markdown()
    summary = result.summary()
    assert summary["attempts"] == row.attempts and summary["cleared"] == row.cleared
    assert summary["objects"] == 3 and summary["per_mu"]["0.6"]["success_rate"] == row.success_rate


def test_oracle_beats_random(library: PrimitiveLibrary) -> None:
    oracle = run_binpick(_oracle(library), TINY, 11, library=library, object_pool=library.ids())
    random = run_binpick(RandomDetector(0, num_grasps=8), TINY, 11, library=library,
                         object_pool=library.ids())
    assert oracle.ap > random.ap and oracle.percent_cleared > random.percent_cleared
    assert oracle.ap >= 0.5


def test_pool_too_small(library: PrimitiveLibrary) -> None:
    with pytest.raises(ValueError, match="object_pool"):
        run_binpick(RandomDetector(0), TINY, 0, library=library, object_pool=[200, 201])
    assert np.isfinite(TINY.intrinsics().fx)


def test_pixel_label_oracle_grasps_lift_flat_objects(tmp_path: Path) -> None:
    """The PLGP labels of the live scene, decoded like network output, pick the bin.

    Regression: with pybullet_data's tray drawn 1 cm below its collision floor, grasps on flat
    objects sent the fingers into the floor and closed on nothing ("empty").
    """
    pytest.importorskip("torch")
    pytest.importorskip("embreex")
    import trimesh

    from grasplab.detection.pixel_oracle import PixelLabelOracle

    library = PrimitiveLibrary(tmp_path, {
        200: trimesh.creation.box((0.05, 0.08, 0.025)),
        201: trimesh.creation.cylinder(radius=0.03, height=0.025, sections=32),
        202: trimesh.creation.box((0.04, 0.09, 0.03)),
    })
    config = BinpickConfig(num_objects=3, num_scenes=1, mu_values=(0.6,), image_width=240,
                           image_height=180, top_k=8, provide_mask=True)
    result = run_binpick(PixelLabelOracle(library), config, 11, library=library, object_pool=library.ids())
    assert result.ap >= 0.5 and result.percent_cleared >= 2 / 3
    assert result.reasons.get("empty", 0) <= 2
