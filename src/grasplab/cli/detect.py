"""``grasplab detect``: detect 6-DoF grasps in one RGB-D frame from files.

Reads a depth image (16-bit PNG or NPY, divided by ``--depth-scale`` to get metres), an optional
aligned colour image and the intrinsics (a JSON file with ``fx, fy, cx, cy`` and optionally
``width, height``; or ``fx,fy,cx,cy`` inline; or a preset name), checks them, runs a detector and
writes the grasps as a graspnetAPI ``.npy`` (N, 17), optionally as JSON, as an overlay PNG and as
a 3D scene (PLY / GLB). Grasps are in the camera frame (OpenCV: x right, y down, z forward),
metres. Bad input ends the command with one ``error: ...`` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer
from PIL import Image, UnidentifiedImageError
from rich.console import Console
from rich.table import Table

from grasplab.core import CameraIntrinsics, GraspGroup, intrinsics_preset, matrix_to_quaternion

console = Console()

#: Plausible range of the median valid depth, metres; outside it the depth scale is wrong.
DEPTH_RANGE_M = (0.02, 20.0)
#: Suffixes read with Pillow (16-bit PNG, TIFF) and with numpy.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
ARRAY_SUFFIXES = (".npy",)


class InputError(ValueError):
    """Bad user input to a command; the message is one line that says what to fix."""


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(f"{what} file not found: {path}")
    if not path.is_file():
        raise InputError(f"{what} path is not a file: {path}")


def read_depth(path: Path, depth_scale: float) -> np.ndarray:
    """Read a depth image and convert it to float32 metres (0 = invalid).

    Args:
        path: 16-bit single-channel PNG / TIFF, or an (H, W) ``.npy`` of any numeric dtype.
        depth_scale: raw units per metre (1000 for millimetres, 1 for metres).

    Returns:
        (H, W) float32 metres; NaN, inf and values <= 0 become 0.

    Raises:
        InputError: missing or unreadable file, not one channel, no valid pixel, or a median
            depth outside :data:`DEPTH_RANGE_M` (a wrong ``depth_scale``).
    """
    _require_file(path, "depth")
    raw = _read_array(path, "depth")
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise InputError(f"depth {path.name}: expected one channel (H, W), got shape {raw.shape}; "
                         f"a colour image is not a depth image")
    if not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise InputError(f"depth {path.name}: expected numbers, got dtype {raw.dtype}")
    with np.errstate(invalid="ignore"):
        depth = np.asarray(raw, dtype=np.float64) / depth_scale
    depth[~np.isfinite(depth) | (depth <= 0)] = 0.0
    valid = depth > 0
    if not valid.any():
        raise InputError(f"depth {path.name}: no valid pixel (all zero, negative or NaN)")
    median = float(np.median(depth[valid]))
    lo, hi = DEPTH_RANGE_M
    if median > hi:
        raise InputError(
            f"depth {path.name}: median depth {median:.4g} m after --depth-scale {depth_scale:g} "
            f"is implausible (millimetres?); use --depth-scale {depth_scale * 1000:g}")
    if median < lo:
        raise InputError(
            f"depth {path.name}: median depth {median:.4g} m after --depth-scale {depth_scale:g} "
            f"is implausible; is the depth already in metres? then use --depth-scale "
            f"{depth_scale / 1000:g}")
    return depth.astype(np.float32)


def _read_array(path: Path, what: str) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        try:
            return np.asarray(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise InputError(f"{what} {path.name}: cannot read the .npy file ({exc})") from exc
    try:
        with Image.open(path) as image:
            if what == "depth" and image.mode in ("RGB", "RGBA", "P", "L"):
                raise InputError(f"depth {path.name}: an 8-bit {image.mode} image; expected a "
                                 f"16-bit single-channel depth PNG (or an .npy array)")
            return np.asarray(image)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"{what} {path.name}: cannot read the image ({exc}); expected "
                         f"{'/'.join(IMAGE_SUFFIXES + ARRAY_SUFFIXES)}") from exc


def read_rgb(path: Path, shape: tuple[int, int], depth_name: str) -> np.ndarray:
    """Read a colour image aligned with the depth image: (H, W, 3) uint8.

    Raises:
        InputError: missing or unreadable file, or a size other than the depth image's.
    """
    _require_file(path, "rgb")
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"rgb {path.name}: cannot read the image ({exc})") from exc
    if rgb.shape[:2] != shape:
        raise InputError(
            f"rgb {path.name} is {rgb.shape[1]}x{rgb.shape[0]} but depth {depth_name} is "
            f"{shape[1]}x{shape[0]} (WxH); the images must be aligned and the same size")
    return rgb


def parse_intrinsics(spec: str, shape: tuple[int, int]) -> CameraIntrinsics:
    """Intrinsics from a JSON file, ``"fx,fy,cx,cy"`` or a preset name, for an (H, W) image.

    Raises:
        InputError: unreadable spec, missing keys, a size other than the image's, or values
            ``CameraIntrinsics`` rejects (non-positive focal length, principal point outside
            the image).
    """
    height, width = shape
    values: dict[str, Any]
    path = Path(spec)
    if path.suffix.lower() == ".json" or path.is_file():
        _require_file(path, "intrinsics")
        try:
            values = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"intrinsics {path.name}: not valid JSON ({exc})") from exc
        if not isinstance(values, dict):
            raise InputError(f"intrinsics {path.name}: expected a JSON object with fx, fy, cx, cy")
    elif "," in spec:
        parts = [p.strip() for p in spec.split(",")]
        if len(parts) != 4:
            raise InputError(f"intrinsics {spec!r}: expected 4 numbers fx,fy,cx,cy, got {len(parts)}")
        values = dict(zip(("fx", "fy", "cx", "cy"), parts, strict=True))
    else:
        try:
            preset = intrinsics_preset(spec)
        except ValueError as exc:
            raise InputError(f"intrinsics {spec!r}: not a file, not fx,fy,cx,cy and not a "
                             f"preset (realsense, kinect)") from exc
        values = {"fx": preset.fx, "fy": preset.fy, "cx": preset.cx, "cy": preset.cy,
                  "width": preset.width, "height": preset.height}
    return _intrinsics_from(values, width, height, spec)


def _intrinsics_from(values: dict[str, Any], width: int, height: int, spec: str) -> CameraIntrinsics:
    missing = [k for k in ("fx", "fy", "cx", "cy") if k not in values]
    if missing:
        raise InputError(f"intrinsics {spec}: missing {', '.join(missing)}; expected fx, fy, cx, "
                         f"cy (and optionally width, height)")
    try:
        numbers = {k: float(values[k]) for k in ("fx", "fy", "cx", "cy")}
    except (TypeError, ValueError) as exc:
        raise InputError(f"intrinsics {spec}: fx, fy, cx, cy must be numbers ({exc})") from exc
    size = (values.get("width", width), values.get("height", height))
    if (size[0], size[1]) != (width, height):
        raise InputError(f"intrinsics {spec} are for a {size[0]}x{size[1]} image but the depth "
                         f"image is {width}x{height} (WxH); scale the intrinsics to the image")
    try:
        return CameraIntrinsics(numbers["fx"], numbers["fy"], numbers["cx"], numbers["cy"],
                                width, height)
    except ValueError as exc:
        raise InputError(f"intrinsics {spec} do not fit the {width}x{height} image: "
                         f"{str(exc).removeprefix('CameraIntrinsics.')}") from exc


def grasps_to_json(grasps: GraspGroup, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-able description of grasps (camera frame, metres), best first.

    Each grasp holds ``rank``, ``score``, ``position`` (3,), ``rotation_matrix`` (3×3, columns
    = approach x, jaw axis y, finger height z), ``quaternion_wxyz`` (4,), ``width``, ``depth``,
    ``height`` (metres) and ``object_id`` (-1 = unknown).
    """
    group = grasps.sort_by_score()
    quats = matrix_to_quaternion(group.rotations) if len(group) else np.zeros((0, 4))
    rows = [
        {"rank": i + 1, "score": float(s), "position": t.tolist(), "rotation_matrix": R.tolist(),
         "quaternion_wxyz": q.tolist(), "width": float(w), "depth": float(d), "height": float(h),
         "object_id": int(o)}
        for i, (s, t, R, q, w, d, h, o) in enumerate(zip(
            group.scores, group.translations, group.rotations, quats, group.widths, group.depths,
            group.heights, group.object_ids, strict=True))
    ]
    return {
        "frame": "camera (OpenCV: x right, y down, z forward)",
        "units": "metres",
        "rotation_columns": ["approach (x)", "jaw axis (y)", "finger height (z)"],
        **(extra or {}),
        "num_grasps": len(rows),
        "grasps": rows,
    }


