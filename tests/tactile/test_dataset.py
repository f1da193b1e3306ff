"""The grasp-outcome tactile dataset: trials, generation job, reader and splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from grasplab.core import make_transform
from grasplab.runtime.jobs import FingerprintMismatchError
from grasplab.tactile.dataset import (
    DATASET_FILE,
    TactileDataset,
    load_tactile_dataset,
    split_by_object,
    split_by_sample,
    write_manifest,
    write_shard,
)
from grasplab.tactile.generate import generate_dataset, shard_path
from grasplab.tactile.trials import (
    PARAM_NAMES,
    TrialParams,
    TrialSettings,
    object_trials,
    run_trial,
)

SETTINGS = TrialSettings(image_size=(32, 24))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 trials on 2 seen objects (shards of 4), 32 × 24 images."""
    root = tmp_path_factory.mktemp("tactile") / "ds"
    report = generate_dataset(root, 8, seed=5, shard_size=4, settings=SETTINGS)
    assert not report.failed and len(report.done) == 2
    return root


def _fake(root: Path, object_ids: np.ndarray, height: int = 6, width: int = 8) -> None:
    """A hand-made dataset: one shard per 5 trials, image value = trial index."""
    n = len(object_ids)
    names = []
    for k, start in enumerate(range(0, n, 5)):
        idx = np.arange(start, min(start + 5, n))
        images = np.broadcast_to(idx[:, None, None, None, None].astype(np.uint8),
                                 (len(idx), 2, height, width, 3))
        write_shard(root / "trials" / f"shard_{k:05d}.npz", {
            "ta": images, "tb": images + 1, "tc": images + 2, "success": idx % 2 == 0,
            "object_id": object_ids[idx], "grasp": np.tile(idx[:, None], (1, 17)) * 1.0,
            "trial": idx, "seed": idx + 100, "reason": np.zeros(len(idx), np.uint8),
            "param_mu": idx / 10.0})
        names.append(f"trials/shard_{k:05d}.npz")
    write_manifest(root, {"shards": names, "image_size": [width, height], "num_trials": n})


def test_reader_round_trip_of_a_hand_made_dataset(tmp_path: Path) -> None:
    ids = np.array([3, 3, 4, 4, 4, 9, 9, 11, 11, 11, 12, 12])
    _fake(tmp_path, ids)
    ds = load_tactile_dataset(tmp_path)
    assert isinstance(ds, TactileDataset) and len(ds) == 12
    assert ds.ta.shape == (12, 2, 6, 8, 3) and ds.ta.dtype == np.uint8
    assert np.array_equal(ds.ta[:, 0, 0, 0, 0], np.arange(12))
    assert np.array_equal(ds.tc[:, 1, 5, 7, 2], np.arange(12) + 2)
    assert np.array_equal(ds.success, np.arange(12) % 2 == 0) and ds.success.dtype == bool
    assert np.array_equal(ds.object_id, ids) and ds.grasp.shape == (12, 17)
    assert np.allclose(ds.params["mu"], np.arange(12) / 10)
    assert np.array_equal(ds.seed, np.arange(12) + 100)
    assert np.allclose(ds.difference(0), 1 / 255)
    sub = ds.subset(np.array([4, 1]))
    assert np.array_equal(sub.trial, [4, 1]) and np.allclose(sub.params["mu"], [0.4, 0.1])
    assert len(load_tactile_dataset(tmp_path, shards=[1])) == 5


def test_reader_skips_shards_not_written_yet(tmp_path: Path) -> None:
    _fake(tmp_path, np.arange(10))
    shard_path(tmp_path, 1).unlink()
    assert len(load_tactile_dataset(tmp_path)) == 5


def test_reader_refuses_shards_of_different_image_sizes(tmp_path: Path) -> None:
    _fake(tmp_path, np.arange(10))
    images = np.zeros((5, 2, 3, 4, 3), np.uint8)
    write_shard(shard_path(tmp_path, 1), {"ta": images, "tb": images, "tc": images,
                                          "success": np.zeros(5, bool),
                                          "object_id": np.arange(5), "grasp": np.zeros((5, 17))})
    with pytest.raises(ValueError, match="like the other shards"):
        load_tactile_dataset(tmp_path)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_by_object_never_shares_an_object(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _fake(tmp_path, rng.integers(0, 9, size=40))
    ds = load_tactile_dataset(tmp_path)
    train, test = split_by_object(ds, 0.3, rng)
    assert not set(ds.object_id[train]) & set(ds.object_id[test])
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(40))
    assert len(train) and len(test)
    train, test = split_by_object(ds, [int(ds.object_id[0])])
    assert set(ds.object_id[test]) == {int(ds.object_id[0])}
    assert int(ds.object_id[0]) not in set(ds.object_id[train])


