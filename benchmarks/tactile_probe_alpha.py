"""How the MLP probe's L2 weight was chosen: on the training side only, never the test trials.

Extracts the frozen features of one tactile checkpoint on its split's training side, holds out a
tenth of that side, fits the MLP probe (256 hidden units, as ``tactile_probes``) with each
candidate setting on the other nine tenths and prints its accuracy on both parts. The test trials
are not read. ``tactile_probes.MLP_ALPHA`` is the setting with the best held-out accuracy on MoCo
seed 0 of the study (docs/tactile_learning.md).

Usage::

    python benchmarks/tactile_probe_alpha.py --data data/tactile_v2 \\
        --weights runs/bench_tactile_v2/sample/moco/seed0/checkpoints/last.safetensors \\
        [--out benchmarks/results/tactile_probe_alpha.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from grasplab.evaluation.tactile_probes import make_probe  # noqa: E402
from grasplab.evaluation.tactile_study import split_study, tactile_arrays  # noqa: E402
from grasplab.runtime.config import config_from_dict  # noqa: E402
from grasplab.tactile.dataset import load_tactile_dataset  # noqa: E402
from grasplab.training.checkpoints import load_checkpoint  # noqa: E402
from grasplab.training.tactile_config import TactilePretrainConfig  # noqa: E402
from grasplab.training.tactile_tasks import extract_features  # noqa: E402

RESULTS = Path(__file__).parent / "results"
#: candidate MLP settings (MLPClassifier keyword arguments replacing the probe's)
CANDIDATES: dict[str, dict[str, Any]] = {
    "alpha 1e-3 (former)": {"alpha": 1e-3},
    "alpha 1e-3, early stopping": {"alpha": 1e-3, "early_stopping": True},
    "alpha 1.0": {"alpha": 1.0},
    "alpha 10": {"alpha": 10.0},
}


def main(argv: list[str] | None = None) -> None:
    """Fit every candidate and write the accuracies."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "tactile_probe_alpha.json")
    args = parser.parse_args(argv)

    ds = load_tactile_dataset(args.data)
    checkpoint = load_checkpoint(args.weights, "cpu")
    config = config_from_dict(TactilePretrainConfig, checkpoint.config)
    side = tactile_arrays(ds).subset(split_study(ds, config.data).side)
    x, y = extract_features(checkpoint.model, side, config), side.success
    order = np.random.default_rng(args.seed).permutation(len(y))
    held, fit = order[: len(y) // 10], order[len(y) // 10 :]
    rows = {}
    for name, extra in CANDIDATES.items():
        # the study's probe with only the candidate's settings changed
        probe = make_probe("mlp", len(fit), args.seed)
        probe.set_params(**{f"mlpclassifier__{key}": value for key, value in extra.items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe.fit(x[fit], y[fit])
        rows[name] = {"fit_part": float(probe.score(x[fit], y[fit])),
                      "held_out_tenth": float(probe.score(x[held], y[held]))}
        print(f"{name:28s} fit part {100 * rows[name]['fit_part']:.1f} %, "
              f"held-out tenth {100 * rows[name]['held_out_tenth']:.1f} %", flush=True)
    record = {"command": " ".join(["python", *sys.argv]), "weights": str(args.weights),
              "fit_trials": len(fit), "held_out_trials": len(held), "candidates": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
