"""Small CNN encoders of GelSight difference images for contrastive and supervised learning.

The input of a tactile encoder is ``Tb - Ta`` (the pad image after closing minus before contact,
both scaled to [0, 1], so values lie in [-1, 1]) as a (B, C, S, S) tensor: C = 3 for the left pad
(the paper's input) or 6 for both pads (left channels first). The family ``"tactile"`` of
:mod:`grasplab.models.registry` builds a :class:`TactileNet` from a :class:`TactileNetSpec`; one
network carries every part a method needs, so that checkpoints hold the whole training state:

- ``encoder``: ``num_stages`` strided 3x3 convolutions (GroupNorm, ReLU; width doubling from
  ``width``) and global average pooling -> (B, F) features, F = ``width * 2**(num_stages - 1)``;
  these frozen features are what the probes read;
- ``head``: the projection head, a two-layer MLP F -> ``proj_hidden`` -> ``proj_dim`` (128);
- ``key_encoder`` / ``key_head``: MoCo's momentum copies (frozen, ``requires_grad=False``);
- ``queue`` (K, proj_dim) and ``queue_ptr``: buffers of the MoCo queue or the memory bank;
- ``decoder``: the autoencoder's transposed-convolution decoder (features -> image, tanh);
- ``classifier``: a linear layer for the supervised ceiling.

GroupNorm instead of BatchNorm: no batch statistics, so a query cannot find its positive key
through them (MoCo's reason for shuffling BN across GPUs) and the network behaves the same in
training and evaluation. With the defaults (width 32, 4 stages, 64 x 64 input) the encoder has
0.39 M parameters and needs ~15 M multiply-adds per image.

>>> net = build_tactile_net(TactileNetSpec(image_size=32, width=8, num_stages=3, proj_dim=16,
...                                        proj_hidden=32))
>>> net.features(torch.zeros(2, 3, 32, 32)).shape, net.embed(torch.zeros(2, 3, 32, 32)).shape
(torch.Size([2, 32]), torch.Size([2, 16]))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

from grasplab.models.registry import register_model  # noqa: E402

__all__ = [
    "ProjectionHead",
    "TactileDecoder",
    "TactileEncoder",
    "TactileNet",
    "TactileNetSpec",
    "build_tactile_net",
]


@dataclass(frozen=True)
class TactileNetSpec:
    """Everything that rebuilds a :class:`TactileNet` (stored in checkpoints).

    Attributes:
        in_channels: 3 (left pad Tb - Ta) or 6 (both pads).
        image_size: side S of the square input (px); the decoder reconstructs this size.
        width: channels of the first convolution (doubled at every later stage).
        num_stages: strided convolutions (each halves the side); S must be divisible by 2**stages.
        proj_dim: output dimension of the projection head (0 = no head).
        proj_hidden: hidden width of the projection head.
        momentum_encoder: keep frozen momentum copies of encoder and head (MoCo).
        queue_size: rows K of the queue / memory-bank buffer (0 = none).
        decoder: add the autoencoder's decoder.
        num_classes: outputs of a linear classifier on the features (0 = none; 1 = one logit).
    """

    in_channels: int = 3
    image_size: int = 64
    width: int = 32
    num_stages: int = 4
    proj_dim: int = 128
    proj_hidden: int = 512
    momentum_encoder: bool = False
    queue_size: int = 0
    decoder: bool = False
    num_classes: int = 0

    def __post_init__(self) -> None:
        if self.in_channels < 1 or self.width < 1 or self.num_stages < 1:
            raise ValueError("in_channels, width and num_stages must be >= 1")
        if self.image_size % (2**self.num_stages) != 0:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2**num_stages = {2**self.num_stages}"
            )
        if self.proj_dim < 0 or self.queue_size < 0 or self.num_classes < 0:
            raise ValueError("proj_dim, queue_size and num_classes must be >= 0")
        if (self.momentum_encoder or self.queue_size) and self.proj_dim == 0:
            raise ValueError("a momentum encoder or a queue needs a projection head (proj_dim > 0)")

    @property
    def feature_dim(self) -> int:
        """Dimension F of the encoder's pooled features."""
        return self.width * 2 ** (self.num_stages - 1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class TactileEncoder(nn.Module):
    """Strided convolutions and global average pooling: (B, C, S, S) -> (B, F)."""

    def __init__(self, in_channels: int, width: int, num_stages: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for stage in range(num_stages):
            out = width * 2**stage
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1, bias=False), _norm(out), nn.ReLU()]
            channels = out
        self.body = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, F) of images (B, C, S, S)."""
        return self.body(x).mean(dim=(2, 3))


class ProjectionHead(nn.Module):
    """The two-layer MLP projection head: (B, F) -> (B, D)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Projected (not normalised) embeddings (B, D)."""
        return self.net(x)


class TactileDecoder(nn.Module):
    """Features (B, F) -> images (B, C, S, S) in [-1, 1].

    A linear map to the coarsest grid, then ``num_stages`` transposed convolutions mirroring the
    encoder.
    """

    def __init__(self, spec: TactileNetSpec) -> None:
        super().__init__()
        self.side = spec.image_size // 2**spec.num_stages
        self.channels = spec.feature_dim
        self.fc = nn.Linear(spec.feature_dim, spec.feature_dim * self.side**2)
        layers: list[nn.Module] = []
        channels = spec.feature_dim
        for stage in reversed(range(spec.num_stages - 1)):
            out = spec.width * 2**stage
            layers += [nn.ConvTranspose2d(channels, out, 4, stride=2, padding=1), _norm(out), nn.ReLU()]
            channels = out
        layers.append(nn.ConvTranspose2d(channels, spec.in_channels, 4, stride=2, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructed images (B, C, S, S)."""
        grid = F.relu(self.fc(z)).view(-1, self.channels, self.side, self.side)
        return torch.tanh(self.body(grid))


