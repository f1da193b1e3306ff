"""Grasps as JSON: layout, known quaternion, exact round trip, bad documents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grasplab.core import GraspGroup
from grasplab.core.grasp_json import grasps_from_json, grasps_to_json, write_grasps_json


def _group() -> GraspGroup:
    rot = np.eye(3)
    return GraspGroup.from_components(np.array([[0.0, 0.0, 0.5], [0.1, 0.0, 0.6]]),
                                      np.stack([rot, rot]), np.array([0.04, 0.05]),
                                      np.array([0.02, 0.03]), scores=np.array([0.3, 0.9]))


def test_document_layout_and_order() -> None:
    doc = grasps_to_json(_group(), {"method": "m"})
    assert list(doc)[:5] == ["frame", "units", "rotation_columns", "method", "num_grasps"]
    assert doc["num_grasps"] == 2 and [g["rank"] for g in doc["grasps"]] == [1, 2]
    best = doc["grasps"][0]
    assert best["score"] == pytest.approx(0.9) and best["position"] == [0.1, 0.0, 0.6]
    assert best["quaternion_wxyz"] == pytest.approx([1.0, 0.0, 0.0, 0.0])
    json.dumps(doc)  # plain types only
    assert grasps_to_json(GraspGroup.empty())["grasps"] == []


def test_file_round_trip(tmp_path: Path) -> None:
    group = _group()
    path = write_grasps_json(tmp_path / "sub" / "g.json", group, {"method": "m"})
    back = grasps_from_json(path)
    np.testing.assert_allclose(back.array, group.sort_by_score().array)
    assert len(grasps_from_json(grasps_to_json(GraspGroup.empty()))) == 0


def test_bad_documents() -> None:
    with pytest.raises(ValueError, match="'grasps'"):
        grasps_from_json({"frame": "camera"})
    doc = grasps_to_json(_group())
    del doc["grasps"][1]["width"]
    with pytest.raises(ValueError, match="grasp 1 is malformed"):
        grasps_from_json(doc)
