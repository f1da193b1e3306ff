"""The tactile outcome-learning study (Table I of tactile-moco.txt) from one command.

For each split (by sample, the paper's; by object, held-out objects), each method (MoCo, memory
bank, triplet, autoencoder, and the supervised ceiling) and each seed: pretrain the encoder on the
split's training trials (``configs/tactile/<method>.yaml`` plus ``--set`` overrides), freeze it,
fit the KNN (k = √n) / linear-SVM / MLP probes on the training side's features and score them on
the test side. The table is mean ± standard deviation of the test accuracy over seeds (the split
itself is fixed by ``data.split_seed``), laid out as the paper's Table I, with the paper's numbers
beside it, and two reference rows that need no pretraining: the probes on an untrained encoder
(``random-init``) and on the view average-pooled to 16 x 16 pixels (``pixels``).

Usage::

    # the real study (hours on a CPU; runs are resumable, finished ones are reused)
    OMP_NUM_THREADS=1 python benchmarks/bench_tactile.py --data DS --seeds 0,1,2 [--device cuda] [--jobs 2]
    # a seconds-long smoke run on toy trials (writes benchmarks/results/tactile_smoke.json)
    python benchmarks/bench_tactile.py --synthetic 160 --smoke

Cost on one CPU core (docs/tactile_learning.md): ~25 s per MoCo epoch over ~5,600 training
trials, so ~25 min per run with the presets' 60 epochs and ~10 h for 5 methods x 2 splits x 3
seeds; cut it with ``--seeds 0 --splits sample`` or ``--set optim.epochs=20``, or use ``--device
cuda``.

``--jobs N`` trains N runs at a time in worker processes (each loads the dataset once and uses
``cpu_count // N`` torch threads); the table is the same as one at a time, in the same order.

Writes ``benchmarks/results/tactile.json`` (``--out``) and a Markdown table beside it (``.md``).
Run folders go to ``--runs`` (default ``runs/bench_tactile``): ``<split>/<method>/seed<k>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from grasplab.evaluation.tactile_probes import PROBES  # noqa: E402
from grasplab.evaluation.tactile_study import (  # noqa: E402
    pretrain_tactile,
    probe_controls,
    probe_weights,
    split_study,
    write_synthetic_dataset,
)
from grasplab.tactile.dataset import TactileDataset, load_tactile_dataset  # noqa: E402
from grasplab.training.tactile_config import METHODS, SPLITS, TactilePretrainConfig, load_tactile_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "tactile"
RESULTS = Path(__file__).parent / "results"
#: tactile-moco.txt, Table I (left GelSight, Calandra dataset, split by sample), in %
PAPER_TABLE_I = {
    "autoencoder": {"knn": 74.23, "svm": 73.90, "mlp": 75.20},
    "triplet": {"knn": 75.33, "svm": 75.10, "mlp": 75.88},
    "memory-bank": {"knn": 78.30, "svm": 78.43, "mlp": 78.67},
    "moco": {"knn": 80.37, "svm": 80.83, "mlp": 81.83},
}
#: overrides of --smoke: a tiny encoder, two short epochs
SMOKE = [
    "augment.resize=36",
    "augment.crop=32",
    "model.width=8",
    "model.num_stages=3",
    "model.proj_dim=32",
    "model.proj_hidden=64",
    "optim.epochs=2",
    "optim.batch_size=16",
    "optim.lr_milestones=[]",
    "optim.max_steps_per_epoch=4",
]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="tactile dataset folder (grasplab tactile generate)")
    source.add_argument("--synthetic", type=int, help="use this many toy trials instead (smoke checks)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--splits", default=",".join(SPLITS), help="sample, object or both")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    parser.add_argument("--smoke", action="store_true", help="tiny encoder, 2 short epochs")
    parser.add_argument("--runs", type=Path, default=None, help="run folders (default runs/bench_tactile)")
    parser.add_argument("--out", type=Path, default=None, help="JSON to write")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs trained at a time (worker processes with cpu_count // jobs threads)")
    parser.add_argument("--no-controls", action="store_true",
                        help="skip the reference rows (untrained encoder, pooled pixels)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs: expected >= 1, got {args.jobs}")
    return args


def _config(method: str, split: str, seed: int, args: argparse.Namespace, root: str) -> TactilePretrainConfig:
    preset = CONFIGS / f"{method}.yaml"
    extra = SMOKE if args.smoke else []
    overrides = [*extra, *args.overrides, f"method={method}", f"data.split={split}", f"seed={seed}"]
    config = load_tactile_config(preset if preset.is_file() else None, overrides)
    return replace(config, data=replace(config.data, root=root))


def _one_run(
    config: TactilePretrainConfig, ds: TactileDataset, run_dir: Path, device: str, seed: int
) -> dict[str, Any]:
    tic = time.perf_counter()
    cpu = time.process_time()
    result = pretrain_tactile(config, ds, run_dir, device, argv=sys.argv)
    train_s, train_cpu = time.perf_counter() - tic, time.process_time() - cpu
    # the supervised ceiling keeps its best-validation-accuracy epoch; the others their last
    weights = result.best_checkpoint if config.method == "supervised" else result.last_checkpoint
    tic = time.perf_counter()
    probe, _ = probe_weights(weights, ds, rng=np.random.default_rng(seed), device=device)
    return {
        "method": config.method,
        "split": config.data.split,
        "seed": seed,
        "run": str(run_dir),
        "epochs": len(result.history),
        "final_train_loss": result.history[-1].train_loss,
        "final_val": result.history[-1].val,
        # this call's time (near 0 when the run was finished before and only resumed) ...
        "train_wall_s": train_s,
        "train_cpu_s": train_cpu,
        "resumed_from_epoch": result.resumed_from,
        # ... and the run's own, summed over its history (every session that trained it)
        "train_seconds": float(sum(m.seconds for m in result.history)),
        "seconds_per_epoch": float(np.mean([m.seconds for m in result.history])),
        "probe_wall_s": time.perf_counter() - tic,
        **probe.to_dict(),
    }


#: the dataset of a worker process (loaded once by :func:`_worker_init`)
_WORKER_DS: TactileDataset | None = None


def _worker_init(root: str, threads: int) -> None:
    """Load the dataset once per worker process and cap its torch threads."""
    global _WORKER_DS
    import torch

    torch.set_num_threads(threads)
    _WORKER_DS = load_tactile_dataset(root)


def _worker_run(config: TactilePretrainConfig, run_dir: Path, device: str, seed: int) -> dict[str, Any]:
    if _WORKER_DS is None:
        raise RuntimeError("worker used before _worker_init")
    return _one_run(config, _WORKER_DS, run_dir, device, seed)


def _report(run: dict[str, Any]) -> None:
    acc = ", ".join(f"{k} {100 * v:.1f}" for k, v in run["accuracy"].items())
    took = f"trained {run['train_seconds']:.0f} s" + (
        f", resumed at epoch {run['resumed_from_epoch']}" if run.get("resumed_from_epoch") else "")
    print(f"{run['split']:6s} {run['method']:12s} seed {run['seed']}: {acc} ({took})", flush=True)


Task = tuple[TactilePretrainConfig, Path, int]


def _train_all(
    tasks: list[Task], ds: TactileDataset, root: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Every run of ``tasks`` (``--jobs`` at a time), results in task order."""
    if args.jobs == 1 or len(tasks) <= 1:
        runs = []
        for config, run_dir, seed in tasks:
            runs.append(_one_run(config, ds, run_dir, args.device, seed))
            _report(runs[-1])
        return runs
    jobs = min(args.jobs, len(tasks))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    results: dict[int, dict[str, Any]] = {}
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_worker_init,
                             initargs=(str(root), threads)) as pool:
        futures: dict[Future[dict[str, Any]], int] = {
            pool.submit(_worker_run, config, run_dir, args.device, seed): i
            for i, (config, run_dir, seed) in enumerate(tasks)
        }
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            _report(results[futures[future]])
    return [results[i] for i in range(len(tasks))]