class TactileNet(nn.Module):
    """Encoder plus the optional parts of :class:`TactileNetSpec` (see the module docstring).

    Args:
        spec: the architecture.
    """

    queue: torch.Tensor
    queue_ptr: torch.Tensor

    def __init__(self, spec: TactileNetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.encoder = TactileEncoder(spec.in_channels, spec.width, spec.num_stages)
        self.head: nn.Module | None = None
        if spec.proj_dim:
            self.head = ProjectionHead(spec.feature_dim, spec.proj_hidden, spec.proj_dim)
        self.key_encoder: nn.Module | None = None
        self.key_head: nn.Module | None = None
        if spec.momentum_encoder and self.head is not None:
            self.key_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
            self.key_head = copy.deepcopy(self.head).requires_grad_(False)
        if spec.queue_size:
            queue = F.normalize(torch.randn(spec.queue_size, spec.proj_dim), dim=1)
            self.register_buffer("queue", queue)
            self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.decoder = TactileDecoder(spec) if spec.decoder else None
        self.classifier = nn.Linear(spec.feature_dim, spec.num_classes) if spec.num_classes else None

    def _check(self, x: torch.Tensor) -> None:
        s = self.spec
        if x.ndim != 4 or tuple(x.shape[1:]) != (s.in_channels, s.image_size, s.image_size):
            raise ValueError(
                f"expected input (B, {s.in_channels}, {s.image_size}, {s.image_size}), got {tuple(x.shape)}"
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder features (B, F) of images (B, C, S, S): what probes read."""
        self._check(x)
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`features`."""
        return self.features(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm projections (B, D) by the query encoder and head."""
        if self.head is None:
            raise ValueError("this network has no projection head (proj_dim = 0)")
        return F.normalize(self.head(self.features(x)), dim=1)

    def embed_key(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm projections (B, D) by the momentum encoder and head (no gradient)."""
        if self.key_encoder is None or self.key_head is None:
            raise ValueError("this network has no momentum encoder (momentum_encoder = False)")
        self._check(x)
        with torch.no_grad():
            return F.normalize(self.key_head(self.key_encoder(x)), dim=1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Autoencoder output (B, C, S, S) in [-1, 1]."""
        if self.decoder is None:
            raise ValueError("this network has no decoder (decoder = False)")
        return self.decoder(self.features(x))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Classifier logits (B, num_classes)."""
        if self.classifier is None:
            raise ValueError("this network has no classifier (num_classes = 0)")
        return self.classifier(self.features(x))


def build_tactile_net(spec: TactileNetSpec) -> TactileNet:
    """A freshly initialised :class:`TactileNet` (draws from torch's global RNG)."""
    return TactileNet(spec)


register_model("tactile", build_tactile_net, TactileNetSpec)
