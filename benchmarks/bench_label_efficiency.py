"""GraspContrast's label-efficiency study at our scale (issue 15; graspcontrast.txt Tables I-III).

One command pretrains the backbone, fine-tunes the detector from it and from scratch with few and
with all labelled frames, and scores every run under the reference AP backend::

    python benchmarks/bench_label_efficiency.py \\
        --seen data/gsnet/train:100-107 --similar data/gsnet/test_similar:100-103 \\
        --novel data/gsnet/test_novel:100-103 [--fractions 1,2,8] [--seeds 0,1,2] \\
        [--larger-budget-seeds 0,1,2] \\
        [--ablations] [--runs runs/label_efficiency] [--max-frames 32] [--jobs 2]
    python benchmarks/bench_label_efficiency.py --quick      # smoke run on a generated scene

Steps, each resumable (rerun the same command after an interruption):

1. ``grasplab pretrain contrast --config configs/pretrain/contrast_cpu.yaml`` into
   ``RUNS/pretrain_contrast`` (with ``--ablations`` also ``pretrain_no_fne``: ``loss.fne=false``,
   and ``pretrain_no_aug``: ``data.augment=false``). Pretraining reads the training scenes'
   views only (scenes < 100 of ``data/gsnet/train``), never a label and never a test scene.
2. For each label budget F (labelled frames per training scene, ``data.frames_per_scene``), each
   init (``scratch``; ``contrast``: ``--init RUNS/pretrain_contrast/checkpoints/last.safetensors``;
   with ``--ablations`` at the smallest F also ``no_fne`` and ``no_aug``) and each seed:
   ``grasplab train grasp --config configs/grasp/label_efficiency.yaml`` into
   ``RUNS/f<F>_<init>_s<seed>``. Same schedule and budget for every init (20 epochs; the step
   count follows the number of frames, as when the paper trains on fewer frames).
3. AP of each run's last checkpoint on the seen / similar / novel frames, detected as a user runs
   it (``build_detector("gsnet", weights=...)``, no mask) and scored by the evaluator of
   ``grasplab eval ap`` with the ``reference`` force-closure backend.

``--jobs N`` runs N pretrainings or fine-tunings at a time, each with ``cpu_count // N`` torch
threads (on a 2-core machine two single-thread runs finish sooner than one two-thread run
after the other); each command's output goes to ``RUNS/logs/<run>.log``.

Scale: our training scenes have 8 views where GraspNet's have 256; the paper's 1/256, 16/256 and
256/256 become 1, 2 and 8 labelled views per scene (the smallest budget keeps the paper's one
frame per scene; 2 is the smallest step above it, 16/256 being below one of our views).

Writes ``benchmarks/results/label_efficiency.json`` (``--out``; per run and per cell: mean and
sample standard deviation over seeds, the gain of pretraining), a Markdown table and a plot
(``--plot``, needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from grasp_sections import Method, ResultCache, ap_rows, ap_scorer, root_scenes, training_summary
from rich.console import Console

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "label_efficiency.json"
SPLITS = ("seen", "similar", "novel")
PRETRAIN_VARIANTS = {"contrast": [], "no_fne": ["loss.fne=false"], "no_aug": ["data.augment=false"]}
console = Console()


def _grasplab(args: list[str], log: Path, threads: int | None = None) -> None:
    """Run a grasplab command (resumable by its own run folder), output appended to ``log``.

    ``threads`` caps the command's torch / BLAS threads (None: the library default).
    """
    command = [sys.executable, "-c", "from grasplab.cli.main import app; app()", *args]
    console.print(f"[bold]$ grasplab {' '.join(args)}[/bold]")
    env = dict(os.environ)
    if threads is not None:
        env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"grasplab {' '.join(args[:2])} failed ({done.returncode}); see {log}")


def _threads(args: argparse.Namespace, tasks: int) -> int | None:
    """Torch threads of each of ``tasks`` commands run ``--jobs`` at a time (None: one at a time)."""
    parallel = min(args.jobs, tasks)
    return None if parallel <= 1 else max(1, (os.cpu_count() or 1) // parallel)


def _sets(items: Sequence[str]) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def pretrain(args: argparse.Namespace, variant: str, threads: int | None = None) -> Path:
    """The last checkpoint of one pretraining variant (trained or resumed here)."""
    out = args.runs / f"pretrain_{variant}"
    _grasplab(["pretrain", "contrast", "--config", str(args.pretrain_config), "--out", str(out),
               *_sets([*args.pretrain_set, *PRETRAIN_VARIANTS[variant]])],
              args.runs / "logs" / f"{out.name}.log", threads)
    return out / "checkpoints" / "last.safetensors"


def finetune(args: argparse.Namespace, fraction: int, init: str, seed: int, weights: Path | None,
             threads: int | None = None) -> Path:
    """The run folder of one fine-tuning cell (trained or resumed here)."""
    out = args.runs / f"f{fraction}_{init}_s{seed}"
    sets = [*args.finetune_set, f"seed={seed}", f"data.frames_per_scene={fraction}"]
    extra = ["--init", str(weights)] if weights is not None else []
    _grasplab(["train", "grasp", "--config", str(args.finetune_config), "--out", str(out), *extra,
               *_sets(sets)], args.runs / "logs" / f"{out.name}.log", threads)
    return out


def cells(args: argparse.Namespace) -> list[tuple[int, str, int]]:
    """(fraction, init, seed) of every fine-tuning run, smallest budget first."""
    smallest = min(args.fractions)
    out = []
    for fraction in sorted(args.fractions):
        ablate = args.ablations and fraction == smallest
        inits = ["scratch", "contrast"] + (["no_fne", "no_aug"] if ablate else [])
        seeds = args.seeds if fraction == smallest else args.larger_budget_seeds
        out += [(fraction, init, seed) for init in inits for seed in seeds]
    return out


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread over seeds per (fraction, init) and split, and each init's gain over scratch.

    A gain is the mean and spread of per-seed differences, over the seeds both inits ran.
    """
    table: dict[str, Any] = {}
    for row in runs:
        cell = table.setdefault(str(row["fraction"]), {}).setdefault(row["init"], {s: {} for s in SPLITS})
        for split in SPLITS:
            if split in row["ap"]:
                cell[split][row["seed"]] = row["ap"][split]
    out: dict[str, Any] = {}
    for fraction, inits in table.items():
        out[fraction] = {i: {s: _stats(list(v.values())) for s, v in per.items() if v}
                         for i, per in inits.items()}
        base = table[fraction].get("scratch", {})
        for init, splits in inits.items():
            if init == "scratch":
                continue
            gains = {}
            for split, values in splits.items():
                scratch = base.get(split, {})
                diffs = [ap - scratch[seed] for seed, ap in values.items() if seed in scratch]
                if diffs:
                    gains[split] = _stats(diffs)
            out[fraction][init]["gain"] = gains
    return out


