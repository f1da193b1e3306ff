"""The GraspNet-1Billion baseline network (graspnet-1billion.txt §4): ApproachNet, OperationNet, ToleranceNet.

Same inputs and backbones as :mod:`grasplab.models.gsnet` (the baseline's is PointNet++ with
SA sizes 2048/1024/512/256, radii 0.04/0.1/0.2/0.3 m, 64/32/16/16 neighbours, 256-d features).
Differences to GSNet: no graspness — M seeds by plain farthest point sampling; **ApproachNet**,
a shared MLP (F, 302, 302) per seed: 2 graspable logits and V = 300 view scores; one cylinder
per approach depth (radius 5 cm, from −2 cm to the depth along the approach), grouped and
pooled as in GSNet; **OperationNet** MLP (128, 128, 3·A) per (seed, depth): A angle scores, A
angle-class logits and A widths (metres × 10); **ToleranceNet** MLP (128, 64, A): the grasp
tolerance per angle.

Outputs of :meth:`GraspNetBaseline.forward`: ``graspable`` (B, 2, M) logits, ``seed_index`` (B,
M), ``seed_xyz`` (B, M, 3), ``view_scores`` (B, M, V), ``view_index`` (B, M), and per (angle,
depth) ``score``, ``angle_logits``, ``width`` and ``tolerance`` (B, M, A, D):
:func:`grasplab.detection.gsnet_decode.decode_gsnet` decodes them as GSNet's.

Registered as model family ``"graspnet-baseline"``; trained by ``grasplab train grasp`` with a
preset whose ``family`` is ``graspnet-baseline`` (:mod:`grasplab.training.baseline_task`).
"""

from __future__ import annotations

from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.core.rotations import approach_views  # noqa: E402
from grasplab.models.gsnet import GSNET_BACKBONES  # noqa: E402
from grasplab.models.gsnet_heads import CylinderGroupHead  # noqa: E402
from grasplab.models.point_backbone import build_point_backbone, mlp_1d  # noqa: E402
from grasplab.models.point_ops import farthest_point_sample, gather_points  # noqa: E402
from grasplab.models.registry import register_model  # noqa: E402

__all__ = ["GraspNetBaseline", "GraspNetBaselineSpec"]


