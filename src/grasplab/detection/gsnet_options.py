"""Options of the ``gsnet`` detector (torch-free, so that the registry imports without torch).

:class:`GSNetOptions` is what ``build_detector("gsnet", ...)`` and ``grasplab detect --method
gsnet`` take; :func:`build_gsnet_detector` builds a
:class:`~grasplab.detection.gsnet_detector.GSNetDetector` from it (importing torch then).
Lengths in metres, angles in radians; the workspace box is in the world frame when the
observation carries ``T_world_cam``, else in the camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasplab.detection.protocol import Detector
from grasplab.runtime.checks import parse_device

__all__ = ["GSNET_TRAIN_HINT", "GSNetOptions", "build_gsnet_detector"]

#: the command that trains the model a user can pass with ``--weights``
GSNET_TRAIN_HINT = (
    "train one with `grasplab train grasp --config configs/grasp/gsnet_cpu.yaml --out runs/gsnet_cpu "
    "--set data.root=DS` and pass --weights runs/gsnet_cpu/checkpoints/best.safetensors"
)


def _optional_count(name: str, value: int | None, low: int) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        raise ValueError(f"{name}: expected an integer >= {low} or None, got {value!r}")


@dataclass(frozen=True)
class GSNetOptions:
    """Options of ``gsnet``: the learned 6-DoF graspness detector and AnyGrasp post-processing.

    Attributes:
        weights: a GSNet checkpoint (``.safetensors``, family "gsnet") or the ``.onnx`` of
            ``grasplab train export-onnx``; None: the shipped model.
        model: a GSNet module to run instead of loading weights.
        device: torch device of the network ("cpu", "cuda", "cuda:N"); ONNX runs on the CPU.
        num_points: points drawn from the cloud for the network; None: its training value
            (``data.num_points`` of the checkpoint, 4096 without one).
        seed: seed of the point draw, the same for every frame (repeatable grasps).
        num_grasps: grasps returned after post-processing (best first); None: all survivors.
        min_score: drop grasps whose AnyGrasp score ``score × (1 − stable)`` is not above this.
        width_scale: factor on the predicted width (GSNet widens by 1.2 for clearance).
        collision: drop grasps whose gripper boxes hit the observed cloud (AnyGrasp §IV-D).
        center: gripper centring (equal finger travel to the contacts).
        nms: pose NMS (3 cm, 30°).
        collision_top_n: the best grasps (after NMS) that are centred and checked; the rest are
            dropped (AnyGrasp: 100); None keeps and checks all.
        workspace_min: (3,) lower corner of the box grasp points must lie in; None = unbounded.
        workspace_max: (3,) upper corner; None = unbounded.
        max_approach_angle: largest angle between the approach and straight down (world −z
            with a pose, camera +z without), radians; None = any.
        tray_workspace: grasp only above the tray floor (needs ``T_world_cam``), as the other
            detectors' option.
        cloud_stride: centring and the collision check use every n-th pixel (in u and v) of
            the frame, averaged in 3 mm voxels (2: a quarter of the pixels, still denser than
            the voxels at 0.3-1 m from a 640x480 camera; 1: every pixel).
    """

    weights: str | Path | None = None
    model: Any = None
    device: str = "cpu"
    num_points: int | None = None
    seed: int = 0
    num_grasps: int | None = 50
    min_score: float | None = None
    width_scale: float = 1.2
    collision: bool = True
    center: bool = True
    nms: bool = True
    collision_top_n: int | None = 100
    workspace_min: tuple[float, float, float] | None = None
    workspace_max: tuple[float, float, float] | None = None
    max_approach_angle: float | None = None
    tray_workspace: bool = False
    cloud_stride: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", parse_device(self.device))
        _optional_count("num_points", self.num_points, 1)
        _optional_count("num_grasps", self.num_grasps, 1)
        _optional_count("collision_top_n", self.collision_top_n, 0)
        _optional_count("cloud_stride", self.cloud_stride, 1)
        if not self.width_scale > 0:
            raise ValueError(f"width_scale: expected a positive factor, got {self.width_scale!r}")
        for name in ("workspace_min", "workspace_max"):
            value = getattr(self, name)
            if value is not None:
                if len(value) != 3:
                    raise ValueError(f"{name}: expected 3 numbers (x, y, z) in metres, got {value!r}")
                object.__setattr__(self, name, tuple(float(v) for v in value))


def build_gsnet_detector(options: GSNetOptions) -> Detector:
    """The detector of ``options`` (wrapped in a tray workspace when asked); imports torch.

    Raises:
        ValueError: no weights given and none shipped, a missing file, or weights of another
            family (the message says how to get a GSNet).
    """
    from grasplab.detection.gsnet_detector import GSNetDetector

    detector: Detector = GSNetDetector(None, options)
    if options.tray_workspace:
        from grasplab.detection.workspace import TrayWorkspace

        detector = TrayWorkspace(detector)
    return detector
