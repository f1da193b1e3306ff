"""AnyGrasp's temporal association head: one 256-d feature per detected grasp (anygrasp.txt §IV-B2).

Per grasp the head takes the detector's seed feature and grasp feature (the inputs of the last
layers of GSNet's view and operation heads), the colours of the K points grouped along the
grasp (a shared MLP over the K RGB triples and a max-pool: the colour feature) and the pose as
12 numbers (rotation row-major, then translation in metres, in the association frame), maps the
concatenation through an MLP to C numbers and L2-normalises them. The correspondence of two
grasps is the cosine similarity of their features (:func:`cosine_similarity`); the supervised
contrastive loss is :func:`grasplab.training.association_task.supervised_contrastive_loss`.

Each input block is layer-normalised before the MLP, so features of a detector of any scale can
be fed; a block of size 0 (``seed_dim = 0`` or ``grasp_dim = 0``, e.g. a detector without
learned features) is left out. Registered as model family ``"association"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from torch import nn  # noqa: E402

from grasplab.models.registry import register_model  # noqa: E402

__all__ = ["AssociationSpec", "GraspAssociationNet", "build_association", "cosine_similarity"]

#: numbers of a grasp pose: rotation (9, row-major) and translation (3).
POSE_SIZE = 12


@dataclass(frozen=True)
class AssociationSpec:
    """Everything that rebuilds a :class:`GraspAssociationNet` exactly.

    Attributes:
        seed_dim: size of the detector's seed feature (0: none).
        grasp_dim: size of the detector's grasp feature (0: none).
        colour_samples: K points grouped along the grasp (16 in AnyGrasp).
        colour_dim: size of the pooled colour feature (0: no colour).
        hidden_dim: width of the MLP.
        out_dim: C, the association feature size (256 in AnyGrasp).
        translation_scale: translations (m) are multiplied by this before the MLP.
        use_pose: feed the 12 pose numbers.
    """

    seed_dim: int = 128
    grasp_dim: int = 128
    colour_samples: int = 16
    colour_dim: int = 32
    hidden_dim: int = 256
    out_dim: int = 256
    translation_scale: float = 10.0
    use_pose: bool = True

    def __post_init__(self) -> None:
        for name in ("seed_dim", "grasp_dim", "colour_dim"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected >= 0, got {getattr(self, name)}")
        for name in ("colour_samples", "hidden_dim", "out_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected >= 1, got {getattr(self, name)}")
        if not self.translation_scale > 0:
            raise ValueError(f"translation_scale: expected > 0, got {self.translation_scale}")
        if self.seed_dim + self.grasp_dim + self.colour_dim == 0 and not self.use_pose:
            raise ValueError("the association head needs at least one input block")


class GraspAssociationNet(nn.Module):
    """The association head (module docstring).

    Args:
        spec: its :class:`AssociationSpec`.
    """

    def __init__(self, spec: AssociationSpec) -> None:
        super().__init__()
        self.spec = spec
        self.seed_norm = nn.LayerNorm(spec.seed_dim) if spec.seed_dim else None
        self.grasp_norm = nn.LayerNorm(spec.grasp_dim) if spec.grasp_dim else None
        c = spec.colour_dim
        self.colour_mlp = nn.Sequential(nn.Linear(3, c), nn.ReLU(), nn.Linear(c, c)) if c else None
        width = spec.seed_dim + spec.grasp_dim + spec.colour_dim + (POSE_SIZE if spec.use_pose else 0)
        self.mlp = nn.Sequential(
            nn.Linear(width, spec.hidden_dim),
            nn.ReLU(),
            nn.Linear(spec.hidden_dim, spec.hidden_dim),
            nn.ReLU(),
            nn.Linear(spec.hidden_dim, spec.out_dim),
        )

    def forward(
        self,
        seed_features: torch.Tensor | None,
        grasp_features: torch.Tensor | None,
        colours: torch.Tensor | None,
        poses: torch.Tensor,
    ) -> torch.Tensor:
        """Unit-norm association features.

        Args:
            seed_features: (..., M, seed_dim) or None when ``seed_dim`` is 0.
            grasp_features: (..., M, grasp_dim) or None when ``grasp_dim`` is 0.
            colours: (..., M, K, 3) RGB in [0, 1] of the grouped points, or None when
                ``colour_dim`` is 0.
            poses: (..., M, 12) rotation (row-major) and translation (m).

        Returns:
            (..., M, out_dim) float32, each row of norm 1.
        """
        spec = self.spec
        if poses.shape[-1] != POSE_SIZE:
            raise ValueError(f"poses: expected (..., M, 12), got {tuple(poses.shape)}")
        blocks: list[torch.Tensor] = []
        if self.seed_norm is not None:
            blocks.append(self.seed_norm(_checked(seed_features, "seed_features", spec.seed_dim)))
        if self.grasp_norm is not None:
            blocks.append(self.grasp_norm(_checked(grasp_features, "grasp_features", spec.grasp_dim)))
        if self.colour_mlp is not None:
            rgb = _checked(colours, "colours", 3)
            if rgb.shape[-2] != spec.colour_samples:
                raise ValueError(f"colours: expected K = {spec.colour_samples} points, got {rgb.shape[-2]}")
            blocks.append(self.colour_mlp(rgb - 0.5).max(dim=-2).values)
        if spec.use_pose:
            scale = poses.new_tensor([1.0] * 9 + [spec.translation_scale] * 3)
            blocks.append(poses * scale)
        return F.normalize(self.mlp(torch.cat(blocks, dim=-1)), dim=-1)


def _checked(value: torch.Tensor | None, name: str, size: int) -> torch.Tensor:
    if value is None or value.shape[-1] != size:
        got = None if value is None else tuple(value.shape)
        raise ValueError(f"{name}: expected (..., {size}) features, got {got}")
    return value.float()


def cosine_similarity(past: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """(..., n, M) cosine similarity of (..., n, C) and (..., M, C) features (eq. 6).

    >>> a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> cosine_similarity(a, a).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return F.normalize(past, dim=-1) @ F.normalize(current, dim=-1).transpose(-1, -2)


def build_association(spec: AssociationSpec) -> GraspAssociationNet:
    """A freshly initialised :class:`GraspAssociationNet`."""
    return GraspAssociationNet(spec)


register_model("association", build_association, AssociationSpec)