def markdown(summary: dict[str, Any], views: int) -> str:
    """The README table: AP mean ± std per budget and init, and the gain of each pretraining."""
    lines = ["| labelled views / scene | init | AP seen | AP similar | AP novel | gain seen | gain similar "
             "| gain novel | seeds |", "|---|---|---|---|---|---|---|---|---|"]
    for fraction in sorted(summary, key=int):
        for init, cell in summary[fraction].items():
            ap = [f"{cell[s]['mean']:.1f} ± {cell[s]['std']:.1f}" if s in cell else "–" for s in SPLITS]
            gain = cell.get("gain", {})
            gains = [f"{gain[s]['mean']:+.1f} ± {gain[s]['std']:.1f}" if s in gain else "–"
                     for s in SPLITS]
            seeds = max((cell[s]["n"] for s in SPLITS if s in cell), default=0)
            cols = " | ".join([*ap, *gains])
            lines.append(f"| {fraction} / {views} | {init} | {cols} | {seeds} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], path: Path) -> bool:
    """AP against the label budget, one panel per split, one line per init (False without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fractions = sorted(summary, key=int)
    fig, axes = plt.subplots(1, len(SPLITS), figsize=(4 * len(SPLITS), 3.2), sharey=True)
    order = ["scratch", "contrast", "no_fne", "no_aug"]
    inits = sorted({i for f in fractions for i in summary[f]}, key=order.index)
    for ax, split in zip(axes, SPLITS, strict=True):
        for k, init in enumerate(inits):
            xs = [int(f) for f in fractions if split in summary[f].get(init, {})]
            cells_ = [summary[str(x)][init][split] for x in xs]
            shift = 2 ** (0.06 * (k - (len(inits) - 1) / 2))  # side by side, so the bars stay apart
            ax.errorbar([x * shift for x in xs], [c["mean"] for c in cells_], [c["std"] for c in cells_],
                        marker="o", capsize=3, label=init)
        ax.set_xscale("log", base=2)
        ax.set_xticks([int(f) for f in fractions], [str(f) for f in fractions])
        ax.minorticks_off()
        ax.set_xlim(int(fractions[0]) / 1.5, int(fractions[-1]) * 1.5)
        ax.set_title(f"AP {split}")
        ax.set_xlabel("labelled views per scene")
    axes[0].set_ylabel("AP (%)")
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for split in SPLITS:
        p.add_argument(f"--{split}", help=f"ROOT:SCENES of the {split} AP frames")
    p.add_argument("--fractions", default="1,2,8", help="labelled views per training scene")
    p.add_argument("--seeds", default="0,1,2", help="seeds of every cell at the smallest budget")
    p.add_argument("--larger-budget-seeds", default=None,
                   help="seeds of the larger budgets (default: --seeds; their runs cost 2-8x more)")
    p.add_argument("--ablations", action="store_true",
                   help="no-FNE and no-augmentation at the smallest budget")
    p.add_argument("--pretrain-config", type=Path, default=ROOT / "configs/pretrain/contrast_cpu.yaml")
    p.add_argument("--finetune-config", type=Path, default=ROOT / "configs/grasp/label_efficiency.yaml")
    p.add_argument("--pretrain-set", action="append", default=[], help="extra --set of every pretraining")
    p.add_argument("--finetune-set", action="append", default=[], help="extra --set of every fine-tuning")
    p.add_argument("--runs", type=Path, default=ROOT / "runs/label_efficiency")
    p.add_argument("--max-frames", type=int, default=32, help="AP frames per split (spread)")
    p.add_argument("--views", type=int, default=8, help="views per training scene (for the table)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--plot", type=Path, default=None, help="PNG (default: beside --out)")
    p.add_argument("--quick", action="store_true", help="a smoke run on a generated two-view scene")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained at a time, each with cpu_count // jobs threads")
    args = p.parse_args(argv)
    try:
        args.fractions = _ints(args.fractions)
        args.seeds = _ints(args.seeds)
        larger = args.larger_budget_seeds
        args.larger_budget_seeds = args.seeds if larger is None else _ints(larger)
    except ValueError as exc:
        raise SystemExit(f"--fractions / --seeds: expected comma-separated integers ({exc})") from exc
    if not args.fractions or min(args.fractions) < 1 or not args.seeds or not args.larger_budget_seeds:
        raise SystemExit("--fractions needs integers >= 1; --seeds and --larger-budget-seeds a seed each")
    if args.jobs < 1:
        raise SystemExit(f"--jobs: expected >= 1, got {args.jobs}")
    args.plot = args.plot or args.out.with_suffix(".png")
    return args


def _quick(args: argparse.Namespace, tmp: Path) -> None:
    """Tiny settings on a generated, labelled scene (checks the plumbing, not the method)."""
    root, log = tmp / "quick", tmp / "logs" / "quick.log"
    _grasplab(["scenes", "generate", "--out", str(root), "--views", "2", "--objects-per-scene", "2",
               "--object-pool", "2", "--no-parallel-depth"], log)
    _grasplab(["label", "objects", "--root", str(root), "--spacing", "0.02", "--views", "60", "--angles", "6",
               "--anygrasp-depths"], log)
    for step in ("scenes", "graspness", "sdf"):
        _grasplab(["label", step, "--root", str(root)], log)
    tiny = ["model.feature_dim=16", "model.depth2d_channels=[8, 8, 16]", "model.num_views=60",
            "model.num_angles=6"]
    once = ["optim.epochs=1", "optim.lr_milestones=[]", "data.test_scenes_from=null"]
    args.pretrain_set = [f"data.root={root}", "data.num_points=256", "data.num_keypoints=64",
                         "data.pairs_per_scene=2", *once, *tiny]
    args.finetune_set = [f"data.root={root}", "data.num_points=256", "model.num_seeds=32",
                         "model.group_dim=16", *once, *tiny]
    args.seen, args.fractions, args.seeds, args.max_frames, args.views = f"{root}:0", [1], [0, 1], 2, 2
    args.runs = tmp / "runs"


def score_run(
    run: Path, cell: tuple[int, str, int], scorers: dict[str, Any], cache: ResultCache
) -> dict[str, Any]:
    """AP per split of a fine-tuning run's last checkpoint (cached by the checkpoint's stamp)."""
    fraction, init, seed = cell
    ckpt = run / "checkpoints" / "last.safetensors"
    row: dict[str, Any] = {"fraction": fraction, "init": init, "seed": seed, "run": str(run), "ap": {}}
    method = Method(run.name, "gsnet", str(ckpt))
    for split, scorer in scorers.items():
        stamp = [str(ckpt), ckpt.stat().st_mtime, ckpt.stat().st_size, scorer.frames]
        compute = partial(ap_rows, scorer, method, seed, lambda _: None)
        row["ap"][split] = cache.get(f"{run.name}/{split}", stamp, compute)["ap"]["AP"]
    row["training"] = training_summary(run)
    console.print(f"{run.name}: " + ", ".join(f"AP {s} {v:.1f}" for s, v in row["ap"].items()))
    return row


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grasplab-label-efficiency-") as tmp:
        if args.quick:
            _quick(args, Path(tmp))
        splits = {s: root_scenes(getattr(args, s), f"--{s}") for s in SPLITS if getattr(args, s)}
        if not splits:
            raise SystemExit("give at least one of --seen / --similar / --novel (or --quick)")
        todo = cells(args)
        variants = sorted({init for _, init, _ in todo} - {"scratch"})
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            threads = _threads(args, len(variants))
            weights = dict(zip(variants, pool.map(partial(pretrain, args, threads=threads), variants),
                               strict=True))
            cache = ResultCache(args.out.with_suffix(".partial.json"), False,
                                say=lambda text: console.print(f"[dim]{text}[/dim]"))
            scorers = {s: ap_scorer(root, scenes, args.max_frames) for s, (root, scenes) in splits.items()}
            threads = _threads(args, len(todo))
            trained = [pool.submit(finetune, args, f, init, seed, weights.get(init), threads)
                       for f, init, seed in todo]
            # scored in order as the runs finish (the scoring overlaps the runs still training)
            try:
                runs = [score_run(job.result(), cell, scorers, cache)
                        for job, cell in zip(trained, todo, strict=True)]
            except BaseException:  # a failed run stops the study now, not after every queued run
                for job in trained:
                    job.cancel()
                raise
        summary = summarise(runs)
        pretraining = {v: training_summary(args.runs / f"pretrain_{v}") for v in variants}
    results = {
        "benchmark": "label_efficiency", "runs": runs, "summary": summary, "pretraining": pretraining,
        "markdown": markdown(summary, args.views),
        "config": {"fractions": args.fractions, "seeds": args.seeds,
                   "larger_budget_seeds": args.larger_budget_seeds, "ablations": args.ablations,
                   "splits": {s: [r, sc] for s, (r, sc) in splits.items()}, "max_frames": args.max_frames,
                   "pretrain_config": str(args.pretrain_config), "finetune_config": str(args.finetune_config),
                   "quick": args.quick, "runs": str(args.runs),
                   "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()}},
        "jobs": args.jobs, "seconds": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    if plot(summary, args.plot):
        results["plot"] = str(args.plot)
    console.print(results["markdown"])
    return results


if __name__ == "__main__":
    main()
