"""``grasplab detect``: detect 6-DoF grasps in one RGB-D frame from files.

Reads a depth image (16-bit PNG or NPY, divided by ``--depth-scale`` to get metres), an optional
aligned colour image and the intrinsics (a JSON file with ``fx, fy, cx, cy`` and optionally
``width, height``; or ``fx,fy,cx,cy`` inline; or a preset name), checks them, runs a detector and
writes the grasps as a graspnetAPI ``.npy`` (N, 17), optionally as JSON, as an overlay PNG and as
a 3D scene (PLY / GLB). Grasps are in the camera frame (OpenCV: x right, y down, z forward),
metres. ``--mask`` (non-zero pixels) and ``--workspace`` (a camera-frame box) restrict where grasp
points may go; without them the analytic detector finds the table or bin and grasps what rests in
it (:mod:`grasplab.detection.masking`). Bad input ends the command with one ``error: ...`` line
on stderr and exit code 2.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from grasplab.cli.output import console
from grasplab.core import GraspGroup
from grasplab.core.grasp_json import grasps_to_json, write_grasps_json
from grasplab.core.plausibility import check_depth, check_intrinsics, check_rgb
from grasplab.detection.masking import WorkspaceBox, read_pixel_mask, restrict_observation
from grasplab.detection.registry import available_detectors, build_detector, detector_entry
from grasplab.runtime.checks import check_output_file, check_weights_file, parse_device
from grasplab.scenes.frame_files import (
    FrameInputError,
    read_depth_image,
    read_intrinsics,
    read_rgb_image,
)

__all__ = ["InputError", "grasps_to_json", "parse_intrinsics", "read_depth", "read_rgb", "register"]


#: Kept for callers of the former CLI-private readers (they now live in the library).
InputError = FrameInputError
read_depth = read_depth_image
read_rgb = read_rgb_image
parse_intrinsics = read_intrinsics


def _detector(method: str, top_k: int, seed: int, weights: Path | None = None, device: str = "cpu") -> Any:
    """The ``--method`` detector from the registry (scene-aware oracles are not offered)."""
    choices = available_detectors(scene_aware=False)
    if method not in choices:
        raise InputError(f"--method {method!r} is unknown; expected one of {sorted(choices)}")
    accepted = {f.name for f in dataclasses.fields(detector_entry(method).options_type)}
    given = {"seed": seed, "weights": weights, "device": device,
             "max_grasps": top_k, "num_grasps": top_k}  # the grasp count under either name
    if method in ("pixel", "gsnet"):
        _check_learned_weights(method, weights)
    return build_detector(method, {k: v for k, v in given.items() if k in accepted})


def _check_learned_weights(method: str, weights: Path | None) -> None:
    """The weights of a learned ``--method`` exist and are safetensors or ONNX (else InputError)."""
    from grasplab.detection.gsnet_options import GSNET_TRAIN_HINT
    from grasplab.detection.shipped import shipped_gsnet_weights, shipped_pixel_weights

    path = weights if weights is not None else (
        shipped_pixel_weights() if method == "pixel" else shipped_gsnet_weights())
    if path is None:
        hint = f"; {GSNET_TRAIN_HINT}" if method == "gsnet" else ""
        raise InputError(f"--method {method} needs --weights: no {method} model is shipped with "
                         f"this install{hint}")
    if not Path(path).is_file():
        raise InputError(f"--weights {path}: no such file")
    check_weights_file(path)


def _checked_rgb(path: Path) -> Path:
    """``path``, after checking that it holds a colour image (not a 16-bit depth PNG)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "PA"):  # palette images hold indices, checked as RGB later
                check_rgb(np.asarray(image), f"--rgb {path}")
    except (OSError, UnidentifiedImageError):
        pass  # missing or unreadable: read_rgb_image says so
    return path


def _plausibility_warnings(depth_m: np.ndarray, camera: Any) -> list[str]:
    """Warnings on legal but implausible depth and intrinsics; ValueError on impossible ones."""
    warnings = check_depth(depth_m, "--depth")
    return warnings + check_intrinsics(camera.fx, camera.fy, camera.cx, camera.cy,
                                       camera.width, camera.height, "--intrinsics")


