"""Torch datasets of GelSight grasp trials over plain arrays (views for contrastive learning).

:class:`TactileArrays` holds what learning needs from a tactile dataset: the pad images before
contact ``ta`` and after closing ``tb`` as (N, 2, H, W, 3) uint8 arrays (pad 0 = left), the
outcome ``success`` (N,) and the ``object_id`` (N,). The ``grasplab.tactile`` stage comes later in
the pipeline, so its dataset is converted to these arrays by the caller (CLI or evaluation glue).

:class:`TactileViews` turns sample i into the network input ``Tb - Ta`` (both scaled to [0, 1],
so values in [-1, 1]) of the left pad (3 channels, the paper's input) or of both pads (6), as one
or two augmented views (:mod:`grasplab.data.tactile_augment`) or the centre view. Each item's
augmentation is drawn from a ``torch.Generator`` seeded by ``(seed, epoch, index)``, so an epoch
is reproducible whatever the order and the worker it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from grasplab.data.tactile_augment import TactileAugmentConfig, augment_view, center_view  # noqa: E402

__all__ = [
    "PAD_MODES",
    "TactileArrays",
    "TactileViews",
    "difference_image",
    "pad_channels",
    "synthetic_tactile_arrays",
]

#: "left": the left pad's Tb - Ta (3 channels, the paper); "both": left then right (6 channels)
PAD_MODES = ("left", "both")


def pad_channels(pads: str) -> int:
    """Input channels of a pad mode (3 or 6)."""
    if pads not in PAD_MODES:
        raise ValueError(f"pads must be one of {PAD_MODES}, got {pads!r}")
    return 3 if pads == "left" else 6


@dataclass(frozen=True)
class TactileArrays:
    """Pad images and outcomes of N grasp trials.

    Attributes:
        ta: (N, 2, H, W, 3) uint8 pad images before contact (pad 0 = left).
        tb: (N, 2, H, W, 3) uint8 pad images after closing, before lifting.
        success: (N,) bool, the grasp held after lifting.
        object_id: (N,) int object of each trial.
    """

    ta: np.ndarray
    tb: np.ndarray
    success: np.ndarray
    object_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.success)
        for name in ("ta", "tb"):
            arr = getattr(self, name)
            if arr.ndim != 5 or arr.shape[0] != n or arr.shape[1] != 2 or arr.shape[4] != 3:
                raise ValueError(f"{name} must be (N={n}, 2, H, W, 3), got {arr.shape}")
            if arr.dtype != np.uint8:
                raise ValueError(f"{name} must be uint8, got {arr.dtype}")
        if self.ta.shape != self.tb.shape:
            raise ValueError(f"ta {self.ta.shape} and tb {self.tb.shape} differ")
        if self.success.shape != (n,) or np.asarray(self.object_id).shape != (n,):
            raise ValueError("success and object_id must be (N,)")

    def __len__(self) -> int:
        return int(len(self.success))

    def subset(self, indices: np.ndarray) -> TactileArrays:
        """The trials at ``indices`` (copies)."""
        idx = np.asarray(indices, dtype=np.int64)
        return TactileArrays(self.ta[idx], self.tb[idx], self.success[idx].astype(bool), self.object_id[idx])


def difference_image(ta: np.ndarray, tb: np.ndarray, pads: str = "left") -> torch.Tensor:
    """The network input of one trial: ``(Tb - Ta) / 255`` as (C, H, W) float32 in [-1, 1].

    Args:
        ta, tb: (2, H, W, 3) uint8 images of both pads (pad 0 = left).
        pads: "left" (C = 3) or "both" (C = 6, left first).
    """
    channels = pad_channels(pads)
    if ta.shape != tb.shape or ta.ndim != 4 or ta.shape[-1] != 3:
        raise ValueError(f"need ta and tb (2, H, W, 3), got {ta.shape} and {tb.shape}")
    use = slice(0, 1) if channels == 3 else slice(0, 2)
    diff = (tb[use].astype(np.float32) - ta[use].astype(np.float32)) / 255.0  # (P, H, W, 3)
    return torch.from_numpy(np.ascontiguousarray(diff.transpose(0, 3, 1, 2))).reshape(
        channels, ta.shape[1], ta.shape[2]
    )


def _item_seed(seed: int, epoch: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0] >> 1)


class TactileViews(Dataset[dict[str, torch.Tensor]]):
    """Views of ``Tb - Ta`` for training and evaluation (see the module docstring).

    Args:
        arrays: the trials (not copied, never modified).
        pads: "left" or "both".
        augment: view geometry and augmentation parameters.
        views: 2 (a positive pair, keys ``view_a`` and ``view_b``) or 1 (``view_a`` only).
        train: random augmented views; else the deterministic centre view (both views equal).
        seed: seed of the augmentation streams.

    Items are dicts: ``view_a`` (and ``view_b``) (C, crop, crop) float32, ``index`` () int64 (the
    row in ``arrays``), ``label`` () float32 (1 = success).
    """

    def __init__(
        self,
        arrays: TactileArrays,
        pads: str = "left",
        augment: TactileAugmentConfig | None = None,
        views: int = 2,
        train: bool = True,
        seed: int = 0,
    ) -> None:
        if views not in (1, 2):
            raise ValueError(f"views must be 1 or 2, got {views}")
        pad_channels(pads)
        self.arrays = arrays
        self.pads = pads
        self.augment = augment or TactileAugmentConfig()
        self.views = views
        self.train = train
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = difference_image(self.arrays.ta[index], self.arrays.tb[index], self.pads)
        item = {
            "index": torch.tensor(index, dtype=torch.long),
            "label": torch.tensor(float(self.arrays.success[index]), dtype=torch.float32),
        }
        if not self.train:
            view = center_view(image, self.augment)
            item["view_a"] = view
            if self.views == 2:
                item["view_b"] = view.clone()
            return item
        gen = torch.Generator().manual_seed(_item_seed(self.seed, self.epoch, index))
        item["view_a"] = augment_view(image, self.augment, gen)
        if self.views == 2:
            item["view_b"] = augment_view(image, self.augment, gen)
        return item


def synthetic_tactile_arrays(
    num: int, size: int, rng: np.random.Generator, num_objects: int = 6
) -> TactileArrays:
    """Toy trials for tests and smoke runs: a contact blob whose size decides the outcome.

    ``ta`` is a noisy grey background with a per-pad tint; ``tb`` adds a bright elliptic contact
    patch; trials with a large patch (firm, wide contact) succeed, small ones fail, with 10 % of
    the labels flipped. Each object has its own mean patch size.

    Args:
        num: number of trials N.
        size: image side (px).
        rng: the random stream.
        num_objects: objects the trials are spread over.
    """
    if num < 1 or size < 8:
        raise ValueError("need num >= 1 and size >= 8")
    object_id = rng.integers(0, num_objects, num)
    object_scale = rng.uniform(0.12, 0.3, num_objects)
    radius = np.clip(object_scale[object_id] + rng.normal(0, 0.06, num), 0.05, 0.45)
    success = (radius > np.median(radius)) ^ (rng.random(num) < 0.1)
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size
    base = np.array([[120, 110, 100], [100, 110, 120]], dtype=np.float32)
    ta = base[None, :, None, None, :] + rng.normal(0, 3, (num, 2, size, size, 3))
    cx, cy = rng.uniform(0.3, 0.7, (2, num, 2))
    aspect = rng.uniform(0.6, 1.0, (num, 2))
    dist = ((xx - cx[..., None, None]) / aspect[..., None, None]) ** 2 + (yy - cy[..., None, None]) ** 2
    patch = np.exp(-dist / (2 * radius[:, None, None, None] ** 2 / 4))
    colour = np.array([60.0, 40.0, 80.0])
    tb = ta + patch[..., None] * colour + rng.normal(0, 3, ta.shape)
    to_u8 = lambda a: np.clip(np.rint(a), 0, 255).astype(np.uint8)  # noqa: E731
    return TactileArrays(to_u8(ta), to_u8(tb), success.astype(bool), object_id.astype(np.int64))
