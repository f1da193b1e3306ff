"""Pairs of frames for training the grasp association head, from a cache of detector features.

The detector (a frozen GSNet) runs once per frame; what the association head needs is written
to a cache folder and read back here, so training never runs the detector::

    <cache>/index.json          {"frames": [{"key", "group", "split"}], "pairs": [[a, b, split]],
                                 "meta": {...}}
    <cache>/frames/<key>.npz    one frame (:class:`CachedFrame`)

A :class:`CachedFrame` holds M grasps (camera frame, graspnetAPI rows), the detector's seed and
grasp features, the RGB of the K points grouped along each grasp, each grasp's object (-1 none),
``T_world_cam`` and the true ``T_world_obj`` of the frame's objects. :class:`AssociationPairs`
yields a pair of frames with their head inputs and the positives of the paper's same-grasp rule
(:func:`grasplab.labels.grasp_correspondence.same_grasp_labels`, in each object's frame; grasps
on different objects never match). Augmentation (seeded by ``(seed, epoch, index)``): the
association frame is, with probability ½, the first frame's camera, else the world turned about
+z and shifted (so the head sees poses in both frames the tracker uses), and each object's grasps
of the second frame are dropped with probability ``drop_object`` (AnyGrasp's 0.2).
Units: metres.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from grasplab.core import GraspGroup, invert_transform, make_transform  # noqa: E402
from grasplab.core.rotations import rotation_z  # noqa: E402
from grasplab.labels.grasp_correspondence import DEFAULT_W_MAX, same_grasp_labels  # noqa: E402

__all__ = [
    "AssociationPairs",
    "CachedFrame",
    "grasp_poses",
    "load_cache_index",
    "load_cached_frame",
    "object_frame_poses",
    "save_cache_index",
    "save_cached_frame",
]

INDEX_NAME = "index.json"


@dataclass(frozen=True, eq=False)
class CachedFrame:
    """What the association head needs of one detected frame.

    Attributes:
        grasps: (M, 17) graspnetAPI rows, camera frame.
        seed_features: (M, Fs) float32.
        grasp_features: (M, Fg) float32.
        colours: (M, K, 3) uint8 RGB of the points grouped along each grasp.
        grasp_objects: (M,) int64 object of each grasp (-1: none).
        T_world_cam: (4, 4).
        object_ids: (K_obj,) int64.
        T_world_obj: (K_obj, 4, 4) true object poses.
    """

    grasps: np.ndarray
    seed_features: np.ndarray
    grasp_features: np.ndarray
    colours: np.ndarray
    grasp_objects: np.ndarray
    T_world_cam: np.ndarray
    object_ids: np.ndarray
    T_world_obj: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.grasps)
        shapes = {"seed_features": self.seed_features.shape[0],
                  "grasp_features": self.grasp_features.shape[0],
                  "colours": self.colours.shape[0], "grasp_objects": self.grasp_objects.shape[0]}
        bad = {k: v for k, v in shapes.items() if v != m}
        if bad or self.colours.ndim != 3 or self.T_world_obj.shape[1:] != (4, 4):
            raise ValueError(f"CachedFrame: {m} grasps but rows {bad}, colours {self.colours.shape}, "
                             f"T_world_obj {self.T_world_obj.shape}")


def save_cached_frame(path: str | Path, frame: CachedFrame) -> Path:
    """Write a frame as a compressed ``.npz``; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    arrays: dict[str, Any] = {k: np.asarray(getattr(frame, k)) for k in CachedFrame.__dataclass_fields__}
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    return out


def load_cached_frame(path: str | Path) -> CachedFrame:
    """Read a frame written by :func:`save_cached_frame`."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            return CachedFrame(**{k: np.asarray(data[k]) for k in CachedFrame.__dataclass_fields__})
    except (OSError, KeyError) as exc:
        raise ValueError(f"{path}: not an association feature cache frame ({exc})") from exc


def save_cache_index(cache: str | Path, frames: Sequence[dict[str, Any]],
                     pairs: Sequence[tuple[str, str, str]], meta: dict[str, Any]) -> Path:
    """Write ``index.json`` (frames with key / group / split, pairs ``(key_a, key_b, split)``)."""
    path = Path(cache) / INDEX_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"frames": list(frames), "pairs": [list(p) for p in pairs], "meta": meta},
                               indent=1))
    return path


def load_cache_index(cache: str | Path) -> dict[str, Any]:
    """The cache's ``index.json`` as a dict (FileNotFoundError naming it when missing)."""
    path = Path(cache) / INDEX_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no association feature cache at {cache} (missing {INDEX_NAME})")
    index: dict[str, Any] = json.loads(path.read_text())
    return index


def grasp_poses(grasps: GraspGroup) -> np.ndarray:
    """(M, 12) rotation (row-major) and translation of each grasp, in the grasps' frame."""
    return np.concatenate([grasps.rotations.reshape(-1, 9), grasps.translations], axis=1)


