"""What decides the outcomes of a tactile dataset: physics the images show, or physics they hide?

Fits logistic regression and gradient boosting (scikit-learn) predicting each trial's outcome
from (a) every recorded physics parameter, (b) only what the Tb - Ta images of both pads show
(contact area, position, spread, intensity, both-pad contact), (b') the left pad only, (c) the
unobservables alone (friction μ and mass), and (b) + (c); split by sample (1/3 test). See
:mod:`grasplab.evaluation.tactile_diagnosis` and ``docs/tactile_diagnosis.md``.

Usage::

    nice -n 19 .venv/bin/python benchmarks/tactile_diagnosis.py --data data/tactile_v1 \
        [--com] [--seed 0] [--out benchmarks/results/tactile_diagnosis.json]

``--com`` adds the centre of mass in the grasp frame to the physics group: recorded by datasets
of generator version 2, replayed for version 1 (about a second per object).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from grasplab.evaluation.tactile_diagnosis import (  # noqa: E402
    com_in_grasp_frame,
    diagnose,
    load_trial_table,
    reconstruct_rest_com,
)
from grasplab.tactile.dataset import read_manifest  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    """Run the diagnosis and write its JSON (and print a Markdown table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="tactile dataset folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "tactile_diagnosis.json")
    parser.add_argument("--seed", type=int, default=0, help="split and classifier seed")
    parser.add_argument("--com", action="store_true",
                        help="add the centre of mass in the grasp frame (replayed for version 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    manifest = read_manifest(args.data)
    table = load_trial_table(args.data)
    if args.com and "param_com_x" not in table:
        com = com_in_grasp_frame(table["grasp"], reconstruct_rest_com(args.data, table))
        for k, axis in enumerate("xyz"):
            table[f"param_com_{axis}"] = com[:, k]
    scores, info = diagnose(table, rng=np.random.default_rng(args.seed))
    version = manifest.get("settings", {}).get("settings", {}).get("version", 1)
    body = {"data": str(args.data), "generator_version": version, "seed": args.seed,
            "com": bool(args.com or "param_com_x" in table), **info,
            "groups": {s.group: {"features": list(s.features), "accuracy": s.accuracy}
                       for s in scores},
            "seconds": round(time.perf_counter() - start, 1),
            "command": " ".join(["python benchmarks/tactile_diagnosis.py",
                                 *(sys.argv[1:] if argv is None else argv)])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(body, indent=2) + "\n")
    print(f"{args.data}: {info['num_trials']} trials, {100 * info['success_rate']:.1f} % held, "
          f"majority {100 * info['majority_test_accuracy']:.1f} %")
    print("| features | logistic | boosting |\n|---|---:|---:|")
    for s in scores:
        print(f"| {s.group} | {100 * s.accuracy['logistic']:.1f} | {100 * s.accuracy['boosting']:.1f} |")
    print(f"wrote {args.out} ({body['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
