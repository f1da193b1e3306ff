"""GraspNet-1Billion baseline training (graspnet-1billion.txt §4) as a :class:`GraspTask`.

The same frames, split, augmentation, seeds' object-frame targets and AP validation as GSNet
(:class:`~grasplab.training.grasp_task.GraspTask`); the network is
``build_model("graspnet-baseline", config.model)`` and one step is:

1. backbone on every point; M seeds by farthest point sampling of the whole cloud (the
   baseline has no graspness); with ``data.train_seeds: label`` half of them are instead
   farthest points among the labelled graspable object points, so that every step has grasp
   targets (on this data about 7 % of the cloud is object: a plain FPS gives ~18 of 256);
2. ApproachNet on the seeds: graspable logits and V view scores;
3. per seed a view drawn from its label's view graspness (as GSNet; seeds without a label take
   the predicted argmax), one cylinder per approach depth along it, OperationNet and
   ToleranceNet;
4. :func:`~grasplab.training.grasp_losses.baseline_losses`. Targets: graspable 1 for seeds on
   an object whose label has a free grasp, 0 off the objects, ignored otherwise (§4.2: points on
   objects without a grasp do not count); view scores = the best grasp score per view
   (:func:`~grasplab.data.tolerance_targets.seed_view_score_targets`); angle classes, scores and
   widths of the label's depths that equal the network's (0.01-0.04 m of the 0.005-0.04 m
   labels); tolerance (:func:`~grasplab.data.tolerance_targets.seed_tolerance_targets`).

Validation proxies: the loss (with the label's best view), graspable accuracy on the counted
seeds, the share of seeds on labelled points, the score MAE and ``success`` (the share of seeds
whose predicted best (angle, depth) is a free grasp); then ``epoch_metrics`` (AP).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.data.tolerance_targets import LabelNeighbors, label_neighbors  # noqa: E402
from grasplab.models.graspnet_baseline import GraspNetBaseline  # noqa: E402
from grasplab.models.gsnet import seeds_among  # noqa: E402
from grasplab.models.point_ops import farthest_point_sample, gather_points  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.training.checkpoints import load_weights_into  # noqa: E402
from grasplab.training.grasp_config import BaselineTrainConfig  # noqa: E402
from grasplab.training.grasp_losses import BaselineLossTerms, baseline_losses  # noqa: E402
from grasplab.training.grasp_task import EpochMetricsFn, GraspTask, seed_targets  # noqa: E402

__all__ = ["LABEL_SEED_GRASPNESS", "BaselineGraspTask"]

#: Label graspness over which an object point may be a label-drawn training seed (GSNet's 0.1).
LABEL_SEED_GRASPNESS = 0.1


class BaselineGraspTask(GraspTask):
    """Train the GraspNet-1Billion baseline (see the module docstring).

    Args:
        config: the resolved baseline training config.
        epoch_metrics: extra validation metrics run once per epoch (the command's AP validation).
        neighbor_cache: scenes whose label neighbourhoods are kept in memory.
    """

    proxy_names = ("graspable_acc", "seed_labelled", "score_mae", "success")

    def __init__(
        self,
        config: BaselineTrainConfig,
        epoch_metrics: EpochMetricsFn | None = None,
        neighbor_cache: int = 16,
    ) -> None:
        super().__init__(config, epoch_metrics)  # type: ignore[arg-type]
        self.baseline_config = config
        self._neighbors: OrderedDict[int, LabelNeighbors] = OrderedDict()
        self._neighbor_cache = neighbor_cache
        self._depth_index: list[int] | None = None

    def build_model(self) -> nn.Module:
        """The config's baseline network (``config.init``'s matching tensors loaded, if given)."""
        model = build_model("graspnet-baseline", self.baseline_config.model)
        if self.config.init is not None:
            self.init_report = load_weights_into(model, self.config.init)
        return model

    def neighbors_of(self, scene_id: int) -> LabelNeighbors:
        """The label neighbourhoods of a scene (computed once, kept for the last few scenes)."""
        if scene_id in self._neighbors:
            self._neighbors.move_to_end(scene_id)
            return self._neighbors[scene_id]
        found = label_neighbors(self.store.get(scene_id))
        self._neighbors[scene_id] = found
        while len(self._neighbors) > self._neighbor_cache:
            self._neighbors.popitem(last=False)
        return found

    def depth_index(self, scene_id: int) -> list[int]:
        """Indices of the network's depths among the labels' depths.

        Raises:
            ValueError: a network depth the labels do not have (within 0.1 mm).
        """
        if self._depth_index is None:
            label_depths = np.asarray(self.store.get(scene_id).depths, dtype=np.float64)
            index = []
            for depth in self.baseline_config.model.depths:
                i = int(np.abs(label_depths - depth).argmin())
                if abs(label_depths[i] - depth) > 1e-4:
                    raise ValueError(
                        f"model.depths: {depth} m is not among the labels' depths {label_depths.tolist()}; "
                        "choose network depths the labels have"
                    )
                index.append(i)
            self._depth_index = index
        return self._depth_index

    def _forward(  # type: ignore[override]
        self, net: GraspNetBaseline, batch: Mapping[str, torch.Tensor], choose: str
    ) -> tuple[dict[str, Any], ...]:
        spec = net.spec
        points = batch["points"]
        image = batch["image"] if spec.backbone == "depth2d" else None
        features = net.backbone(points, batch["pixels"], image)
        seed_index = farthest_point_sample(points, spec.num_seeds)
        if choose == "sample" and self.config.data.train_seeds == "label":
            half = spec.num_seeds // 2
            candidates = (batch["objectness"] > 0) & (batch["graspness"] > LABEL_SEED_GRASPNESS)
            labelled = seeds_among(points, candidates, batch["graspness"], spec.num_seeds - half)
            seed_index = torch.cat([seed_index[:, :half], labelled], dim=1)
        seed_features = gather_points(features.transpose(1, 2), seed_index).transpose(1, 2)
        approach = net.approach(seed_features)
        graspable, view_scores = approach[:, :2], approach[:, 2:].transpose(1, 2)
        targets = seed_targets(
            self.store, batch, seed_index, choose, view_scores.argmax(-1), neighbors_of=self.neighbors_of
        )
        outputs = net.operate(points, features, seed_index, targets["view_index"])
        outputs.update(graspable=graspable, view_scores=view_scores)
        depths = self.depth_index(int(batch["scene_id"][0]))
        for key in ("score", "width", "tolerance"):
            targets[key] = targets[key][..., depths]
        on_object = torch.gather(batch["objectness"], 1, seed_index) > 0
        has_grasp = targets["seed_valid"] & (targets["view"].sum(-1) > 0)
        label = torch.where(has_grasp, 1, torch.where(on_object, -100, 0))
        targets["graspable"] = label.to(torch.int64)
        return outputs, targets

    def _terms(self, outputs: dict[str, Any], targets: dict[str, Any]) -> BaselineLossTerms:  # type: ignore[override]
        return baseline_losses(outputs, targets, self.baseline_config.loss)

    def _proxies(self, outputs: dict[str, Any], targets: dict[str, Any]) -> dict[str, float]:
        label = targets["graspable"]
        counted = label != -100
        hit_cls = (outputs["graspable"].argmax(1) == label) & counted
        valid = targets["seed_valid"]
        score_err = (outputs["score"] - targets["score"]).abs().mean(dim=(-1, -2))
        flat = outputs["score"].flatten(2).argmax(-1, keepdim=True)
        hit = torch.gather(targets["score"].flatten(2), 2, flat)[..., 0] > 0
        return {
            "graspable_acc": float(hit_cls.sum() / counted.sum().clamp(min=1)),
            "seed_labelled": float(valid.float().mean()),
            "score_mae": float(score_err[valid].mean()) if valid.any() else 0.0,
            "success": float((hit & valid).float().mean()),
        }
