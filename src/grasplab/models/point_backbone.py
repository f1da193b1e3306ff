"""Backbones of the GSNet family: per-point features for an observed cloud, on a CPU.

Two options, one interface ``forward(points, pixels, image) -> (B, F, N)`` features:

- :class:`DepthLiftBackbone` ("depth2d", the CPU default): a small 2D encoder-decoder on the
  organised point image (per pixel the camera-frame xyz in metres, a validity channel and
  optionally RGB in [0, 1]) whose per-pixel features are sampled bilinearly at the points'
  pixels and fused with their xyz by a 1×1 layer (lifting 2D features to points). Augmenting the
  cloud in 3D transforms the xyz channels of the image alike, so the pixel grid stays valid.
- :class:`PointNet2Backbone` ("pointnet2"): PointNet++-style set abstraction (farthest point
  sampling, ball queries, shared MLP, max-pool) and feature propagation (inverse-distance 3-NN
  interpolation) back to every input point, in pure PyTorch (:mod:`grasplab.models.point_ops`).

Frames and units: points in the camera frame (OpenCV axes), metres; pixels ``(u, v)`` in the
image's pixel units (column, row).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

from grasplab.models.point_ops import ball_query, farthest_point_sample, gather_points  # noqa: E402

__all__ = ["DepthLiftBackbone", "PointNet2Backbone", "lift_pixel_features", "mlp_1d", "mlp_2d"]


def mlp_1d(channels: Sequence[int], last_plain: bool = False) -> nn.Sequential:
    """Shared MLP over points: 1×1 Conv1d + BatchNorm + ReLU per layer (the last one plain if asked)."""
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
        plain = last_plain and i == len(channels) - 2
        layers.append(nn.Conv1d(cin, cout, 1, bias=plain))
        if not plain:
            layers += [nn.BatchNorm1d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def mlp_2d(channels: Sequence[int]) -> nn.Sequential:
    """Shared MLP over (groups, neighbours): 1×1 Conv2d + BatchNorm + ReLU per layer."""
    layers: list[nn.Module] = []
    for cin, cout in zip(channels[:-1], channels[1:], strict=True):
        layers += [nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def lift_pixel_features(
    features: torch.Tensor, pixels: torch.Tensor, image_size: tuple[int, int]
) -> torch.Tensor:
    """Sample a feature map bilinearly at full-resolution pixel coordinates.

    Args:
        features: (B, C, h, w) features of an image of ``image_size`` (any stride).
        pixels: (B, N, 2) float ``(u, v)`` pixel coordinates of the full image.
        image_size: (H, W) of the full image.

    Returns:
        (B, C, N) features at the pixels (pixel centres map to the same relative positions at
        every stride, ``align_corners=False``).
    """
    height, width = image_size
    grid = torch.stack([(2 * pixels[..., 0] + 1) / width - 1, (2 * pixels[..., 1] + 1) / height - 1], dim=-1)
    sampled = F.grid_sample(
        features,
        grid[:, None].to(features.dtype),
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
    return sampled[:, :, 0, :]


class DepthLiftBackbone(nn.Module):
    """2D encoder-decoder on the organised point image, lifted to the points (see the module doc).

    Args:
        in_channels: image channels (4: xyz + valid; 7 with RGB).
        channels: encoder widths, each stage halving the resolution (the first is the stem).
        out_dim: F, per-point feature size.
    """

    def __init__(self, in_channels: int, channels: Sequence[int], out_dim: int) -> None:
        super().__init__()
        chans = list(channels)
        if len(chans) < 2:
            raise ValueError(f"depth2d channels: need at least two stages, got {chans}")
        ins = [in_channels, *chans[:-1]]
        self.encoder = nn.ModuleList(
            [
                nn.Sequential(_conv(cin, cout, 2), _conv(cout, cout))
                for cin, cout in zip(ins, chans, strict=True)
            ]
        )
        # Decoder back to the second stage (stride 4): upsample, concatenate the skip, convolve.
        self.decoder = nn.ModuleList([_conv(chans[i + 1], chans[i]) for i in range(len(chans) - 2, 0, -1)])
        self.skip = nn.ModuleList([_conv(chans[i] * 2, chans[i]) for i in range(len(chans) - 2, 0, -1)])
        self.fuse = mlp_1d([chans[1] + 3, out_dim, out_dim])

    def forward(self, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor | None) -> torch.Tensor:
        """Per-point features (B, F, N) from the image (B, C, H, W) sampled at ``pixels`` (B, N, 2)."""
        if image is None:
            raise ValueError("the depth2d backbone needs the organised point image")
        skips = []
        x = image
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        for i, (up, merge) in enumerate(zip(self.decoder, self.skip, strict=True)):
            skip = skips[-2 - i]
            x = F.interpolate(up(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = merge(torch.cat([x, skip], dim=1))
        lifted = lift_pixel_features(x, pixels, (image.shape[-2], image.shape[-1]))
        return self.fuse(torch.cat([lifted, points.transpose(1, 2)], dim=1))


class _SetAbstraction(nn.Module):
    def __init__(self, num_points: int, radius: float, num_neighbors: int, channels: Sequence[int]) -> None:
        super().__init__()
        self.num_points, self.radius, self.num_neighbors = num_points, radius, num_neighbors
        self.mlp = mlp_2d(channels)

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        centers_idx = farthest_point_sample(xyz, self.num_points)
        centers = gather_points(xyz, centers_idx)  # (B, M, 3)
        idx, _ = ball_query(xyz, centers, self.radius, self.num_neighbors)
        local = (gather_points(xyz, idx) - centers[:, :, None, :]) / self.radius  # (B, M, K, 3)
        grouped = (
            local if feats is None else torch.cat([local, gather_points(feats.transpose(1, 2), idx)], dim=-1)
        )
        out = self.mlp(grouped.permute(0, 3, 1, 2))  # (B, C, M, K)
        return centers, out.max(dim=-1).values


class _FeaturePropagation(nn.Module):
    def __init__(self, channels: Sequence[int]) -> None:
        super().__init__()
        self.mlp = mlp_1d(channels)

    def forward(
        self,
        xyz_fine: torch.Tensor,
        xyz_coarse: torch.Tensor,
        feats_fine: torch.Tensor | None,
        feats_coarse: torch.Tensor,
    ) -> torch.Tensor:
        k = min(3, xyz_coarse.shape[1])
        dist, idx = torch.topk(torch.cdist(xyz_fine.detach(), xyz_coarse.detach()), k, dim=-1, largest=False)
        weight = 1.0 / (dist + 1e-8)
        weight = weight / weight.sum(dim=-1, keepdim=True)
        interp = (gather_points(feats_coarse.transpose(1, 2), idx) * weight[..., None]).sum(dim=2)
        x = interp.transpose(1, 2)
        if feats_fine is not None:
            x = torch.cat([x, feats_fine], dim=1)
        return self.mlp(x)


class PointNet2Backbone(nn.Module):
    """PointNet++ set abstraction + feature propagation to every input point (see the module doc).

    Args:
        num_points: centres per set-abstraction level (decreasing).
        radii: ball radius per level, metres.
        num_neighbors: ball-query size per level.
        out_dim: F, per-point feature size.
        width: channel multiplier base (the baseline's widths are 64-128-256-256 for 64).
    """

    def __init__(
        self,
        num_points: Sequence[int],
        radii: Sequence[float],
        num_neighbors: Sequence[int],
        out_dim: int,
        width: int = 64,
    ) -> None:
        super().__init__()
        if not len(num_points) == len(radii) == len(num_neighbors) or not num_points:
            raise ValueError("pointnet2: num_points, radii and num_neighbors need one entry per level")
        widths = [width * m for m in (1, 2, 4, 4, 4, 4, 4, 4)][: len(num_points)]
        self.sa = nn.ModuleList()
        cin = 0
        for n, r, k, w in zip(num_points, radii, num_neighbors, widths, strict=True):
            self.sa.append(_SetAbstraction(n, r, k, [cin + 3, w // 2, w // 2, w]))
            cin = w
        self.fp = nn.ModuleList()
        for i in range(len(widths) - 1, 0, -1):
            self.fp.append(_FeaturePropagation([cin + widths[i - 1], widths[i - 1], widths[i - 1]]))
            cin = widths[i - 1]
        self.fp_input = _FeaturePropagation([cin + 3, out_dim, out_dim])

    def forward(
        self, points: torch.Tensor, pixels: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-point features (B, F, N) of ``points`` (B, N, 3) (pixels and image unused)."""
        xyzs: list[torch.Tensor] = [points]
        feats: list[torch.Tensor | None] = [None]
        x: torch.Tensor | None = None
        for sa in self.sa:
            xyz, x = sa(xyzs[-1], x)
            xyzs.append(xyz)
            feats.append(x)
        assert x is not None
        for i, fp in enumerate(self.fp):
            level = len(self.sa) - 1 - i
            x = fp(xyzs[level], xyzs[level + 1], feats[level], x)
        return self.fp_input(points, xyzs[1], points.transpose(1, 2), x)


class BackboneSpec(Protocol):
    """The backbone fields that GSNet's and the GraspNet baseline's specs share."""

    @property
    def backbone(self) -> str: ...
    @property
    def feature_dim(self) -> int: ...
    @property
    def depth2d_channels(self) -> tuple[int, ...]: ...
    @property
    def pointnet_points(self) -> tuple[int, ...]: ...
    @property
    def pointnet_radii(self) -> tuple[float, ...]: ...
    @property
    def pointnet_neighbors(self) -> tuple[int, ...]: ...
    @property
    def pointnet_width(self) -> int: ...
    @property
    def in_channels(self) -> int: ...


def build_point_backbone(spec: BackboneSpec) -> nn.Module:
    """The per-point feature backbone a spec names: ``depth2d`` (default) or ``pointnet2``.

    Returns:
        A module mapping ``(points, pixels, image)`` to (B, feature_dim, N) point features.
    """
    if spec.backbone == "depth2d":
        return DepthLiftBackbone(spec.in_channels, spec.depth2d_channels, spec.feature_dim)
    return PointNet2Backbone(
        spec.pointnet_points,
        spec.pointnet_radii,
        spec.pointnet_neighbors,
        spec.feature_dim,
        spec.pointnet_width,
    )