def object_frame_poses(grasps_world: GraspGroup, grasp_objects: np.ndarray, object_ids: np.ndarray,
                       T_world_obj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations (M, 3, 3) and translations (M, 3) of world-frame grasps in their objects' frames.

    Grasps whose object is unknown keep their world pose (their labels are all False anyway).
    """
    rot, trans = grasps_world.rotations.copy(), grasps_world.translations.copy()
    for k, obj in enumerate(object_ids.tolist()):
        rows = np.flatnonzero(grasp_objects == obj)
        if not len(rows):
            continue
        T_obj_world = invert_transform(T_world_obj[k])
        rot[rows] = np.matmul(T_obj_world[:3, :3], rot[rows])
        trans[rows] = trans[rows] @ T_obj_world[:3, :3].T + T_obj_world[:3, 3]
    return rot, trans


class AssociationPairs(Dataset[dict[str, torch.Tensor]]):
    """Pairs of cached frames with head inputs and same-grasp positives (module docstring).

    Items: ``seed_a``, ``grasp_a`` (M_a, F), ``colour_a`` (M_a, K, 3) float in [0, 1], ``pose_a``
    (M_a, 12) in the association frame, the same for ``b``, and ``positives`` (M_a, M_b) bool.

    Args:
        cache: the cache folder.
        pairs: ``(key_a, key_b)`` of the pairs to serve.
        w_max: length scale of the same-grasp rule (m).
        train: augment (else the world frame without any change and no drop).
        drop_object: probability of dropping an object's grasps in the second frame.
        seed: seed of the augmentation streams.
        max_cached: frames kept in memory.
    """

    def __init__(self, cache: str | Path, pairs: Sequence[tuple[str, str]], w_max: float = DEFAULT_W_MAX,
                 train: bool = True, drop_object: float = 0.2, seed: int = 0, max_cached: int = 4096) -> None:
        if not pairs:
            raise ValueError(f"no pairs of frames to serve from {cache}")
        self.cache = Path(cache)
        self.pairs = [(str(a), str(b)) for a, b in pairs]
        self.w_max, self.train = float(w_max), train
        self.drop_object, self.seed = float(drop_object), int(seed)
        self.epoch = 0
        self._frames: OrderedDict[str, CachedFrame] = OrderedDict()
        self._max_cached = max(int(max_cached), 2)

    def __len__(self) -> int:
        return len(self.pairs)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch``."""
        self.epoch = int(epoch)

    def frame(self, key: str) -> CachedFrame:
        """A cached frame by key (read once, then kept in memory)."""
        if key not in self._frames:
            self._frames[key] = load_cached_frame(self.cache / "frames" / f"{key}.npz")
            while len(self._frames) > self._max_cached:
                self._frames.popitem(last=False)
        return self._frames[key]

    def _reference(self, a: CachedFrame, gen: np.random.Generator) -> np.ndarray:
        """(4, 4) ``T_ref_world`` of the association frame."""
        if not self.train:
            return np.eye(4)
        if gen.random() < 0.5:
            return invert_transform(a.T_world_cam)
        shift = np.array([*gen.uniform(-0.3, 0.3, size=2), gen.uniform(-0.1, 0.1)])
        return make_transform(rotation_z(gen.uniform(-np.pi, np.pi)), shift)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        key_a, key_b = self.pairs[index]
        a, b = self.frame(key_a), self.frame(key_b)
        gen = np.random.default_rng([self.seed, self.epoch, index])
        keep_b = np.ones(len(b.grasps), dtype=bool)
        if self.train and self.drop_object > 0:
            for obj in np.unique(b.grasp_objects):
                if gen.random() < self.drop_object:
                    keep_b &= b.grasp_objects != obj
            if not keep_b.any():
                keep_b[:] = True
        T_ref_world = self._reference(a, gen)
        out: dict[str, torch.Tensor] = {}
        world = {}
        for name, frame, keep in (("a", a, np.ones(len(a.grasps), dtype=bool)), ("b", b, keep_b)):
            grasps = GraspGroup(frame.grasps[keep], validate=False).transform(frame.T_world_cam)
            world[name] = (grasps, frame.grasp_objects[keep])
            out[f"seed_{name}"] = torch.as_tensor(frame.seed_features[keep], dtype=torch.float32)
            out[f"grasp_{name}"] = torch.as_tensor(frame.grasp_features[keep], dtype=torch.float32)
            out[f"colour_{name}"] = torch.as_tensor(frame.colours[keep], dtype=torch.float32) / 255.0
            poses = grasp_poses(grasps.transform(T_ref_world))
            out[f"pose_{name}"] = torch.as_tensor(poses, dtype=torch.float32)
        ra, ta = object_frame_poses(*world["a"], a.object_ids, a.T_world_obj)
        rb, tb = object_frame_poses(*world["b"], b.object_ids, b.T_world_obj)
        labels = same_grasp_labels(ra, ta, world["a"][1], rb, tb, world["b"][1], w_max=self.w_max)
        out["positives"] = torch.as_tensor(labels)
        return out
