"""GSNet / AnyGrasp: a graspness network for 6-DoF grasps on an observed cloud (anygrasp.txt §IV).

Per observed point the network predicts objectness and graspness; seeds are the points predicted
as object with graspness above a threshold, thinned by farthest point sampling to M; per seed a
view head scores the V reference approach views (Fibonacci sphere, camera frame); the points in a
cylinder along the chosen view are grouped into a grasp feature from which the operation head
regresses the score and width of A angles × D depths and A stable scores (AnyGrasp). Layer sizes,
thresholds and the cylinder follow wave2-facts.md §1; the CPU presets shrink widths and counts.

Inputs (camera frame, OpenCV axes, metres): ``points`` (B, N, 3), ``pixels`` (B, N, 2) float
``(u, v)`` of each point in the image, ``image`` (B, C, H, W) the organised point image (xyz,
validity[, RGB]) for the "depth2d" backbone (None for "pointnet2").

Outputs of :meth:`GSNet.forward` (a dict of tensors): ``objectness`` (B, 2, N) logits,
``graspness`` (B, N), ``seed_index`` (B, M), ``seed_xyz`` (B, M, 3), ``view_scores`` (B, M, V),
``view_index`` (B, M) the chosen view, ``score`` and ``width`` (B, M, A, D) (width in metres × 10)
and ``stable`` (B, M, A). :mod:`grasplab.detection.gsnet_decode` turns them into grasps.

Registered as model family ``"gsnet"`` (:func:`grasplab.models.registry.build_model`).
"""

from __future__ import annotations

from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.core.rotations import approach_views  # noqa: E402
from grasplab.models.gsnet_heads import CylinderGroupHead, GraspableHead, OperationHead, ViewHead  # noqa: E402
from grasplab.models.point_backbone import build_point_backbone  # noqa: E402
from grasplab.models.point_ops import farthest_point_sample, gather_points  # noqa: E402
from grasplab.models.registry import register_model  # noqa: E402

__all__ = [
    "GSNET_BACKBONES",
    "GSNet",
    "GSNetBackbone",
    "GSNetSpec",
    "build_gsnet",
    "build_gsnet_backbone",
    "seeds_among",
    "select_seeds",
]

GSNET_BACKBONES = ("depth2d", "pointnet2")


