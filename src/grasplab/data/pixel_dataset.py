"""A torch dataset of PLGP pixel-level grasp labels over a grasplab dataset root.

Per frame it reads the depth (metres) and colour images through
:class:`grasplab.scenes.reader.GraspNetDataset` and the pixel labels
``scenes/scene_%04d/<camera>/pixel_labels/%04d.npz`` (quality (H, W), angle_quality, width and
depth (K, H, W); width normalised by L4), enhances the labels (eight neighbours at 0.9), draws the
paper's crop / rotation / flip (:mod:`grasplab.data.augment`) and returns tensors:

- ``input`` (C, S, S) float32 mean-subtracted network input;
- ``quality`` (1, S, S), ``angle_quality`` (K, S, S), ``width`` (K, S, S) float32 targets;
- ``positive`` (K, S, S) bool: the original (not enhanced) labelled (pixel, angle bin) pairs;
- ``index`` () int64: the item index.

Labels are read with :func:`grasplab.labels.pixel_label_jobs.load_pixel_labels` (the format of
``grasplab label pixels``).

Augmentations are seeded by ``(seed, epoch, index)`` (call :meth:`PixelGraspDataset.set_epoch`),
so a run is reproducible and a resumed run draws the same crops as an uninterrupted one.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from grasplab.data.augment import (  # noqa: E402
    INPUT_MODES,
    AugmentConfig,
    PixelLabelMaps,
    center_crop,
    enhance_labels,
    normalize_input,
    sample_crop,
    warp_bilinear,
    warp_labels,
    warp_nearest,
)
from grasplab.data.frames import list_frames_with_files  # noqa: E402
from grasplab.labels.pixel_label_jobs import load_pixel_labels, pixel_label_path  # noqa: E402
from grasplab.scenes.layout import frame_file, scene_dir  # noqa: E402
from grasplab.scenes.reader import GraspNetDataset  # noqa: E402

logger = logging.getLogger(__name__)

PIXEL_LABEL_FOLDER = "pixel_labels"


def _maps_from_grasps(path: Path, num_angles: int) -> PixelLabelMaps | None:
    """Rebuild the training maps from the file's grasp list (reads the small members only).

    Returns None when the grasp list does not reproduce the stored quality map or its angles
    are not on the ``k pi / K`` grid (then the caller reads the full maps).
    """
    try:
        with zipfile.ZipFile(path) as archive, archive.open("angle_quality.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            stored_angles = int(read_header(member)[0][0])
        with np.load(path, allow_pickle=False) as data:
            quality = np.asarray(data["quality"], dtype=np.float32)
            grasps = np.asarray(data["grasps"], dtype=np.float64).reshape(-1, 6)
            max_width = float(data["max_width"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None
    if stored_angles != num_angles:
        raise ValueError(f"{path}: {stored_angles} angle bins, expected {num_angles}")
    u, v = grasps[:, 0].astype(np.int64), grasps[:, 1].astype(np.int64)
    k_float = grasps[:, 3] * num_angles / np.pi
    k = np.mod(np.rint(k_float).astype(np.int64), num_angles)
    height, width = quality.shape
    rebuilt = np.zeros_like(quality)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    if not inside.all() or np.abs(k_float - np.rint(k_float)).max(initial=0.0) > 1e-3:
        return None
    rebuilt[v, u] = 1.0
    if not np.array_equal(rebuilt, (quality > 0).astype(np.float32)):
        return None
    angle_quality = np.zeros((num_angles, height, width), np.float32)
    widths = np.zeros_like(angle_quality)
    angle_quality[k, v, u] = 1.0
    widths[k, v, u] = grasps[:, 4] / max_width
    return PixelLabelMaps(quality, angle_quality, widths)


def load_label_maps(path: Path | str, num_angles: int | None = None) -> PixelLabelMaps:
    """Read one frame's pixel labels.

    By default with :func:`grasplab.labels.pixel_label_jobs.load_pixel_labels` (all maps). With
    ``num_angles`` the quality, angle-quality and width maps are rebuilt from the stored grasp list
    ``[u, v, d, theta, w, score]`` instead (about 50x faster: the large compressed maps are not
    decompressed; no grasp-depth map); a file whose grasp list does not reproduce its quality map
    is read in full.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a readable pixel label file.
    """
    if num_angles is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no pixel labels: {path} does not exist")
        fast = _maps_from_grasps(Path(path), num_angles)
        if fast is not None:
            return fast
        logger.warning("%s: grasp list does not match the maps; reading the full maps", path)
    labels = load_pixel_labels(path)
    return PixelLabelMaps(
        quality=np.asarray(labels.quality, dtype=np.float32),
        angle_quality=np.asarray(labels.angle_quality, dtype=np.float32),
        width=np.asarray(labels.width, dtype=np.float32),
        depth=np.asarray(labels.depth, dtype=np.float32),
    )


def list_labelled_frames(
    root: Path | str, camera: str = "realsense", scene_ids: Sequence[int] | None = None
) -> list[tuple[int, int]]:
    """Sorted (scene_id, ann_id) pairs that have pixel labels under ``root``."""
    return list_frames_with_files(
        root, camera, scene_ids, lambda scene: scene_dir(root, scene) / camera / PIXEL_LABEL_FOLDER
    )


def split_frames(
    frames: Sequence[tuple[int, int]],
    val_fraction: float = 0.1,
    val_scenes: Sequence[int] | None = None,
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Split frames by scene: ``val_scenes`` if given, else the last ``ceil(fraction)`` of scenes.

    When no scene is left for validation (a single scene, or ``val_fraction`` 0) the validation
    set is the training frames (logged as a warning).

    Returns:
        (train frames, validation frames).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    scenes = sorted({s for s, _ in frames})
    if not scenes:
        raise ValueError("no labelled frames to split")
    if val_scenes is None:
        count = int(np.ceil(val_fraction * len(scenes))) if val_fraction > 0 else 0
        if count == 0 or count >= len(scenes):
            logger.warning("no validation scenes (%d scene(s)): validating on training frames", len(scenes))
            return list(frames), list(frames)
        chosen = set(scenes[len(scenes) - count :])
    else:
        chosen = {int(s) for s in val_scenes}
    train = [f for f in frames if f[0] not in chosen]
    val = [f for f in frames if f[0] in chosen]
    if not train:
        raise ValueError(f"validation scenes {sorted(chosen)} leave no training frames")
    return train, val


class PixelGraspDataset(Dataset[dict[str, torch.Tensor]]):
    """PLGP training samples (see the module docstring for the returned tensors).

    Args:
        root: dataset root (holds ``scenes/``).
        frames: (scene_id, ann_id) pairs; default: every frame with pixel labels.
        camera: camera folder.
        input_mode: "depth", "rgb" or "rgbd".
        augment: random crop parameters; None gives a deterministic centre crop of ``crop_size``.
        crop_size: side of the centre crop when ``augment`` is None.
        enhance: apply the eight-neighbour label enhancement.
        enhance_value: quality of enhanced grasps relative to their source.
        seed: base seed of the augmentation.
        num_angles: K, the angle bins of the labels.
        fast_labels: rebuild the maps from the files' grasp lists (see :func:`load_label_maps`).
        depth_scale: factor on the mean-subtracted depth input (:func:`normalize_input`).
    """

    def __init__(
        self,
        root: Path | str,
        frames: Sequence[tuple[int, int]] | None = None,
        *,
        camera: str = "realsense",
        input_mode: str = "depth",
        augment: AugmentConfig | None = None,
        crop_size: int = 320,
        enhance: bool = True,
        enhance_value: float = 0.9,
        seed: int = 0,
        num_angles: int = 18,
        fast_labels: bool = True,
        depth_scale: float = 1.0,
    ) -> None:
        if input_mode not in INPUT_MODES:
            raise ValueError(f"input mode must be one of {INPUT_MODES}, got {input_mode!r}")
        self.root = Path(root)
        self.reader = GraspNetDataset(self.root, camera)
        self.camera = camera
        self.frames = list(frames) if frames is not None else list_labelled_frames(root, camera)
        if not self.frames:
            raise ValueError(f"no frames with pixel labels under {self.root} (camera {camera!r})")
        self.input_mode = input_mode
        self.augment = augment
        self.crop_size = augment.crop_size if augment is not None else int(crop_size)
        self.enhance = enhance
        self.enhance_value = float(enhance_value)
        self.num_angles = int(num_angles)
        self.fast_labels = bool(fast_labels)
        self.depth_scale = float(depth_scale)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.frames)

    def _images(self, scene: int, ann: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        depth = self.reader.depth(scene, ann) if self.input_mode != "rgb" else None
        rgb = None
        if self.input_mode != "depth":
            from PIL import Image

            path = scene_dir(self.root, scene) / self.camera / frame_file("rgb", ann)
            with Image.open(path) as image:
                rgb = np.asarray(image.convert("RGB"))
        return depth, rgb

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        scene, ann = self.frames[index]
        depth, rgb = self._images(scene, ann)
        path = pixel_label_path(self.root, scene, ann, self.camera)
        labels = load_label_maps(path, self.num_angles if self.fast_labels else None)
        if labels.num_angles != self.num_angles:
            raise ValueError(f"{path}: {labels.num_angles} angle bins, the dataset expects {self.num_angles}")
        shape = (depth if depth is not None else rgb).shape[:2]  # type: ignore[union-attr]
        if labels.quality.shape != shape:
            raise ValueError(
                f"scene {scene} frame {ann}: pixel labels {labels.quality.shape} do not match the "
                f"image {shape}"
            )
        if self.augment is None:
            crop = center_crop(shape, self.crop_size)
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            crop = sample_crop(shape, self.augment, labels.num_angles, rng)
        # work on the window the crop reads (the grasp-depth map is not a training target)
        rows, cols = crop.source_window(shape)
        window = PixelLabelMaps(
            labels.quality[rows, cols], labels.angle_quality[:, rows, cols], labels.width[:, rows, cols]
        )
        local = crop.translated(-float(cols.start), -float(rows.start))
        positive = warp_nearest(window.angle_quality[local.angle_permutation(window.num_angles)] > 0, local)
        targets = warp_labels(enhance_labels(window, self.enhance_value) if self.enhance else window, local)
        image = normalize_input(
            None if depth is None else warp_nearest(depth, crop),
            None if rgb is None else warp_bilinear(rgb, crop),
            self.input_mode,
            self.depth_scale,
        )
        return {
            "input": torch.from_numpy(image),
            "quality": torch.from_numpy(np.ascontiguousarray(targets.quality[None])),
            "angle_quality": torch.from_numpy(np.ascontiguousarray(targets.angle_quality)),
            "width": torch.from_numpy(np.ascontiguousarray(np.clip(targets.width, 0.0, 1.0))),
            "positive": torch.from_numpy(np.ascontiguousarray(positive)),
            "index": torch.tensor(index, dtype=torch.int64),
        }
