"""Generate the grasp-outcome tactile dataset: shards of trials as a resumable job.

``N`` trials are cut into shards of ``shard_size`` consecutive trials; shard ``k`` is one object
(``trials_per_object = shard_size``), so a dataset of 9,600 trials in shards of 64 has 150
objects (Calandra's has 106). The objects are the split's ids in an order shuffled by the
seed; an object that cannot be loaded, is too flat or cannot be labelled is replaced (shard
``k`` tries positions ``k, k + S, k + 2S, ...`` with ``S`` shards, which no shard takes first,
then ``k + 1, k + 2, ...``). Trial ``t`` draws everything from its own seed
``SeedSequence([seed, 0, t])``, shard ``k``'s object pose and label points from
``SeedSequence([seed, 1, k])``, so a shard's bytes depend only on the settings, the seed and
``k``: the same for any engine and worker count.

Shards are the job's shards (:func:`grasplab.runtime.jobs.run_job`): resumable (a complete
shard file is skipped), failures recorded in ``DS/.grasplab-job-tactile-trials.json`` and
retried by the next run, temporary files of a killed run removed. The format is in
:mod:`grasplab.tactile.dataset`.
"""

from __future__ import annotations

import functools
import logging
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.runtime.engines import Engine, make_engine
from grasplab.runtime.jobs import FingerprintMismatchError, Job, JobReport, ShardResult, run_job
from grasplab.tactile.dataset import DATASET_FILE, read_manifest, write_manifest, write_shard
from grasplab.tactile.trials import TrialSettings, object_trials

__all__ = ["JOB_NAME", "generate_dataset", "generate_shard", "shard_path", "trial_seed"]

logger = logging.getLogger(__name__)

#: Name of the generation job (its manifest is ``DS/.grasplab-job-tactile-trials.json``).
JOB_NAME = "tactile-trials"
_MAX_OBJECT_TRIES = 8


def shard_path(root: str | Path, shard: int) -> Path:
    """``root/trials/shard_%05d.npz``."""
    return Path(root) / "trials" / f"shard_{int(shard):05d}.npz"


