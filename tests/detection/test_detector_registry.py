"""The detector registry: built-in entries, options, clear errors, registration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from grasplab.core import CameraIntrinsics, GraspGroup
from grasplab.detection import (
    AnalyticDetector,
    Detector,
    Observation,
    SceneAwareDetector,
    TrayWorkspace,
    available_detectors,
    build_detector,
    detector_entry,
    register_detector,
)
from grasplab.detection import registry as registry_module
from grasplab.detection.baselines import OracleDetector, RandomDetector
from grasplab.detection.registry import AnalyticOptions, RandomOptions

BUILT_IN = ("analytic", "oracle", "pixel", "pixel-oracle", "random")


def test_built_in_names_and_scene_awareness() -> None:
    assert set(BUILT_IN) <= set(available_detectors())
    assert available_detectors() == tuple(sorted(available_detectors()))
    assert {"oracle", "pixel-oracle"} <= set(available_detectors(scene_aware=True))
    assert not {"oracle", "pixel-oracle"} & set(available_detectors(scene_aware=False))
    assert detector_entry("analytic").doc


def test_options_as_keywords_mapping_or_instance() -> None:
    a = build_detector("analytic", seed=3, max_grasps=7)
    b = build_detector("analytic", {"seed": 3, "max_grasps": 7})
    c = build_detector("analytic", AnalyticOptions(seed=3), max_grasps=7)
    for d in (a, b, c):
        assert isinstance(d, AnalyticDetector) and d.config.max_grasps == 7 and d.rng == 3
    assert build_detector("analytic", max_grasps=0).config.max_grasps == 1  # type: ignore[attr-defined]
    wrapped = build_detector("random", RandomOptions(seed=1, num_grasps=4, tray_workspace=True))
    assert isinstance(wrapped, TrayWorkspace) and isinstance(wrapped.detector, RandomDetector)
    assert wrapped.detector.num_grasps == 4


def test_random_from_the_registry_equals_the_class() -> None:
    depth = np.full((24, 32), 0.5, np.float32)
    obs = Observation(depth, CameraIntrinsics(40.0, 40.0, 15.5, 11.5, 32, 24))
    a = build_detector("random", seed=5, num_grasps=6).detect(obs)
    b = RandomDetector(rng=5, num_grasps=6).detect(obs)
    np.testing.assert_array_equal(a.array, b.array)


def test_oracles_are_scene_aware() -> None:
    oracle = build_detector("oracle", library=object(), seed=2)
    assert isinstance(oracle, OracleDetector) and isinstance(oracle, SceneAwareDetector)
    assert not isinstance(build_detector("random"), SceneAwareDetector)


def test_unknown_names_and_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown detector 'nope'; expected one of .*analytic"):
        build_detector("nope")
    with pytest.raises(ValueError, match=r"unknown option\(s\) sed; expected some of seed"):
        build_detector("random", sed=1)
    with pytest.raises(ValueError, match="options must be RandomOptions"):
        build_detector("random", AnalyticOptions())


def test_pixel_with_missing_weights(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        build_detector("pixel", weights=tmp_path / "none.safetensors")


def test_register_a_new_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))

    @dataclass(frozen=True)
    class NothingOptions:
        label: str = "x"

    class Nothing:
        def __init__(self, label: str) -> None:
            self.label = label

        def detect(self, observation: Observation) -> GraspGroup:
            return GraspGroup.empty()

    register_detector("nothing", lambda o: Nothing(o.label), NothingOptions, "finds nothing")
    built = build_detector("nothing", label="y")
    assert isinstance(built, Detector) and built.label == "y"  # type: ignore[attr-defined]
    assert "nothing" in available_detectors(scene_aware=False)
    with pytest.raises(ValueError, match="already registered"):
        register_detector("nothing", lambda o: Nothing("z"), NothingOptions, "again")
    register_detector("nothing", lambda o: Nothing("z"), NothingOptions, "again", replace=True)
    assert build_detector("nothing").label == "z"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="dataclass"):
        register_detector("bad", lambda o: Nothing("z"), dict, "no")
    with pytest.raises(ValueError, match="non-empty word"):
        register_detector("two words", lambda o: Nothing("z"), NothingOptions, "no")
