"""The tactile study glue and commands: splits, pretrain -> probe round trip, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.evaluation.tactile_study import (  # noqa: E402
    pretrain_tactile,
    probe_controls,
    probe_weights,
    split_study,
    write_synthetic_dataset,
)
from grasplab.tactile.dataset import load_tactile_dataset  # noqa: E402
from grasplab.training.tactile_config import TactileDataConfig, load_tactile_config  # noqa: E402

SMOKE = Path(__file__).parents[2] / "configs" / "tactile" / "smoke.yaml"


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tactile_ds")
    return write_synthetic_dataset(root, 60, 20, np.random.default_rng(0), num_objects=6)


def test_splits_are_disjoint_and_fixed_by_the_split_seed(dataset_dir: Path) -> None:
    ds = load_tactile_dataset(dataset_dir)
    parts = split_study(ds, TactileDataConfig(val_fraction=0.2))
    assert len(parts.test) == 20 and len(parts.val) == 8 and len(parts.train) == 32
    assert np.array_equal(parts.side, np.sort(np.concatenate([parts.train, parts.val])))
    assert not set(parts.side) & set(parts.test)
    again = split_study(ds, TactileDataConfig(val_fraction=0.2))
    assert np.array_equal(again.test, parts.test) and np.array_equal(again.val, parts.val)
    other = split_study(ds, TactileDataConfig(val_fraction=0.2, split_seed=1))
    assert not np.array_equal(other.test, parts.test)
    capped = split_study(ds, TactileDataConfig(max_train=5))
    assert len(capped.train) == 5 and len(capped.side) == 40
    by_object = split_study(ds, TactileDataConfig(split="object"))
    assert not set(ds.object_id[by_object.side]) & set(ds.object_id[by_object.test])


def test_pretrain_then_probe(dataset_dir: Path, tmp_path: Path) -> None:
    ds = load_tactile_dataset(dataset_dir)
    overrides = ["method=triplet", "optim.epochs=1", "optim.max_steps_per_epoch=2", "data.pads=both"]
    config = load_tactile_config(SMOKE, overrides)
    result = pretrain_tactile(config, ds, tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["kind"] == "tactile-triplet"
    probe, cfg = probe_weights(result.last_checkpoint, ds, rng=np.random.default_rng(0))
    assert cfg.method == "triplet" and cfg.data.pads == "both"
    assert probe.num_test == 20 and probe.num_train == 40
    assert all(0.0 <= v <= 1.0 for v in probe.accuracy.values()) and "classifier" not in probe.accuracy
    supervised = load_tactile_config(SMOKE, ["method=supervised", "optim.epochs=1"])
    run = pretrain_tactile(supervised, ds, tmp_path / "sup")
    probe, _ = probe_weights(run.best_checkpoint, ds, rng=np.random.default_rng(0), probes=("knn",))
    assert set(probe.accuracy) == {"knn", "classifier"}


def test_reference_rows_without_pretraining(dataset_dir: Path) -> None:
    ds = load_tactile_dataset(dataset_dir)
    config = load_tactile_config(SMOKE, ["data.pads=both"])
    rows = probe_controls(config, ds, rng=np.random.default_rng(0), pixel_side=4, probes=("knn", "svm"))
    assert set(rows) == {"random-init", "pixels"}
    for result in rows.values():
        assert set(result.accuracy) == {"knn", "svm"} and result.num_test == 20 and result.num_train == 40
    # toy outcomes follow the contact patch's size, which pooled pixels show directly
    assert max(rows["pixels"].accuracy.values()) > 0.6
    again = probe_controls(config, ds, rng=np.random.default_rng(0), pixel_side=4, probes=("knn", "svm"))
    assert again["random-init"].accuracy == rows["random-init"].accuracy


def test_cli_pretrain_and_probe(dataset_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "moco"
    args = ["tactile", "pretrain", "--method", "moco", "--data", str(dataset_dir), "--out", str(out),
            "--config", str(SMOKE), "--set", "optim.epochs=1", "--set", "optim.max_steps_per_epoch=1"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert (out / "checkpoints" / "last.safetensors").is_file() and (out / "config.yaml").is_file()
    probe_json = tmp_path / "probe.json"
    done = runner.invoke(app, ["tactile", "probe", "--weights", str(out / "checkpoints" / "last.safetensors"),
                               "--data", str(dataset_dir), "--split", "object", "--out", str(probe_json)])
    assert done.exit_code == 0, done.output
    body = json.loads(probe_json.read_text())
    assert body["method"] == "moco" and body["split"] == "object"
    assert set(body["accuracy"]) == {"knn", "svm", "mlp"}


def test_cli_bad_inputs(dataset_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["tactile", "pretrain", "--data", str(dataset_dir), "--out", str(tmp_path / "x")]
    done = runner.invoke(app, [*base, "--method", "simclr"])
    assert done.exit_code == 2 and "method" in done.output
    done = runner.invoke(app, [*base, "--method", "moco", "--set", "model.depth=3"])
    assert done.exit_code == 2 and "depth" in done.output
    done = runner.invoke(app, ["tactile", "pretrain", "--method", "moco", "--data", str(tmp_path / "none"),
                               "--out", str(tmp_path / "y")])
    assert done.exit_code == 2 and "manifest" in done.output
    done = runner.invoke(app, ["tactile", "probe", "--weights", str(tmp_path / "w.safetensors"),
                               "--data", str(dataset_dir), "--split", "random"])
    assert done.exit_code == 2 and "split" in done.output