@dataclass(frozen=True)
class GraspNetBaselineSpec:
    """Everything that rebuilds the baseline (lengths in metres; fields as :class:`GSNetSpec`).

    Attributes:
        backbone: "pointnet2" (the paper's) or "depth2d".
        use_rgb: the depth2d image carries RGB.
        feature_dim: F (256 in the paper).
        depth2d_channels: encoder widths of the depth2d backbone.
        pointnet_points: centres per set-abstraction level.
        pointnet_radii: ball radius per level.
        pointnet_neighbors: ball-query size per level.
        pointnet_width: base width of the set-abstraction MLPs.
        num_views: V.
        num_angles: A.
        depths: the D approach depths (each the top of its cylinder).
        num_seeds: M.
        cylinder_radius: grouping radius.
        cylinder_height_min: lower end of every cylinder.
        cylinder_samples: K points per cylinder.
        group_dim: pooled cylinder feature size.
    """

    backbone: str = "pointnet2"
    use_rgb: bool = False
    feature_dim: int = 256
    depth2d_channels: tuple[int, ...] = (32, 64, 128, 256)
    pointnet_points: tuple[int, ...] = (2048, 1024, 512, 256)
    pointnet_radii: tuple[float, ...] = (0.04, 0.1, 0.2, 0.3)
    pointnet_neighbors: tuple[int, ...] = (64, 32, 16, 16)
    pointnet_width: int = 64
    num_views: int = 300
    num_angles: int = 12
    depths: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04)
    num_seeds: int = 1024
    cylinder_radius: float = 0.05
    cylinder_height_min: float = -0.02
    cylinder_samples: int = 64
    group_dim: int = 256

    def __post_init__(self) -> None:
        if self.backbone not in GSNET_BACKBONES:
            raise ValueError(f"backbone: expected one of {GSNET_BACKBONES}, got {self.backbone!r}")
        for name in ("feature_dim", "num_views", "num_angles", "num_seeds", "cylinder_samples", "group_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if not self.depths or min(self.depths) <= max(self.cylinder_height_min, 0.0):
            raise ValueError(f"depths: expected values above 0 and cylinder_height_min, got {self.depths}")

    @property
    def in_channels(self) -> int:
        """Channels of the organised point image: xyz, validity and optionally RGB."""
        return 7 if self.use_rgb else 4


class GraspNetBaseline(nn.Module):
    """The GraspNet-1Billion baseline (see the module docstring).

    Args:
        spec: its :class:`GraspNetBaselineSpec`.
    """

    def __init__(self, spec: GraspNetBaselineSpec) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = build_point_backbone(spec)
        self.approach = nn.Sequential(
            mlp_1d([spec.feature_dim, 2 + spec.num_views]),
            nn.Conv1d(2 + spec.num_views, 2 + spec.num_views, 1),
        )
        self.crops = nn.ModuleList(
            CylinderGroupHead(
                spec.feature_dim,
                spec.group_dim,
                spec.cylinder_radius,
                spec.cylinder_height_min,
                depth,
                spec.cylinder_samples,
            )
            for depth in spec.depths
        )
        a = spec.num_angles
        self.operation = nn.Sequential(mlp_1d([spec.group_dim, 128, 128]), nn.Conv1d(128, 3 * a, 1))
        self.tolerance = nn.Sequential(mlp_1d([spec.group_dim, 128, 64]), nn.Conv1d(64, a, 1))
        self.views: torch.Tensor
        self.register_buffer(
            "views", torch.as_tensor(approach_views(spec.num_views), dtype=torch.float32), persistent=False
        )

    def approach_net(
        self, points: torch.Tensor, pixels: torch.Tensor | None, image: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Backbone, FPS seeds and ApproachNet.

        Returns:
            ``features`` (B, F, N), ``seed_index`` (B, M), ``graspable`` (B, 2, M) logits and
            ``view_scores`` (B, M, V).
        """
        features = self.backbone(points, pixels, image)
        seed_index = farthest_point_sample(points, self.spec.num_seeds)
        seed_features = gather_points(features.transpose(1, 2), seed_index).transpose(1, 2)
        out = self.approach(seed_features)
        return {
            "features": features,
            "seed_index": seed_index,
            "graspable": out[:, :2],
            "view_scores": out[:, 2:].transpose(1, 2),
        }

    def operate(
        self, points: torch.Tensor, features: torch.Tensor, seed_index: torch.Tensor, view_index: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """OperationNet and ToleranceNet on one cylinder per depth along the chosen views (B, M).

        Returns:
            ``score``, ``angle_logits``, ``width`` (metres × 10), ``tolerance`` (cm) (B, M, A, D)
            and ``grasp_features`` (B, M, C): the pooled cylinder features averaged over depths.
        """
        seed_xyz = gather_points(points, seed_index)
        approaches = -self.views[view_index]
        per_depth = [crop(points, features, seed_xyz, approaches) for crop in self.crops]  # (B, C, M) each
        a = self.spec.num_angles
        ops = torch.stack([self.operation(g) for g in per_depth], dim=-1)  # (B, 3A, M, D)
        tol = torch.stack([self.tolerance(g) for g in per_depth], dim=-1)  # (B, A, M, D)
        return {
            "score": ops[:, :a].transpose(1, 2),
            "angle_logits": ops[:, a : 2 * a].transpose(1, 2),
            "width": ops[:, 2 * a :].transpose(1, 2),
            "tolerance": tol.transpose(1, 2),
            "grasp_features": torch.stack(per_depth, dim=-1).mean(dim=-1).transpose(1, 2),
        }

    def forward(
        self, points: torch.Tensor, pixels: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Inference with the argmax view (see the module docstring)."""
        if points.ndim != 3 or points.shape[-1] != 3:
            raise ValueError(f"points: expected shape (B, N, 3), got {tuple(points.shape)}")
        if self.spec.backbone == "depth2d" and (pixels is None or image is None):
            raise ValueError("the depth2d backbone needs pixels (B, N, 2) and the image (B, C, H, W)")
        first = self.approach_net(points, pixels, image)
        view_index = first["view_scores"].argmax(-1)
        out = self.operate(points, first["features"], first["seed_index"], view_index)
        out.update(
            graspable=first["graspable"],
            seed_index=first["seed_index"],
            view_scores=first["view_scores"],
            view_index=view_index,
            seed_xyz=gather_points(points, first["seed_index"]),
        )
        return out


register_model("graspnet-baseline", GraspNetBaseline, GraspNetBaselineSpec)
