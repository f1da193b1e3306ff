"""Latency of the PLGP pixel networks on one CPU core per 320×320 frame.

Run: ``python benchmarks/bench_pixel_latency.py [--repeats N]`` (seeded; one thread). Writes
``benchmarks/results/pixel_latency.json`` and prints it.

For each network (randomly initialised, depth input, K = 18 angle bins, eval mode,
``torch.inference_mode``) we time the forward pass on a 1×1×320×320 input, in the default
(NCHW) and the channels-last memory format, and the pre-sigmoid ``logits`` (what the detector
runs), after two warm-up calls, and report the median and minimum wall time and the median CPU
time; with onnxruntime installed (extra ``grasplab[onnx]``) also the ONNX export run by
onnxruntime on one thread. The networks are GG-CNN2 as published (``ggcnn2``), its CPU variant
(``ggcnn2_cpu``: strided stem, 3x3 last decoder convolution; the shipped model), GR-ConvNet and
the AFFGA-style network. For the GG-CNN2 variants we also time the whole
``PixelDetector.detect`` (normalisation, network, peak NMS, decoding, 6-DoF lifting) on a
synthetic 320×320 depth frame (a plane at 0.6 m with boxes), 50 grasps.

Goal: the GG-CNN2-sized network under 20 ms per frame on one core. Wall times depend on the
machine's load; the CPU times are less sensitive to it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from grasplab.core import CameraIntrinsics  # noqa: E402
from grasplab.detection import build_detector  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.models import build_pixel_model, count_parameters  # noqa: E402

SEED = 0
SIZE = 320
RESULTS = Path(__file__).resolve().parent / "results" / "pixel_latency.json"
GOAL_S = 0.020


def timed(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median / min wall and median CPU seconds of ``fn`` after two warm-up calls."""
    for _ in range(2):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {
        "median_wall_s": statistics.median(wall),
        "min_wall_s": min(wall),
        "median_cpu_s": statistics.median(cpu),
    }


def synthetic_frame(rng: np.random.Generator) -> Observation:
    """A 320×320 depth frame: a plane at 0.6 m with six boxes 3-8 cm tall."""
    depth = np.full((SIZE, SIZE), 0.6, np.float32)
    for _ in range(6):
        v, u = rng.integers(20, SIZE - 60, size=2)
        h, w = rng.integers(15, 50, size=2)
        depth[v : v + h, u : u + w] = 0.6 - rng.uniform(0.03, 0.08)
    intrinsics = CameraIntrinsics(460.0, 460.0, (SIZE - 1) / 2, (SIZE - 1) / 2, SIZE, SIZE)
    return Observation(depth, intrinsics)


#: benchmarked networks: row name -> (registry name, options)
NETWORKS: dict[str, tuple[str, dict[str, Any]]] = {
    "ggcnn2": ("ggcnn2", {}),
    "ggcnn2_cpu": ("ggcnn2", {"stem_stride": 2, "up_kernel": 3}),
    "grconvnet": ("grconvnet", {}),
    "affga": ("affga", {}),
}


def onnx_timing(model: torch.nn.Module, x: torch.Tensor, repeats: int,
                folder: Path) -> dict[str, float] | None:
    """onnxruntime (one thread) on the model's ONNX export; None without onnxruntime."""
    try:
        import onnxruntime as ort

        from grasplab.detection.pixel_detector import export_onnx
    except ImportError:
        return None
    path = export_onnx(model, folder / "model.onnx", SIZE, SIZE)  # type: ignore[arg-type]
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    return timed(lambda: session.run(None, feed), repeats)


def bench_networks(repeats: int) -> dict[str, Any]:
    import tempfile

    out: dict[str, Any] = {}
    x = torch.randn(1, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(SEED))
    for row, (name, options) in NETWORKS.items():
        torch.manual_seed(SEED)
        model = build_pixel_model(name, 1, **options).eval()
        entry: dict[str, Any] = {"parameters": count_parameters(model)}
        with torch.inference_mode():
            entry["nchw"] = timed(lambda m=model: m(x), repeats)
            model_cl = model.to(memory_format=torch.channels_last)
            x_cl = x.contiguous(memory_format=torch.channels_last)
            entry["channels_last"] = timed(lambda m=model_cl, xx=x_cl: m(xx), repeats)
            # what PixelDetector runs: pre-sigmoid maps (the sigmoid is applied to decoded values only)
            entry["channels_last_logits"] = timed(lambda m=model_cl, xx=x_cl: m.logits(xx), repeats)
        if name == "ggcnn2":
            with tempfile.TemporaryDirectory() as folder:
                onnx = onnx_timing(model.to(memory_format=torch.contiguous_format), x, repeats, Path(folder))
            if onnx is not None:
                entry["onnxruntime"] = onnx
        out[row] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    networks = bench_networks(args.repeats)
    obs = synthetic_frame(np.random.default_rng(SEED))
    detect = {}
    for row in ("ggcnn2", "ggcnn2_cpu"):
        torch.manual_seed(SEED)
        detector = build_detector("pixel", model=build_pixel_model(NETWORKS[row][0], 1, **NETWORKS[row][1]))
        detect[row] = timed(lambda d=detector: d.detect(obs), args.repeats)
    best = min(entry["median_wall_s"] for key, entry in networks["ggcnn2_cpu"].items() if key != "parameters")
    results = {
        "benchmark": "pixel_latency",
        "seed": SEED,
        "repeats": args.repeats,
        "image": f"{SIZE}x{SIZE}",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "networks": networks,
        "detector_detect": detect,
        "goal_network": "ggcnn2_cpu",
        "goal_s": GOAL_S,
        "best_median_wall_s": best,
        "meets_goal": best < GOAL_S,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
