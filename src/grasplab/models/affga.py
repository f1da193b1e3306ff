"""An AFFGA-style backbone sized for a CPU (PLGP §IV-A, after Chu et al.'s AFFGA-Net).

AFFGA-Net extracts features with a residual encoder (ResNet-101 there) and a hybrid atrous
spatial pyramid (HASP: atrous convolutions of small and large dilation side by side, plus image
pooling), then an adaptive decoder fuses the high-level pyramid features with low-level encoder
features, weighting them with a separate attention per task, before the three task heads. This
module keeps that structure with a small residual encoder (output stride 8, ~1.7 M parameters for
``channels=32``), so that it trains and runs on a laptop CPU.
"""

from __future__ import annotations

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

from grasplab.models.pixel_backbones import ResidualBlock, TaskFeatures, _conv_bn, resize_to  # noqa: E402


class HybridAtrousPyramid(nn.Module):
    """Parallel 1x1, small-dilation and large-dilation 3x3 branches and image pooling, fused by 1x1.

    Args:
        in_channels: input channels.
        branch_channels: channels of every branch.
        out_channels: channels after fusion.
        dilations: dilations of the 3x3 branches (small ones see detail, large ones context).
    """

    def __init__(
        self,
        in_channels: int,
        branch_channels: int,
        out_channels: int,
        dilations: tuple[int, ...] = (1, 2, 4, 6),
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleList([_conv_bn(in_channels, branch_channels, 1)])
        for d in dilations:
            self.branches.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, branch_channels, 3, padding=d, dilation=d, bias=False),
                    nn.BatchNorm2d(branch_channels),
                    nn.ReLU(inplace=True),
                )
            )
        self.pool = nn.Sequential(nn.Conv2d(in_channels, branch_channels, 1), nn.ReLU(inplace=True))
        self.fuse = _conv_bn(branch_channels * (len(dilations) + 2), out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in, h, w) -> (B, out, h, w)."""
        pooled = self.pool(F.adaptive_avg_pool2d(x, 1)).expand(-1, -1, x.shape[-2], x.shape[-1])
        return self.fuse(torch.cat([branch(x) for branch in self.branches] + [pooled], dim=1))


class TaskAttentionDecoder(nn.Module):
    """One task's branch of the adaptive decoder: channel attention over fused features, 2 convs.

    Args:
        in_channels: channels of the concatenated high- and low-level features.
        out_channels: channels handed to the task head.
        reduction: bottleneck ratio of the attention MLP.
    """

    def __init__(self, in_channels: int, out_channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(in_channels // reduction, 8)
        self.attention = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1),
            nn.Sigmoid(),
        )
        self.refine = nn.Sequential(
            _conv_bn(in_channels, 2 * out_channels, 3, padding=1),
            _conv_bn(2 * out_channels, out_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in, h, w) -> (B, out, h, w), features weighted per channel for this task."""
        return self.refine(x * self.attention(F.adaptive_avg_pool2d(x, 1)))


class AFFGABackbone(nn.Module):
    """Residual encoder (/8) + hybrid atrous spatial pyramid + per-task adaptive decoder.

    Args:
        in_channels: 1, 3 or 4.
        channels: base width (32: about 1.7 M parameters).
    """

    def __init__(self, in_channels: int, channels: int = 32) -> None:
        super().__init__()
        c = int(channels)
        self.out_channels = c
        self.stem = nn.Sequential(
            _conv_bn(in_channels, c, 3, stride=2, padding=1), _conv_bn(c, c, 3, padding=1)
        )
        low = 3 * c // 2
        self.layer1 = nn.Sequential(ResidualBlock(c, low, stride=2), ResidualBlock(low, low))
        self.layer2 = nn.Sequential(ResidualBlock(low, 3 * c, stride=2), ResidualBlock(3 * c, 3 * c))
        self.layer3 = nn.Sequential(
            ResidualBlock(3 * c, 4 * c, dilation=2), ResidualBlock(4 * c, 4 * c, dilation=2)
        )
        self.pyramid = HybridAtrousPyramid(4 * c, 2 * c, 4 * c)
        self.low_proj = _conv_bn(low, c, 1)
        self.tasks = nn.ModuleList([TaskAttentionDecoder(5 * c, c) for _ in range(3)])
        self.full = nn.ModuleList([_conv_bn(c, c, 3, padding=1) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> TaskFeatures:
        """(B, C, H, W) -> (point, angle, width) features, each (B, channels, H, W)."""
        height, width = int(x.shape[-2]), int(x.shape[-1])
        low = self.layer1(self.stem(x))
        high = self.pyramid(self.layer3(self.layer2(low)))
        fused = torch.cat(
            [resize_to(high, (int(low.shape[-2]), int(low.shape[-1]))), self.low_proj(low)], dim=1
        )
        outs = [
            full(resize_to(task(fused), (height, width)))
            for task, full in zip(self.tasks, self.full, strict=True)
        ]
        return outs[0], outs[1], outs[2]
