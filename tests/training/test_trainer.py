"""The generic Trainer on a tiny synthetic task: learning, hooks, resume, RNG hygiene, run files."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from grasplab.runtime.runfiles import read_run_meta  # noqa: E402
from grasplab.training import TrainTask, load_checkpoint  # noqa: E402
from grasplab.training.config import OptimConfig  # noqa: E402
from grasplab.training.trainer import EpochMetrics, Trainer, TrainProgress  # noqa: E402


def tiny() -> ModuleType:
    """The helper module, loaded once per session (it registers a model family)."""
    name = "grasplab_tests_tiny_task"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("tiny_task.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _config(epochs: int = 3, **optim: Any):  # noqa: ANN202
    t = tiny()
    return t.TinyConfig(optim=OptimConfig(lr=0.05, epochs=epochs, batch_size=8, lr_milestones=(), **optim))


def test_task_satisfies_the_protocol() -> None:
    t = tiny()
    assert isinstance(t.TinyTask(t.TinyConfig()), TrainTask)


def test_fit_learns_logs_terms_and_writes_run_files(tmp_path: Path) -> None:
    t = tiny()
    config = _config(epochs=4)
    task = t.TinyTask(config)
    events: list[TrainProgress] = []
    result = Trainer(task, config, tmp_path / "run", progress=events.append, argv=["x", "y"]).fit()
    losses = [m.train_loss for m in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert set(result.history[0].train) == {"loss", "mse", "mae"}
    assert result.history[0].train["loss"] == pytest.approx(result.history[0].train["mse"])
    assert task.steps_seen == 4 * 4  # 32 samples / batch 8, four epochs: after_step saw every step
    train_events = [e for e in events if e.phase == "train"]
    assert len(train_events) == 16 and train_events[0].steps_per_epoch == 4 and "mae" in train_events[0].terms
    meta = read_run_meta(tmp_path / "run")
    assert meta["kind"] == "train-tiny" and meta["command"] == ["x", "y"] and meta["seed"] == 0
    rows = json.loads((tmp_path / "run" / "history.json").read_text())
    assert {"train_loss", "train_mse", "val_loss", "lr", "seconds"} <= set(rows[0])
    assert [EpochMetrics.from_row(r) for r in rows] == list(result.history)
    ckpt = load_checkpoint(result.last_checkpoint)
    assert ckpt.family == "test-mlp" and ckpt.state["epoch"] == 3
    assert result.best_checkpoint.is_file()


def test_runs_are_deterministic_and_leave_the_global_rng_alone(tmp_path: Path) -> None:
    t = tiny()
    config = _config(epochs=2)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = Trainer(t.TinyTask(config), config, tmp_path / "a").fit()
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(999)  # another global state changes nothing
    b = Trainer(t.TinyTask(config), config, tmp_path / "b").fit()
    assert [m.train for m in a.history] == [m.train for m in b.history]
    other = t.TinyConfig(seed=1, optim=config.optim)
    c = Trainer(t.TinyTask(other), other, tmp_path / "c").fit()
    assert [m.train for m in c.history] != [m.train for m in a.history]


def test_interrupted_run_resumes_exactly(tmp_path: Path) -> None:
    t = tiny()
    config = _config(epochs=3, snapshot_every=2)
    full = Trainer(t.TinyTask(config), config, tmp_path / "full").fit()

    def interrupt(event: TrainProgress) -> None:
        if event.phase == "train" and event.epoch == 2 and event.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(t.TinyTask(config), config, tmp_path / "cut", progress=interrupt).fit()
    resumed = Trainer(t.TinyTask(config), config, tmp_path / "cut").fit()
    assert resumed.resumed_from == 2 and [m.train for m in resumed.history] == [m.train for m in full.history]
    a = load_checkpoint(full.last_checkpoint).model.state_dict()
    b = load_checkpoint(resumed.last_checkpoint).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "cut" / "checkpoints" / "epoch_002.safetensors").is_file()
    changed = t.TinyConfig(seed=5, optim=config.optim)
    with pytest.raises(ValueError, match="different config"):
        Trainer(t.TinyTask(changed), changed, tmp_path / "cut").fit()


def test_batch_larger_than_the_data_keeps_one_partial_batch(tmp_path: Path) -> None:
    t = tiny()
    config = t.TinyConfig(num_samples=5, optim=OptimConfig(lr=0.05, epochs=1, batch_size=8, lr_milestones=()))
    events: list[TrainProgress] = []
    Trainer(t.TinyTask(config), config, tmp_path / "run", progress=events.append).fit()
    assert [e.steps_per_epoch for e in events if e.phase == "train"] == [1]
