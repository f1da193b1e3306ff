"""Detector latency on one thread, repeated: the spread a shared machine puts on one timing.

Run: ``python benchmarks/bench_detector_latency_runs.py [--runs 5] [--repeats 10]
[--gsnet NAME=CKPT] [--out benchmarks/results/grasp_latency.json]``.

The latency section of ``bench_grasp.py`` (the same rendered 640×480 tray frame of 8 seen objects,
the same detectors: each ``--gsnet`` checkpoint with AnyGrasp's post-processing, the analytic
detector without and with the true object mask; :func:`grasp_sections.latency_row`) run
``--runs`` times in one process, each run the median of ``--repeats`` timed detections after a
warm-up. It writes every run and, per method and part (total, network, post-processing), the
median, minimum and maximum over the runs, and prints a Markdown table. One thread
(``torch.set_num_threads(1)``, BLAS and OpenMP pools of one), seeded.

On a machine shared with other work a single median of 10 still moves by a fifth from run to run;
the median over runs is the figure to read, the minimum what the code can do when nothing else
runs.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

RESULTS = Path(__file__).resolve().parent / "results" / "grasp_latency.json"
SHIPPED = "src/grasplab/assets/gsnet/gsnet_cpu.safetensors"
PARTS = ("total_ms", "network_ms", "postprocess_ms")


def summarize(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per method and timed part: median, min and max over the runs (ms)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in runs[0]:
        for part in PARTS:
            values = [float(run[method][part]) for run in runs if part in run[method]]
            if values:
                out.setdefault(method, {})[part] = {
                    "median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def markdown(summary: dict[str, dict[str, dict[str, float]]], runs: int, repeats: int) -> str:
    """One row per method: median (min-max) over the runs of total, network and post ms."""
    lines = ["| method | total ms | network ms | post-processing ms |", "|---|---|---|---|"]
    for method, parts in summary.items():
        cells = []
        for part in PARTS:
            s = parts.get(part)
            cells.append("–" if s is None else f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append(f"\nMedian (min-max) over {runs} runs, each the median of {repeats} detections on one "
                 "thread, a rendered 640x480 tray frame.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--gsnet", action="append", default=[],
                        help=f"NAME=CHECKPOINT (default gsnet_cpu={SHIPPED})")
    parser.add_argument("--seen-pool", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.repeats < 1:
        parser.error("--runs and --repeats must be >= 1")

    import torch
    from grasp_sections import NO_MASK, TRUE_MASK, latency_frame, latency_row, methods_of

    from grasplab.objects import ObjectLibrary, split_object_ids

    torch.set_num_threads(1)
    gsnet = dict(text.split("=", 1) for text in args.gsnet) or {"gsnet_cpu": SHIPPED}
    methods = [m for m in methods_of(gsnet) if m.kind == "gsnet" or m.name in (NO_MASK, TRUE_MASK)]
    library = ObjectLibrary()
    frame, record = latency_frame(library, split_object_ids("seen")[: args.seen_pool], args.seed)
    runs: list[dict[str, dict[str, Any]]] = []
    for k in range(args.runs):
        runs.append({m.name: latency_row(m, frame, record, library, args.seed, args.repeats)
                     for m in methods})
        times = ", ".join(f"{n} {r['total_ms']:.1f} ms" for n, r in runs[-1].items())
        print(f"run {k + 1}/{args.runs}: {times}", flush=True)
    summary = summarize(runs)
    result = {
        "benchmark": "detector_latency_runs",
        "command": "python benchmarks/bench_detector_latency_runs.py " + " ".join(argv or sys.argv[1:]),
        "runs": args.runs, "repeats": args.repeats, "seed": args.seed, "gsnet": gsnet,
        "image": "640x480", "threads": 1, "load_average_1min": os.getloadavg()[0],
        "per_run": runs, "summary": summary, "markdown": markdown(summary, args.runs, args.repeats),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    return result


if __name__ == "__main__":
    main()
