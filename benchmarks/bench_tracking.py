"""Grasp tracking benchmark: association accuracy and speed of the learned tracker vs the nearest heuristic.

Run (one thread: "tracking rate per frame on one core")::

    python benchmarks/bench_tracking.py --gsnet runs/gsnet_cpu/checkpoints/best.safetensors \
        --learned runs/assoc/checkpoints/best.safetensors [--learned w001=runs/assoc001/...] \
        [--static-root data/gsnet/train] [--quick]

It is ``grasplab bench tracking`` with the output folder ``benchmarks/results`` and numerical
libraries held to one thread before torch loads: writes ``benchmarks/results/tracking.json`` and
``tracking.md`` and prints the Markdown table (held-out moving sequences of every motion kind and
adjacent views of held-out static scenes; a target is correct within 10 cm and 30° of the grasp
it started on; lost targets, identity switches; detection and association ms per frame apart).
"""

from __future__ import annotations

import os
import sys

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def main(argv: list[str] | None = None) -> None:
    """Run ``grasplab bench tracking`` on one thread; ``--out`` defaults to benchmarks/results."""
    import torch

    from grasplab.cli.main import app

    torch.set_num_threads(1)
    args = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in args:
        args += ["--out", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")]
    app(["bench", "tracking", *args], standalone_mode=True)


if __name__ == "__main__":
    main()
