"""The tactile outcome-learning study: split a tactile dataset, pretrain an encoder, probe it.

Glue between :mod:`grasplab.tactile.dataset` (the trials), the tactile tasks of
:mod:`grasplab.training.tactile_tasks` and the probes of :mod:`grasplab.evaluation.tactile_probes`,
used by ``grasplab tactile pretrain / probe`` and ``benchmarks/bench_tactile.py``.

Splits are drawn from ``data.split_seed`` (not the training seed, so that seeds vary the training
only): the test side (``data.test_fraction`` of the trials, or of the objects for
``split = "object"``) is never seen by pretraining; ``data.val_fraction`` of the training side is
the Trainer's validation set. The probes fit on the frozen features of the whole training side
(the paper's 6,000) and score on the test side (its 3,000).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from grasplab._optional import require
from grasplab.data.tactile_dataset import TactileArrays, synthetic_tactile_arrays
from grasplab.evaluation.tactile_probes import PROBES, ProbeResult, run_probes
from grasplab.tactile.dataset import (
    TactileDataset,
    split_by_object,
    split_by_sample,
    write_manifest,
    write_shard,
)
from grasplab.training.tactile_config import SPLITS, TactileDataConfig, TactilePretrainConfig

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

from grasplab.data.tactile_dataset import TactileViews  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.training.checkpoints import load_checkpoint  # noqa: E402
from grasplab.training.tactile_tasks import (  # noqa: E402
    extract_features,
    make_tactile_task,
    predict_success,
    tactile_net_spec,
)
from grasplab.training.trainer import Trainer, TrainProgress, TrainResult  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = [
    "StudySplit",
    "probe_controls",
    "probe_model",
    "probe_weights",
    "pretrain_tactile",
    "split_study",
    "tactile_arrays",
    "write_synthetic_dataset",
]


def tactile_arrays(ds: TactileDataset) -> TactileArrays:
    """The arrays learning needs from a loaded dataset (shared, not copied)."""
    return TactileArrays(ds.ta, ds.tb, np.asarray(ds.success, bool), np.asarray(ds.object_id))


@dataclass(frozen=True)
class StudySplit:
    """Index arrays (sorted int64) into the dataset.

    Attributes:
        train: trials pretraining learns from (the training side minus ``val``).
        val: the Trainer's validation trials (part of the training side).
        test: held-out trials (or objects) the probes are scored on.
        side: the whole training side (train, val and what ``max_train`` left out): what the
            probes fit on.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    side: np.ndarray


def split_study(ds: TactileDataset, data: TactileDataConfig) -> StudySplit:
    """Split ``ds`` into pretraining, validation and test trials (module docstring)."""
    rng = np.random.default_rng(data.split_seed)
    if data.split == "sample":
        side, test = split_by_sample(ds, data.test_fraction, rng)
    elif data.split == "object":
        side, test = split_by_object(ds, data.test_fraction, rng)
    else:
        raise ValueError(f"split must be one of {SPLITS}, got {data.split!r}")
    order = rng.permutation(side)
    num_val = min(len(side) - 2, int(round(data.val_fraction * len(side)))) if data.val_fraction else 0
    num_val = max(num_val, 1)
    val, train = order[:num_val], order[num_val:]
    if data.max_train is not None:
        train = train[: data.max_train]
    if len(train) < 2:
        raise ValueError(f"the {data.split} split leaves {len(train)} training trials; need >= 2")
    return StudySplit(np.sort(train), np.sort(val), np.sort(test), np.sort(side))


def pretrain_tactile(
    config: TactilePretrainConfig,
    ds: TactileDataset,
    out: Path | str,
    device: str = "cpu",
    progress: Callable[[TrainProgress], None] | None = None,
    argv: Sequence[str] | None = None,
) -> TrainResult:
    """Train ``config.method`` on the pretraining trials of ``ds`` into ``out`` (resumable)."""
    arrays = tactile_arrays(ds)
    split = split_study(ds, config.data)
    task = make_tactile_task(config, arrays.subset(split.train), arrays.subset(split.val))
    logger.info(
        "tactile %s: %d training, %d validation, %d test trials (%s split)",
        config.method, len(split.train), len(split.val), len(split.test), config.data.split,
    )
    kind = f"tactile-{config.method}"
    return Trainer(task, config, out, device, progress=progress, argv=argv, kind=kind).fit()


