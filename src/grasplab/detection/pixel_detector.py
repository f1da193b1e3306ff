"""The PLGP pixel-level learned detector: network inference and grasp decoding (paper §IV-A).

The network maps the mean-subtracted depth / colour image to ``Q_p`` (H, W), ``Q_theta`` and
``W_g`` (K, H, W). Decoding: grasp points are the peaks of ``Q_p`` (max-pool non-maximum
suppression, best first; the single best pixel is the paper's grasp); at each point the best angle
bin k gives theta = k pi / K, the width is ``W_g[k] * L4``; the grasp depth d is the deepest
approach for which the two finger footprints (L1 x L2 rectangles beside the opening, scaled to
pixels at the surface depth) stay above the scene surface, capped at L3 (``GripperModel.pdg_size``);
the 4-DoF grasps become 6-DoF camera-frame grasps with :func:`grasplab.core.pixel_grasps_to_grasps`
(eq. 8-9). Scores are ``Q_p`` at the peak.

Weights are a grasplab checkpoint (``.safetensors`` with its JSON header) or an ONNX export
(``.onnx`` with a ``.json`` spec beside it) run by onnxruntime (extra ``grasplab[onnx]``).
This module imports torch; ``grasplab.detection`` itself does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel, PixelGrasps, pixel_grasps_to_grasps  # noqa: E402
from grasplab.data.augment import normalize_input  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.models.pixel_net import PixelGraspNet, find_peaks  # noqa: E402
from grasplab.runtime.checks import check_weights_file  # noqa: E402
from grasplab.training.checkpoints import load_checkpoint  # noqa: E402

_MODE_OF_CHANNELS = {1: "depth", 3: "rgb", 4: "rgbd"}
#: input sides are padded to a multiple of this (the deepest backbone stride)
PAD_MULTIPLE = 8


@dataclass(frozen=True)
class PixelDetectorConfig:
    """Decoding parameters.

    Attributes:
        num_grasps: most grasps returned per frame.
        nms_kernel: side (px, odd) of the max-pool window of the peak suppression.
        min_quality: smallest ``Q_p`` of a returned grasp.
        finger_samples: samples per side of each finger footprint in the depth collision test.
        gripper: gripper model; ``pdg_size`` gives L1 (finger width), L2 (finger height),
            L3 (maximum grasp depth) and L4 (maximum opening).
        channels_last: run the network in channels-last memory format (faster on CPUs).
    """

    num_grasps: int = 50
    nms_kernel: int = 9
    min_quality: float = 0.05
    finger_samples: int = 5
    gripper: GripperModel = field(default_factory=GripperModel)
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.num_grasps < 1 or self.nms_kernel < 1 or self.nms_kernel % 2 == 0:
            raise ValueError("num_grasps must be >= 1 and nms_kernel odd and >= 1")
        if self.finger_samples < 2 or not 0.0 <= self.min_quality <= 1.0:
            raise ValueError("finger_samples must be >= 2 and min_quality in [0, 1]")


def collision_free_depth(
    depth: np.ndarray,
    pixels: np.ndarray,
    thetas: np.ndarray,
    widths: np.ndarray,
    intrinsics: CameraIntrinsics,
    gripper: GripperModel,
    samples: int = 5,
) -> np.ndarray:
    """Deepest approach d (m) past the surface at which neither finger hits the depth image.

    Each finger is an L1 (along the jaw) x L2 (across) rectangle starting at half the opening
    from the grasp point, scaled to pixels with the focal lengths at the point's depth
    ``z0 = depth[v, u]``; d = min(depth under the fingers) - z0, clipped to [0, L3]. Invalid
    (0) or out-of-image samples are free space.

    Args:
        depth: (H, W) float32 depth (m), 0 = invalid.
        pixels: (N, 2) integer grasp pixels (u, v) with valid depth.
        thetas: (N,) jaw angles (rad), counter-clockwise on screen from +u.
        widths: (N,) openings (m).
        intrinsics: camera of ``depth``.
        gripper: gripper model (``pdg_size``).
        samples: samples per rectangle side.

    Returns:
        (N,) float64 grasp depths in [0, L3].
    """
    finger_w, finger_h, max_depth, _ = gripper.pdg_size
    u0, v0 = pixels[:, 0].astype(np.int64), pixels[:, 1].astype(np.int64)
    z0 = depth[v0, u0].astype(np.float64)
    along = np.linspace(0.0, 1.0, samples)[None, :, None] * finger_w + widths[:, None, None] / 2.0
    across = np.linspace(-finger_h / 2.0, finger_h / 2.0, samples)[None, None, :]
    jaw = np.stack([np.cos(thetas), -np.sin(thetas)], axis=1)[:, None, None, :]
    perp = np.stack([np.sin(thetas), np.cos(thetas)], axis=1)[:, None, None, :]
    local = along[..., None] * jaw + across[..., None] * perp  # (N, S, S, 2) metres, one finger
    offsets = np.concatenate([local, -local], axis=1).reshape(len(z0), 2 * samples * samples, 2)
    scale = np.array([intrinsics.fx, intrinsics.fy]) / np.maximum(z0, 1e-6)[:, None]
    uv = np.rint(offsets * scale[:, None, :] + np.stack([u0, v0], axis=1)[:, None, :]).astype(np.int64)
    height, width = depth.shape
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)
    z = depth[np.clip(uv[..., 1], 0, height - 1), np.clip(uv[..., 0], 0, width - 1)].astype(np.float64)
    z = np.where(inside & (z > 0), z, np.inf)
    return np.clip(z.min(axis=1) - z0, 0.0, max_depth)


def decode_pixel_grasps(
    q_p: torch.Tensor,
    q_theta: torch.Tensor,
    w_g: torch.Tensor,
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    config: PixelDetectorConfig | None = None,
    valid: np.ndarray | None = None,
    logits: bool = False,
) -> PixelGrasps:
    """Network maps of one image -> PLGP 4-DoF grasps (best first).

    Args:
        q_p: (H, W) point quality.
        q_theta: (K, H, W) angle quality.
        w_g: (K, H, W) width / L4.
        depth: (H, W) depth image (m), 0 = invalid.
        intrinsics: camera of ``depth``.
        config: decoding parameters.
        valid: optional (H, W) bool: pixels allowed as grasp points (AND valid depth).
        logits: the maps are pre-sigmoid; the sigmoid (monotonic, so peaks and arg-maxima do not
            change) is then applied only to the decoded values, which saves time on a CPU.

    Returns:
        Up to ``config.num_grasps`` grasps ``[u, v, d, theta, w, score]``.
    """
    cfg = config or PixelDetectorConfig()
    allowed = depth > 0 if valid is None else (depth > 0) & valid
    q = torch.where(torch.from_numpy(allowed), q_p.detach().float().cpu(), float("-inf"))
    threshold = cfg.min_quality
    if logits:
        threshold = float(torch.logit(torch.tensor(cfg.min_quality, dtype=torch.float64)))
    v, u, score = find_peaks(q, cfg.num_grasps, cfg.nms_kernel, threshold)
    keep = torch.isfinite(score)
    v, u, score = v[keep], u[keep], score[keep].double()
    num_angles = int(q_theta.shape[0])
    k = q_theta.detach().cpu()[:, v, u].argmax(dim=0)
    theta = k.double().numpy() * np.pi / num_angles
    width_fraction = w_g.detach().double().cpu()[k, v, u]
    if logits:
        score, width_fraction = torch.sigmoid(score), torch.sigmoid(width_fraction)
    width = width_fraction.numpy() * cfg.gripper.pdg_size[3]
    pixels = np.stack([u.numpy(), v.numpy()], axis=1)
    d = collision_free_depth(depth, pixels, theta, width, intrinsics, cfg.gripper, cfg.finger_samples)
    return PixelGrasps.from_components(pixels, d, theta, width, score.double().numpy())


def _pad(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[-2:]
    ph, pw = -height % PAD_MULTIPLE, -width % PAD_MULTIPLE
    return np.pad(image, ((0, 0), (0, ph), (0, pw))) if ph or pw else image


def export_onnx(
    model: PixelGraspNet,
    path: Path | str,
    height: int = 320,
    width: int = 320,
    data: dict[str, Any] | None = None,
) -> Path:
    """Export a pixel network to ONNX (dynamic batch, height and width) with a ``.json`` spec beside it.

    ``data`` is the training config's ``data`` section (input mode, depth scale), stored in the
    spec so that the detector prepares the input as in training.

    Raises:
        MissingExtraError: onnx / onnxscript are not installed (extra ``grasplab[onnx]``).
    """
    require("onnx")
    require("onnxscript")
    path = Path(path)
    dummy = torch.zeros(1, model.in_channels, height, width)
    torch.onnx.export(
        model.train(False),
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["q_p", "q_theta", "w_g"],
        dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}},
    )
    spec = {"model": model.spec, "data": dict(data or {})}
    path.with_suffix(".json").write_text(json.dumps(spec, indent=2) + "\n")
    return path


class _OnnxRunner:
    """onnxruntime session returning the three output maps as tensors."""

    def __init__(self, path: Path) -> None:
        ort = require("onnxruntime")
        spec_path = path.with_suffix(".json")
        if not spec_path.is_file():
            raise FileNotFoundError(f"ONNX model spec not found: {spec_path} (written by export_onnx)")
        stored = json.loads(spec_path.read_text())
        self.spec: dict[str, Any] = stored["model"]
        self.data: dict[str, Any] = dict(stored.get("data", {}))
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.session.run(None, {"input": x.numpy()})
        return tuple(torch.from_numpy(np.asarray(o)) for o in outputs)


class PixelDetector:
    """Pixel-level learned grasp detector (implements :class:`grasplab.detection.Detector`).

    Args:
        weights: a checkpoint ``.safetensors`` (with its JSON header) or an ``.onnx`` export.
        device: torch device of the network ("cpu", "cuda").
        config: decoding parameters.
        model: use this network instead of loading ``weights``.
        input_mode: "depth", "rgb" or "rgbd"; default: the checkpoint's training config, else
            inferred from the input channels.
    """

    def __init__(
        self,
        weights: Path | str | None = None,
        device: str = "cpu",
        config: PixelDetectorConfig | None = None,
        *,
        model: PixelGraspNet | None = None,
        input_mode: str | None = None,
    ) -> None:
        self.config = config or PixelDetectorConfig()
        self.device = torch.device(device)
        self.onnx: _OnnxRunner | None = None
        self.model: PixelGraspNet | None = None
        stored: dict[str, Any] = {}
        if model is not None:
            self.model, spec = model, model.spec
        elif weights is not None and Path(weights).is_file() and check_weights_file(weights) == "onnx":
            self.onnx = _OnnxRunner(Path(weights))
            spec, stored = self.onnx.spec, {"data": self.onnx.data}
        elif weights is not None:
            checkpoint = load_checkpoint(weights, str(self.device))
            self.model, spec, stored = checkpoint.model, checkpoint.model.spec, checkpoint.config
        else:
            raise ValueError("PixelDetector needs weights (a .safetensors checkpoint or .onnx) or a model")
        self.num_angles = int(spec["num_angles"])
        mode = (
            input_mode
            or stored.get("data", {}).get("input_mode")
            or _MODE_OF_CHANNELS[int(spec["in_channels"])]
        )
        if _MODE_OF_CHANNELS.get(int(spec["in_channels"])) != mode:
            raise ValueError(
                f"input_mode {mode!r} does not fit a network with {spec['in_channels']} input channels"
            )
        self.input_mode = str(mode)
        #: factor on the mean-subtracted depth, as in training (``data.depth_scale``)
        self.depth_scale = float(stored.get("data", {}).get("depth_scale", 1.0))
        if self.model is not None:
            self.model = self.model.to(self.device).train(False)
            if self.config.channels_last and self.device.type == "cpu":
                self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    @property
    def returns_logits(self) -> bool:
        """Whether :meth:`detect` decodes pre-sigmoid maps (the torch backend) or probabilities (ONNX)."""
        return self.onnx is None

    @torch.no_grad()
    def predict_maps(
        self, observation: Observation, logits: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Network output maps of an observation: Q_p (H, W), Q_theta and W_g (K, H, W), on the CPU.

        With ``logits`` the torch backend returns pre-sigmoid maps (the ONNX backend always returns
        probabilities; see :attr:`returns_logits`).
        """
        if self.input_mode != "depth" and observation.rgb is None:
            raise ValueError(f"this detector takes {self.input_mode!r} input; the observation has no rgb")
        image = normalize_input(
            observation.depth if self.input_mode != "rgb" else None,
            observation.rgb if self.input_mode != "depth" else None,
            self.input_mode,
            self.depth_scale,
        )
        height, width = image.shape[-2:]
        x = torch.from_numpy(_pad(image))[None]
        if self.onnx is not None:
            outputs = self.onnx(x)
        else:
            assert self.model is not None
            x = x.to(self.device)
            if self.config.channels_last and self.device.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            outputs = self.model.logits(x) if logits else self.model(x)
        # views, no copies: decoding reads Q_theta and W_g at a few pixels only
        q_p, q_theta, w_g = (o[0, :, :height, :width].float().cpu() for o in outputs)
        return q_p[0], q_theta, w_g

    def detect(self, observation: Observation) -> GraspGroup:
        """Grasps of one observation in its camera frame, sorted by score (``Q_p``) descending."""
        q_p, q_theta, w_g = self.predict_maps(observation, logits=self.returns_logits)
        valid = None
        if observation.mask is not None:
            valid = np.asarray(observation.mask) > 0
        pixel_grasps = decode_pixel_grasps(
            q_p,
            q_theta,
            w_g,
            observation.depth,
            observation.intrinsics,
            self.config,
            valid,
            self.returns_logits,
        )
        if len(pixel_grasps) == 0:
            return GraspGroup.empty()
        group = pixel_grasps_to_grasps(pixel_grasps, observation.depth, observation.intrinsics)
        return group.sort_by_score()