def test_split_by_sample_is_a_seeded_partition(tmp_path: Path) -> None:
    _fake(tmp_path, np.arange(30) % 4)
    ds = load_tactile_dataset(tmp_path)
    train, test = split_by_sample(ds, 1 / 3, np.random.default_rng(0))
    assert len(test) == 10 and len(train) == 20 and not set(train) & set(test)
    again = split_by_sample(ds, 1 / 3, np.random.default_rng(0))
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])


def test_split_bad_inputs(tmp_path: Path) -> None:
    _fake(tmp_path, np.array([1, 1, 2, 2, 3]))
    ds = load_tactile_dataset(tmp_path)
    for bad in (0.0, 1.0, -0.2, 1.5, True):
        with pytest.raises(ValueError):
            split_by_sample(ds, bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            split_by_object(ds, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not objects"):
        split_by_object(ds, [7])
    with pytest.raises(ValueError, match="none left"):
        split_by_object(ds, [1, 2, 3])
    with pytest.raises(ValueError):
        split_by_sample(ds.subset(np.array([0])), 0.5)


def test_reader_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_tactile_dataset(tmp_path / "missing")
    (tmp_path / DATASET_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not a grasplab tactile"):
        load_tactile_dataset(tmp_path)
    (tmp_path / DATASET_FILE).write_text(json.dumps(
        {"format": "grasplab-tactile-dataset", "format_version": 99}))
    with pytest.raises(ValueError, match="format_version"):
        load_tactile_dataset(tmp_path)
    images = np.zeros((2, 2, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="missing"):
        write_shard(tmp_path / "s.npz", {"ta": images, "tb": images})
    with pytest.raises(ValueError, match="lengths"):
        write_shard(tmp_path / "s.npz", {"ta": images, "tb": images, "tc": images[:1],
                                         "success": np.zeros(2, bool), "object_id": np.zeros(2),
                                         "grasp": np.zeros((2, 17))})
    assert not (tmp_path / "s.npz").exists()


@pytest.mark.parametrize("kwargs", [{"mu_range": (0.5, 0.2)}, {"mass_range": (0.0, 1.0)},
                                    {"force_range": (1.0, float("inf"))},
                                    {"perturb_fraction": 1.5}, {"image_size": (4, 3)},
                                    {"max_attempts": 0}, {"max_down_angle": 0.0}])
def test_bad_trial_settings_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TrialSettings(**kwargs)  # type: ignore[arg-type]


def test_generate_bad_inputs(tmp_path: Path) -> None:
    for kwargs in ({"num_trials": 0}, {"num_trials": 4, "shard_size": 0},
                   {"num_trials": 4, "split": "unknown"}, {"num_trials": 4, "workers": 0}):
        with pytest.raises(ValueError):
            generate_dataset(tmp_path / "x", **kwargs)  # type: ignore[arg-type]


def _box_world(tmp_path: Path):  # type: ignore[no-untyped-def]
    from grasplab.execution import PrimitiveLibrary, SimGripper
    from grasplab.scenes import TRAY_FLOOR_Z, World
    from grasplab.tactile import top_down_grasp

    box = trimesh.creation.box(extents=(0.05, 0.04, 0.03))
    library = PrimitiveLibrary(tmp_path, {7: box})  # type: ignore[arg-type]
    world = World()
    world.add_table_and_tray()
    world.add_object(library.load(7), make_transform(np.eye(3), np.array(
        [0.0, 0.0, TRAY_FLOOR_Z + 0.016])))
    world.settle(max_steps=600)
    hand = SimGripper(world)
    posed = world.posed_meshes(include_static=False)[0]
    points = posed.mesh.vertices @ posed.T_world_mesh[:3, :3].T + posed.T_world_mesh[:3, 3]
    return world, hand, top_down_grasp(points).array[0].astype(np.float64)


def test_recorded_outcome_is_the_physics_outcome(tmp_path: Path) -> None:
    from grasplab.tactile import GelSightSensor

    sensor = GelSightSensor(SETTINGS.sensor_config())
    world, hand, grasp = _box_world(tmp_path)
    with world, world.saved_state() as saved:
        held = run_trial(world, hand, grasp, TrialParams(0.8, 0.1, 10.0), sensor, rng=0)
        saved.restore()
        air = grasp.copy()
        air[15] += 0.12  # the same grasp 12 cm above the box closes on nothing
        missed = run_trial(world, hand, air, TrialParams(0.8, 0.1, 10.0), sensor, rng=0)
    assert held.success and held.reason == 0 and held.pads_touched == 2
    assert held.images.shape == (3, 2, 24, 32, 3) and held.images.dtype == np.uint8
    assert np.abs(held.images[1].astype(int) - held.images[0]).max() > 10
    assert not missed.success and missed.reason == 2 and missed.pads_touched == 0


def test_flat_objects_are_refused(tmp_path: Path) -> None:
    from grasplab.execution import PrimitiveLibrary

    plate = trimesh.creation.box(extents=(0.08, 0.06, 0.005))
    library = PrimitiveLibrary(tmp_path, {3: plate})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="5 mm high"):
        object_trials(library.load(3), [1, 2], SETTINGS, 0)


@pytest.mark.slow
def test_tiny_dataset_round_trip_and_resume(tiny: Path) -> None:
    ds = load_tactile_dataset(tiny)
    assert len(ds) == 8 and ds.ta.shape == (8, 2, 24, 32, 3) and ds.ta.dtype == np.uint8
    assert np.array_equal(ds.trial, np.arange(8)) and len(np.unique(ds.object_id)) == 2
    assert set(ds.params) == set(PARAM_NAMES)
    assert np.all(np.isfinite(ds.grasp)) and np.all(ds.params["mu"] >= 0.2)
    assert ds.manifest["num_trials"] == 8 and ds.manifest["image_size"] == [32, 24]
    assert set(ds.object_id.tolist()) <= set(ds.manifest["splits"]["seen"])
    train, test = split_by_object(ds, 0.5, 0)
    assert not set(ds.object_id[train]) & set(ds.object_id[test])
    report = generate_dataset(tiny, 8, seed=5, shard_size=4, settings=SETTINGS)
    assert len(report.skipped) == 2 and not report.done
    with pytest.raises(FingerprintMismatchError):
        generate_dataset(tiny, 8, seed=6, shard_size=4, settings=SETTINGS)


@pytest.mark.slow
def test_same_seed_gives_the_same_bytes_for_any_worker_count(tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "ds"
    report = generate_dataset(other, 8, seed=5, shard_size=4, settings=SETTINGS, workers=2)
    assert not report.failed
    names = sorted(p.relative_to(tiny) for p in tiny.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for name in names:
        assert (tiny / name).read_bytes() == (other / name).read_bytes(), name


def test_cli_generate_rejects_bad_arguments(tmp_path: Path) -> None:
    from grasplab.cli.main import app

    result = CliRunner().invoke(app, ["tactile", "generate", "--trials", "0", "--out",
                                      str(tmp_path / "ds")])
    assert result.exit_code == 2 and "positive" in result.output
    result = CliRunner().invoke(app, ["tactile", "generate", "--trials", "4", "--out",
                                      str(tmp_path / "ds"), "--split", "nope"])
    assert result.exit_code == 2 and "unknown split" in result.output


@pytest.mark.slow
def test_cli_generate_writes_a_readable_dataset(tmp_path: Path) -> None:
    from grasplab.cli.main import app

    out = tmp_path / "ds"
    args = ["tactile", "generate", "--trials", "3", "--shard-size", "2", "--out", str(out),
            "--image-width", "16", "--seed", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "2 shards made" in text and "3 new trials" in text
    ds = load_tactile_dataset(out)
    assert len(ds) == 3 and ds.image_shape == (12, 16)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "2 already there" in " ".join(again.output.split())


def test_a_shard_with_an_unusable_object_tries_other_objects() -> None:
    from grasplab.tactile.generate import _object_positions

    for shard, num_shards, num_objects in ((6, 32, 32), (3, 150, 699), (40, 32, 32), (1, 2, 2)):
        positions = _object_positions(shard, num_shards, num_objects)
        assert positions[0] == shard % num_objects
        assert len(set(positions)) == len(positions) == min(8, num_objects)
    assert _object_positions(3, 150, 699)[:3] == [3, 153, 303]  # objects no shard takes first
