"""GSNet / AnyGrasp training as a :class:`grasplab.training.task.TrainTask`.

The network is ``build_model("gsnet", config.model)``; the datasets are
:class:`~grasplab.data.grasp_dataset.GraspFrameDataset` over the frames with graspness labels,
split by scene. One step: backbone and graspable head on every point; seeds from the predicted
objectness and graspness (graspable FPS); view head on the seeds; per seed a camera-frame view
drawn from its label's min-max normalised view graspness (torch's RNG, which the Trainer seeds
per epoch; seeds without a label take the predicted argmax); cylinder grouping and operation
head along the drawn view; the losses of :mod:`grasplab.training.grasp_losses`, each term logged.
Seed targets are looked up in the object-frame scene labels (:mod:`grasplab.data.grasp_targets`).

Validation (cheap proxies, every epoch): the loss with the label's best view, objectness
accuracy, graspness MAE on object points, the share of seeds on labelled points, the score MAE
of the chosen view and ``success``: the share of seeds whose predicted best (angle, depth) of
the label's best view is a free grasp. The best checkpoint maximises (success, −loss).

AP validation: training imports no detector or evaluator, so the command (``cli/train_grasp.py``)
passes ``epoch_metrics``, a callable ``model -> {name: value}`` run after the proxies each epoch
(model in eval mode, no gradients); its ``"ap"`` (GraspNet AP on held-out frames, percent) is
logged as ``val_ap`` and then ranks checkpoints first: (ap, success, −loss).

Scenes with ids >= ``data.test_scenes_from`` (100: GraspNet's test scenes) are neither trained
nor loss-validated on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.data.grasp_dataset import (  # noqa: E402
    GraspAugmentConfig,
    GraspFrameDataset,
    SceneLabelStore,
    list_graspness_frames,
)
from grasplab.data.grasp_targets import seed_grasp_targets, seed_view_targets  # noqa: E402
from grasplab.data.pixel_dataset import split_frames  # noqa: E402
from grasplab.data.tolerance_targets import (  # noqa: E402
    LabelNeighbors,
    seed_tolerance_targets,
    seed_view_score_targets,
)
from grasplab.models.gsnet import GSNet, seeds_among  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.training.checkpoints import LoadReport, load_weights_into  # noqa: E402
from grasplab.training.grasp_config import GraspTrainConfig  # noqa: E402
from grasplab.training.grasp_losses import GraspLossTerms, gsnet_losses  # noqa: E402
from grasplab.training.task import LossOutput, TaskBase  # noqa: E402

__all__ = ["EpochMetricsFn", "GraspTask", "frames_per_scene", "seed_targets"]

#: Extra validation metrics of a model, computed once per epoch (e.g. AP on held-out frames).
EpochMetricsFn = Callable[[nn.Module], Mapping[str, float]]


def frames_per_scene(frames: list[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """``count`` frames of each scene spread over its views (sorted ann ids at ``i * n // count``).

    >>> frames_per_scene([(0, a) for a in range(8)] + [(1, 3)], 2)
    [(0, 0), (0, 4), (1, 3)]
    """
    by_scene: dict[int, list[int]] = {}
    for scene, ann in sorted(frames):
        by_scene.setdefault(scene, []).append(ann)
    out = []
    for scene, anns in by_scene.items():
        picks = sorted({(i * len(anns)) // count for i in range(min(count, len(anns)))})
        out += [(scene, anns[i]) for i in picks]
    return out


def seed_targets(
    store: SceneLabelStore,
    batch: Mapping[str, torch.Tensor],
    seed_index: torch.Tensor,
    choose: str = "sample",
    predicted_views: torch.Tensor | None = None,
    neighbors_of: Callable[[int], LabelNeighbors] | None = None,
) -> dict[str, torch.Tensor]:
    """Targets of the seeds of a batch and their camera-frame views.

    Args:
        store: the scene labels.
        batch: a collated batch of :class:`GraspFrameDataset` samples.
        seed_index: (B, M) seed point indices.
        choose: "sample" (from the normalised view graspness, torch's RNG) or "best" (argmax).
        predicted_views: (B, M) views for seeds without a label (default view 0).
        neighbors_of: scene id -> its label neighbourhoods; given, the GraspNet baseline's
            targets are added: ``view_score`` (B, M, V) and ``tolerance`` (B, M, A, D) metres
            (:mod:`grasplab.data.tolerance_targets`).

    Returns:
        ``seed_valid`` (B, M) bool, ``view`` (B, M, V), ``view_index`` (B, M) int64, ``score`` and
        ``width`` (B, M, A, D), ``stable`` (B, M, A), ``stable_valid`` () bool; on the batch's device.
    """
    device = seed_index.device
    seeds = seed_index.cpu().numpy()
    rows = torch.gather(batch["label_row"], 1, seed_index).cpu().numpy()
    slots = torch.gather(batch["object_slot"], 1, seed_index).cpu().numpy()
    view_maps, angle_maps = batch["view_map"].cpu().numpy(), batch["angle_map"].cpu().numpy()
    valid = (rows >= 0) & (slots >= 0)
    rows = np.where(valid, rows, -1)
    slot_idx = np.maximum(slots, 0)
    views = np.stack(
        [
            seed_view_targets(store.get(int(batch["scene_id"][b])), rows[b], view_maps[b, slot_idx[b]])
            for b in range(len(seeds))
        ]
    )
    view_t = torch.from_numpy(views)
    has_grasp = view_t.sum(-1) > 0
    if choose == "sample":
        probs = torch.where(has_grasp[..., None], view_t, torch.ones_like(view_t))
        chosen = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1).reshape(probs.shape[:2])
    else:
        chosen = view_t.argmax(-1)
    fallback = torch.zeros_like(chosen) if predicted_views is None else predicted_views.cpu()
    chosen = torch.where(has_grasp, chosen, fallback)
    out: dict[str, list[np.ndarray]] = {"score": [], "width": [], "stable": []}
    if neighbors_of is not None:
        out.update(view_score=[], tolerance=[])
    stable_valid = True
    for b in range(len(seeds)):
        j = chosen[b].numpy()
        obj_views = view_maps[b, slot_idx[b], j]
        amaps = angle_maps[b, slot_idx[b], j]
        scene_id = int(batch["scene_id"][b])
        labels = store.get(scene_id)
        t = seed_grasp_targets(labels, rows[b], obj_views, amaps)
        stable_valid &= t.has_stable
        out["score"].append(t.score)
        out["width"].append(t.width)
        out["stable"].append(t.stable)
        if neighbors_of is not None:
            near = neighbors_of(scene_id)
            out["view_score"].append(seed_view_score_targets(labels, rows[b], view_maps[b, slot_idx[b]]))
            out["tolerance"].append(seed_tolerance_targets(labels, near, rows[b], obj_views, amaps))
    result = {k: torch.from_numpy(np.stack(v)).to(device) for k, v in out.items()}
    result.update(
        seed_valid=torch.from_numpy(valid).to(device),
        view=view_t.to(device),
        view_index=chosen.to(device),
        stable_valid=torch.tensor(stable_valid, device=device),
    )
    return result


class GraspTask(TaskBase):
    """Train GSNet (see the module docstring).

    Args:
        config: the resolved GSNet training config.
        epoch_metrics: extra validation metrics run once per epoch after the proxies (the
            command's AP validation); their names join the validation metrics.
    """

    name = "grasp"
    #: validation proxies (:meth:`_proxies`), after the loss
    proxy_names: tuple[str, ...] = (
        "objectness_acc", "graspness_mae", "seed_labelled", "score_mae", "success"
    )

    def __init__(self, config: GraspTrainConfig, epoch_metrics: EpochMetricsFn | None = None) -> None:
        self.config = config
        self.epoch_metrics = epoch_metrics
        self.store = SceneLabelStore(config.data.root, config.data.camera)
        self.init_report: LoadReport | None = None

    def frame_split(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(training, validation) ``(scene_id, ann_id)`` frames, split by scene, test scenes left out.

        Raises:
            ValueError: no labelled frame outside the test scenes.
        """
        data = self.config.data
        frames = list_graspness_frames(data.root, data.camera)
        if data.test_scenes_from is not None:
            frames = [f for f in frames if f[0] < data.test_scenes_from]
        if not frames:
            raise ValueError(
                f"no frames with graspness labels under {data.root} (camera {data.camera!r}, "
                f"test scenes >= {data.test_scenes_from} left out); "
                f"run `grasplab label graspness --root {data.root}` first"
            )
        train, val = split_frames(frames, data.val_fraction, data.val_scenes)
        if data.frames_per_scene is not None:
            train = frames_per_scene(train, data.frames_per_scene)
        if data.max_frames is not None:
            train = train[: data.max_frames]
        return train, val

    def build_model(self) -> nn.Module:
        """The config's GSNet (initialised from torch's RNG; the Trainer scopes and seeds it).

        With ``config.init`` the checkpoint's matching tensors replace the random ones (a
        backbone checkpoint loads ``backbone.*`` and leaves the heads new); the report is kept
        in :attr:`init_report`.

        Raises:
            ValueError: the init checkpoint shares no tensor with the model or a shape differs.
        """
        model = build_model("gsnet", self.config.model)
        if self.config.init is not None:
            self.init_report = load_weights_into(model, self.config.init)
        return model

    def datasets(self) -> tuple[GraspFrameDataset, GraspFrameDataset]:
        """(training, validation) datasets split by scene."""
        data, spec = self.config.data, self.config.model
        train, val = self.frame_split()
        augment = (
            GraspAugmentConfig(data.flip, data.max_rotation_deg, data.translation_xy, data.translation_z)
            if data.augment
            else None
        )
        return tuple(  # type: ignore[return-value]
            GraspFrameDataset(
                data.root,
                subset,
                data.camera,
                data.num_points,
                aug,
                self.config.seed,
                spec.use_rgb,
                data.downsample,
                spec.num_views,
                spec.num_angles,
                data.max_objects,
            )
            for subset, aug in ((train, augment), (val, None))
        )

    def _forward(
        self, net: GSNet, batch: Mapping[str, torch.Tensor], choose: str
    ) -> tuple[dict[str, Any], ...]:
        image = batch["image"] if net.spec.backbone == "depth2d" else None
        encoded = net.encode(batch["points"], batch["pixels"], image)
        if choose == "sample" and self.config.data.train_seeds == "label":
            candidates = (batch["objectness"] > 0) & (batch["graspness"] > net.spec.graspness_threshold)
            seed_index = seeds_among(batch["points"], candidates, batch["graspness"], net.spec.num_seeds)
        else:
            seed_index = net.seeds(batch["points"], encoded)
        view_scores, seed_features = net.views_of_seeds(encoded, seed_index)
        targets = seed_targets(self.store, batch, seed_index, choose, view_scores.argmax(-1))
        outputs = net.operate(batch["points"], encoded, seed_index, seed_features, targets["view_index"])
        outputs.update(
            objectness=encoded["objectness"], graspness=encoded["graspness"], view_scores=view_scores
        )
        targets.update(objectness=batch["objectness"], graspness=batch["graspness"])
        return outputs, targets

    def _terms(self, outputs: dict[str, Any], targets: dict[str, Any]) -> GraspLossTerms:
        return gsnet_losses(outputs, targets, self.config.loss)

    def loss(self, model: nn.Module, batch: Any) -> LossOutput:
        """The weighted GSNet loss; terms objectness, graspness, view, score, width, stable (unweighted)."""
        outputs, targets = self._forward(model, batch, "sample")  # type: ignore[arg-type]
        terms = self._terms(outputs, targets)
        return terms.total, terms.as_floats()

    def validate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, float]:
        """Mean loss and the proxies of the module docstring, then ``epoch_metrics`` if given."""
        sums = dict.fromkeys(("loss", *self.proxy_names), 0.0)
        count = 0
        for batch in batches:
            outputs, targets = self._forward(model, batch, "best")  # type: ignore[arg-type]
            size = int(batch["points"].shape[0])
            sums["loss"] += float(self._terms(outputs, targets).total) * size
            for name, value in self._proxies(outputs, targets).items():
                sums[name] += value * size
            count += size
        metrics = {k: v / max(count, 1) for k, v in sums.items()}
        if self.epoch_metrics is not None:
            metrics.update({k: float(v) for k, v in self.epoch_metrics(model).items()})
        return metrics

    def _proxies(self, outputs: dict[str, Any], targets: dict[str, Any]) -> dict[str, float]:
        return _proxies(outputs, targets)

    def rank(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """Higher AP (when validated), then higher success, then lower loss."""
        key = (float(metrics["success"]), -float(metrics["loss"]))
        return (float(metrics["ap"]), *key) if "ap" in metrics else key


def _proxies(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> dict[str, float]:
    obj = targets["objectness"]
    acc = (outputs["objectness"].argmax(1) == obj).float().mean()
    on = obj > 0
    g_err = (outputs["graspness"] - targets["graspness"]).abs()
    valid = targets["seed_valid"]
    score_err = (outputs["score"] - targets["score"]).abs().mean(dim=(-1, -2))
    flat = outputs["score"].flatten(2).argmax(-1, keepdim=True)
    hit = torch.gather(targets["score"].flatten(2), 2, flat)[..., 0] > 0
    return {
        "objectness_acc": float(acc),
        "graspness_mae": float(g_err[on].mean()) if on.any() else 0.0,
        "seed_labelled": float(valid.float().mean()),
        "score_mae": float(score_err[valid].mean()) if valid.any() else 0.0,
        "success": float((hit & valid).float().mean()),
    }
