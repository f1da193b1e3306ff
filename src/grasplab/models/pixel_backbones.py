"""Fully convolutional backbones of the PLGP pixel-level grasp detector.

Every backbone maps a (B, C, H, W) image to a tuple of three (B, F, H, W) feature maps at the
input resolution, one for each task head (grasp point quality, angle quality, width); backbones
with a shared decoder return the same map three times. ``out_channels`` is F.

- :class:`GGCNN2Backbone`: the GG-CNN2 layout (Morrison et al. 2019), ~71 k parameters;
- :class:`GRConvNetBackbone`: the GR-ConvNet layout (Kumra et al. 2020), ~1.9 M parameters;
- :class:`AFFGABackbone` (``grasplab.models.affga``): residual encoder, hybrid atrous spatial
  pyramid and an adaptive (per-task attention) decoder, sized for a CPU.
"""

from __future__ import annotations

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

TaskFeatures = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def resize_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (B, C, h, w) to ``size`` (H, W) unless it already has it."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class GGCNN2Backbone(nn.Module):
    """GG-CNN2: strided-pooling encoder, dilated convolutions, bilinear upsampling.

    With ``stem_stride=1`` this is the GG-CNN2 layout (11x11 and 5x5 convolutions at the input
    resolution, ~71 k parameters). ``stem_stride=2`` is the CPU variant: the 11x11 stem
    convolution is strided, so every later layer runs at half the resolution (about 5x fewer
    multiply-adds), and the decoded 16-channel features are bilinearly resized to the input
    resolution before the 1x1 task heads; the parameters are the same.

    Args:
        in_channels: 1 (depth), 3 (RGB) or 4 (RGB-D).
        channels: width of the first layers (16 in GG-CNN2; the dilated layers use twice that).
        stem_stride: stride of the first convolution, 1 (GG-CNN2) or 2 (CPU variant).
        up_kernel: kernel side of the last decoder convolution (5 in GG-CNN2; 3 saves a third of
            the CPU variant's multiply-adds).
    """

    def __init__(
        self, in_channels: int, channels: int = 16, stem_stride: int = 1, up_kernel: int = 5
    ) -> None:
        super().__init__()
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}")
        if up_kernel < 1 or up_kernel % 2 == 0:
            raise ValueError(f"up_kernel must be odd and >= 1, got {up_kernel}")
        c = int(channels)
        self.out_channels = c
        self.stem_stride = int(stem_stride)
        relu = nn.ReLU(inplace=True)
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c, 11, stride=self.stem_stride, padding=5),
            relu,
            nn.Conv2d(c, c, 5, padding=2),
            relu,
            nn.MaxPool2d(2),
            nn.Conv2d(c, c, 5, padding=2),
            relu,
            nn.Conv2d(c, c, 5, padding=2),
            relu,
            nn.MaxPool2d(2),
            nn.Conv2d(c, 2 * c, 5, padding=4, dilation=2),
            relu,
            nn.Conv2d(2 * c, 2 * c, 5, padding=8, dilation=4),
            relu,
        )
        self.up1 = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1), nn.ReLU(inplace=True))
        self.up2 = nn.Sequential(nn.Conv2d(c, c, up_kernel, padding=up_kernel // 2), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> TaskFeatures:
        """(B, C, H, W) -> three times (B, channels, H, W)."""
        height, width = int(x.shape[-2]), int(x.shape[-1])
        s = self.stem_stride
        f = self.encoder(x)
        f = self.up1(resize_to(f, (height // (2 * s), width // (2 * s))))
        f = self.up2(resize_to(f, (height // s, width // s)))
        f = resize_to(f, (height, width))
        return f, f, f


class ResidualBlock(nn.Module):
    """Two 3x3 conv + batch-norm layers with an identity (or 1x1 projected) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride, padding=dilation, dilation=dilation, bias=False
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in, H, W) -> (B, out, H / stride, W / stride)."""
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def _deconv_bn(cin: int, cout: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class GRConvNetBackbone(nn.Module):
    """GR-ConvNet: conv encoder (/4), residual blocks, transposed-conv decoder.

    Args:
        in_channels: 1, 3 or 4.
        channels: width of the first layer (32 in GR-ConvNet; then 2x and 4x).
        num_residual: residual blocks at the bottleneck (5 in GR-ConvNet).
        dropout: dropout probability on the decoded features (0 disables).
    """

    def __init__(
        self, in_channels: int, channels: int = 32, num_residual: int = 5, dropout: float = 0.0
    ) -> None:
        super().__init__()
        c = int(channels)
        self.out_channels = c
        self.encoder = nn.Sequential(
            _conv_bn(in_channels, c, 9, padding=4),
            _conv_bn(c, 2 * c, 4, stride=2, padding=1),
            _conv_bn(2 * c, 4 * c, 4, stride=2, padding=1),
        )
        self.residual = nn.Sequential(*(ResidualBlock(4 * c, 4 * c) for _ in range(num_residual)))
        self.decoder1 = _deconv_bn(4 * c, 2 * c, 4, 2, 1)
        self.decoder2 = _deconv_bn(2 * c, c, 4, 2, 1)
        self.decoder3 = _deconv_bn(c, c, 9, 1, 4)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> TaskFeatures:
        """(B, C, H, W) -> three times (B, channels, H, W)."""
        height, width = int(x.shape[-2]), int(x.shape[-1])
        f = self.residual(self.encoder(x))
        f = self.decoder1(f)
        f = self.decoder2(resize_to(f, (height // 2, width // 2)))
        f = self.dropout(self.decoder3(resize_to(f, (height, width))))
        return f, f, f