def _controls(
    ds: TactileDataset, split: str, seeds: list[int], args: argparse.Namespace, source: str
) -> list[dict[str, Any]]:
    """Reference rows: probes on an untrained encoder and on pooled pixels (no pretraining)."""
    rows = []
    for seed in seeds:
        config = _config("moco", split, seed, args, source)
        for name, probe in probe_controls(config, ds, rng=np.random.default_rng(seed)).items():
            rows.append({"method": name, "split": split, "seed": seed, "control": True, **probe.to_dict()})
            acc = ", ".join(f"{k} {100 * v:.1f}" for k, v in probe.accuracy.items())
            print(f"{split:6s} {name:12s} seed {seed}: {acc}", flush=True)
    return rows


def _table(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        cell = table.setdefault(run["split"], {}).setdefault(run["method"], {})
        for probe, acc in run["accuracy"].items():
            cell.setdefault(probe, {"values": []})["values"].append(100.0 * acc)
    for methods in table.values():
        for cell in methods.values():
            for entry in cell.values():
                values = np.asarray(entry["values"])
                entry["mean"] = float(values.mean())
                entry["std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return table


def _markdown(table: dict[str, dict[str, dict[str, Any]]], header: str) -> str:
    lines = [header, ""]
    for split, methods in table.items():
        paper_note = "; the paper's Table I in brackets" if split == "sample" else ""
        seeds = max(len(e["values"]) for cell in methods.values() for e in cell.values())
        spread = f"mean ± std over {seeds} seeds" if seeds > 1 else "one seed"
        lines += [f"Split by {split} (test accuracy %, {spread}{paper_note})", ""]
        lines += ["| method | " + " | ".join(p.upper() for p in PROBES) + " |"]
        lines += ["|---|" + "---:|" * len(PROBES)]
        for method, cell in methods.items():
            paper = PAPER_TABLE_I.get(method, {}) if split == "sample" else {}
            row = []
            for p in PROBES:
                text = "-" if p not in cell else f"{cell[p]['mean']:.2f}" + (
                    f" ± {cell[p]['std']:.2f}" if len(cell[p]["values"]) > 1 else "")
                row.append(text + (f" [{paper[p]:.2f}]" if p in paper else ""))
            lines.append(f"| {method} | " + " | ".join(row) + " |")
        own = methods.get("supervised", {}).get("classifier")
        if own is not None:
            spread_own = f" ± {own['std']:.2f}" if len(own["values"]) > 1 else ""
            lines += ["", f"The supervised network's own classifier: {own['mean']:.2f}{spread_own} %."]
        lines.append("")
    return "\n".join(lines)


def _dataset(args: argparse.Namespace, scratch: Path) -> tuple[TactileDataset, str, Path]:
    if args.data is not None:
        return load_tactile_dataset(args.data), str(args.data), args.data
    root = write_synthetic_dataset(scratch / "toy", args.synthetic, 24, np.random.default_rng(0), 8)
    return load_tactile_dataset(root), f"synthetic:{args.synthetic}", root


def main(argv: list[str] | None = None) -> None:
    """Run the study and write the JSON and Markdown tables."""
    args = _parse(argv)
    methods = [m for m in args.methods.split(",") if m]
    splits = [s for s in args.splits.split(",") if s]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    default_name = "tactile.json" if args.data is not None and not args.smoke else "tactile_smoke.json"
    out = args.out or RESULTS / default_name
    with tempfile.TemporaryDirectory() as scratch:
        ds, source, root = _dataset(args, Path(scratch))
        default_runs = Path(scratch) / "runs" if args.synthetic else ROOT / "runs" / "bench_tactile"
        runs_root = args.runs or default_runs
        sizes: dict[str, dict[str, int]] = {}
        tasks: list[Task] = []
        for split in splits:
            for method in methods:
                for seed in seeds:
                    config = _config(method, split, seed, args, source)
                    parts = split_study(ds, config.data)
                    sizes[split] = {"train": len(parts.train), "val": len(parts.val),
                                    "test": len(parts.test)}
                    tasks.append((config, runs_root / split / method / f"seed{seed}", seed))
        runs = _train_all(tasks, ds, root, args)
        if not args.no_controls:
            for split in splits:
                runs += _controls(ds, split, seeds, args, source)
        success = float(np.mean(ds.success)) if len(ds) else float("nan")
    table = _table(runs)
    record = {
        "command": " ".join(["python", *sys.argv]),
        "dataset": {"source": source, "num_trials": len(ds), "success_rate": success,
                    "image_hw": list(ds.image_shape), "split_sizes": sizes},
        "methods": methods,
        "seeds": seeds,
        "overrides": (SMOKE if args.smoke else []) + list(args.overrides),
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "omp_threads": os.environ.get("OMP_NUM_THREADS"), "device": args.device,
                    "jobs": args.jobs},
        "table": table,
        "paper_table_i": PAPER_TABLE_I,
        "runs": runs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    header = f"Tactile outcome learning on {source} ({len(ds)} trials, {100 * success:.1f} % held)"
    out.with_suffix(".md").write_text(_markdown(table, header) + "\n")
    print(_markdown(table, header))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