def probe_weights(
    weights: Path | str,
    ds: TactileDataset,
    *,
    rng: np.random.Generator,
    split: str | None = None,
    probes: Sequence[str] = PROBES,
    device: str = "cpu",
) -> tuple[ProbeResult, TactilePretrainConfig]:
    """Probe the frozen encoder of a tactile checkpoint on ``ds``.

    Args:
        weights: a checkpoint written by :func:`pretrain_tactile`.
        ds: the dataset it was trained on (the split is redrawn from the stored config).
        rng: the probes' random stream.
        split: "sample" or "object" to override the checkpoint's split (then the test trials may
            include pretraining trials; a warning is logged); None = the checkpoint's.
        probes: which probes.
        device: torch device of the feature extraction.

    Returns:
        The probe accuracies and the (possibly re-split) config. A supervised network's own
        classifier is scored too, as accuracy ``"classifier"``.
    """
    from grasplab.runtime.config import config_from_dict

    checkpoint = load_checkpoint(weights, device)
    if checkpoint.family != "tactile":
        raise ValueError(f"{weights} holds a {checkpoint.family!r} network, not a tactile encoder")
    config = config_from_dict(TactilePretrainConfig, checkpoint.config)
    if split is not None and split != config.data.split:
        logger.warning(
            "probing on the %s split of an encoder pretrained on the %s split", split, config.data.split
        )
        config = replace(config, data=replace(config.data, split=split))
    return probe_model(checkpoint.model, ds, config, rng=rng, probes=probes, device=device), config


def probe_model(
    model: nn.Module,
    ds: TactileDataset,
    config: TactilePretrainConfig,
    *,
    rng: np.random.Generator,
    probes: Sequence[str] = PROBES,
    device: str = "cpu",
) -> ProbeResult:
    """Probe the frozen features of a :class:`TactileNet` on the split of ``config``.

    A supervised network's own classifier is scored too, as accuracy ``"classifier"``.
    """
    parts = split_study(ds, config.data)
    arrays = tactile_arrays(ds)
    train, test = arrays.subset(parts.side), arrays.subset(parts.test)
    train_x = extract_features(model, train, config, device=device)
    test_x = extract_features(model, test, config, device=device)
    result = run_probes(train_x, train.success, test_x, test.success, rng=rng, probes=probes)
    if getattr(model, "classifier", None) is not None:
        predicted = predict_success(model, test, config, device=device)
        accuracy = {**result.accuracy, "classifier": float(np.mean(predicted == test.success))}
        result = replace(result, accuracy=accuracy)
    return result


def probe_controls(
    config: TactilePretrainConfig,
    ds: TactileDataset,
    *,
    rng: np.random.Generator,
    pixel_side: int = 16,
    probes: Sequence[str] = PROBES,
) -> dict[str, ProbeResult]:
    """Reference rows for the table: the probes on features that need no pretraining.

    - ``"random-init"``: the untrained encoder of ``config`` (initialised from ``config.seed``);
    - ``"pixels"``: the centre view of Tb - Ta average-pooled to ``pixel_side`` squared, flattened.

    A method that does not beat these has learnt nothing the probes could not find without it.
    """
    spec = tactile_net_spec(replace(config, method="autoencoder"), max(len(ds), 2))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        untrained = build_model("tactile", replace(spec, decoder=False))
    out = {"random-init": probe_model(untrained, ds, config, rng=rng, probes=probes)}
    parts = split_study(ds, config.data)
    arrays = tactile_arrays(ds)

    def pixels(indices: np.ndarray) -> np.ndarray:
        views = TactileViews(arrays.subset(indices), config.data.pads, config.augment, views=1, train=False)
        images = torch.stack([views[i]["view_a"] for i in range(len(views))])
        return F.adaptive_avg_pool2d(images, pixel_side).flatten(1).numpy()

    side, test = arrays.success[parts.side], arrays.success[parts.test]
    out["pixels"] = run_probes(pixels(parts.side), side, pixels(parts.test), test, rng=rng, probes=probes)
    return out


def write_synthetic_dataset(
    root: Path | str, num: int, size: int, rng: np.random.Generator, num_objects: int = 6
) -> Path:
    """Write toy trials as a tactile dataset folder, for tests and smoke runs.

    The trials are :func:`grasplab.data.tactile_dataset.synthetic_tactile_arrays` in one shard
    (``tc`` = ``tb``, zero grasps).

    Returns:
        ``root``.
    """
    arrays = synthetic_tactile_arrays(num, size, rng, num_objects)
    root = Path(root)
    write_shard(
        root / "trials" / "shard_00000.npz",
        {
            "ta": arrays.ta,
            "tb": arrays.tb,
            "tc": arrays.tb,
            "success": arrays.success,
            "object_id": arrays.object_id,
            "grasp": np.zeros((num, 17)),
            "trial": np.arange(num, dtype=np.int64),
        },
    )
    manifest = {
        "image_size": [size, size],
        "num_trials": num,
        "shards": ["trials/shard_00000.npz"],
        "objects": sorted(int(i) for i in np.unique(arrays.object_id)),
        "settings": {"synthetic": True},
    }
    write_manifest(root, manifest)
    return root