def _check_outputs(paths: dict[str, Path | None]) -> None:
    suffixes = {"out": (".npy",), "json": (".json",), "viz": (".png",),
                "export_3d": (".ply", ".glb")}
    for name, path in paths.items():
        option = "--" + name.replace("_", "-")
        if path is not None and path.suffix.lower() not in suffixes[name]:
            raise InputError(f"{option} {path}: expected a {' or '.join(suffixes[name])} file")
        if path is not None:
            check_output_file(path, option)  # every output, before any work


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
        console.print(f"wrote {path}")


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
        method: str = typer.Option(
            "analytic", "--method",
            help=f"Detector: {', '.join(available_detectors(scene_aware=False))}."),
        weights: Path | None = typer.Option(
            None, "--weights", help="Checkpoint of a learned --method (pixel, gsnet): .safetensors "
            "or .onnx; default: the shipped model."),
        device: str = typer.Option("cpu", "--device", help="Torch device of learned detectors: cpu or cuda."),
        top_k: int = typer.Option(50, "--top-k", min=1, help="Keep the best k grasps."),
        seed: int = typer.Option(0, "--seed", min=0, help="Random seed of the detector."),
        mask: Path | None = typer.Option(
            None, "--mask", help="Image (PNG) or .npy aligned with the depth: grasp points only "
            "on non-zero pixels (an object or workspace mask). Without --mask or --workspace "
            "the analytic detector finds the table or bin itself and grasps what rests in it."),
        workspace: str | None = typer.Option(
            None, "--workspace", help="Box xmin,xmax,ymin,ymax,zmin,zmax in metres in the camera "
            "frame (x right, y down, z forward): grasp points only inside it."),
    ) -> None:
        """Detect grasps in one RGB-D frame and write them in the camera frame (metres)."""
        from grasplab.detection import Observation

        try:
            _check_outputs({"out": out, "json": json_out, "viz": viz, "export_3d": export_3d})
            device = parse_device(device)
            if not np.isfinite(depth_scale) or depth_scale <= 0:
                raise InputError(f"--depth-scale must be a positive number, got {depth_scale:g}")
            if depth.is_file() and depth.stat().st_size == 0:
                raise InputError(f"--depth {depth} is empty (0 bytes)")
            depth_m = read_depth_image(depth, depth_scale)
            shape = (int(depth_m.shape[0]), int(depth_m.shape[1]))
            color = None if rgb is None else read_rgb_image(_checked_rgb(rgb), shape, depth.name)
            camera = read_intrinsics(intrinsics, shape)
            for warning in _plausibility_warnings(depth_m, camera):
                typer.echo("warning: " + warning, err=True)
            detector = _detector(method, top_k, seed, weights, device)
            observation = Observation(depth_m, camera, rgb=color)
            if mask is not None or workspace is not None:
                observation = restrict_observation(
                    observation, None if mask is None else read_pixel_mask(mask, shape),
                    None if workspace is None else WorkspaceBox.parse(workspace))
        except (InputError, ValueError) as exc:
            typer.echo("error: " + " ".join(str(exc).split()), err=True)  # always one line
            raise typer.Exit(code=2) from exc
        start = time.perf_counter()
        grasps = detector.detect(observation).sort_by_score()[:top_k]
        latency = time.perf_counter() - start
        written = _write_outputs(grasps, observation, out, json_out, viz, export_3d,
                                 {"method": method, "latency_s": latency, "depth": str(depth),
                                  "rgb": None if rgb is None else str(rgb),
                                  "mask": None if mask is None else str(mask),
                                  "workspace": workspace,
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
        written.append(write_grasps_json(json_out, grasps, meta))
    image = observation.rgb if observation.rgb is not None else observation.depth
    if viz is not None:
        written.append(save_overlay(viz, image, grasps, observation.intrinsics))
    if export_3d is not None:
        points, colors = observation_cloud(observation.depth, observation.intrinsics,
                                           observation.rgb)
        written.append(export_grasp_scene(export_3d, points, grasps, colors))
    return written
