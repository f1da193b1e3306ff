"""Run a GSNet network on one depth frame, stage by stage, and decode its grasps.

The network-side half of ``--method gsnet`` (:mod:`grasplab.detection.gsnet_detector` adds the
post-processing). Inputs are built exactly as the training samples
(:func:`grasplab.data.grasp_dataset.frame_inputs`); decoding is
:func:`grasplab.detection.gsnet_decode.decode_gsnet` with the network's grid.

Inference runs as three network stages with the data-dependent steps between them
(:func:`run_gsnet_stages`), so that the same glue serves the torch model
(:class:`TorchStages`) and its ONNX export (:mod:`grasplab.detection.gsnet_onnx`):

1. ``encode(points, pixels, image)`` -> per-point features (1, F, N), objectness (1, 2, N),
   graspness (1, N);
2. seeds (objectness and graspness threshold, farthest point sampling: torch, here), then
   ``views(seed_features (1, F, M))`` -> view scores (1, M, V) and the updated seed features;
3. the argmax view, the cylinder query along it (torch, here), the grouped input
   (1, 3 + F, M, K), then ``operate(grouped)`` -> grasp features (1, C, M), ``score`` and
   ``width`` (1, M, A, D), ``stable`` (1, M, A) or None.

The result equals ``GSNet.forward`` (tested) and adds ``seed_features`` (1, M, F), the backbone
feature of each seed point, and ``grasp_features`` (1, M, C), the pooled cylinder feature the
operation head reads: the per-grasp features of the tracker. Camera frame, metres.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.core.camera import CameraIntrinsics  # noqa: E402
from grasplab.core.grasp_group import GraspGroup  # noqa: E402
from grasplab.core.rotations import approach_views  # noqa: E402
from grasplab.data.grasp_dataset import frame_inputs  # noqa: E402
from grasplab.detection.gsnet_decode import (  # noqa: E402
    GSNetDecodeConfig,
    baseline_decodable,
    decode_config_for,
    decode_gsnet,
)
from grasplab.models.graspnet_baseline import GraspNetBaseline, GraspNetBaselineSpec  # noqa: E402
from grasplab.models.gsnet import GSNet, GSNetSpec, select_seeds  # noqa: E402
from grasplab.models.point_ops import cylinder_query, gather_points, rotation_from_view_torch  # noqa: E402

__all__ = ["BaselineStages", "GSNetStages", "TorchStages", "gsnet_grasps", "run_gsnet_stages"]

Tensors = tuple[torch.Tensor, ...]


class GSNetStages(Protocol):
    """The three network stages of a GSNet (batch 1; see the module docstring)."""

    spec: GSNetSpec

    def encode(self, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor | None) -> Tensors:
        """(features (1, F, N), objectness (1, 2, N), graspness (1, N))."""
        ...

    def views(self, seed_features: torch.Tensor) -> Tensors:
        """(view scores (1, M, V), updated seed features (1, F, M))."""
        ...

    def operate(self, grouped: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(grasp features (1, C, M), {score, width (1, M, A, D)[, stable (1, M, A)]})."""
        ...


class TorchStages:
    """The stages of a torch :class:`~grasplab.models.gsnet.GSNet` (inference mode, no gradient).

    Args:
        model: the network (its ``spec`` is a :class:`GSNetSpec`).
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, GSNet):
            raise ValueError(
                f"expected a GSNet built by grasplab.models.build_model, got {type(model).__name__}"
            )
        self.model, self.spec = model, model.spec

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.model.parameters()).device

    def encode(self, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor | None) -> Tensors:
        """Backbone and graspable head."""
        device = self.device
        image = None if image is None else image.to(device)
        out = self.model.encode(points.to(device), pixels.to(device), image)
        return out["features"], out["objectness"], out["graspness"]

    def views(self, seed_features: torch.Tensor) -> Tensors:
        """View head on the seed features."""
        scores, updated = self.model.view_head(seed_features.to(self.device))
        return scores, updated

    def operate(self, grouped: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Grouping MLP, max-pool over the cylinder and operation head."""
        grasp = self.model.grouping.mlp(grouped.to(self.device)).max(dim=-1).values
        return grasp, self.model.operation(grasp)


class BaselineStages:
    """A GraspNet-1Billion baseline network run as the detector's stages (torch, batch 1).

    The baseline has no graspness stage to split the network at, so :meth:`run` is one forward
    pass; its outputs are those of :func:`run_gsnet_stages` for the seeds ApproachNet calls
    graspable, with ``score`` the §4.5 rank of :func:`baseline_decodable`.

    Args:
        model: a :class:`~grasplab.models.graspnet_baseline.GraspNetBaseline`.
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, GraspNetBaseline):
            raise ValueError(f"expected a GraspNetBaseline, got {type(model).__name__}")
        self.model, self.spec = model, model.spec

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return next(self.model.parameters()).device

    @torch.no_grad()
    def run(
        self, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Outputs for ``decode_gsnet`` and the tracker's features, kept seeds only, on the CPU."""
        device = self.device
        image = None if image is None or self.spec.backbone != "depth2d" else image.to(device)
        first = self.model.approach_net(points.to(device), pixels.to(device), image)
        view_index = first["view_scores"].argmax(-1)
        out = self.model.operate(points.to(device), first["features"], first["seed_index"], view_index)
        out.update(graspable=first["graspable"], view_index=view_index,
                   seed_xyz=gather_points(points.to(device), first["seed_index"]))
        decodable = baseline_decodable(out)
        keep = torch.from_numpy(decodable.pop("keep"))
        seed_index = first["seed_index"].cpu()[:, keep]
        features = first["features"].cpu().transpose(1, 2)
        result = {k: torch.from_numpy(np.ascontiguousarray(v))[None] for k, v in decodable.items()}
        result["view_index"] = result["view_index"].long()
        result.update(
            seed_index=seed_index, seed_features=gather_points(features, seed_index),
            grasp_features=out["grasp_features"].cpu()[:, keep],
            view_scores=first["view_scores"].cpu()[:, keep],
        )
        return result


