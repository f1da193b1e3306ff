"""Detection as a user runs it: frames of ``grasplab scenes generate``, AP per split and row.

The frames are those a user gets from ``grasplab scenes generate --split <split>`` (the GraspNet
rig's views of a tray on a table, Gaussian depth noise, realsense intrinsics at half size),
written to a temporary dataset and scored with the evaluator of ``grasplab eval ap``
(:class:`grasplab.evaluation.ap.APEvaluator`, GraspNet AP protocol) with both force-closure
backends: ``reference`` (graspnetAPI's SDF contact search, ``grasplab eval ap``'s default) and
``exact`` (ray casting on the mesh). Rows,
all the analytic detector with ``max_grasps = 50`` (``grasplab detect``'s ``--top-k``):

- ``no mask (grasplab detect)``: the frame alone, as ``grasplab detect`` runs it without
  ``--mask`` / ``--workspace`` (the detector finds the table, the bin's floor and walls itself);
- ``true object mask``: the ground-truth object mask (a perfect segmentation; an upper
  reference for any mask a user could pass with ``--mask``);
- ``tray pose``: the pixels above the tray floor from the tray's and the camera's poses
  (:class:`grasplab.detection.TrayWorkspace`; a user who measured both);
- ``whole frame (no support step)``: grasp points anywhere (``AnalyticDetectorConfig.support =
  None``), the behaviour before the support step, for reference.

Imported by ``bench_detect.py`` (into ``detect.json``); runs alone too:
``python benchmarks/user_frames.py [--quick]`` writes ``results/detect_user_frames.json``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.detection import AnalyticDetectorConfig, Detector, Observation
from grasplab.detection.registry import build_detector
from grasplab.evaluation import summarize_ap
from grasplab.evaluation.ap import APEvaluator
from grasplab.evaluation.frame import APConfig
from grasplab.scenes.generate import generate_dataset
from grasplab.scenes.reader import GraspNetDataset

SPLITS = ("seen", "similar", "novel")
NUM_SCENES = 2
VIEWS = 4
MAX_GRASPS = 50
BACKENDS = ("reference", "exact")
RESULTS = Path(__file__).resolve().parent / "results" / "detect_user_frames.json"
ROWS = ("no mask (grasplab detect)", "true object mask", "tray pose", "whole frame (no support step)")


def _detectors(seed: int) -> dict[str, Detector]:
    whole = AnalyticDetectorConfig(support=None)
    return {
        ROWS[0]: build_detector("analytic", seed=seed, max_grasps=MAX_GRASPS),
        ROWS[1]: build_detector("analytic", seed=seed, max_grasps=MAX_GRASPS),
        ROWS[2]: build_detector("analytic", seed=seed, max_grasps=MAX_GRASPS, tray_workspace=True),
        ROWS[3]: build_detector("analytic", seed=seed, max_grasps=MAX_GRASPS, config=whole),
    }


def _observation(row: str, dataset: GraspNetDataset, scene_id: int, frame_id: int) -> Observation:
    frame = dataset.frame(scene_id, frame_id)
    if row == ROWS[1]:
        return Observation(frame.depth, frame.intrinsics, frame.rgb, frame.mask > 0)
    if row == ROWS[2]:
        record = dataset.scene_record(scene_id)["record"]
        if not np.allclose(record["T_world_tray"], np.eye(4)):
            raise ValueError("the tray row assumes the tray at the world origin")
        T_world_cam = np.asarray(record["T_world_table"]) @ frame.T_table_cam
        return Observation(frame.depth, frame.intrinsics, frame.rgb, None, T_world_cam)
    return Observation(frame.depth, frame.intrinsics, frame.rgb)


def _split_rows(root: Path, split: str, num_scenes: int, views: int, seed: int) -> dict[str, Any]:
    """Generate one split's dataset under ``root`` and score every row on its frames."""
    generate_dataset(root, split, num_scenes, views=views, seed=seed)
    evaluators = {b: APEvaluator(root, config=APConfig(fc_backend=b)) for b in BACKENDS}
    dataset = GraspNetDataset(root)
    detectors = _detectors(seed)
    accuracy: dict[tuple[str, str], list[np.ndarray]] = {(r, b): [] for r in detectors for b in BACKENDS}
    latency: dict[str, list[float]] = {row: [] for row in detectors}
    for scene_id in dataset.scene_ids():
        for frame_id in dataset.frame_ids(scene_id):
            for row, detector in detectors.items():
                obs = _observation(row, dataset, scene_id, frame_id)
                start = time.perf_counter()
                grasps = detector.detect(obs)
                latency[row].append(time.perf_counter() - start)
                for b, evaluator in evaluators.items():
                    accuracy[row, b].append(evaluator.evaluate_grasps(scene_id, frame_id, grasps).accuracy)
    return {row: {"ap": {b: summarize_ap(np.stack(accuracy[row, b])).as_percent() for b in BACKENDS},
                  "frames": len(latency[row]),
                  "latency_median_s": float(np.median(latency[row]))} for row in detectors}


def user_frame_benchmark(num_scenes: int = NUM_SCENES, views: int = VIEWS, seed: int = 0) -> dict[str, Any]:
    """AP per split and row on freshly generated rig-view frames (see the module docstring)."""
    start = time.perf_counter()
    per_split: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="grasplab-user-frames-") as tmp:
        for split in SPLITS:
            per_split[split] = _split_rows(Path(tmp) / split, split, num_scenes, views, seed)
    rows = {row: {split: per_split[split][row] for split in SPLITS} for row in ROWS}
    ratio = {b: {split: per_split[split][ROWS[0]]["ap"][b]["AP"]
                 / max(per_split[split][ROWS[1]]["ap"][b]["AP"], 1e-9) for split in SPLITS}
             for b in BACKENDS}
    return {"config": {"splits": list(SPLITS), "num_scenes": num_scenes, "views": views, "seed": seed,
                       "max_grasps": MAX_GRASPS, "generator": "grasplab scenes generate defaults"},
            "rows": rows, "no_mask_over_true_mask": ratio, "seconds": time.perf_counter() - start}


def user_frame_markdown(results: dict[str, Any]) -> str:
    """One row per setting: AP per split (percent; reference / exact backend) and latency."""
    head = ["analytic detector, region of interest", *[f"AP {s}" for s in SPLITS], "latency (ms)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, per_split in results["rows"].items():
        cells = [" / ".join(f"{per_split[s]['ap'][b]['AP']:.1f}" for b in BACKENDS) for s in SPLITS]
        times = [per_split[s]["latency_median_s"] for s in SPLITS]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {1e3 * float(np.median(times)):.0f} |")
    cfg = results["config"]
    ratio = "; ".join(f"{b}: " + ", ".join(f"{s} {100 * r:.0f} %" for s, r in per.items())
                      for b, per in results["no_mask_over_true_mask"].items())
    lines += ["", f"Frames of `grasplab scenes generate` ({cfg['num_scenes']} scenes x {cfg['views']} "
              f"rig views per split, 5 objects, 640x360); AP: GraspNet protocol (mean over 6 μ, "
              f"percent), the evaluator of `grasplab eval ap`, force closure by the reference / "
              f"exact backend. No mask / true mask: {ratio}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one scene of two views per split")
    args = parser.parse_args()
    outcome = user_frame_benchmark(1, 2) if args.quick else user_frame_benchmark()
    outcome["markdown"] = user_frame_markdown(outcome)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2) + "\n")
    print(outcome["markdown"])
    print(f"wrote {RESULTS} in {outcome['seconds']:.0f} s")
