"""PLGP pixel-level learned detectors next to the analytic detector: AP, bin-picking, latency, size.

Run: ``python benchmarks/bench_pixel.py [--model NAME=CKPT ...] [--ablation NAME=CKPT ...]
[--test-root DIR] [--quick] [--no-analytic] [--no-oracle] [--merge]`` (seeded; one thread).
Writes ``benchmarks/results/pixel.json`` and prints two Markdown tables (main comparison, PLGP
Table III ablation). ``--merge`` adds this run's rows to the existing JSON (same settings
assumed) instead of replacing it, so rows can be measured in separate runs.

Methods: the analytic detector (``grasplab.detection.AnalyticDetector``, default config) and every
trained checkpoint found (``--model``; default the runs of ``docs/pixel_training.md`` under
``runs/plgp/``, last epoch). All methods get the same region of interest: the pixels above the tray
floor (``grasplab.detection.TrayWorkspace`` / ``workspace_mask``; no ground-truth segmentation).
Detectors are built with ``grasplab.detection.build_detector``; every bin-picking case writes its
per-attempt log ``<out stem>_binpick_<method>_<case>.attempts.csv`` beside the JSON.
On bin-picking there is also the pixel-label oracle (``grasplab.detection.pixel_oracle``): the PLGP
labels of the live scene (it knows the object poses and gets the instance mask) decoded by the same
decoder, i.e. what a perfectly trained network could reach with these labels (no AP row: it needs
the scene state).

- **AP** (GraspNet protocol, ``evaluate_frame``; percent, mean over the 6 μ of the grid): every
  frame of the test roots ``<test-root>/<split>`` (written by ``grasplab scenes generate``, scene
  ids and seeds disjoint from the training set), per split seen / similar / novel.
- **Bin-picking** (``grasplab.evaluation.binpick.run_binpick``, PLGP §III-E, clearance SR / PC and
  the top-k execution AP): scenes of 5 and 15 objects from the seen and novel pools,
  ``BINPICK_SCENES`` scenes each, μ ∈ ``BINPICK_MU``, 640x480 top-down camera, seed ``SEED``.
- **Latency**: median wall time of ``detect`` per test frame on one thread (ROI computed before).
- **Parameters**: trainable parameter count of the network.

Ablation (PLGP Table III on GG-CNN2 instead of AFFGA-Net, for time): the four loss / enhancement
variants trained at one equal budget, AP on the novel test frames and bin-picking on 15-object
novel scenes.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import SEED, FrameTally  # noqa: E402

from grasplab.detection import Detector, Observation, TrayWorkspace, build_detector  # noqa: E402
from grasplab.detection.pixel_detector import PixelDetector  # noqa: E402
from grasplab.detection.workspace import workspace_mask  # noqa: E402
from grasplab.evaluation import APEvaluator, summarize_ap  # noqa: E402
from grasplab.evaluation.binpick import BinpickConfig, run_binpick  # noqa: E402
from grasplab.objects import ObjectLibrary, split_object_ids  # noqa: E402
from grasplab.scenes import TRAY_FLOOR_HALF_EXTENT  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "pixel.json"
SPLITS = ("seen", "similar", "novel")
RUNS = ROOT / "runs" / "plgp"
DEFAULT_MODELS = {
    "ggcnn2_cpu_depth": RUNS / "ggcnn2_cpu_depth" / "checkpoints" / "last.safetensors",
    "ggcnn2_cpu_rgbd": RUNS / "ggcnn2_cpu_rgbd" / "checkpoints" / "last.safetensors",
    "affga_depth": RUNS / "affga_depth" / "checkpoints" / "last.safetensors",
    "grconvnet_depth": RUNS / "grconvnet_depth" / "checkpoints" / "last.safetensors",
}
#: Table III variants; the "+ enhance + BFL" row is the main run after the same 10 epochs
DEFAULT_ABLATION = {
    "baseline (BCE)": RUNS / "abl_baseline" / "checkpoints" / "last.safetensors",
    "+ enhance (BCE)": RUNS / "abl_no_focal" / "checkpoints" / "last.safetensors",
    "+ BFL": RUNS / "abl_no_enhance" / "checkpoints" / "last.safetensors",
    "+ enhance + BFL": RUNS / "ggcnn2_cpu_depth" / "checkpoints" / "epoch_010.safetensors",
}
#: bin-picking settings: (objects per scene, split) cases, scenes per case, frictions (PLGP's
#: 0.2-1.0 grid), top-k for AP
BINPICK_CASES = ((5, "seen"), (5, "novel"), (15, "seen"), (15, "novel"))
BINPICK_SCENES = {5: 4, 15: 2}
BINPICK_MU = (0.2, 0.4, 0.6, 0.8, 1.0)
BINPICK_TOP_K = 10
POOL_SIZE = 40


def parse_named(items: list[str] | None, defaults: dict[str, Path]) -> dict[str, Path]:
    """``NAME=PATH`` items (or the defaults) -> existing checkpoints only, in order."""
    named = defaults if not items else dict(item.split("=", 1) for item in items)
    return {name: Path(path) for name, path in named.items() if Path(path).is_file()}


def test_frames(test_root: Path) -> dict[str, list[tuple[APEvaluator, int, int]]]:
    """Per split: (evaluator of the split root, scene, frame) of every test frame."""
    out: dict[str, list[tuple[APEvaluator, int, int]]] = {}
    for split in SPLITS:
        root = test_root / split
        if not (root / "scenes").is_dir():
            out[split] = []
            continue
        evaluator = APEvaluator(root)
        data = evaluator.dataset
        out[split] = [(evaluator, s, a) for s in data.scene_ids() for a in data.frame_ids(s)]
    return out


def _observation(evaluator: APEvaluator, scene: int, ann: int) -> Observation:
    """The test frame as a detector sees it: depth, colour and the tray-floor region of interest."""
    frame = evaluator.dataset.frame(scene, ann)
    record = evaluator.dataset.scene_record(scene)["record"]
    T_world_cam = np.asarray(record["T_world_table"]) @ frame.T_table_cam
    roi = workspace_mask(frame.depth, frame.intrinsics, T_world_cam, np.asarray(record["T_world_tray"]),
                         TRAY_FLOOR_HALF_EXTENT)
    return Observation(frame.depth, frame.intrinsics, frame.rgb, roi, T_world_cam)


def frame_benchmark(detectors: dict[str, Detector], frames: dict[str, list[Any]]) -> dict[str, Any]:
    """AP per split, latency and grasps per frame of every detector on every test frame."""
    tally = FrameTally(detectors)
    for split, items in frames.items():
        for evaluator, scene, ann in items:
            obs = _observation(evaluator, scene, ann)
            tally.add(detectors, obs, evaluator.frame_scene(scene, ann), split)
    latency, counts, accuracy = tally.latency, tally.counts, tally.accuracy
    out: dict[str, Any] = {}
    for name in detectors:
        ap = {s: summarize_ap(np.stack(a)).as_percent() for s, a in accuracy[name].items() if a}
        out[name] = {"latency_median_s": float(np.median(latency[name])) if latency[name] else None,
                     "frames": len(latency[name]),
                     "grasps_per_frame_mean": float(np.mean(counts[name])) if counts[name] else 0.0,
                     "ap": ap}
    return out


def attempts_path(out: Path, name: str, num_objects: int, split: str) -> Path:
    """The per-attempt log of one bin-picking case, beside the JSON ``out``."""
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return out.with_name(f"{out.stem}_binpick_{slug}_{num_objects}-{split}.attempts.csv")


def binpick_case(detector: Detector, name: str, library: ObjectLibrary, num_objects: int,
                 split: str, quick: bool = False, oracle: bool = False,
                 out: Path = RESULTS) -> dict[str, Any]:
    """SR / PC / AP of one detector on one (objects, split) case (quick: 1 scene, 1 μ).

    ``oracle``: the detector gets the instance mask and no tray workspace (it knows the scene).
    The per-attempt log is written to :func:`attempts_path` of ``out``.
    """
    config = BinpickConfig(num_objects=num_objects, split=split,
                           num_scenes=1 if quick else BINPICK_SCENES[num_objects],
                           mu_values=BINPICK_MU[-1:] if quick else BINPICK_MU,
                           image_width=640, image_height=480, top_k=BINPICK_TOP_K, provide_mask=oracle)
    result = run_binpick(detector if oracle else TrayWorkspace(detector), config, rng=SEED, library=library,
                         object_pool=split_object_ids(split)[:POOL_SIZE], detector_name=name)
    result.save_attempts_csv(attempts_path(out, name, num_objects, split))
    return {"success_rate": result.success_rate, "percent_cleared": result.percent_cleared,
            "ap": result.ap, "attempts": sum(r.attempts for r in result.per_mu),
            "cleared": sum(r.cleared for r in result.per_mu),
            "objects": sum(r.objects for r in result.per_mu),
            "per_mu": {f"{r.mu:g}": {"success_rate": r.success_rate,
                                     "percent_cleared": r.percent_cleared, "ap": r.ap}
                       for r in result.per_mu},
            "reasons": result.reasons, "seconds": result.seconds}


def model_info(detector: Detector, path: Path | None) -> dict[str, Any]:
    """Parameter count, input mode and training summary (epochs, seconds) of a pixel detector."""
    if not isinstance(detector, PixelDetector) or detector.model is None or path is None:
        return {"parameters": None}
    from grasplab.training.checkpoints import read_checkpoint_header

    history = read_checkpoint_header(path).get("state", {}).get("history", [])  # up to this checkpoint
    return {"parameters": int(sum(p.numel() for p in detector.model.parameters())),
            "input_mode": detector.input_mode, "checkpoint": str(path),
            "size_bytes": path.stat().st_size, "epochs": len(history),
            "train_seconds": float(sum(h["seconds"] for h in history)),
            "final_val_loss": history[-1]["val_loss"] if history else None,
            "final_val_success": history[-1]["val_success"] if history else None}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}"


def main_table(results: dict[str, Any]) -> str:
    """Markdown: one row per method; AP per split, SR / PC / AP per bin-picking case, latency, size."""
    cases = [f"{n}-{s}" for n, s in BINPICK_CASES]
    head = ["method", "params", "latency (ms)"] + [f"AP {s}" for s in SPLITS]
    head += [f"SR/PC/AP {c}" for c in cases]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in results["methods"].items():
        frames, info = row["frames"], row["info"]
        latency = frames["latency_median_s"]
        cells = [name, "-" if info["parameters"] is None else f"{info['parameters'] / 1e6:.2f} M",
                 "-" if latency is None else f"{1e3 * latency:.0f}"]
        cells += [f"{frames['ap'][s]['AP']:.1f}" if s in frames["ap"] else "-" for s in SPLITS]
        for case in cases:
            pick = row["binpick"].get(case)
            cells.append("-" if pick is None else f"{_pct(pick['success_rate'])} / "
                         f"{_pct(pick['percent_cleared'])} / {_pct(pick['ap'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ablation_table(results: dict[str, Any]) -> str:
    """Markdown: PLGP Table III rows (15 novel objects), plus AP on the novel test frames."""
    lines = ["| variant | focal loss | enhance | SR 15-novel | PC 15-novel | AP 15-novel (top-k) "
             "| GraspNet AP novel frames | val success |", "|---|---|---|---|---|---|---|---|"]
    for name, row in results["ablation"].items():
        pick, cfg = row["binpick"], row["info"].get("config", {})
        ap = row["frames"]["ap"].get("novel", {}).get("AP")
        cells = [name, "yes" if cfg.get("focal") else "no", "yes" if cfg.get("enhance") else "no",
                 _pct(pick["success_rate"]), _pct(pick["percent_cleared"]), _pct(pick["ap"]),
                 "-" if ap is None else f"{ap:.1f}", _pct(row["info"].get("final_val_success"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pixel(path: Path) -> Detector:
    return build_detector("pixel", weights=path)


def run(models: dict[str, Path], ablation: dict[str, Path], test_root: Path,
        quick: bool = False, oracle: bool = True, analytic: bool = True,
        out: Path = RESULTS) -> dict[str, Any]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    library = ObjectLibrary()
    frames = test_frames(test_root)
    if quick:
        frames = {s: items[:2] for s, items in frames.items()}
    detectors: dict[str, Detector] = {"analytic": build_detector("analytic", seed=SEED)} if analytic else {}
    detectors.update({name: _pixel(path) for name, path in models.items()})
    paths: dict[str, Path | None] = {"analytic": None, **models}
    results: dict[str, Any] = {"methods": {}, "ablation": {}}
    frame_rows = frame_benchmark(detectors, frames)
    cases = BINPICK_CASES[:1] if quick else BINPICK_CASES
    for name, detector in detectors.items():
        picks = {f"{n}-{s}": binpick_case(detector, name, library, n, s, quick, out=out)
                 for n, s in cases}
        results["methods"][name] = {"frames": frame_rows[name], "binpick": picks,
                                    "info": model_info(detector, paths[name])}
    if oracle:
        label_oracle = build_detector("pixel-oracle", library=library)
        picks = {f"{n}-{s}": binpick_case(label_oracle, "pixel label oracle", library, n, s, quick,
                                          oracle=True, out=out) for n, s in cases}
        results["methods"]["pixel label oracle"] = {
            "frames": {"latency_median_s": None, "frames": 0, "grasps_per_frame_mean": None, "ap": {}},
            "binpick": picks, "info": {"parameters": None}}
    abl_detectors: dict[str, Detector] = {name: _pixel(path) for name, path in ablation.items()}
    novel = {"novel": frames["novel"]}
    abl_frames = frame_benchmark(abl_detectors, novel) if abl_detectors else {}
    for name, detector in abl_detectors.items():
        info = model_info(detector, ablation[name])
        stored = _run_config(ablation[name])
        info["config"] = {"focal": stored["loss"]["kind"] == "focal", "enhance": stored["data"]["enhance"]}
        pick = binpick_case(detector, name, library, 5 if quick else 15, "novel", quick, out=out)
        results["ablation"][name] = {"frames": abl_frames[name], "binpick": pick, "info": info}
    results["config"] = {
        "seed": SEED, "test_root": str(test_root),
        "test_frames": {s: len(items) for s, items in frames.items()},
        "binpick_cases": [list(c) for c in cases], "binpick_scenes": BINPICK_SCENES,
        "binpick_mu": list(BINPICK_MU), "binpick_top_k": BINPICK_TOP_K, "pool_size": POOL_SIZE,
        "quick": quick, "torch_threads": torch.get_num_threads(),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "load_average_1min": os.getloadavg()[0], "torch": torch.__version__}}
    results["seconds"] = time.perf_counter() - start
    results["markdown"] = main_table(results)
    results["markdown_ablation"] = ablation_table(results) if results["ablation"] else ""
    return results


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with the rows of ``new`` added (or replaced); tables re-rendered.

    Raises:
        ValueError: the two runs used different benchmark settings.
    """
    keys = ("seed", "test_frames", "binpick_cases", "binpick_scenes", "binpick_mu", "binpick_top_k",
            "pool_size", "quick")
    new_config = json.loads(json.dumps(new["config"]))  # as it reads back from the file
    if any(old["config"].get(k) != new_config.get(k) for k in keys):
        raise ValueError("--merge: the existing results were measured with other settings")
    merged = dict(old)
    merged["methods"] = {**old["methods"], **new["methods"]}
    merged["ablation"] = {**old.get("ablation", {}), **new["ablation"]}
    merged["seconds"] = old["seconds"] + new["seconds"]
    merged.setdefault("runs", []).append({"methods": list(new["methods"]), "ablation": list(new["ablation"]),
                                          "seconds": new["seconds"], "config": new["config"]})
    merged["markdown"] = main_table(merged)
    merged["markdown_ablation"] = ablation_table(merged) if merged["ablation"] else ""
    return merged