@dataclass(frozen=True)
class GSNetSpec:
    """Everything that rebuilds a GSNet exactly (lengths in metres).

    Attributes:
        backbone: "depth2d" (2D encoder-decoder lifted to points, the CPU default) or "pointnet2".
        use_rgb: the depth2d image carries RGB (7 channels instead of 4).
        feature_dim: F, per-point feature size (512 in GSNet).
        depth2d_channels: encoder widths of the depth2d backbone (stride 2 each).
        pointnet_points: centres per set-abstraction level.
        pointnet_radii: ball radius per level.
        pointnet_neighbors: ball-query size per level.
        pointnet_width: base width of the set-abstraction MLPs.
        num_views: V reference views.
        num_angles: A in-plane angles (i·π/A).
        depths: the D grasp depths (AnyGrasp: 0.005 plus GSNet's 0.01-0.04).
        num_seeds: M seeds per cloud.
        graspness_threshold: seeds need predicted graspness above this (and objectness).
        cylinder_radius: grouping cylinder radius.
        cylinder_height_min: lower end along the approach.
        cylinder_height_max: upper end.
        cylinder_samples: K points per cylinder.
        group_dim: grasp feature size.
        stable: predict AnyGrasp's A stable scores.
    """

    backbone: str = "depth2d"
    use_rgb: bool = False
    feature_dim: int = 512
    depth2d_channels: tuple[int, ...] = (32, 64, 128, 256)
    pointnet_points: tuple[int, ...] = (2048, 1024, 512, 256)
    pointnet_radii: tuple[float, ...] = (0.04, 0.1, 0.2, 0.3)
    pointnet_neighbors: tuple[int, ...] = (64, 32, 16, 16)
    pointnet_width: int = 64
    num_views: int = 300
    num_angles: int = 12
    depths: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.04)
    num_seeds: int = 1024
    graspness_threshold: float = 0.1
    cylinder_radius: float = 0.05
    cylinder_height_min: float = -0.02
    cylinder_height_max: float = 0.04
    cylinder_samples: int = 16
    group_dim: int = 256
    stable: bool = True

    def __post_init__(self) -> None:
        if self.backbone not in GSNET_BACKBONES:
            raise ValueError(f"backbone: expected one of {GSNET_BACKBONES}, got {self.backbone!r}")
        for name in ("feature_dim", "num_views", "num_angles", "num_seeds", "cylinder_samples", "group_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if not self.depths or any(d <= 0 for d in self.depths):
            raise ValueError(f"depths: expected positive values, got {self.depths}")
        if self.cylinder_radius <= 0 or self.cylinder_height_max <= self.cylinder_height_min:
            raise ValueError("cylinder: need radius > 0 and height_max > height_min")

    @property
    def in_channels(self) -> int:
        """Channels of the organised point image: xyz, validity and optionally RGB."""
        return 7 if self.use_rgb else 4


def select_seeds(
    points: torch.Tensor, objectness: torch.Tensor, graspness: torch.Tensor, num_seeds: int, threshold: float
) -> torch.Tensor:
    """Seeds: points predicted as object with graspness > threshold, thinned by FPS.

    The first pick is the candidate of highest graspness; a cloud with fewer candidates than M
    repeats them; a cloud with none samples all its points.

    Args:
        points: (B, N, 3).
        objectness: (B, 2, N) logits.
        graspness: (B, N).
        num_seeds: M.
        threshold: graspness threshold.

    Returns:
        (B, M) int64 point indices.
    """
    candidates = (objectness.argmax(dim=1) == 1) & (graspness > threshold)
    return seeds_among(points, candidates, graspness, num_seeds)


def seeds_among(
    points: torch.Tensor, candidates: torch.Tensor, graspness: torch.Tensor, num_seeds: int
) -> torch.Tensor:
    """(B, M) FPS seeds among ``candidates`` (B, N) bool, starting at the highest ``graspness``.

    The rule of :func:`select_seeds` for any candidate mask (training may pass the labels').
    """
    ranked = torch.where(candidates, graspness, torch.full_like(graspness, -torch.inf))
    return farthest_point_sample(points, num_seeds, candidates, start=ranked.argmax(dim=1))


def _check_inputs(
    spec: GSNetSpec, points: torch.Tensor, pixels: torch.Tensor | None, image: torch.Tensor | None
) -> None:
    """ValueError unless the inputs fit the spec's backbone (shapes of the module docstring)."""
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"points: expected shape (B, N, 3), got {tuple(points.shape)}")
    if spec.backbone == "depth2d":
        if pixels is None or image is None:
            raise ValueError("the depth2d backbone needs pixels (B, N, 2) and the image (B, C, H, W)")
        if image.ndim != 4 or image.shape[1] != spec.in_channels:
            raise ValueError(f"image: expected (B, {spec.in_channels}, H, W), got {tuple(image.shape)}")


