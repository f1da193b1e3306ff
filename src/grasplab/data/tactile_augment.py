"""The tactile MoCo paper's augmentations in torch (no torchvision), each drawn from a generator.

Images are (C, H, W) float tensors of GelSight differences ``Tb - Ta`` in [-1, 1]; C is a multiple
of 3 (one RGB triple per pad) and colour operations act on each triple with the same draw. The
paper's chain, scaled to small CPU images (its 256 -> 224 becomes ``resize`` -> ``crop``):
resize, random crop, colour jitter (brightness, contrast, saturation, hue; with probability
``jitter_prob``), horizontal flip, grayscale, Gaussian blur. Evaluation resizes and takes the
centre crop. The functions never modify their inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

__all__ = [
    "TactileAugmentConfig",
    "augment_view",
    "center_view",
    "color_jitter",
    "gaussian_blur",
    "grayscale",
    "resize_square",
]

#: ITU-R BT.601 luma weights
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class TactileAugmentConfig:
    """Augmentation parameters (the paper's chain at CPU size).

    Attributes:
        resize: side the image is resized to first (px; the paper's 256).
        crop: side of the (random or centre) square crop fed to the network (px; the paper's 224).
        jitter_prob: probability of colour jitter.
        brightness, contrast, saturation: jitter factors drawn in ``[1 - x, 1 + x]``.
        hue: hue rotation drawn in ``[-hue, hue]`` turns.
        flip_prob: probability of a horizontal flip.
        grayscale_prob: probability of grayscale conversion.
        blur_prob: probability of a Gaussian blur.
        blur_sigma: (min, max) blur sigma (px; MoCo v2's 0.1-2.0 at 224 px, scaled to ``crop``).
    """

    resize: int = 72
    crop: int = 64
    jitter_prob: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    flip_prob: float = 0.5
    grayscale_prob: float = 0.2
    blur_prob: float = 0.5
    blur_sigma: tuple[float, float] = (0.03, 0.6)

    def __post_init__(self) -> None:
        if not 1 <= self.crop <= self.resize:
            raise ValueError(f"need 1 <= crop <= resize, got crop {self.crop}, resize {self.resize}")
        probs = (self.jitter_prob, self.flip_prob, self.grayscale_prob, self.blur_prob)
        if any(not 0.0 <= p <= 1.0 for p in probs):
            raise ValueError("augmentation probabilities must lie in [0, 1]")
        if not 0 < self.blur_sigma[0] <= self.blur_sigma[1]:
            raise ValueError(f"blur_sigma must be (min, max) with 0 < min <= max, got {self.blur_sigma}")


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


def _triples(image: torch.Tensor) -> torch.Tensor:
    if image.ndim != 3 or image.shape[0] % 3:
        raise ValueError(f"expected (C, H, W) with C a multiple of 3, got {tuple(image.shape)}")
    return image.reshape(-1, 3, *image.shape[1:])


def resize_square(image: torch.Tensor, side: int) -> torch.Tensor:
    """Bilinear resize of (C, H, W) to (C, side, side)."""
    if tuple(image.shape[1:]) == (side, side):
        return image.clone()
    return F.interpolate(image[None], size=(side, side), mode="bilinear", align_corners=False)[0]


def grayscale(image: torch.Tensor) -> torch.Tensor:
    """Each RGB triple replaced by its luma in all three channels."""
    rgb = _triples(image)
    luma = torch.tensordot(torch.tensor(_LUMA, dtype=image.dtype), rgb, dims=([0], [1]))
    return luma[:, None].expand_as(rgb).reshape(image.shape).clone()


def _hue_rotate(rgb: torch.Tensor, turns: float) -> torch.Tensor:
    """Rotate the chroma plane (YIQ) by ``turns`` of a full circle; luma is kept."""
    to_yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=rgb.dtype
    )
    c, s = math.cos(2 * math.pi * turns), math.sin(2 * math.pi * turns)
    rot = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]], dtype=rgb.dtype)
    matrix = torch.linalg.inv(to_yiq) @ rot @ to_yiq
    return torch.einsum("ij,pjhw->pihw", matrix, rgb)


def color_jitter(image: torch.Tensor, config: TactileAugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Brightness, contrast, saturation and hue changes in a random order (torchvision's set).

    Brightness scales the signed difference; contrast scales it about the triple's mean luma;
    saturation blends with the luma; hue rotates the chroma. Values are clamped to [-1, 1].
    """
    rgb = _triples(image).clone()
    for op in torch.randperm(4, generator=gen).tolist():
        if op == 0 and config.brightness:
            rgb = rgb * _uniform(gen, 1 - config.brightness, 1 + config.brightness)
        elif op == 1 and config.contrast:
            mean = _triples(grayscale(rgb.reshape(image.shape))).mean(dim=(1, 2, 3), keepdim=True)
            rgb = mean + (rgb - mean) * _uniform(gen, 1 - config.contrast, 1 + config.contrast)
        elif op == 2 and config.saturation:
            gray = _triples(grayscale(rgb.reshape(image.shape)))
            rgb = gray + (rgb - gray) * _uniform(gen, 1 - config.saturation, 1 + config.saturation)
        elif op == 3 and config.hue:
            rgb = _hue_rotate(rgb, _uniform(gen, -config.hue, config.hue))
    return rgb.reshape(image.shape).clamp(-1.0, 1.0)


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (C, H, W) (kernel radius ceil(3 sigma), reflected borders)."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    radius = max(1, math.ceil(3 * sigma))
    radius = min(radius, min(image.shape[1:]) - 1)
    x = torch.arange(-radius, radius + 1, dtype=image.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = image.shape[0]
    out = F.pad(image[None], (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return out[0]


def center_view(image: torch.Tensor, config: TactileAugmentConfig) -> torch.Tensor:
    """Evaluation view: resize to ``resize`` and take the centre ``crop`` (C, crop, crop)."""
    resized = resize_square(image, config.resize)
    top = (config.resize - config.crop) // 2
    return resized[:, top : top + config.crop, top : top + config.crop].clone()


def augment_view(image: torch.Tensor, config: TactileAugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """One random view (C, crop, crop) of a difference image (C, H, W) (the paper's chain).

    Args:
        image: (C, H, W) float image in [-1, 1], C a multiple of 3 (not modified).
        config: augmentation parameters.
        gen: the random stream (every draw comes from it).
    """
    resized = resize_square(image, config.resize)
    span = config.resize - config.crop + 1
    top, left = (int(v) for v in torch.randint(0, span, (2,), generator=gen))
    view = resized[:, top : top + config.crop, left : left + config.crop]
    if float(torch.rand((), generator=gen)) < config.jitter_prob:
        view = color_jitter(view, config, gen)
    if float(torch.rand((), generator=gen)) < config.flip_prob:
        view = view.flip(-1)
    if float(torch.rand((), generator=gen)) < config.grayscale_prob:
        view = grayscale(view)
    if float(torch.rand((), generator=gen)) < config.blur_prob:
        view = gaussian_blur(view, _uniform(gen, *config.blur_sigma))
    return view.contiguous()
