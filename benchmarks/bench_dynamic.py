"""Dynamic grasping benchmark (issue 16; anygrasp.txt §VI-B): catch success of each tracker.

Run (one thread per process, as "tracking on one core")::

    python benchmarks/bench_dynamic.py [--episodes 10] [--trackers learned,nearest] \
        [--motions conveyor,turntable,random,crossing] [--object-sets primitives[,seen,novel]] \
        [--detector gsnet] [--image-width 640] [--tracker-weights ASSOC.safetensors] [--seed 0]

For every object set, motion and tracker it runs ``grasplab bench dynamic`` (the same episodes
for every tracker: episode ``k`` draws its objects and trajectories from ``[seed, k]``) into
``benchmarks/results/dynamic/`` (``--cells``), skipping a cell whose JSON is already there with
the same settings (rerun to resume), then gathers every cell into
``benchmarks/results/dynamic.json`` (``--out``) and a Markdown table with each tracker's catch
rate, time to catch, failure causes and, per motion, the gain of the first tracker over the
second. ``crossing`` (two identical boxes) only runs with the ``primitives`` set.

Both trackers detect with the same detector (default the shipped GSNet on 640×480 frames; the
learned tracker's head is the shipped one unless ``--tracker-weights`` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
MOTIONS = ("conveyor", "turntable", "random", "crossing")


def cell_stem(tracker: str, motion: str, object_set: str) -> str:
    """The file stem ``grasplab bench dynamic`` writes for one cell."""
    return f"dynamic_{tracker}_{motion}" + ("" if object_set == "primitives" else f"_{object_set}")


def cells(trackers: Sequence[str], motions: Sequence[str], sets: Sequence[str]) -> list[tuple[str, str, str]]:
    """(object set, motion, tracker) of every run; ``crossing`` only with primitives."""
    return [(s, m, t) for s in sets for m in motions if s == "primitives" or m != "crossing"
            for t in trackers]


def _matches(path: Path, args: argparse.Namespace, tracker: str) -> bool:
    """Whether a cell's JSON was written with this run's settings (else it is run again)."""
    if not path.is_file():
        return False
    done = json.loads(path.read_text())
    return (len(done["episodes"]) == args.episodes and done["name"] == f"{tracker}/{args.detector}"
            and done["motion"]["image_width"] == args.image_width
            and done.get("seed", args.seed) == args.seed)


def run_cell(args: argparse.Namespace, object_set: str, motion: str, tracker: str) -> dict[str, Any]:
    """One cell's result (run here, or read back when already written with these settings)."""
    path = args.cells / f"{cell_stem(tracker, motion, object_set)}.json"
    if not _matches(path, args, tracker):
        from grasplab.cli.main import app

        command = ["bench", "dynamic", "--episodes", str(args.episodes), "--tracker", tracker,
                   "--motion", motion, "--object-set", object_set, "--detector", args.detector,
                   "--image-width", str(args.image_width), "--seed", str(args.seed), "--out", str(args.cells)]
        if tracker == "learned" and args.tracker_weights is not None:
            command += ["--tracker-weights", str(args.tracker_weights)]
        print("$ grasplab " + " ".join(command), flush=True)
        code = app(command, standalone_mode=False)
        if code not in (None, 0) or not path.is_file():
            raise SystemExit(f"grasplab bench dynamic failed ({code}) on {object_set}/{motion}/{tracker}")
        data = json.loads(path.read_text())
        data["seed"] = args.seed
        path.write_text(json.dumps(data, indent=2))
    return json.loads(path.read_text())


def summary_row(object_set: str, motion: str, tracker: str, result: dict[str, Any]) -> dict[str, Any]:
    """The figures of one cell that the table shows."""
    return {"objects": object_set, "motion": motion, "tracker": tracker, "episodes": len(result["episodes"]),
            "caught": 100.0 * result["success_rate"], "time_to_catch": result["mean_time_to_catch"],
            "seconds_per_frame": result["seconds_per_frame"], "switches": result["switches"],
            "reasons": result["reasons"]}


def markdown(rows: list[dict[str, Any]], trackers: Sequence[str]) -> str:
    """One line per cell, and the first tracker's gain over the second per motion and object set."""
    lines = ["| objects | motion | tracker | episodes | caught (%) | gain (points) | time to catch (s) "
             "| s / frame | switches | outcomes |", "|---|---|---|---|---|---|---|---|---|---|"]
    caught = {(r["objects"], r["motion"], r["tracker"]): r["caught"] for r in rows}
    for r in rows:
        gain = "–"
        if len(trackers) > 1 and r["tracker"] == trackers[0]:
            other = caught.get((r["objects"], r["motion"], trackers[1]))
            gain = "–" if other is None else f"{r['caught'] - other:+.1f}"
        ttc = "–" if r["time_to_catch"] is None else f"{r['time_to_catch']:.2f}"
        causes = ", ".join(f"{k} {v}" for k, v in sorted(r["reasons"].items()))
        lines.append(f"| {r['objects']} | {r['motion']} | {r['tracker']} | {r['episodes']} "
                     f"| {r['caught']:.1f} | {gain} | {ttc} | {r['seconds_per_frame']:.3f} "
                     f"| {r['switches']} | {causes} |")
    for tracker, caught in overall(rows).items():
        episodes = sum(r["episodes"] for r in rows if r["tracker"] == tracker)
        lines.append(f"| all | all | {tracker} | {episodes} | {caught:.1f} (mean of cells) "
                     "| – | – | – | – | – |")
    return "\n".join(lines) + "\n"


def overall(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Each tracker's catch rate averaged over its cells (percent)."""
    out: dict[str, list[float]] = {}
    for r in rows:
        out.setdefault(r["tracker"], []).append(r["caught"])
    return {t: sum(v) / len(v) for t, v in out.items()}


def _csv(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--trackers", default="learned,nearest", help="the first one's gain over the second")
    p.add_argument("--motions", default=",".join(MOTIONS))
    p.add_argument("--object-sets", default="primitives", help="primitives, seen, similar, novel")
    p.add_argument("--detector", default="gsnet")
    p.add_argument("--image-width", type=int, default=640)
    p.add_argument("--tracker-weights", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cells", type=Path, default=RESULTS / "dynamic", help="folder of the per-cell results")
    p.add_argument("--out", type=Path, default=RESULTS / "dynamic.json")
    args = p.parse_args(argv)
    args.trackers, args.motions, args.object_sets = (_csv(args.trackers), _csv(args.motions),
                                                     _csv(args.object_sets))
    if args.episodes < 1 or not args.trackers or not args.motions or not args.object_sets:
        raise SystemExit("--episodes must be >= 1 and --trackers / --motions / --object-sets non-empty")
    unknown = sorted(set(args.motions) - set(MOTIONS))
    if unknown:
        raise SystemExit(f"--motions: unknown {', '.join(unknown)} (expected {', '.join(MOTIONS)})")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    rows = [summary_row(s, m, t, run_cell(args, s, m, t))
            for s, m, t in cells(args.trackers, args.motions, args.object_sets)]
    results = {"benchmark": "dynamic", "rows": rows, "overall": overall(rows),
               "markdown": markdown(rows, args.trackers),
               "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
               "seconds": time.perf_counter() - start}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(results["markdown"])
    print(results["markdown"])
    return results


if __name__ == "__main__":
    main()