def _run_config(checkpoint: Path) -> dict[str, Any]:
    """The training config stored in a checkpoint's header."""
    from grasplab.training.checkpoints import read_checkpoint_header

    return dict(read_checkpoint_header(checkpoint)["config"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="NAME=CHECKPOINT (repeatable)")
    parser.add_argument("--ablation", action="append", help="NAME=CHECKPOINT of a Table III variant")
    parser.add_argument("--test-root", type=Path, default=ROOT / "data" / "plgp_test",
                        help="folder with seen/, similar/, novel/ dataset roots")
    parser.add_argument("--quick", action="store_true", help="2 frames per split, one bin-picking case")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write")
    parser.add_argument("--no-oracle", action="store_true", help="skip the pixel-label oracle rows")
    parser.add_argument("--no-analytic", action="store_true", help="skip the analytic detector rows")
    parser.add_argument("--merge", action="store_true", help="add the rows to the existing --out JSON")
    args = parser.parse_args()
    models = parse_named(args.model, DEFAULT_MODELS)
    ablation = parse_named(args.ablation, DEFAULT_ABLATION)
    results = run(models, ablation, args.test_root, quick=args.quick, oracle=not args.no_oracle,
                  analytic=not args.no_analytic, out=args.out)
    if args.merge and args.out.is_file():
        results = merge_results(json.loads(args.out.read_text()), results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(results["markdown"])
    print(results["markdown_ablation"])
    print(f"wrote {args.out} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
