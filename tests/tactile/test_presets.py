"""Versioned generator settings: version 1 unchanged, version 2 records more and reads back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from grasplab.tactile.dataset import load_tactile_dataset
from grasplab.tactile.generate import generate_dataset
from grasplab.tactile.presets import dataset_settings
from grasplab.tactile.trials import PARAM_NAMES, PARAM_NAMES_V2, TrialSettings, object_trials

#: sha256 of the fingerprint of data/tactile_v1 (9,600 trials, seed 0, shards of 64).
V1_FINGERPRINT = "9f1b900eab58dfade5019bf192c7647c60d3497ceb7d0ed17e07b8c4103dbe04"


def test_version_1_is_the_default_and_keeps_the_v1_fingerprint() -> None:
    assert dataset_settings(1) == TrialSettings()
    body = {"num_trials": 9600, "shard_size": 64, "seed": 0, "split": "seen",
            "settings": dataset_settings(1).to_dict()}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    assert digest == V1_FINGERPRINT
    assert "version" not in TrialSettings().to_dict()


def test_version_2_settings() -> None:
    v2 = dataset_settings(2, (40, 30))
    assert v2.version == 2 and v2.require_both_pads and v2.image_size == (40, 30)
    assert v2.mu_range == (0.6, 0.8) and v2.mass_range == (0.1, 0.2)
    assert v2.force_range == (0.5, 8.0)
    assert v2.to_dict()["version"] == 2 and v2.to_dict()["require_both_pads"] is True


@pytest.mark.parametrize("version", [0, 3, True, "2"])
def test_unknown_versions_raise(version: object) -> None:
    with pytest.raises(ValueError, match="version"):
        dataset_settings(version)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version"):
        TrialSettings(version=version)  # type: ignore[arg-type]


@pytest.mark.slow
def test_version_2_trials_record_com_and_pad_forces() -> None:
    from grasplab.objects import ObjectLibrary, split_object_ids

    obj = ObjectLibrary().load(split_object_ids("seen")[0])
    settings = dataset_settings(2, (16, 12))
    out = object_trials(obj, [1, 2, 3], settings, 0)
    assert {k[len("param_"):] for k in out if k.startswith("param_")} == set(PARAM_NAMES_V2)
    held = out["param_pads_touched"] == 2
    assert np.all(out["param_mu"] >= 0.6) and np.all(out["param_mass"] <= 0.2)
    # pads pressed at Tb carry a normal force; the box's centre lies within reach of the grasp
    assert np.all(out["param_force_left"][held] > 0) and np.all(out["param_force_right"][held] > 0)
    com = np.stack([out[f"param_com_{a}"] for a in "xyz"], axis=1)
    assert np.all(np.linalg.norm(com, axis=1) < 0.08)
    v1 = object_trials(obj, [1], dataset_settings(1, (16, 12)), 0)
    assert {k[len("param_"):] for k in v1 if k.startswith("param_")} == set(PARAM_NAMES)


@pytest.mark.slow
def test_version_2_dataset_reads_back_with_its_version(tmp_path: Path) -> None:
    report = generate_dataset(tmp_path / "v2", 4, seed=2, shard_size=4,
                              settings=dataset_settings(2, (16, 12)))
    assert not report.failed
    ds = load_tactile_dataset(tmp_path / "v2")
    assert ds.manifest["generator_version"] == 2
    assert ds.manifest["settings"]["settings"]["version"] == 2
    assert set(ds.params) == set(PARAM_NAMES_V2) and len(ds) == 4
