"""Each tactile method is a task of the generic Trainer: one-step smoke runs on synthetic arrays,
the MoCo queue and momentum update, the memory bank's rows, resuming, feature extraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab.data.tactile_dataset import TactileArrays, synthetic_tactile_arrays  # noqa: E402
from grasplab.models.tactile_encoders import TactileNet  # noqa: E402
from grasplab.training import Trainer, load_checkpoint  # noqa: E402
from grasplab.training.tactile_config import METHODS, TactilePretrainConfig, load_tactile_config  # noqa: E402
from grasplab.training.tactile_tasks import (  # noqa: E402
    MemoryBankTask,
    MocoTask,
    extract_features,
    make_tactile_task,
    momentum_update,
    predict_success,
    tactile_net_spec,
)

TINY = [
    "augment.resize=20",
    "augment.crop=16",
    "model.width=4",
    "model.num_stages=2",
    "model.proj_dim=8",
    "model.proj_hidden=16",
    "optim.epochs=1",
    "optim.batch_size=8",
    "optim.max_steps_per_epoch=1",
    "optim.lr_milestones=[]",
]


@pytest.fixture(scope="module")
def trials() -> tuple[TactileArrays, TactileArrays]:
    arrays = synthetic_tactile_arrays(28, 16, np.random.default_rng(0), num_objects=3)
    return arrays.subset(np.arange(20)), arrays.subset(np.arange(20, 28))


def _config(method: str, *extra: str) -> TactilePretrainConfig:
    return load_tactile_config(None, [f"method={method}", *TINY, *extra])


@pytest.mark.parametrize("method", METHODS)
def test_one_step_of_each_method(
    method: str, trials: tuple[TactileArrays, TactileArrays], tmp_path: Path
) -> None:
    config = _config(method)
    task = make_tactile_task(config, *trials)
    result = Trainer(task, config, tmp_path, argv=["test"]).fit()
    row = result.history[0]
    assert np.isfinite(row.train_loss) and np.isfinite(row.val_loss)
    assert set(row.train) == {"loss", method}
    if method == "supervised":
        assert 0.0 <= row.val["accuracy"] <= 1.0
    checkpoint = load_checkpoint(result.last_checkpoint)
    assert checkpoint.family == "tactile" and checkpoint.config["method"] == method
    features = extract_features(checkpoint.model, trials[1], config)
    assert features.shape == (8, 8) and features.dtype == np.float32 and np.isfinite(features).all()
    if method == "supervised":
        predicted = predict_success(checkpoint.model, trials[1], config)
        assert predicted.shape == (8,) and predicted.dtype == bool
    else:
        with pytest.raises(ValueError, match="classifier"):
            predict_success(checkpoint.model, trials[1], config)


def test_specs_per_method() -> None:
    num = 100
    moco = tactile_net_spec(_config("moco"), num)
    assert moco.momentum_encoder and moco.queue_size == 95 and moco.proj_dim == 8
    assert tactile_net_spec(_config("moco", "contrast.queue_size=40"), num).queue_size == 40
    bank = tactile_net_spec(_config("memory-bank"), num)
    assert bank.queue_size == num and not bank.momentum_encoder
    assert tactile_net_spec(_config("autoencoder"), num).decoder
    sup = tactile_net_spec(_config("supervised", "data.pads=both"), num)
    assert sup.num_classes == 1 and sup.proj_dim == 0 and sup.in_channels == 6
    with pytest.raises(ValueError, match="smaller than the training set"):
        tactile_net_spec(_config("moco", "contrast.queue_size=100"), num)
    with pytest.raises(ValueError, match="method"):
        _config("simclr")


def test_moco_step_enqueues_keys_and_moves_the_key_encoder(
    trials: tuple[TactileArrays, TactileArrays],
) -> None:
    config = _config("moco", "contrast.queue_size=12", "contrast.momentum=0.5")
    task = MocoTask(config, *trials)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = task.build_model()
    assert isinstance(net, TactileNet) and net.key_encoder is not None
    train, _ = task.datasets()
    batch = task.collate([train[i] for i in range(8)])
    queue_before = net.queue.clone()
    key_before = [p.clone() for p in net.key_encoder.parameters()]
    loss, _ = task.loss(net, batch)
    expected_keys = net.embed_key(batch["view_b"])
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5)
    loss.backward()
    optimizer.step()
    task.after_step(net, 1)
    assert torch.allclose(net.queue[:8], expected_keys) and torch.equal(net.queue[8:], queue_before[8:])
    assert int(net.queue_ptr) == 8
    pairs = zip(key_before, net.key_encoder.parameters(), net.encoder.parameters(), strict=True)
    for before, key, query in pairs:
        assert torch.allclose(key, 0.5 * before + 0.5 * query)


def test_moco_queue_smaller_than_a_batch(trials: tuple[TactileArrays, TactileArrays], tmp_path: Path) -> None:
    config = _config("moco", "contrast.queue_size=5", "optim.batch_size=16")
    result = Trainer(MocoTask(config, *trials), config, tmp_path).fit()
    net = load_checkpoint(result.last_checkpoint).model
    assert net.queue.shape == (5, 8) and int(net.queue_ptr) == 0  # 16 keys written, the last 5 kept


def test_momentum_update_formula() -> None:
    key, query = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = key.weight.detach().clone()
    momentum_update(key, query, 0.9)
    assert torch.allclose(key.weight, 0.9 * before + 0.1 * query.weight)


def test_memory_bank_writes_the_visited_rows_only(trials: tuple[TactileArrays, TactileArrays]) -> None:
    task = MemoryBankTask(_config("memory-bank"), *trials)
    net = task.build_model()
    assert isinstance(net, TactileNet)
    train, _ = task.datasets()
    batch = task.collate([train[i] for i in (3, 7)])
    bank_before = net.queue.clone()
    task.loss(net, batch)
    task.after_step(net, 1)
    changed = torch.ne(net.queue, bank_before).any(dim=1).nonzero().flatten().tolist()
    assert changed == [3, 7] and int(net.queue_ptr) == 0
    assert torch.allclose(net.queue[3].norm(), torch.tensor(1.0))


def test_tasks_need_enough_trials(trials: tuple[TactileArrays, TactileArrays]) -> None:
    with pytest.raises(ValueError, match="training"):
        make_tactile_task(_config("triplet"), trials[0].subset(np.array([0])), trials[1])


@pytest.mark.slow
def test_moco_resumes_exactly(trials: tuple[TactileArrays, TactileArrays], tmp_path: Path) -> None:
    config = _config("moco", "optim.epochs=2", "contrast.queue_size=10")
    full = Trainer(MocoTask(config, *trials), config, tmp_path / "full").fit()
    one = _config("moco", "optim.epochs=1", "contrast.queue_size=10")
    Trainer(MocoTask(one, *trials), one, tmp_path / "cut").fit()
    resumed = Trainer(MocoTask(config, *trials), config, tmp_path / "cut").fit()
    assert resumed.resumed_from == 1
    a = load_checkpoint(full.last_checkpoint).model.state_dict()
    b = load_checkpoint(resumed.last_checkpoint).model.state_dict()
    assert all(torch.equal(v, b[k]) for k, v in a.items())  # queue, pointer and key encoder too
