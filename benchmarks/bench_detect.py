"""Detectors side by side: latency, GraspNet AP per split and PLGP bin-picking SR / PC.

Run: ``python benchmarks/bench_detect.py [--quick]`` (seeded; one thread). Writes
``benchmarks/results/detect.json`` (and the per-attempt bin-picking logs
``detect_binpick_<method>_<split>.attempts.csv`` beside it) and prints a Markdown table.

Methods: the analytic detector (``grasplab.detection.AnalyticDetector``, default config) and the
random detector (``grasplab.detection.baselines.RandomDetector``) as the baseline. Both get the
same region of interest: the pixels above the tray floor (a workspace a user knows from the bin's
pose, computed from the depth image and the camera pose; not the ground-truth segmentation).

Test set (fixed, seeded): for each split (seen / similar / novel), ``NUM_SCENES`` scenes of
``NUM_OBJECTS`` objects drawn from the split's first ``POOL_SIZE`` ids of the object library,
dropped into the tray; each scene rendered (PyBullet TinyRenderer, 640x480, 45° vertical FOV)
from ``len(VIEWS)`` cameras looking at the tray centre. On every frame each method's ``detect``
is timed (wall clock of the detector alone, the region of interest computed before; after one
warm-up call) and its grasps are scored with the GraspNet AP protocol
(``grasplab.evaluation.evaluate_frame``; force closure on the exact meshes, model points from the
library meshes, poses from the simulation).

User frames (``user_frames.py``, listed first): the analytic detector on frames of
``grasplab scenes generate`` (the GraspNet rig's views, tray in view) per split, as
``grasplab detect`` runs it (no mask), with the true object mask and with the tray pose.

Bin-picking (``grasplab.evaluation.binpick.run_binpick``, PLGP §III-E): clearance runs (SR,
PC) on ``BINPICK_SCENES`` scenes of 5 objects per split in ``BINPICK_SPLITS`` at friction
μ ∈ ``BINPICK_MU``, top-down PLGP cameras at 640x480.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from user_frames import user_frame_benchmark, user_frame_markdown  # noqa: E402

from grasplab.core import CameraIntrinsics  # noqa: E402
from grasplab.detection import Detector, Observation, build_detector  # noqa: E402
from grasplab.detection.workspace import workspace_mask  # noqa: E402
from grasplab.evaluation import evaluate_frame, summarize_ap  # noqa: E402
from grasplab.evaluation.binpick import BinpickConfig, run_binpick  # noqa: E402
from grasplab.evaluation.in_memory import in_memory_frame_scene, in_memory_scene_objects  # noqa: E402
from grasplab.objects import ObjectLibrary, split_object_ids  # noqa: E402
from grasplab.scenes import (  # noqa: E402
    TRAY_FLOOR_HALF_EXTENT,
    ClutterConfig,
    World,
    generate_clutter,
    look_at,
    populate_world,
    render_frame,
)

SEED = 0
SPLITS = ("seen", "similar", "novel")
NUM_SCENES = 2
NUM_OBJECTS = 8
POOL_SIZE = 40
#: Camera eyes relative to the tray centre (m): a tilted and a nearly top-down view.
VIEWS = ((0.0, -0.28, 0.62), (0.22, 0.12, 0.66))
INTRINSICS = CameraIntrinsics.from_fov(45.0, 640, 480)
BINPICK_SPLITS = ("seen", "novel")
BINPICK_SCENES = 2
BINPICK_MU = (0.2, 0.6, 1.0)
RESULTS = Path(__file__).resolve().parent / "results" / "detect.json"


class FrameTally:
    """Latency, grasp counts and Precision@k matrices of several detectors over test frames."""

    def __init__(self, names: Iterable[str]) -> None:
        self.latency: dict[str, list[float]] = {name: [] for name in names}
        self.counts: dict[str, list[int]] = {name: [] for name in self.latency}
        self.accuracy: dict[str, dict[str, list[np.ndarray]]] = {
            name: {split: [] for split in SPLITS} for name in self.latency}

    def add(self, detectors: dict[str, Detector], obs: Observation, truth: Any, split: str) -> None:
        """Run every detector on one frame (a warm-up call before its first timed one) and score it."""
        for name, detector in detectors.items():
            if not self.latency[name]:
                detector.detect(obs)  # warm-up
            start = time.perf_counter()
            grasps = detector.detect(obs)
            self.latency[name].append(time.perf_counter() - start)
            self.counts[name].append(len(grasps))
            self.accuracy[name][split].append(evaluate_frame(grasps, truth).accuracy)


def methods(tray_workspace: bool = False) -> dict[str, Detector]:
    """The compared detectors from the registry (in the tray's workspace for bin-picking)."""
    return {name: build_detector(name, seed=SEED, tray_workspace=tray_workspace)
            for name in ("analytic", "random")}


def attempts_path(name: str, split: str) -> Path:
    """Where the per-attempt log of one bin-picking case goes, beside the JSON."""
    return RESULTS.with_name(f"detect_binpick_{name}_{split}.attempts.csv")


def frame_benchmark(library: ObjectLibrary, num_scenes: int) -> dict[str, Any]:
    """Latency and AP of every method on every rendered frame of the test set."""
    detectors = methods()
    tally = FrameTally(detectors)
    scenes = []
    for s, split in enumerate(SPLITS):
        pool = split_object_ids(split)[:POOL_SIZE]
        for k in range(num_scenes):
            scene_id = 100 * s + k
            record = generate_clutter(library, pool, scene_id, rng=SEED + scene_id,
                                      config=ClutterConfig(num_objects=NUM_OBJECTS))
            scenes.append({"split": split, "scene_id": scene_id, "objects": list(record.object_ids)})
            objects = in_memory_scene_objects(library, record.object_ids)
            with World() as world:
                populate_world(world, library, record)
                for eye in VIEWS:
                    centre = np.asarray(record.T_world_tray)[:3, 3]
                    T_world_cam = look_at(centre + np.asarray(eye), centre)
                    frame = render_frame(world, INTRINSICS, T_world_cam)
                    roi = workspace_mask(frame.depth, INTRINSICS, T_world_cam, np.eye(4),
                                         TRAY_FLOOR_HALF_EXTENT)
                    obs = Observation(frame.depth, INTRINSICS, frame.rgb, roi, T_world_cam)
                    truth = in_memory_frame_scene(objects, np.asarray(record.T_world_obj),
                                                  np.asarray(record.T_world_table), T_world_cam)
                    tally.add(detectors, obs, truth, split)
    results: dict[str, Any] = {"scenes": scenes, "methods": {}}
    for name in detectors:
        times = np.asarray(tally.latency[name])
        ap = {split: summarize_ap(np.stack(acc)).as_percent() for split, acc in tally.accuracy[name].items()}
        results["methods"][name] = {
            "latency_median_s": float(np.median(times)), "latency_p90_s": float(np.percentile(times, 90)),
            "frames": len(times), "grasps_per_frame_mean": float(np.mean(tally.counts[name])), "ap": ap}
    return results


def binpick_benchmark(library: ObjectLibrary, num_scenes: int) -> dict[str, Any]:
    """SR and PC of every method, per split in BINPICK_SPLITS."""
    out: dict[str, Any] = {}
    for name, workspace in methods(tray_workspace=True).items():
        out[name] = {}
        for split in BINPICK_SPLITS:
            config = BinpickConfig(num_objects=5, split=split, num_scenes=num_scenes,
                                   mu_values=BINPICK_MU, image_width=640, image_height=480,
                                   run_ap=False)
            result = run_binpick(workspace, config, rng=SEED, library=library,
                                 object_pool=split_object_ids(split)[:POOL_SIZE], detector_name=name)
            result.save_attempts_csv(attempts_path(name, split))
            out[name][split] = result.summary()
    return out


def markdown(results: dict[str, Any]) -> str:
    """One row per method: latency, AP per split, SR / PC per bin-picking split (percent)."""
    head = ["method", "latency (ms, median)"]
    head += [f"AP {split}" for split in SPLITS]
    head += [f"SR / PC {split}" for split in BINPICK_SPLITS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, frames in results["frames"]["methods"].items():
        row = [name, f"{1e3 * frames['latency_median_s']:.0f}"]
        row += [f"{frames['ap'][split]['AP']:.1f}" for split in SPLITS]
        for split in BINPICK_SPLITS:
            pick = results["binpick"][name][split]
            row.append(f"{100 * pick['success_rate']:.0f} / {100 * pick['percent_cleared']:.0f}")
        lines.append("| " + " | ".join(row) + " |")
    cfg = results["config"]
    lines.append("")
    lines.append(f"AP: GraspNet protocol (mean over 6 μ, percent), {cfg['frames_per_split']} frames "
                 f"per split ({cfg['num_scenes']} scenes of {cfg['num_objects']} objects x "
                 f"{len(VIEWS)} views, 640x480). SR / PC: PLGP bin-picking clearance, "
                 f"{cfg['binpick_scenes']} scenes of 5 objects, μ ∈ {list(BINPICK_MU)}. "
                 f"Latency: `detect` wall time on one core ({cfg['machine']['cpu_count']} CPUs, "
                 f"load {cfg['machine']['load_average_1min']:.1f}).")
    return "\n".join(lines) + "\n"


def main(quick: bool = False) -> dict[str, Any]:
    start = time.perf_counter()
    library = ObjectLibrary()
    num_scenes = 1 if quick else NUM_SCENES
    binpick_scenes = 1 if quick else BINPICK_SCENES
    user_frames = user_frame_benchmark(1, 2, SEED) if quick else user_frame_benchmark(seed=SEED)
    frames = frame_benchmark(library, num_scenes)
    frames_s = time.perf_counter() - start
    binpick = binpick_benchmark(library, binpick_scenes)
    results = {
        "benchmark": "detect",
        "seed": SEED,
        "config": {
            "splits": list(SPLITS), "num_scenes": num_scenes, "num_objects": NUM_OBJECTS,
            "pool_size": POOL_SIZE, "views": [list(v) for v in VIEWS],
            "frames_per_split": num_scenes * len(VIEWS),
            "image": f"{INTRINSICS.width}x{INTRINSICS.height}", "binpick_splits": list(BINPICK_SPLITS),
            "binpick_scenes": binpick_scenes, "binpick_mu": list(BINPICK_MU), "quick": quick,
            "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                        "load_average_1min": os.getloadavg()[0], "numpy": np.__version__},
        },
        "user_frames": user_frames,
        "frames": frames,
        "binpick": binpick,
        "seconds": {"frames": frames_s, "total": time.perf_counter() - start},
    }
    results["markdown"] = user_frame_markdown(user_frames) + "\n" + markdown(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one scene per split (a smoke run)")
    args = parser.parse_args()
    outcome = main(quick=args.quick)
    print(outcome["markdown"])
    print(f"wrote {RESULTS} in {outcome['seconds']['total']:.0f} s")