def _pixel_detector(weights: Path | None, top_k: int, device: str) -> Any:
    from grasplab.detection.pixel_detector import PixelDetector, PixelDetectorConfig
    from grasplab.detection.shipped import shipped_pixel_weights

    path = weights if weights is not None else shipped_pixel_weights()
    if path is None:
        raise InputError("--method pixel needs --weights: no pixel model is shipped with this install")
    if not Path(path).is_file():
        raise InputError(f"--weights {path}: no such file")
    return PixelDetector(path, device=device, config=PixelDetectorConfig(num_grasps=max(top_k, 1)))


def _detector(method: str, top_k: int, seed: int, weights: Path | None = None, device: str = "cpu") -> Any:
    from grasplab.detection import AnalyticDetector, AnalyticDetectorConfig

    factories: dict[str, Callable[[], Any]] = {
        "analytic": lambda: AnalyticDetector(
            AnalyticDetectorConfig(max_grasps=max(top_k, 1)), rng=seed),
        "pixel": lambda: _pixel_detector(weights, top_k, device),
    }
    try:
        from grasplab.detection.baselines import RandomDetector

        factories["random"] = lambda: RandomDetector(rng=seed, num_grasps=max(top_k, 1))
    except ImportError:  # pragma: no cover - baselines need the labels stage
        pass
    if method not in factories:
        raise InputError(f"--method {method!r} is unknown; expected one of {sorted(factories)}")
    return factories[method]()


