"""Per-grasp inputs of the association head: detector features, grouped colours, object labels.

A *feature source* detects a frame's grasps and gives, aligned with its rows, the detector's
seed and grasp features and the RGB of the K points grouped along each grasp
(:class:`DetectedFeatures`). :class:`GSNetFeatureSource` runs a frozen GSNet through
:func:`grasplab.detection.gsnet_detect.run_gsnet_stages` (one grasp per seed) and
:func:`colour_samples`. :func:`to_cached_frame` adds the ground truth of a simulated or labelled
frame (each grasp's object from the instance mask at its grasp point, the object poses) for the
feature cache of :mod:`grasplab.data.association_pairs`.

Colour grouping (anygrasp.txt §IV-B2): in the grasp frame (x approach), the points with
``height_min <= x <= height_max`` and ``y² + z² <= radius²``, the K nearest to the grasp point,
repeated when fewer, mid-grey when none. Camera frame, metres; RGB uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core import CameraIntrinsics, GraspGroup, depth_to_points, project_points
from grasplab.data.association_pairs import CachedFrame
from grasplab.detection.observation import Observation
from grasplab.detection.postprocess import PostProcessConfig, postprocess

__all__ = [
    "DetectedFeatures",
    "FeatureSource",
    "GSNetFeatureSource",
    "colour_samples",
    "grasp_objects_from_mask",
    "to_cached_frame",
]


@dataclass(frozen=True, eq=False)
class DetectedFeatures:
    """One frame's grasps with per-row association inputs.

    Attributes:
        grasps: (M,) camera frame, best score first.
        seed_features: (M, Fs) float32 (Fs may be 0).
        grasp_features: (M, Fg) float32 (Fg may be 0).
        colours: (M, K, 3) uint8.
    """

    grasps: GraspGroup
    seed_features: np.ndarray
    grasp_features: np.ndarray
    colours: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.grasps)
        if not (len(self.seed_features) == len(self.grasp_features) == len(self.colours) == m):
            raise ValueError(f"DetectedFeatures: {m} grasps but {len(self.seed_features)} seed, "
                             f"{len(self.grasp_features)} grasp and {len(self.colours)} colour rows")

    def take(self, rows: np.ndarray) -> DetectedFeatures:
        """The rows ``rows`` (an index array), in that order."""
        return DetectedFeatures(self.grasps[rows], self.seed_features[rows], self.grasp_features[rows],
                                self.colours[rows])


class FeatureSource(Protocol):
    """Anything that detects grasps with association inputs."""

    def describe(self, observation: Observation) -> DetectedFeatures:
        """Grasps of the frame (camera frame, best first) and their per-row features."""
        ...


def colour_samples(points: np.ndarray, colours: np.ndarray, grasps: GraspGroup, num_samples: int = 16,
                   radius: float = 0.02, height_min: float = -0.02, height_max: float = 0.04,
                   tree: cKDTree | None = None) -> np.ndarray:
    """(M, K, 3) uint8 colours of the points grouped along each grasp (module docstring).

    Args:
        points: (N, 3) observed points, camera frame, metres.
        colours: (N, 3) uint8 their RGB.
        grasps: (M,) grasps in the same frame.
        num_samples: K.
        radius, height_min, height_max: the cylinder (m) along the approach.
        tree: a ``cKDTree`` of ``points`` to reuse.
    """
    out = np.full((len(grasps), num_samples, 3), 128, dtype=np.uint8)
    if not len(grasps) or not len(points):
        return out
    reach = float(np.hypot(radius, max(abs(height_min), abs(height_max))))
    if tree is None:  # only points within reach of a grasp can be grouped: index those alone
        lo, hi = grasps.translations.min(axis=0) - reach, grasps.translations.max(axis=0) + reach
        near = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
        if not len(near):
            return out
        tree = cKDTree(points[near], balanced_tree=False, compact_nodes=False)
    else:
        near = np.arange(len(points))
    k = min(4 * num_samples, tree.n)
    dist, idx = tree.query(grasps.translations, k=k, distance_upper_bound=reach)
    dist, idx = dist.reshape(len(grasps), k), idx.reshape(len(grasps), k)
    valid = np.isfinite(dist)
    safe = near[np.where(valid, idx, 0)]
    local = np.matmul(points[safe] - grasps.translations[:, None], grasps.rotations)  # (M, k, 3)
    inside = valid & (local[..., 0] >= height_min) & (local[..., 0] <= height_max)
    inside &= local[..., 1] ** 2 + local[..., 2] ** 2 <= radius**2
    # Per grasp its first K inside neighbours (nearest first), repeated in turn when fewer.
    count = np.minimum(inside.sum(axis=1), num_samples)
    rows = np.flatnonzero(count)
    ranked = np.argsort(~inside[rows], axis=1, kind="stable")  # inside columns first, in order
    slots = np.arange(num_samples)[None, :] % count[rows, None]
    chosen = safe[rows[:, None], np.take_along_axis(ranked, slots, axis=1)]
    out[rows] = colours[chosen]
    return out


def grasp_objects_from_mask(grasps: GraspGroup, mask: np.ndarray, intrinsics: CameraIntrinsics,
                            window: int = 2) -> np.ndarray:
    """(M,) object id of each grasp: the most common nonzero label near its grasp point's pixel.

    ``mask`` holds ``object_id + 1`` (0 = background); -1 where no object label is within
    ``window`` pixels.
    """
    out = np.full(len(grasps), -1, dtype=np.int64)
    if not len(grasps):
        return out
    uv, _ = project_points(grasps.translations, intrinsics)
    height, width = mask.shape
    for m, (u, v) in enumerate(uv):
        if not np.all(np.isfinite((u, v))):
            continue
        r, c = int(round(v)), int(round(u))
        patch = mask[max(r - window, 0): r + window + 1, max(c - window, 0): c + window + 1]
        labels = patch[patch > 0]
        if labels.size and 0 <= r < height and 0 <= c < width:
            out[m] = int(np.bincount(labels).argmax()) - 1
    return out


def to_cached_frame(detected: DetectedFeatures, observation: Observation, object_ids: np.ndarray,
                    T_world_obj: np.ndarray) -> CachedFrame:
    """The cache record of a detected frame with its ground truth.

    Args:
        detected: the frame's grasps and features.
        observation: the frame; needs an instance ``mask`` (``object_id + 1``) and ``T_world_cam``.
        object_ids: (K,) the frame's objects.
        T_world_obj: (K, 4, 4) their true poses.
    """
    if observation.mask is None or observation.T_world_cam is None or observation.mask.dtype == bool:
        raise ValueError("to_cached_frame: the observation needs an instance mask and T_world_cam")
    objects = grasp_objects_from_mask(detected.grasps, observation.mask, observation.intrinsics)
    return CachedFrame(np.asarray(detected.grasps), detected.seed_features.astype(np.float32),
                       detected.grasp_features.astype(np.float32), detected.colours, objects,
                       np.asarray(observation.T_world_cam), np.asarray(object_ids, dtype=np.int64),
                       np.asarray(T_world_obj, dtype=np.float64))


class GSNetFeatureSource:
    """A frozen GSNet as a feature source: one grasp per seed with its seed and grasp features.

    Args:
        model: a GSNet (``grasplab.training.checkpoints.load_model`` of a "gsnet" checkpoint).
        num_points: points drawn from the frame for the network.
        downsample: the image subsampling the network was trained with.
        seed: seed of the point draw (the same every frame).
        num_samples: K colour samples per grasp.
        max_grasps: keep at most this many grasps (best scores); None: every seed.
        postprocess: AnyGrasp's post-processing of the decoded grasps (workspace, NMS, centring,
            collision; :func:`grasplab.detection.postprocess.postprocess`), each kept row with
            its own seed's features; None: every seed's raw grasp (how the association head's
            training cache is made).
    """

    def __init__(self, model: object, num_points: int = 4096, downsample: int = 2, seed: int = 0,
                 num_samples: int = 16, max_grasps: int | None = None,
                 postprocess: PostProcessConfig | None = None) -> None:
        from grasplab.detection.gsnet_detect import TorchStages

        self.stages = TorchStages(model)  # type: ignore[arg-type]
        self.spec = self.stages.spec
        self.num_points, self.downsample, self.seed = int(num_points), int(downsample), int(seed)
        self.num_samples, self.max_grasps = int(num_samples), max_grasps
        self.postprocess = postprocess

    @property
    def feature_dims(self) -> tuple[int, int]:
        """(seed feature size, grasp feature size)."""
        return int(self.spec.feature_dim), int(self.spec.group_dim)

    def describe(self, observation: Observation) -> DetectedFeatures:
        """Run the network on the frame (module docstring); grasps best first.

        Points are drawn inside the observation's mask when it has one (the region of interest
        of the :class:`Observation` contract), from every valid pixel otherwise.
        """
        from grasplab.data.grasp_dataset import frame_inputs
        from grasplab.detection.gsnet_decode import decode_config_for, decode_gsnet
        from grasplab.detection.gsnet_detect import run_gsnet_stages

        rgb = observation.rgb
        if self.spec.use_rgb and rgb is None:
            raise ValueError("this GSNet takes RGB: the observation has none")
        roi = observation.roi if observation.mask is not None and observation.roi.any() else None
        x = frame_inputs(observation.depth, observation.intrinsics, self.num_points, self.seed,
                         rgb if self.spec.use_rgb else None, self.downsample, mask=roi)
        out = run_gsnet_stages(self.stages, *(x[k][None] for k in ("points", "pixels", "image")))
        grasps = decode_gsnet(out, decode_config_for(self.spec.depths, self.spec.num_angles,
                                                     self.spec.num_views))
        seed_f = out["seed_features"][0].numpy().astype(np.float32)
        grasp_f = out["grasp_features"][0].numpy().astype(np.float32)
        if grasp_f.shape[0] != len(grasps):  # (C, M) layout
            grasp_f = grasp_f.T
        if seed_f.shape[0] != len(grasps):
            seed_f = seed_f.T
        if self.postprocess is not None:  # rows tagged with their seed to carry the features
            tagged = grasps.with_columns(object_ids=np.arange(len(grasps), dtype=np.float64))
            kept = postprocess(tagged, observation, self.postprocess)
            slot = np.rint(kept.object_ids).astype(np.int64)
            grasps, seed_f, grasp_f = kept.with_columns(object_ids=-1), seed_f[slot], grasp_f[slot]
        order = np.argsort(-grasps.scores, kind="stable")
        if self.max_grasps is not None:
            order = order[: self.max_grasps]
        grasps = grasps[order]
        colours = self._colours(observation, grasps)
        return DetectedFeatures(grasps, seed_f[order], grasp_f[order], colours)

    def _colours(self, observation: Observation, grasps: GraspGroup) -> np.ndarray:
        if observation.rgb is None:
            return np.full((len(grasps), self.num_samples, 3), 128, dtype=np.uint8)
        step = max(self.downsample, 1)
        valid = observation.valid.copy()
        valid[np.arange(valid.shape[0]) % step != 0] = False
        valid[:, np.arange(valid.shape[1]) % step != 0] = False
        points, pixels = depth_to_points(observation.depth, observation.intrinsics, valid)
        rgb = observation.rgb[pixels[:, 1], pixels[:, 0]]
        return colour_samples(points, rgb, grasps, self.num_samples)
