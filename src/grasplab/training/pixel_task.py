"""Pixel-network training (PLGP) as a :class:`grasplab.training.task.TrainTask`.

The network is :func:`grasplab.models.registry.build_model` ("pixel" family) from the config's
``model`` section; the datasets are :class:`grasplab.data.pixel_dataset.PixelGraspDataset` over the
labelled frames of ``data.root`` split by scene; the loss is PLGP eq. 16
(:func:`grasplab.training.losses.pixel_grasp_loss`) logged per term (quality, angle, width).
Validation reports the loss and a grasp-success proxy: the fraction of validation frames whose
top decoded grasp (best pixel of Q_p, best angle bin of Q_theta there) lands on a labelled (not
enhanced) pixel with that angle bin. The best checkpoint maximises (success, -loss).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.data.augment import AugmentConfig, input_channels  # noqa: E402
from grasplab.data.pixel_dataset import PixelGraspDataset, list_labelled_frames, split_frames  # noqa: E402
from grasplab.models.pixel_net import PixelGraspNet, PixelOutputs, top_grasp_indices  # noqa: E402
from grasplab.models.registry import PixelNetSpec, build_model  # noqa: E402
from grasplab.training.config import PixelTrainConfig  # noqa: E402
from grasplab.training.losses import PixelLossTerms, pixel_grasp_loss  # noqa: E402
from grasplab.training.task import LossOutput, TaskBase  # noqa: E402

__all__ = ["PixelTask", "pixel_net_spec"]


def pixel_net_spec(config: PixelTrainConfig) -> PixelNetSpec:
    """The network spec of a pixel training config (input channels from ``data.input_mode``)."""
    options = {
        f.name: getattr(config.model, f.name) for f in dataclasses.fields(config.model) if f.name != "name"
    }
    return PixelNetSpec(
        config.model.name, input_channels(config.data.input_mode), config.data.num_angles, **options
    )


class PixelTask(TaskBase):
    """Train a PLGP pixel network (see the module docstring).

    Args:
        config: the resolved pixel training config.
    """

    name = "pixel"

    def __init__(self, config: PixelTrainConfig) -> None:
        self.config = config

    def build_model(self) -> nn.Module:
        """The config's network (initialised from torch's RNG; the Trainer scopes and seeds it)."""
        return build_model("pixel", pixel_net_spec(self.config))

    def _augment(self) -> AugmentConfig | None:
        data = self.config.data
        if not data.augment:
            return None
        return AugmentConfig(
            data.crop_size,
            data.max_translation,
            data.max_rotation_deg,
            data.flip,
            data.snap_rotation,
            data.cover_image,
        )

    def datasets(self) -> tuple[PixelGraspDataset, PixelGraspDataset]:
        """(training, validation) datasets split by scene; augmentation seeded by ``config.seed``."""
        data = self.config.data
        frames = list_labelled_frames(data.root, data.camera)
        if not frames:
            raise ValueError(f"no frames with pixel labels under {data.root} (camera {data.camera!r})")
        train, val = split_frames(frames, data.val_fraction, data.val_scenes)
        if data.max_frames is not None:
            train = train[: data.max_frames]
        built = [
            PixelGraspDataset(
                data.root,
                subset,
                camera=data.camera,
                input_mode=data.input_mode,
                augment=augment,
                crop_size=data.crop_size,
                enhance=data.enhance,
                enhance_value=data.enhance_value,
                seed=self.config.seed,
                num_angles=data.num_angles,
                fast_labels=data.fast_labels,
                depth_scale=data.depth_scale,
            )
            for subset, augment in ((train, self._augment()), (val, None))
        ]
        return built[0], built[1]

    def _terms(self, logits: PixelOutputs, batch: Mapping[str, torch.Tensor]) -> PixelLossTerms:
        return pixel_grasp_loss(
            logits, batch["quality"], batch["angle_quality"], batch["width"], self.config.loss
        )

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        """PLGP eq. 16 on a batch; terms ``quality``, ``angle`` and ``width`` (unweighted)."""
        net: PixelGraspNet = model  # type: ignore[assignment]
        terms = self._terms(net.logits(batch["input"]), batch)
        named = {
            "quality": float(terms.quality.detach()),
            "angle": float(terms.angle.detach()),
            "width": float(terms.width.detach()),
        }
        return terms.total, named

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Mean validation loss and the top-grasp success proxy."""
        net: PixelGraspNet = model  # type: ignore[assignment]
        loss_sum, hits, count = 0.0, 0, 0
        for batch in batches:
            size = int(batch["input"].shape[0])
            logits = net.logits(batch["input"])
            loss_sum += float(self._terms(logits, batch).total) * size
            v, u, k = top_grasp_indices(logits[0], logits[1])  # the sigmoid keeps the arg-maxima
            positive = batch["positive"]
            hits += int(positive[torch.arange(size, device=positive.device), k, v, u].sum())
            count += size
        return {"loss": loss_sum / max(count, 1), "success": hits / max(count, 1)}

    def rank(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """Higher success, then lower loss."""
        return (float(metrics["success"]), -float(metrics["loss"]))