def _check_outputs(paths: dict[str, Path | None]) -> None:
    suffixes = {"out": (".npy",), "json": (".json",), "viz": (".png",),
                "export_3d": (".ply", ".glb")}
    for name, path in paths.items():
        if path is not None and path.suffix.lower() not in suffixes[name]:
            option = "--" + name.replace("_", "-")
            raise InputError(f"{option} {path}: expected a {' or '.join(suffixes[name])} file")


def _summary(grasps: GraspGroup, latency: float, method: str, written: list[Path]) -> None:
    table = Table(title=f"grasplab detect ({method})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("grasps", str(len(grasps)))
    table.add_row("latency", f"{latency * 1e3:.0f} ms")
    if len(grasps):
        best = grasps[0]
        table.add_row("best score", f"{best.scores[0]:.3f}")
        table.add_row("best position (m)", " ".join(f"{v:+.3f}" for v in best.translations[0]))
        table.add_row("best width / depth", f"{best.widths[0] * 100:.1f} / {best.depths[0] * 100:.1f} cm")
    console.print(table)
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``detect`` command to ``app``."""

    @app.command()
    def detect(
        depth: Path = typer.Option(..., "--depth", help="Depth image: 16-bit PNG or .npy."),
        intrinsics: str = typer.Option(
            ..., "--intrinsics", help="K.json (fx, fy, cx, cy[, width, height]), 'fx,fy,cx,cy' "
            "or a preset (realsense, kinect)."),
        out: Path = typer.Option(..., "--out", help="Output grasps, graspnetAPI (N, 17) .npy."),
        rgb: Path | None = typer.Option(None, "--rgb", help="Colour image aligned with the depth."),
        depth_scale: float = typer.Option(
            1000.0, "--depth-scale", help="Raw depth units per metre (1000 = millimetres)."),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the grasps as JSON."),
        viz: Path | None = typer.Option(None, "--viz", help="Write an overlay PNG."),
        export_3d: Path | None = typer.Option(
            None, "--export-3d", help="Write the cloud and grippers as .ply or .glb."),
        method: str = typer.Option("analytic", "--method", help="Detector: analytic, pixel or random."),
        weights: Path | None = typer.Option(
            None, "--weights", help="Pixel-detector checkpoint (.safetensors or .onnx); default: shipped."),
        device: str = typer.Option("cpu", "--device", help="Torch device of learned detectors: cpu or cuda."),
        top_k: int = typer.Option(50, "--top-k", min=1, help="Keep the best k grasps."),
        seed: int = typer.Option(0, "--seed", help="Random seed of the detector."),
    ) -> None:
        """Detect grasps in one RGB-D frame and write them in the camera frame (metres)."""
        from grasplab.detection import Observation

        try:
            _check_outputs({"out": out, "json": json_out, "viz": viz, "export_3d": export_3d})
            if not np.isfinite(depth_scale) or depth_scale <= 0:
                raise InputError(f"--depth-scale must be a positive number, got {depth_scale:g}")
            depth_m = read_depth(depth, depth_scale)
            shape = (int(depth_m.shape[0]), int(depth_m.shape[1]))
            color = None if rgb is None else read_rgb(rgb, shape, depth.name)
            camera = parse_intrinsics(intrinsics, shape)
            detector = _detector(method, top_k, seed, weights, device)
            observation = Observation(depth_m, camera, rgb=color)
        except (InputError, ValueError) as exc:
            typer.echo("error: " + " ".join(str(exc).split()), err=True)  # always one line
            raise typer.Exit(code=2) from exc
        start = time.perf_counter()
        grasps = detector.detect(observation).sort_by_score()[:top_k]
        latency = time.perf_counter() - start
        written = _write_outputs(grasps, observation, out, json_out, viz, export_3d,
                                 {"method": method, "latency_s": latency, "depth": str(depth),
                                  "rgb": None if rgb is None else str(rgb),
                                  "intrinsics": {k: getattr(camera, k) for k in
                                                 ("fx", "fy", "cx", "cy", "width", "height")}})
        _summary(grasps, latency, method, written)


def _write_outputs(
    grasps: GraspGroup, observation: Any, out: Path, json_out: Path | None, viz: Path | None,
    export_3d: Path | None, meta: dict[str, Any],
) -> list[Path]:
    """Write every requested output; returns the paths written."""
    from grasplab.viz import export_grasp_scene, observation_cloud, save_overlay

    written = []
    out.parent.mkdir(parents=True, exist_ok=True)
    grasps.save_npy(out)
    written.append(out)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(grasps_to_json(grasps, meta), indent=1) + "\n")
        written.append(json_out)
    image = observation.rgb if observation.rgb is not None else observation.depth
    if viz is not None:
        written.append(save_overlay(viz, image, grasps, observation.intrinsics))
    if export_3d is not None:
        points, colors = observation_cloud(observation.depth, observation.intrinsics,
                                           observation.rgb)
        written.append(export_grasp_scene(export_3d, points, grasps, colors))
    return written
