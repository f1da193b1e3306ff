"""Heads of GSNet / AnyGrasp (anygrasp.txt §IV; wave2-facts.md §1).

- :class:`GraspableHead`: per point 2 objectness logits + 1 point graspness (1×1 layer).
- :class:`ViewHead`: per seed the view graspness of the V reference views (F → F → V); its hidden
  features are added back to the seed features.
- :class:`CylinderGroupHead`: groups the points in a cylinder along each seed's chosen approach
  (:func:`~grasplab.models.point_ops.cylinder_query`), a shared MLP over (gripper-frame xyz /
  radius, point features) and a max-pool: one grasp feature per seed.
- :class:`OperationHead`: per seed the grasp score and width (×10, metres) of A angles × D depths
  and A stable scores.
"""

from __future__ import annotations

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.models.point_backbone import mlp_1d, mlp_2d  # noqa: E402
from grasplab.models.point_ops import cylinder_query, gather_points, rotation_from_view_torch  # noqa: E402

__all__ = ["CylinderGroupHead", "GraspableHead", "OperationHead", "ViewHead"]


class GraspableHead(nn.Module):
    """Objectness logits and point graspness per point.

    Args:
        feature_dim: F.
    """

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(feature_dim, 3, 1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, F, N) features -> objectness logits (B, 2, N) and graspness (B, N)."""
        out = self.conv(features)
        return out[:, :2], out[:, 2]


class ViewHead(nn.Module):
    """View graspness over V views per seed; returns the seed features with the hidden ones added.

    Args:
        feature_dim: F.
        num_views: V.
    """

    def __init__(self, feature_dim: int, num_views: int) -> None:
        super().__init__()
        self.hidden = mlp_1d([feature_dim, feature_dim])
        self.out = nn.Conv1d(feature_dim, num_views, 1)

    def forward(self, seed_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, F, M) -> view scores (B, M, V) and updated seed features (B, F, M)."""
        hidden = self.hidden(seed_features)
        return self.out(hidden).transpose(1, 2), seed_features + hidden


class CylinderGroupHead(nn.Module):
    """Cylinder grouping along the chosen approach and a pooled grasp feature per seed.

    Args:
        feature_dim: F of the point features.
        out_dim: grasp feature size (256 in GSNet).
        radius: cylinder radius, metres.
        height_min: lower end along the approach, metres.
        height_max: upper end, metres.
        num_samples: K points per cylinder.
    """

    def __init__(
        self,
        feature_dim: int,
        out_dim: int,
        radius: float,
        height_min: float,
        height_max: float,
        num_samples: int,
    ) -> None:
        super().__init__()
        self.radius, self.height_min, self.height_max = radius, height_min, height_max
        self.num_samples = num_samples
        self.mlp = mlp_2d([feature_dim + 3, out_dim, out_dim])

    def forward(
        self, points: torch.Tensor, features: torch.Tensor, seed_xyz: torch.Tensor, approaches: torch.Tensor
    ) -> torch.Tensor:
        """Grasp features (B, C, M).

        Args:
            points: (B, N, 3) all points.
            features: (B, F, N) their features.
            seed_xyz: (B, M, 3) seeds.
            approaches: (B, M, 3) approach directions (= minus the chosen view vectors).
        """
        rotations = rotation_from_view_torch(approaches, torch.zeros_like(approaches[..., 0]))
        index, local, _ = cylinder_query(
            points, seed_xyz, rotations, self.radius, self.height_min, self.height_max, self.num_samples
        )
        grouped = gather_points(features.transpose(1, 2), index)  # (B, M, K, F)
        x = torch.cat([local.to(grouped.dtype), grouped], dim=-1).permute(0, 3, 1, 2)  # (B, 3+F, M, K)
        return self.mlp(x).max(dim=-1).values


class OperationHead(nn.Module):
    """Score and width of A × D (angle, depth) grasps and A stable scores per seed.

    Args:
        in_dim: grasp feature size.
        num_angles: A.
        num_depths: D.
        stable: also predict the A stable scores.
    """

    def __init__(self, in_dim: int, num_angles: int, num_depths: int, stable: bool = True) -> None:
        super().__init__()
        self.num_angles, self.num_depths, self.stable = num_angles, num_depths, stable
        outputs = 2 * num_angles * num_depths + (num_angles if stable else 0)
        self.mlp = nn.Sequential(mlp_1d([in_dim, in_dim]), nn.Conv1d(in_dim, outputs, 1))

    def forward(self, grasp_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, C, M) -> ``score`` and ``width`` (B, M, A, D), and ``stable`` (B, M, A) when enabled."""
        out = self.mlp(grasp_features).transpose(1, 2)
        b, m, _ = out.shape
        ad = self.num_angles * self.num_depths
        result = {
            "score": out[..., :ad].reshape(b, m, self.num_angles, self.num_depths),
            "width": out[..., ad : 2 * ad].reshape(b, m, self.num_angles, self.num_depths),
        }
        if self.stable:
            result["stable"] = out[..., 2 * ad :]
        return result
