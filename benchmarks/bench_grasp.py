"""Learned 6-DoF detection side by side (issue 14 "Results"): AP, bin-picking, latency, training.

Run (one run, every method on the same frames and episodes, seeded)::

    python benchmarks/bench_grasp.py --gsnet cpu=runs/gsnet_cpu/checkpoints/best.safetensors \\
        --run cpu=runs/gsnet_cpu --seen data/gsnet/train:100-107 \\
        --similar data/gsnet/test_similar:130-137 --novel data/gsnet/test_novel:160-167 \\
        --episodes 3 [--max-frames 32] [--markdown-out PATH]
    python benchmarks/bench_grasp.py --quick --gsnet tiny=CKPT     # smoke run, < 3 min

Rows (``grasp_sections.py``): each ``--gsnet NAME=CKPT``, the analytic detector with no mask and
with the true object mask, the ground-truth oracle. Sections:

- **AP** seen / similar / novel: every frame of the given scenes (``--max-frames``: that many
  spread over them), detected as a user runs it (no mask for the learned rows and the no-mask
  analytic row), scored by the evaluator of ``grasplab eval ap`` with the ``reference``
  force-closure backend (``--backend``);
- **bin-picking** (``grasplab.evaluation.binpick``, PLGP clearance): SR and PC on 5 and 15
  objects, seen (the training object pool: the first ``--seen-pool`` seen ids) and novel,
  ``--episodes`` scenes per case at friction ``--mu``, top-down camera at 640×480;
- **latency** per 640×480 rendered frame on one thread (``torch.set_num_threads(1)``), median of
  ``--repeats`` after a warm-up; gsnet rows split into network and post-processing; parameters;
- **training**: epochs, training seconds and the best ``val_ap`` from each ``--run NAME=DIR``.

Writes ``benchmarks/results/grasp.json`` (``--out``) and prints a Markdown table. Each finished
case is kept in ``<out>.partial.json`` with a fingerprint of its settings: an interrupted run
continues where it stopped (``--fresh`` recomputes everything).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from grasp_sections import (  # noqa: E402
    Method,
    ResultCache,
    ap_rows,
    ap_scorer,
    binpick_case,
    binpick_units,
    latency_frame,
    latency_row,
    methods_of,
    root_scenes,
    training_summary,
)
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "grasp.json"
SPLITS = ("seen", "similar", "novel")
BINPICK_SPLITS = ("seen", "novel")
BINPICK_OBJECTS = (5, 15)
console = Console()


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"{flag}: expected NAME=PATH, got {text!r}")
        out[name] = value
    return out


def _progress() -> Progress:
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console)


def _method_stamp(method: Method) -> Any:
    weights = Path(method.weights) if method.weights else None
    stat = weights.stat() if weights is not None and weights.is_file() else None
    return [method.name, method.kind, method.mask, method.weights, stat and (stat.st_size, stat.st_mtime)]


def ap_section(args: Any, methods: list[Method], splits: dict[str, tuple[str, list[int]]],
               cache: ResultCache) -> dict[str, Any]:
    """AP of every method on every given split."""
    out: dict[str, Any] = {}
    with _progress() as bar:
        for split, (root, scenes) in splits.items():
            scorer = ap_scorer(root, scenes, args.max_frames, backend=args.backend)
            out[split] = {"root": root, "scenes": scenes, "frames": [list(f) for f in scorer.frames],
                          "methods": {}}
            for method in methods:
                task = bar.add_task(f"AP {split}: {method.name}", total=len(scorer.frames))
                stamp = [_method_stamp(method), root, scorer.frames, args.backend, args.seed]
                out[split]["methods"][method.name] = cache.get(
                    f"ap/{split}/{method.name}", stamp,
                    partial(ap_rows, scorer, method, args.seed, partial(bar.advance, task)))
                bar.update(task, completed=len(scorer.frames))
    return out


def binpick_section(args: Any, methods: list[Method], cache: ResultCache) -> dict[str, Any]:
    """SR / PC of every method per split and object count."""
    from grasplab.objects import ObjectLibrary, split_object_ids

    library = ObjectLibrary()
    pools = {"seen": split_object_ids("seen")[: args.seen_pool], "novel": split_object_ids("novel")}
    out: dict[str, Any] = {}
    units = binpick_units(args.episodes, args.mu)
    with _progress() as bar:
        for split in args.binpick_splits:
            for count in args.binpick_objects:
                case = f"{split} {count}"
                out[case] = {}
                for method in methods:
                    task = bar.add_task(f"bin-picking {case}: {method.name}", total=units)
                    stamp = [_method_stamp(method), split, count, args.episodes, args.mu, pools[split],
                             args.seed]
                    out[case][method.name] = cache.get(
                        f"binpick/{case}/{method.name}", stamp,
                        partial(binpick_case, method, split, count, args.episodes, args.mu,
                                pools[split], args.seed, library, partial(bar.advance, task)))
                    bar.update(task, completed=units)
    return out


def latency_section(args: Any, methods: list[Method], cache: ResultCache) -> dict[str, Any]:
    """Milliseconds per 640×480 frame on one thread, per method."""
    import torch

    from grasplab.objects import ObjectLibrary, split_object_ids

    torch.set_num_threads(1)
    library = ObjectLibrary()
    frame, record = latency_frame(library, split_object_ids("seen")[: args.seen_pool], args.seed)
    out = {}
    for method in methods:
        stamp = [_method_stamp(method), args.repeats, args.seed, "640x480"]
        out[method.name] = cache.get(f"latency/{method.name}", stamp, partial(
            latency_row, method, frame, record, library, args.seed, args.repeats))
    return out


def _cell(value: Any, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def markdown(results: dict[str, Any]) -> str:
    """One row per method: AP per split, SR / PC per bin-picking case, latency, parameters, training."""
    ap, pick, lat = results.get("ap", {}), results.get("binpick", {}), results.get("latency", {})
    head = ["method", *[f"AP {s}" for s in ap], *[f"SR / PC {c}" for c in pick],
            "ms / frame (net + post)", "params", "training"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in results["methods"]:
        row = [name, *[_cell(ap[s]["methods"].get(name, {}).get("ap", {}).get("AP")) for s in ap]]
        for case in pick:
            r = pick[case].get(name)
            row.append("–" if r is None else
                       f"{100 * r['success_rate']:.0f} / {100 * r['percent_cleared']:.0f}")
        t = lat.get(name, {})
        split = (f" ({t['network_ms']:.0f} + {t['postprocess_ms']:.0f})" if "network_ms" in t else "")
        row += [_cell(t.get("total_ms"), "{:.0f}") + split, _cell(t.get("parameters"), "{:,}")]
        train = results.get("training", {}).get(name.split(" ", 1)[-1]) if " " in name else None
        row.append("–" if train is None else f"{train['train_seconds'] / 3600:.2f} h, {train['epochs']} ep")
        lines.append("| " + " | ".join(row) + " |")
    cfg = results["config"]
    per_split = ", ".join(f"{s} {len(v['frames'])}" for s, v in ap.items()) or "–"
    machine = cfg["machine"]
    notes = []
    if ap:
        notes.append(f"AP: GraspNet protocol (mean over 6 μ, percent), force closure by the "
                     f"`{cfg['backend']}` backend, frames as a user runs them (no mask except the "
                     f"true-mask row); frames per split: {per_split}.")
    if pick:
        notes.append(f"SR / PC: PLGP bin-picking clearance, {cfg['episodes']} scenes per case, "
                     f"μ ∈ {cfg['mu']}, 640x480 top-down camera, tray workspace (true-mask row: the "
                     f"simulator's mask).")
    if lat:
        notes.append(f"Latency: median of {cfg['repeats']} on one thread, a rendered 640x480 tray "
                     f"frame (machine load {machine['load_average_1min']:.1f} on "
                     f"{machine['cpu_count']} CPUs).")
    lines += ["", " ".join(notes)]
    return "\n".join(lines) + "\n"


def _quick_split(tmp: Path) -> tuple[str, list[int]]:
    """A one-scene, two-view seen dataset of ``grasplab scenes generate`` for the smoke run."""
    from grasplab.scenes.generate import generate_dataset

    root = tmp / "seen"
    generate_dataset(root, "seen", 1, views=2, seed=0)
    return str(root), [0]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gsnet", action="append", default=[], help="NAME=CHECKPOINT (repeatable)")
    p.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR for training time (repeatable)")
    for split in SPLITS:
        p.add_argument(f"--{split}", help=f"ROOT:SCENES of the {split} AP frames, e.g. data/x:100-107")
    p.add_argument("--max-frames", type=int, default=None, help="AP frames per split (spread); default all")
    p.add_argument("--backend", default="reference", choices=("reference", "exact"))
    p.add_argument("--episodes", type=int, default=3, help="bin-picking scenes per case")
    p.add_argument("--mu", default="0.2,0.6,1.0", help="bin-picking frictions")
    p.add_argument("--seen-pool", type=int, default=32, help="seen objects of bin-picking (training pool)")
    p.add_argument("--repeats", type=int, default=10, help="timed detections per method")
    p.add_argument("--sections", default="ap,binpick,latency", help="comma-separated subset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--markdown-out", type=Path, default=None)
    p.add_argument("--fresh", action="store_true", help="ignore the partial results of a former run")
    p.add_argument("--quick", action="store_true", help="tiny settings (a smoke run, < 3 min)")
    args = p.parse_args(argv)
    args.mu = [float(v) for v in args.mu.split(",") if v.strip()]
    args.binpick_splits, args.binpick_objects = BINPICK_SPLITS, BINPICK_OBJECTS
    if args.quick:
        args.max_frames, args.episodes, args.mu, args.repeats = 2, 1, [0.6], 2
        args.binpick_splits, args.binpick_objects = ("seen",), (5,)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    start = time.perf_counter()
    methods = methods_of(_pairs(args.gsnet, "--gsnet"))
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    cache = ResultCache(args.out.with_suffix(".partial.json"), args.fresh,
                        say=lambda text: console.print(f"[dim]{text}[/dim]"))
    results: dict[str, Any] = {"benchmark": "grasp", "methods": [m.name for m in methods], "seconds": {}}
    with tempfile.TemporaryDirectory(prefix="grasplab-bench-grasp-") as tmp:
        splits = {s: root_scenes(getattr(args, s), f"--{s}") for s in SPLITS if getattr(args, s)}
        if args.quick and not splits:
            splits["seen"] = _quick_split(Path(tmp))
        for name, run in (("ap", lambda: ap_section(args, methods, splits, cache)),
                          ("binpick", lambda: binpick_section(args, methods, cache)),
                          ("latency", lambda: latency_section(args, methods, cache))):
            if name in sections:
                tic = time.perf_counter()
                results[name] = run()
                results["seconds"][name] = time.perf_counter() - tic
    results["training"] = {name: training_summary(path) for name, path in _pairs(args.run, "--run").items()}
    results["config"] = {
        "backend": args.backend, "max_frames": args.max_frames, "episodes": args.episodes, "mu": args.mu,
        "seen_pool": args.seen_pool, "repeats": args.repeats, "seed": args.seed, "quick": args.quick,
        "out": str(args.out),
        "gsnet": _pairs(args.gsnet, "--gsnet"),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "load_average_1min": os.getloadavg()[0]}}
    results["seconds"]["total"] = time.perf_counter() - start
    results["markdown"] = markdown(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown_out is not None:
        args.markdown_out.write_text(results["markdown"])
    return results


if __name__ == "__main__":
    outcome = main()
    print(outcome["markdown"])
    print(f"wrote {outcome['config']['out']} in {outcome['seconds']['total']:.0f} s")