class GSNet(nn.Module):
    """The GSNet / AnyGrasp network (see the module docstring).

    Args:
        spec: its :class:`GSNetSpec`.
    """

    def __init__(self, spec: GSNetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = build_point_backbone(spec)
        self.graspable = GraspableHead(spec.feature_dim)
        self.view_head = ViewHead(spec.feature_dim, spec.num_views)
        self.grouping = CylinderGroupHead(
            spec.feature_dim,
            spec.group_dim,
            spec.cylinder_radius,
            spec.cylinder_height_min,
            spec.cylinder_height_max,
            spec.cylinder_samples,
        )
        self.operation = OperationHead(spec.group_dim, spec.num_angles, len(spec.depths), spec.stable)
        views = torch.as_tensor(approach_views(spec.num_views), dtype=torch.float32)
        self.views: torch.Tensor
        self.register_buffer("views", views, persistent=False)

    def encode(
        self, points: torch.Tensor, pixels: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Backbone and graspable head.

        Returns:
            ``features`` (B, F, N), ``objectness`` (B, 2, N) logits and ``graspness`` (B, N).
        """
        _check_inputs(self.spec, points, pixels, image)
        features = self.backbone(points, pixels, image)
        objectness, graspness = self.graspable(features)
        return {"features": features, "objectness": objectness, "graspness": graspness}

    def seeds(self, points: torch.Tensor, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, M) seed indices from the predicted objectness and graspness (no gradient)."""
        with torch.no_grad():
            return select_seeds(
                points,
                encoded["objectness"],
                encoded["graspness"],
                self.spec.num_seeds,
                self.spec.graspness_threshold,
            )

    def views_of_seeds(
        self, encoded: dict[str, torch.Tensor], seed_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """View scores (B, M, V) and the updated seed features (B, F, M)."""
        seed_features = gather_points(encoded["features"].transpose(1, 2), seed_index).transpose(1, 2)
        return self.view_head(seed_features)

    def operate(
        self,
        points: torch.Tensor,
        encoded: dict[str, torch.Tensor],
        seed_index: torch.Tensor,
        seed_features: torch.Tensor,
        view_index: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Cylinder grouping along the chosen views (B, M) and the operation head.

        Returns:
            ``score`` and ``width`` (B, M, A, D) and ``stable`` (B, M, A) when the spec has it.
        """
        seed_xyz = gather_points(points, seed_index)
        approaches = -self.views[view_index]  # (B, M, 3)
        grasp = self.grouping(points, encoded["features"], seed_xyz, approaches)
        return self.operation(grasp)

    def forward(
        self, points: torch.Tensor, pixels: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Inference: seeds, argmax views and the operation outputs (see the module docstring)."""
        encoded = self.encode(points, pixels, image)
        seed_index = self.seeds(points, encoded)
        view_scores, seed_features = self.views_of_seeds(encoded, seed_index)
        view_index = view_scores.argmax(dim=-1)
        out = self.operate(points, encoded, seed_index, seed_features, view_index)
        out.update(
            objectness=encoded["objectness"],
            graspness=encoded["graspness"],
            seed_index=seed_index,
            seed_xyz=gather_points(points, seed_index),
            view_scores=view_scores,
            view_index=view_index,
        )
        return out


def build_gsnet(spec: GSNetSpec) -> GSNet:
    """A freshly initialised :class:`GSNet` (its ``spec`` dict is what checkpoints store)."""
    return GSNet(spec)


register_model("gsnet", build_gsnet, GSNetSpec)


class GSNetBackbone(nn.Module):
    """GSNet's backbone alone, for self-supervised pretraining (GraspContrast).

    Its parameters are named ``backbone.*`` as in :class:`GSNet`, so a checkpoint of it loads into
    a GSNet of the same spec unchanged (``grasplab train grasp --init``). Registered as model
    family ``"gsnet_backbone"``.

    Args:
        spec: the :class:`GSNetSpec` of the detector it will initialise (the heads' fields unused).
    """

    def __init__(self, spec: GSNetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = build_point_backbone(spec)

    def forward(
        self, points: torch.Tensor, pixels: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-point features (B, F, N), inputs as :meth:`GSNet.encode`."""
        _check_inputs(self.spec, points, pixels, image)
        return self.backbone(points, pixels, image)


def build_gsnet_backbone(spec: GSNetSpec) -> GSNetBackbone:
    """A freshly initialised :class:`GSNetBackbone`."""
    return GSNetBackbone(spec)


register_model("gsnet_backbone", build_gsnet_backbone, GSNetSpec)
