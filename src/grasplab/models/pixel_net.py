"""The PLGP pixel-level grasp network: a backbone, three task heads and a registry.

Outputs (PLGP §IV-A), all in [0, 1] through a sigmoid, at the input resolution:

- ``Q_p`` (B, 1, H, W): quality of a grasp at each pixel;
- ``Q_theta`` (B, K, H, W): quality of angle bin k (theta = k pi / K) at each pixel;
- ``W_g`` (B, K, H, W): opening width for angle bin k divided by L4.

:func:`build_pixel_model` is the single entry point (``"ggcnn2"``, ``"grconvnet"``, ``"affga"``);
the model remembers its arguments in ``spec`` so that checkpoints rebuild it without pickling.
:func:`find_peaks` and :func:`top_grasp_indices` decode output maps (max-pool non-maximum
suppression), shared by validation and the detector.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

from grasplab.models.affga import AFFGABackbone  # noqa: E402
from grasplab.models.pixel_backbones import GGCNN2Backbone, GRConvNetBackbone  # noqa: E402

PixelOutputs = tuple[torch.Tensor, torch.Tensor, torch.Tensor]

#: name -> backbone class taking (in_channels, **options)
PIXEL_BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "ggcnn2": GGCNN2Backbone,
    "grconvnet": GRConvNetBackbone,
    "affga": AFFGABackbone,
}
#: prior probability of a positive used to initialise the quality biases (focal-loss practice)
QUALITY_PRIOR = 0.01


class PixelGraspNet(nn.Module):
    """Backbone + 1x1 task heads producing ``(Q_p, Q_theta, W_g)``.

    Args:
        backbone: module returning three (B, F, H, W) task feature maps; has ``out_channels``.
        num_angles: K, the number of angle bins.
        spec: the arguments that rebuild this model with :func:`build_pixel_model`.
    """

    def __init__(self, backbone: nn.Module, num_angles: int, spec: dict[str, Any]) -> None:
        super().__init__()
        features = int(backbone.out_channels)  # type: ignore[arg-type]
        self.backbone = backbone
        self.num_angles = int(num_angles)
        self.spec = dict(spec)
        self.point_head = nn.Conv2d(features, 1, 1)
        self.angle_head = nn.Conv2d(features, self.num_angles, 1)
        self.width_head = nn.Conv2d(features, self.num_angles, 1)
        prior = -math.log((1.0 - QUALITY_PRIOR) / QUALITY_PRIOR)
        for head in (self.point_head, self.angle_head):
            assert head.bias is not None
            nn.init.constant_(head.bias, prior)

    @property
    def in_channels(self) -> int:
        """Input channels (1 depth, 3 RGB, 4 RGB-D)."""
        return int(self.spec["in_channels"])

    def logits(self, x: torch.Tensor) -> PixelOutputs:
        """Pre-sigmoid outputs: (B, 1, H, W), (B, K, H, W), (B, K, H, W)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input: expected (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        point, angle, width = self.backbone(x)
        if point is angle and angle is width:  # shared features: one fused 1x1 convolution
            heads = (self.point_head, self.angle_head, self.width_head)
            weight = torch.cat([h.weight for h in heads])
            bias = torch.cat([h.bias for h in heads if h.bias is not None])
            out = F.conv2d(point, weight, bias)
            k = self.num_angles
            return out[:, :1], out[:, 1 : 1 + k], out[:, 1 + k :]
        return self.point_head(point), self.angle_head(angle), self.width_head(width)

    def forward(self, x: torch.Tensor) -> PixelOutputs:
        """``(Q_p, Q_theta, W_g)`` in [0, 1] for a (B, C, H, W) input."""
        q_p, q_theta, w_g = self.logits(x)
        return torch.sigmoid(q_p), torch.sigmoid(q_theta), torch.sigmoid(w_g)


def pixel_model_names() -> tuple[str, ...]:
    """Registered backbone names."""
    return tuple(PIXEL_BACKBONES)


def build_pixel_model(name: str, in_channels: int, num_angles: int = 18, **kw: Any) -> PixelGraspNet:
    """Build a pixel-level grasp network.

    Args:
        name: "ggcnn2", "grconvnet" or "affga".
        in_channels: 1 (depth), 3 (RGB) or 4 (RGB-D).
        num_angles: K angle bins (18 in PLGP).
        **kw: backbone options (``channels``; GR-ConvNet also ``num_residual``, ``dropout``).

    Returns:
        The model (randomly initialised, training mode).
    """
    if name not in PIXEL_BACKBONES:
        raise ValueError(f"unknown pixel model {name!r}, expected one of {pixel_model_names()}")
    if in_channels not in (1, 3, 4):
        raise ValueError(f"in_channels must be 1 (depth), 3 (RGB) or 4 (RGB-D), got {in_channels}")
    if num_angles < 1:
        raise ValueError(f"num_angles must be >= 1, got {num_angles}")
    options = {k: v for k, v in kw.items() if v is not None}
    try:
        backbone = PIXEL_BACKBONES[name](in_channels, **options)
    except TypeError as exc:
        raise ValueError(f"bad options {sorted(options)} for pixel model {name!r}: {exc}") from exc
    spec = {"name": name, "in_channels": int(in_channels), "num_angles": int(num_angles), **options}
    return PixelGraspNet(backbone, num_angles, spec)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def top_grasp_indices(
    q_p: torch.Tensor, q_theta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best pixel of each image, then its best angle bin (PLGP §IV-A decoding).

    Args:
        q_p: (B, 1, H, W) point quality.
        q_theta: (B, K, H, W) angle quality.

    Returns:
        (B,) rows v, (B,) columns u and (B,) angle bins k, int64.
    """
    batch, _, _, width = q_p.shape
    flat = q_p.reshape(batch, -1).argmax(dim=1)
    v, u = flat // width, flat % width
    k = q_theta[torch.arange(batch, device=q_p.device), :, v, u].argmax(dim=1)
    return v, u, k


def find_peaks(
    q_p: torch.Tensor, num_peaks: int, kernel: int = 9, min_quality: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Local maxima of a (H, W) quality map with max-pool suppression, best first.

    A pixel is a peak when it equals the maximum of its ``kernel`` x ``kernel`` window and its
    quality is at least ``min_quality``; ties on plateaus keep every tied pixel.

    Returns:
        (N,) rows v, (N,) columns u (int64) and (N,) qualities, N <= num_peaks, sorted by quality.
    """
    if q_p.ndim != 2:
        raise ValueError(f"q_p: expected (H, W), got {tuple(q_p.shape)}")
    if kernel < 1 or kernel % 2 == 0 or num_peaks < 1:
        raise ValueError(f"kernel must be odd and >= 1 and num_peaks >= 1, got {kernel}, {num_peaks}")
    pooled = F.max_pool2d(q_p[None, None], kernel, stride=1, padding=kernel // 2)[0, 0]
    peak = (q_p >= pooled) & (q_p >= min_quality)
    idx = torch.nonzero(peak.flatten()).flatten()
    scores = q_p.flatten()[idx]
    order = torch.argsort(scores, descending=True, stable=True)[:num_peaks]
    idx = idx[order]
    return idx // q_p.shape[1], idx % q_p.shape[1], scores[order]
