"""GraspContrast pretraining as a :class:`grasplab.training.task.TrainTask` (graspcontrast.txt §III).

The network is GSNet's backbone alone (``build_model("gsnet_backbone", config.model)``); a batch
is B pairs of views of :class:`~grasplab.data.contrast_pairs.ViewPairDataset`. One step runs the
backbone once on the 2B views, takes the features of the K key points of view A and of their
matches in view B and applies PointInfoNCE with false-negative elimination
(:func:`~grasplab.training.contrastive_losses.point_info_nce`). Logged: the loss and ``match_acc``,
the share of key points whose match in B is their most similar point among B's matches (chance
is 1 / K). Validation: the same on the pairs of held-out scenes (fixed draws); the best checkpoint
has the lowest validation loss. No grasp label is read anywhere.

The checkpoints hold only ``backbone.*`` tensors: ``grasplab train grasp --init
runs/P/checkpoints/last.safetensors`` loads them into a GSNet of the same backbone spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.data.contrast_pairs import PairAugmentConfig, ViewPairDataset  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.scenes.reader import GraspNetDataset  # noqa: E402
from grasplab.training.contrast_config import ContrastPretrainConfig  # noqa: E402
from grasplab.training.contrastive_losses import point_info_nce  # noqa: E402
from grasplab.training.task import LossOutput, TaskBase  # noqa: E402

__all__ = ["ContrastTask", "pretraining_scenes"]


def pretraining_scenes(config: ContrastPretrainConfig) -> tuple[list[int], list[int]]:
    """(training, validation) scene ids: the config's scenes minus test scenes, last ones held out.

    Raises:
        ValueError: no scene left, or a scene with fewer than two frames.
    """
    data = config.data
    if data.scenes is None:
        scenes = GraspNetDataset(data.root, data.camera).scene_ids()
    else:
        scenes = list(data.scenes)
    if data.test_scenes_from is not None:
        scenes = [s for s in scenes if s < data.test_scenes_from]
    scenes = sorted(int(s) for s in scenes)
    if not scenes:
        raise ValueError(
            f"no scenes to pretrain on under {data.root} (camera {data.camera!r}, test scenes >= "
            f"{data.test_scenes_from} left out); make some with `grasplab scenes generate`"
        )
    count = int(-(-data.val_fraction * len(scenes) // 1)) if data.val_fraction > 0 else 0
    if count == 0 or count >= len(scenes):
        return scenes, scenes
    return scenes[: len(scenes) - count], scenes[len(scenes) - count :]


class ContrastTask(TaskBase):
    """Pretrain GSNet's backbone by PointInfoNCE on view pairs (see the module docstring)."""

    name = "contrast"

    def __init__(self, config: ContrastPretrainConfig) -> None:
        self.config = config

    def build_model(self) -> nn.Module:
        """GSNet's backbone alone (initialised from torch's RNG, seeded by the Trainer)."""
        return build_model("gsnet_backbone", self.config.model)

    def datasets(self) -> tuple[ViewPairDataset, ViewPairDataset]:
        """(training, validation) pair datasets over disjoint scenes."""
        data = self.config.data
        train, val = pretraining_scenes(self.config)
        augment = PairAugmentConfig(data.flip, data.max_rotation_deg) if data.augment else None
        return tuple(  # type: ignore[return-value]
            ViewPairDataset(
                data.root,
                scenes,
                data.camera,
                data.num_points,
                data.num_keypoints,
                data.voxel_size,
                data.match_radius,
                aug,
                self.config.seed + offset,
                self.config.model.use_rgb,
                data.downsample,
                data.pairs_per_scene,
                data.cache_frames,
            )
            for scenes, aug, offset in ((train, augment, 0), (val, None, 1))
        )

    def _loss(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        keys = int(batch["key_valid"].shape[1])
        points = torch.cat([batch["points_a"], batch["points_b"]])
        pixels = torch.cat([batch["pixels_a"], batch["pixels_b"]])
        image = torch.cat([batch["image_a"], batch["image_b"]])
        features = model(points, pixels, image)[:, :, :keys].transpose(1, 2)  # (2B, K, F)
        half = int(batch["points_a"].shape[0])
        loss = self.config.loss
        return point_info_nce(
            features[:half],
            features[half:],
            batch["world_a"],
            batch["world_b"],
            batch["key_valid"],
            loss.temperature,
            loss.fne_radius if loss.fne else None,
        )

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        """PointInfoNCE of the batch; terms ``match_acc`` and ``key_valid`` (share of real key points)."""
        value, accuracy = self._loss(model, batch)
        return value, {"match_acc": float(accuracy), "key_valid": float(batch["key_valid"].float().mean())}

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Mean loss and match accuracy over the validation pairs."""
        sums = {"loss": 0.0, "match_acc": 0.0}
        count = 0
        for batch in batches:
            value, accuracy = self._loss(model, batch)
            size = int(batch["points_a"].shape[0])
            sums["loss"] += float(value) * size
            sums["match_acc"] += float(accuracy) * size
            count += size
        return {k: v / max(count, 1) for k, v in sums.items()}