def trial_seed(seed: int, trial: int) -> int:
    """The seed of global trial ``trial`` (``SeedSequence([seed, 0, trial])``, 63 bits)."""
    state = np.random.SeedSequence([int(seed), 0, int(trial)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def _object_order(split: str, seed: int) -> list[int]:
    from grasplab.objects.splits import split_object_ids

    ids = np.asarray(split_object_ids(split), dtype=np.int64)
    return [int(i) for i in np.random.default_rng([int(seed), 2]).permutation(ids)]


def _shard_trials(num_trials: int, shard_size: int, shard: int) -> list[int]:
    return list(range(shard * shard_size, min((shard + 1) * shard_size, num_trials)))


def generate_shard(root: str | Path, split: str, num_trials: int, shard_size: int, seed: int,
                   settings: TrialSettings, shard: int) -> dict[str, Any]:
    """Make and write shard ``shard`` (module docstring); returns a small summary.

    Raises:
        ValueError: no object of the tried ones could be used.
    """
    trials = _shard_trials(num_trials, shard_size, shard)
    order = _object_order(split, seed)
    num_shards = -(-num_trials // shard_size)
    errors = []
    for position in _object_positions(shard, num_shards, len(order)):
        object_id = order[position]
        try:
            arrays = _object_shard(object_id, trials, seed, shard, settings)
        except ValueError as exc:
            errors.append(f"object {object_id}: {exc}")
            logger.info("shard %d: object %d unusable (%s); trying the next", shard, object_id, exc)
            continue
        write_shard(shard_path(root, shard), arrays)
        return {"shard": shard, "object_id": object_id, "num_trials": len(trials),
                "num_success": int(arrays["success"].sum())}
    raise ValueError(f"shard {shard}: no usable object ({'; '.join(errors)})")


def _object_positions(shard: int, num_shards: int, num_objects: int) -> list[int]:
    """Positions in the object order that shard ``shard`` tries, first choice first.

    Its own position, then positions no shard takes first (``shard + j * num_shards``), then
    its neighbours ``shard + 1, shard + 2, ...`` (objects other shards use too); at most
    ``_MAX_OBJECT_TRIES`` distinct ones.

    >>> _object_positions(6, 32, 32)[:4]
    [6, 7, 8, 9]
    >>> _object_positions(6, 10, 32)[:4]
    [6, 16, 26, 7]
    """
    fresh = list(range(shard % num_objects, num_objects, num_shards)) if shard < num_objects \
        else [shard % num_objects]
    positions = list(dict.fromkeys(fresh + [(shard + k) % num_objects
                                            for k in range(1, num_objects)]))
    return positions[:_MAX_OBJECT_TRIES]


def _object_shard(object_id: int, trials: list[int], seed: int, shard: int,
                  settings: TrialSettings) -> dict[str, np.ndarray]:
    from grasplab.objects import ObjectLibrary

    obj = ObjectLibrary().load(object_id)
    object_seed = int(np.random.SeedSequence([int(seed), 1, int(shard)]).generate_state(1)[0])
    arrays = object_trials(obj, [trial_seed(seed, t) for t in trials], settings, object_seed)
    arrays["trial"] = np.asarray(trials, dtype=np.int64)
    return arrays


def _shard_complete(root: Path, num_trials: int, shard_size: int, shard: int) -> bool:
    path = shard_path(root, shard)
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return len(data["success"]) == len(_shard_trials(num_trials, shard_size, shard))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return False


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def generate_dataset(
    root: str | Path,
    num_trials: int,
    *,
    split: str = "seen",
    seed: int = 0,
    shard_size: int = 64,
    settings: TrialSettings | None = None,
    workers: int = 1,
    engine: str | Engine = "local",
    progress: Callable[[ShardResult], None] | None = None,
) -> JobReport:
    """Generate (or resume) a dataset of ``num_trials`` grasp trials in ``root``.

    Args:
        root: the dataset directory (created).
        num_trials: number of trials N.
        split: object split the objects come from (``"seen"`` for training, ``"novel"`` held
            out, or ``"similar"``).
        seed: the dataset's seed.
        shard_size: trials per shard (and per object).
        settings: how trials are drawn.
        workers: worker processes (local) or the most shards at once (Ray).
        engine: ``"local"``, ``"ray"`` or an engine; the files do not depend on it.
        progress: called with each shard's result as it finishes.

    Returns:
        The job's report (failed shards are in it; rerun to retry them).

    Raises:
        ValueError: bad counts or an unknown split.
        grasplab.runtime.jobs.FingerprintMismatchError: ``root`` holds a dataset made with
            other settings.
    """
    num_trials = _positive_int(num_trials, "num_trials")
    shard_size = _positive_int(shard_size, "shard_size")
    workers = _positive_int(workers, "workers")
    cfg = settings or TrialSettings()
    order = _object_order(split, seed)  # raises on an unknown split
    root = Path(root)
    num_shards = -(-num_trials // shard_size)
    fingerprint = {"num_trials": num_trials, "shard_size": shard_size, "seed": int(seed),
                   "split": split, "settings": cfg.to_dict()}
    job = Job(JOB_NAME, tuple(range(num_shards)),
              functools.partial(generate_shard, str(root), split, num_trials, shard_size,
                                int(seed), cfg),
              out=root,
              done=functools.partial(_shard_complete, root, num_trials, shard_size),
              fingerprint=fingerprint, on_change="refuse", leftovers=("trials/.shard_*",))
    root.mkdir(parents=True, exist_ok=True)
    _write_dataset_manifest(root, fingerprint, cfg, order, num_shards)
    runner = make_engine(engine, workers) if isinstance(engine, str) else engine
    return run_job(job, runner, progress)


def _write_dataset_manifest(root: Path, fingerprint: dict[str, Any], settings: TrialSettings,
                            order: list[int], num_shards: int) -> None:
    import hashlib
    import json

    from grasplab.objects.splits import SPLITS, split_object_ids

    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode())
    manifest = {
        "sensor": json.loads(json.dumps(asdict(settings.sensor_config()))),
        "image_size": list(settings.image_size),
        "settings": json.loads(json.dumps(fingerprint, default=str)),
        "fingerprint": digest.hexdigest(),
        "generator_version": int(settings.version),
        "seed": fingerprint["seed"],
        "split": fingerprint["split"],
        "objects": sorted(order[:num_shards]) if num_shards <= len(order) else sorted(order),
        "splits": {name: split_object_ids(name) for name in SPLITS},
        "num_trials": fingerprint["num_trials"],
        "shard_size": fingerprint["shard_size"],
        "shards": [str(shard_path(root, k).relative_to(root)) for k in range(num_shards)],
    }
    if (root / DATASET_FILE).is_file():
        before = read_manifest(root).get("fingerprint")
        if before == manifest["fingerprint"]:
            return
        raise FingerprintMismatchError(
            f"{root} holds a tactile dataset made with other settings (fingerprint {before}); "
            "use another output folder or the same settings")
    write_manifest(root, manifest)