def group_cylinders(
    spec: GSNetSpec, points: torch.Tensor, features: torch.Tensor, seed_xyz: torch.Tensor,
    approaches: torch.Tensor,
) -> torch.Tensor:
    """The grouping MLP's input (B, 3 + F, M, K): cylinder points' local xyz / radius and features.

    Args:
        spec: the network spec (cylinder size, K).
        points: (B, N, 3) all points.
        features: (B, F, N) their features.
        seed_xyz: (B, M, 3) seeds.
        approaches: (B, M, 3) approach directions (minus the chosen views).
    """
    rotations = rotation_from_view_torch(approaches, torch.zeros_like(approaches[..., 0]))
    index, local, _ = cylinder_query(
        points, seed_xyz, rotations, spec.cylinder_radius, spec.cylinder_height_min,
        spec.cylinder_height_max, spec.cylinder_samples,
    )
    grouped = gather_points(features.transpose(1, 2), index)  # (B, M, K, F)
    return torch.cat([local.to(grouped.dtype), grouped], dim=-1).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def run_gsnet_stages(
    stages: GSNetStages, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor | None
) -> dict[str, torch.Tensor]:
    """GSNet inference through ``stages`` (batch 1, on the CPU between stages).

    Args:
        stages: :class:`TorchStages` or the ONNX runner.
        points: (1, N, 3) camera frame, metres.
        pixels: (1, N, 2) ``(u, v)`` in the network's image.
        image: (1, C, h, w) organised point image (None for the pointnet2 backbone).

    Returns:
        The outputs of ``GSNet.forward`` plus ``seed_features`` (1, M, F) and ``grasp_features``
        (1, M, C), all on the CPU.
    """
    spec = stages.spec
    features, objectness, graspness = (t.cpu() for t in stages.encode(points, pixels, image))
    points = points.cpu()
    seed_index = select_seeds(points, objectness, graspness, spec.num_seeds, spec.graspness_threshold)
    seed_features = gather_points(features.transpose(1, 2), seed_index)  # (1, M, F)
    view_scores, updated = (t.cpu() for t in stages.views(seed_features.transpose(1, 2).contiguous()))
    del updated  # the operation head reads the cylinder, not the updated seed features
    view_index = view_scores.argmax(dim=-1)
    views = torch.as_tensor(approach_views(spec.num_views), dtype=torch.float32)
    seed_xyz = gather_points(points, seed_index)
    grouped = group_cylinders(spec, points, features, seed_xyz, -views[view_index])
    grasp_features, heads = stages.operate(grouped)
    out = {k: v.cpu() for k, v in heads.items()}
    out.update(
        objectness=objectness, graspness=graspness, seed_index=seed_index, seed_xyz=seed_xyz,
        view_scores=view_scores, view_index=view_index, seed_features=seed_features,
        grasp_features=grasp_features.cpu().transpose(1, 2),
    )
    return out


def gsnet_grasps(
    model: nn.Module,
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    num_points: int = 4096,
    rng: np.random.Generator | int | None = 0,
    rgb: np.ndarray | None = None,
    downsample: int = 2,
    mask: np.ndarray | None = None,
    **decode_options: Any,
) -> GraspGroup:
    """One grasp per seed of a GSNet on a depth frame (no post-processing).

    Args:
        model: a :class:`grasplab.models.gsnet.GSNet` (e.g. ``load_model(checkpoint)``) or a
            :class:`~grasplab.models.graspnet_baseline.GraspNetBaseline` (its graspable seeds,
            ranked as :func:`baseline_decodable`).
        depth: (H, W) float32 metres.
        intrinsics: the camera.
        num_points: points fed to the network.
        rng: seed or generator of the point draw.
        rgb: (H, W, 3) uint8 when the network takes RGB.
        downsample: the image subsampling the network was trained with.
        mask: optional (H, W) bool region of interest.
        **decode_options: fields of :class:`GSNetDecodeConfig` (``width_scale``, ``min_score``...).

    Returns:
        M grasps in the camera frame, sorted by score (best first).
    """
    spec = getattr(model, "spec", None)
    if spec is None or not isinstance(spec, GSNetSpec | GraspNetBaselineSpec):
        raise ValueError(f"expected a GSNet built by grasplab.models.build_model, got {type(model).__name__}")
    if spec.use_rgb and rgb is None:
        raise ValueError("this network takes RGB: pass rgb (H, W, 3) uint8")
    x = frame_inputs(depth, intrinsics, num_points, rng, rgb if spec.use_rgb else None, downsample, mask=mask)
    device = next(model.parameters()).device
    was_training = model.training
    model.train(False)
    with torch.no_grad():
        out = model(*(x[k][None].to(device) for k in ("points", "pixels", "image")))
    model.train(was_training)
    if isinstance(model, GraspNetBaseline):
        out = baseline_decodable(out)
    config: GSNetDecodeConfig = decode_config_for(
        spec.depths, spec.num_angles, spec.num_views, **decode_options
    )
    return decode_gsnet(out, config).sort_by_score()
