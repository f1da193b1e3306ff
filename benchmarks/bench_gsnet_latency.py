"""GSNet / AnyGrasp cost on a CPU: forward time per frame, parameters, training step, whole detector.

Run: ``python benchmarks/bench_gsnet_latency.py [--repeats 3] [--quick]`` (one thread, seeded).
Writes ``benchmarks/results/gsnet_latency.json`` and prints a Markdown table.

The frame is synthetic and fixed: a 1280x720 RealSense-preset depth image (the preset's size;
earlier notes called it 640x480) of a table at 0.6 m with
eight boxes on it, back-projected and thinned to one point per 5 mm voxel (as the graspness
labels and the detector do), then N points drawn. Per (backbone, size) it times, on one thread
(``torch.set_num_threads(1)``), untrained weights (the cost does not depend on them):

- **forward**: ``GSNet.forward`` (backbone, graspable head, seed FPS, view head, cylinder
  grouping, operation head) on one frame, median of ``--repeats`` after one warm-up, and the
  share of each stage (encode / seeds / view / operate);
- **train step**: forward with the training path (seeds, views drawn from synthetic view
  targets), all loss terms, backward and an Adam step, batch 4 frames, median;
- **params**: trainable parameters.

With ``--weights CKPT`` (a GSNet ``.safetensors`` checkpoint or its ``.onnx`` export; the word
``untrained`` for the seeded, untrained ``gsnet_cpu.yaml`` network) it times
instead the whole ``gsnet`` detector (:class:`grasplab.detection.gsnet_detector.GSNetDetector`,
default options) on the same scene seen by a 640x480 camera (:data:`DETECTOR_CAMERA`), one
thread: the network (point draw, the three stages with seeds and cylinder query, decoding) and
the post-processing (NMS, top 100, centring, collision check against the 3 mm cloud, top 50)
apart, median of ``--repeats``; the row goes to the ``detector`` entry of the same JSON (the other
rows are kept).

Sizes: ``cpu`` = ``configs/grasp/gsnet_cpu.yaml`` / ``gsnet_pointnet2_cpu.yaml`` (128-d, 256
seeds, 4096 points); ``paper`` = GSNet's widths (512-d, 1024 seeds, 20 k points; the point
backbone with the baseline's 2048/1024/512/256 centres).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from grasplab.core.camera import CameraIntrinsics, depth_to_points, intrinsics_preset  # noqa: E402
from grasplab.data.grasp_dataset import organised_image  # noqa: E402
from grasplab.labels.graspness_frame import voxel_downsample  # noqa: E402
from grasplab.models.gsnet import GSNetSpec, build_gsnet  # noqa: E402
from grasplab.training.grasp_config import load_grasp_train_config  # noqa: E402
from grasplab.training.grasp_losses import GraspLossWeights, gsnet_losses  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "gsnet_latency.json"
SEED = 0
#: a 640x480 RealSense-like camera (the detector timing frame)
DETECTOR_CAMERA = CameraIntrinsics(615.0, 615.0, 319.5, 239.5, 640, 480)


def synthetic_frame(rng: np.random.Generator, cam: Any = None) -> tuple[np.ndarray, Any]:
    """A depth image (metres) of a table at 0.6 m with eight boxes, and the intrinsics.

    The camera defaults to the RealSense preset (1280x720); the detector rows use
    :data:`DETECTOR_CAMERA` (640x480).
    """
    cam = intrinsics_preset("realsense") if cam is None else cam
    depth = np.full((cam.height, cam.width), 0.6, np.float32)
    for _ in range(8):
        u, v = rng.integers(100, cam.width - 100), rng.integers(80, cam.height - 80)
        half_u, half_v = rng.integers(20, 60, size=2)
        depth[v - half_v : v + half_v, u - half_u : u + half_u] = 0.6 - rng.uniform(0.03, 0.1)
    return depth, cam


def frame_inputs(num_points: int, rng: np.random.Generator, downsample: int) -> dict[str, torch.Tensor]:
    """Network inputs of the synthetic frame (batch 1)."""
    depth, cam = synthetic_frame(rng)
    points, pixels = depth_to_points(depth, cam)
    keep = voxel_downsample(points, 0.005)
    pick = rng.choice(keep, num_points, replace=len(keep) < num_points)
    return {
        "points": torch.as_tensor(points[pick], dtype=torch.float32)[None],
        "pixels": torch.as_tensor(pixels[pick] / downsample, dtype=torch.float32)[None],
        "image": torch.as_tensor(organised_image(depth, cam, downsample=downsample))[None],
        "voxels": torch.tensor(len(keep)),
    }


def _median_time(fn: Any, repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of ``fn`` after one warm-up (CPU time: this process, one thread)."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def forward_stages(net: Any, x: dict[str, torch.Tensor], repeats: int) -> dict[str, float]:
    """Median seconds of each inference stage and of the whole forward."""
    image = x["image"] if net.spec.backbone == "depth2d" else None
    stages: dict[str, list[float]] = {"encode": [], "seeds": [], "view": [], "operate": []}
    with torch.no_grad():
        for i in range(repeats + 1):
            t0 = time.process_time()
            enc = net.encode(x["points"], x["pixels"], image)
            t1 = time.process_time()
            seeds = net.seeds(x["points"], enc)
            t2 = time.process_time()
            scores, feats = net.views_of_seeds(enc, seeds)
            t3 = time.process_time()
            net.operate(x["points"], enc, seeds, feats, scores.argmax(-1))
            t4 = time.process_time()
            if i:
                for name, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    stages[name].append(dt)
        wall, cpu = _median_time(lambda: net(x["points"], x["pixels"], image), repeats)
    out = {f"{k}_cpu_ms": 1000 * statistics.median(v) for k, v in stages.items()}
    out.update(forward_wall_ms=1000 * wall, forward_cpu_ms=1000 * cpu)
    return out


def train_step_ms(
    spec: GSNetSpec, x: dict[str, torch.Tensor], repeats: int, batch: int = 4
) -> tuple[float, float]:
    """Median (wall, CPU) milliseconds of one training step (batch frames, synthetic targets)."""
    torch.manual_seed(SEED)
    net = build_gsnet(spec).train()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    pts = x["points"].expand(batch, -1, -1).contiguous()
    pix = x["pixels"].expand(batch, -1, -1).contiguous()
    img = x["image"].expand(batch, -1, -1, -1).contiguous() if spec.backbone == "depth2d" else None
    n, m, a, d = pts.shape[1], spec.num_seeds, spec.num_angles, len(spec.depths)
    gen = torch.Generator().manual_seed(SEED)
    targets = {
        "objectness": (torch.rand(batch, n, generator=gen) > 0.5).long(),
        "graspness": torch.rand(batch, n, generator=gen),
        "seed_valid": torch.ones(batch, m, dtype=torch.bool),
        "view": torch.rand(batch, m, spec.num_views, generator=gen),
        "score": torch.rand(batch, m, a, d, generator=gen),
        "width": torch.rand(batch, m, a, d, generator=gen) * 0.1,
        "stable": torch.rand(batch, m, a, generator=gen),
        "stable_valid": torch.tensor(True),
    }

    def step() -> None:
        enc = net.encode(pts, pix, img)
        seeds = net.seeds(pts, enc)
        scores, feats = net.views_of_seeds(enc, seeds)
        views = torch.multinomial(targets["view"].reshape(-1, spec.num_views), 1, generator=gen).reshape(
            batch, m
        )
        out = net.operate(pts, enc, seeds, feats, views)
        out.update(objectness=enc["objectness"], graspness=enc["graspness"], view_scores=scores)
        loss = gsnet_losses(out, targets, GraspLossWeights()).total
        opt.zero_grad()
        loss.backward()
        opt.step()

    wall, cpu = _median_time(step, repeats)
    return 1000 * wall, 1000 * cpu


def detector_latency(weights: Path, repeats: int) -> dict[str, Any]:
    """Median CPU / wall ms of the gsnet detector on a 640x480 frame, network and post-processing apart."""
    from grasplab.detection import Observation
    from grasplab.detection.gsnet_detector import GSNetDetector
    from grasplab.detection.postprocess import postprocess

    depth, cam = synthetic_frame(np.random.default_rng(SEED), DETECTOR_CAMERA)
    observation = Observation(depth, cam)
    source: Any = weights
    if str(weights) == "untrained":
        cpu = load_grasp_train_config(ROOT / "configs" / "grasp" / "gsnet_cpu.yaml")
        torch.manual_seed(SEED)
        source = build_gsnet(cpu.model)  # num_points 4096 and image 1/2: the detector's defaults
    elif weights.suffix == ".onnx":
        from grasplab.detection.gsnet_onnx import OnnxStages

        source = OnnxStages(weights, threads=1)
    detector = GSNetDetector(source)
    raw = detector.raw_grasps(detector.network_outputs(observation) or {})

    def network() -> None:
        outputs = detector.network_outputs(observation)
        assert outputs is not None
        detector.raw_grasps(outputs)

    net_wall, net_cpu = _median_time(network, repeats)
    post_wall, post_cpu = _median_time(lambda: postprocess(raw, observation, detector.postprocess), repeats)
    all_wall, all_cpu = _median_time(lambda: detector.detect(observation), repeats)
    return {
        "weights": str(weights),
        "frame": f"{cam.width}x{cam.height}",
        "backend": "onnxruntime" if weights.suffix == ".onnx" else "torch",
        "note": "untrained weights: widths near 0, so no grasp survives the collision check"
        if str(weights) == "untrained" else "",
        "points": detector.num_points,
        "seeds": detector.spec.num_seeds,
        "image_downsample": detector.downsample,
        "raw_grasps": len(raw),
        "grasps": len(detector.detect(observation)),
        "network_cpu_ms": 1000 * net_cpu,
        "network_wall_ms": 1000 * net_wall,
        "postprocess_cpu_ms": 1000 * post_cpu,
        "postprocess_wall_ms": 1000 * post_wall,
        "detect_cpu_ms": 1000 * all_cpu,
        "detect_wall_ms": 1000 * all_wall,
    }


def write_detector_row(path: Path, row: dict[str, Any], command: str) -> None:
    """Put the detector row into the JSON at ``path``, keeping its other entries."""
    stored = json.loads(path.read_text()) if path.is_file() else {}
    stored["detector"] = {**row, "threads": 1, "torch": torch.__version__, "command": command}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=2) + "\n")


def specs() -> dict[str, tuple[GSNetSpec, int, int]]:
    """name -> (spec, points per frame, image downsampling)."""
    cpu = load_grasp_train_config(ROOT / "configs" / "grasp" / "gsnet_cpu.yaml")
    pn2 = load_grasp_train_config(ROOT / "configs" / "grasp" / "gsnet_pointnet2_cpu.yaml")
    return {
        "depth2d-cpu": (cpu.model, cpu.data.num_points, cpu.data.downsample),
        "pointnet2-cpu": (pn2.model, pn2.data.num_points, pn2.data.downsample),
        "depth2d-paper": (GSNetSpec(backbone="depth2d"), 20000, 1),
        "pointnet2-paper": (GSNetSpec(backbone="pointnet2"), 20000, 1),
    }


def main() -> None:
    """Measure and write the JSON (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="CPU sizes only, no training steps at paper size"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--weights", type=Path, default=None, help="time the whole gsnet detector with these weights"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.weights is not None:
        timed = detector_latency(args.weights, args.repeats)
        command = (f"python benchmarks/bench_gsnet_latency.py --weights {args.weights} "
                   f"--repeats {args.repeats}")
        write_detector_row(args.out, timed, command)
        print(json.dumps(timed, indent=2))
        return
    rows = []
    for name, (spec, num_points, downsample) in specs().items():
        if args.quick and name.endswith("paper"):
            continue
        rng = np.random.default_rng(SEED)
        x = frame_inputs(num_points, rng, downsample)
        torch.manual_seed(SEED)
        net = build_gsnet(spec).eval()
        row: dict[str, Any] = {
            "model": name,
            "backbone": spec.backbone,
            "points": num_points,
            "voxels_in_frame": int(x["voxels"]),
            "seeds": spec.num_seeds,
            "feature_dim": spec.feature_dim,
            "image_downsample": downsample,
            "params": sum(p.numel() for p in net.parameters() if p.requires_grad),
        }
        row.update(forward_stages(net, x, args.repeats))
        wall, cpu = train_step_ms(spec, x, max(1, args.repeats - 1))
        row.update(train_step_wall_ms_batch4=wall, train_step_cpu_ms_batch4=cpu)
        rows.append(row)
        print(json.dumps(row), flush=True)
    meta = {
        "threads": 1,
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "repeats": args.repeats,
        "seed": SEED,
        "command": "python benchmarks/bench_gsnet_latency.py" + (" --quick" if args.quick else ""),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(
        "| model | points | params | forward CPU ms (wall) | encode | seeds | view | operate "
        "| train step CPU ms, B=4 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['points']} | {r['params']:,} | {r['forward_cpu_ms']:.0f} "
            f"({r['forward_wall_ms']:.0f}) | {r['encode_cpu_ms']:.0f} | {r['seeds_cpu_ms']:.0f} | "
            f"{r['view_cpu_ms']:.0f} | {r['operate_cpu_ms']:.0f} | {r['train_step_cpu_ms_batch4']:.0f} |"
        )


if __name__ == "__main__":
    main()
