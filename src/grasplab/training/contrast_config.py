"""Config of GraspContrast pretraining (``grasplab pretrain contrast``; presets in ``configs/pretrain/``).

Sections: ``data`` (:class:`ContrastDataConfig`: which scenes, how many points, key points and
pairs, the correspondence radius ε and the augmentation), ``loss`` (:class:`ContrastLossConfig`:
τ and false-negative elimination), ``model`` (the :class:`~grasplab.models.gsnet.GSNetSpec` of
the detector the backbone will initialise; only its backbone fields matter here), ``optim`` and
``seed``.

Defaults, and why (ε, γ_D and the key-point count are not in the paper; wave2-facts.md §4):

- ``voxel_size`` 5 mm: the paper's voxels and the graspness labels' point spacing.
- ``match_radius`` ε = 7.5 mm = 1.5 voxels (PointContrast's rule): two voxelised samplings of the
  same surface lie up to about one voxel apart, and simulated depth noise adds a few millimetres.
- ``num_keypoints`` 1024: farthest point sampling over the overlap of two views of a tray scene
  spaces them 1.8 cm apart (median nearest neighbour, measured on the GSNet training scenes), about
  a finger's width, and the K × K logits stay cheap on a CPU.
- ``fne_radius`` γ_D = 3 cm = 6 voxels: above the key-point spacing, so elimination removes the
  ring of an anchor's immediate neighbours (5.5 negatives per anchor on average, measured as
  above; 2 cm would remove 1.7, 512 key points with 2 cm none), the negatives most likely to
  show the same local geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grasplab.models.gsnet import GSNetSpec
from grasplab.runtime.config import load_config
from grasplab.training.config import OptimConfig

__all__ = ["ContrastDataConfig", "ContrastLossConfig", "ContrastPretrainConfig", "load_contrast_config"]


@dataclass(frozen=True)
class ContrastDataConfig:
    """Unlabelled view pairs (metres, degrees).

    Attributes:
        root: dataset root (GraspNet layout with camera poses; no labels needed).
        camera: camera folder.
        scenes: scenes to pretrain on; None = every scene below ``test_scenes_from``.
        test_scenes_from: scenes with this id or higher are test scenes, never used.
        val_fraction: fraction of the scenes (the last) held out for the validation loss.
        num_points: points per view fed to the backbone (>= ``num_keypoints``).
        num_keypoints: K key points per pair.
        voxel_size: one point per voxel.
        match_radius: ε, positives lie closer than this in the world frame.
        pairs_per_scene: pairs per scene and epoch (views drawn anew each epoch).
        downsample: image subsampling of the depth2d input.
        augment: augment each view (flip, rotation about the up axis).
        flip: mirror across the camera's YZ plane with p 0.5.
        max_rotation_deg: rotation about the table's up axis, ±.
        cache_frames: frames kept in memory.
    """

    root: str = "data"
    camera: str = "realsense"
    scenes: tuple[int, ...] | None = None
    test_scenes_from: int | None = 100
    val_fraction: float = 0.1
    num_points: int = 4096
    num_keypoints: int = 1024
    voxel_size: float = 0.005
    match_radius: float = 0.0075
    pairs_per_scene: int = 8
    downsample: int = 2
    augment: bool = True
    flip: bool = True
    max_rotation_deg: float = 30.0
    cache_frames: int = 600

    def __post_init__(self) -> None:
        if self.num_keypoints < 1 or self.num_points < self.num_keypoints:
            raise ValueError("data: need 1 <= num_keypoints <= num_points")
        if self.voxel_size < 0 or self.match_radius <= 0:
            raise ValueError("data: need voxel_size >= 0 and match_radius > 0")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"data.val_fraction must be in [0, 1), got {self.val_fraction}")


@dataclass(frozen=True)
class ContrastLossConfig:
    """PointInfoNCE (graspcontrast.txt eq. 3-5).

    Attributes:
        temperature: τ.
        fne: false-negative elimination on.
        fne_radius: γ_D, metres.
    """

    temperature: float = 0.07
    fne: bool = True
    fne_radius: float = 0.03

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.fne_radius <= 0:
            raise ValueError("loss: need temperature > 0 and fne_radius > 0")


@dataclass(frozen=True)
class ContrastPretrainConfig:
    """Everything a pretraining run needs (saved as ``config.yaml`` in the run)."""

    data: ContrastDataConfig = field(default_factory=ContrastDataConfig)
    loss: ContrastLossConfig = field(default_factory=ContrastLossConfig)
    model: GSNetSpec = field(default_factory=GSNetSpec)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(
            epochs=10, batch_size=4, lr_milestones=tuple(range(1, 10)), lr_gamma=0.95
        )
    )
    seed: int = 0


def load_contrast_config(
    path: Path | str | None = None, overrides: Sequence[str] = ()
) -> ContrastPretrainConfig:
    """Read a YAML preset (or the defaults when ``path`` is None) and apply ``--set`` overrides."""
    return load_config(ContrastPretrainConfig, path, overrides)
