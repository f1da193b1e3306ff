"""An analytic sample-and-evaluate grasp detector (GPD-style, no training, no GPU).

Pipeline (GraspNet-1Billion §2 and Fig. 3; AnyGrasp §IV-D for the centring):

1. back-project the depth image (every ``pixel_stride``-th pixel, within a depth range) to a
   cloud in the camera frame and voxel-downsample it;
2. find the dominant plane (the table) by RANSAC and keep it out of the grasp-point samples
   (it still counts for collisions);
3. sample grasp points on the region of interest: the observation's mask, or without one the
   points resting inside or on the support (:mod:`grasplab.detection.support`: a bin's floor,
   walls and rims and the table are obstacles, not grasp points);
4. estimate PCA normals (k nearest neighbours, oriented towards the camera) for the points
   around the samples;
5. propose approach views near each inward normal, ``num_angles`` in-plane rotations and
   ``depths``, then run the vectorized hand search (:mod:`grasplab.detection.hand_search`):
   width from the points between the jaws, centring, palm/finger collision, emptiness and an
   antipodal + clearance score;
6. score each valid hand: the antipodal + clearance score of the search (normals near the
   jaw line in the fingertip band, where force closure is judged), minus penalties for finger
   sample points hidden behind the observed surface (the unseen side of an object or the table
   under it: the main cause of collisions in the AP check), for too few observed points in
   the fingertip band between the jaws (graded up to ``tip_points``: the jaw line may miss the
   object), for an approach tilted away from the table normal (bins are picked from above)
   and for a jaw line far from the centroid of the observed part between the jaws (a
   stable-score analogue, GraspNet-1Billion §2), plus a bonus for deeper grasps (a larger
   contact patch holds better in physics);
7. keep the best depth of each (point, rotation) and the best ``pre_nms`` proposals, apply the
   reference pose NMS, re-check the survivors against the cloud with
   ``GripperModel.collision_and_empty`` and return the best ``max_grasps``.

Output grasps are in the camera frame (OpenCV, metres), sorted by score descending; scores are
at most ``1 + clearance_weight + depth_weight`` (penalties may make them negative). With an
integer instance mask, a grasp's ``object_id`` is the label of its grasp point minus one (-1
otherwise). The detector is deterministic for an integer seed. Its settings,
:class:`~grasplab.detection.analytic_config.AnalyticDetectorConfig`, live in
:mod:`grasplab.detection.analytic_config`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from grasplab.core import GraspGroup, as_rng, depth_to_points
from grasplab.core.validation import RngLike
from grasplab.detection.analytic_config import AnalyticDetectorConfig
from grasplab.detection.cloud import estimate_normals, fit_plane, voxel_downsample
from grasplab.detection.hand_search import HandSearchResult, search_hands
from grasplab.detection.observation import Observation
from grasplab.detection.proposals import (
    approach_directions,
    candidate_rotations,
    centroid_offsets,
    finger_samples,
    local_frames,
    neighborhoods,
    occluded_fraction,
)
from grasplab.detection.support import find_support

__all__ = ["AnalyticDetector", "AnalyticDetectorConfig"]  # the config re-exported for callers

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class _Cloud:
    points: np.ndarray  # (M, 3) voxel centroids, camera frame
    in_roi: np.ndarray  # (M,) bool: voxel holds a pixel of the region of interest
    labels: np.ndarray  # (M,) int: largest instance label of the voxel's pixels (0 = none)
    on_plane: np.ndarray  # (M,) bool: inlier of the dominant plane (all False without one)
    plane_normal: np.ndarray  # (3,) unit normal of that plane, facing the camera
    found_plane: bool = False  # a dominant plane was found (plane_normal is meaningful)


class AnalyticDetector:
    """Sample-and-evaluate 6-DoF grasp detector on one depth frame (see the module docstring).

    Args:
        config: settings; default :class:`AnalyticDetectorConfig`.
        rng: seed or generator. An int (or None) seeds a fresh generator on every call, so
            repeated calls give identical grasps; a Generator is consumed across calls.

    Attributes:
        last_timings_: seconds spent per stage in the latest :meth:`detect` call.
    """

    def __init__(
        self, config: AnalyticDetectorConfig | None = None, rng: RngLike = 0
    ) -> None:
        self.config = AnalyticDetectorConfig() if config is None else config
        if not isinstance(self.config, AnalyticDetectorConfig):
            raise ValueError(f"config: expected AnalyticDetectorConfig, got {type(config).__name__}")
        self.rng = rng
        as_rng(rng)  # validate early
        self.last_timings_: dict[str, float] = {}

    def detect(self, observation: Observation) -> GraspGroup:
        """Detect grasps in one observation.

        Args:
            observation: depth frame (and optional mask selecting where grasp points go).

        Returns:
            Up to ``max_grasps`` grasps in the camera frame, sorted by score descending; empty
            when the region of interest holds too few points.
        """
        if not isinstance(observation, Observation):
            raise ValueError(f"observation: expected an Observation, got {type(observation).__name__}")
        rng = as_rng(self.rng)  # an int seeds a fresh generator on every call
        timer = _Timer()
        cfg = self.config
        cloud = self._cloud(observation, rng)
        timer.lap("cloud")
        candidates = np.flatnonzero(cloud.in_roi & ~cloud.on_plane)
        if len(cloud.points) < cfg.gripper.empty_thresh + 3 or len(candidates) == 0:
            self.last_timings_ = timer.laps
            return GraspGroup.empty()
        count = min(cfg.num_samples, len(candidates))
        samples = np.sort(rng.choice(candidates, size=count, replace=False))
        grasps = self._propose(cloud, samples, rng, timer, observation)
        grasps = grasps.sort_by_score()[: cfg.pre_nms]
        grasps = grasps.nms(cfg.nms_translation, cfg.nms_rotation)
        timer.lap("nms")
        grasps = self._verify(grasps, cloud.points)
        timer.lap("verify")
        self.last_timings_ = timer.laps
        logger.debug("analytic detector: %d grasps, timings %s", len(grasps), timer.laps)
        return grasps

    def _cloud(self, observation: Observation, rng: np.random.Generator) -> _Cloud:
        """Voxel-downsampled cloud, its region-of-interest flags and its dominant plane."""
        cfg = self.config
        depth = observation.depth
        select = (depth >= cfg.min_depth) & (depth <= cfg.max_depth)
        stride = np.zeros_like(select)
        stride[:: cfg.pixel_stride, :: cfg.pixel_stride] = True
        select &= stride
        plane_normal = np.array([0.0, 0.0, -1.0])  # unused unless a plane is found
        if not np.any(select):
            empty = np.zeros(0, dtype=bool)
            return _Cloud(np.zeros((0, 3)), empty, np.zeros(0, np.int64), empty, plane_normal)
        points, uv = depth_to_points(depth, observation.intrinsics, select)
        roi = observation.roi[uv[:, 1], uv[:, 0]]
        if observation.mask is None and cfg.support is not None:  # not the bin: what it holds
            roi &= find_support(points, cfg.support, rng).resting
        centroids, voxel = voxel_downsample(points, cfg.voxel_size)
        in_roi = np.bincount(voxel, weights=roi, minlength=len(centroids)) > 0
        labels = np.zeros(len(centroids), dtype=np.int64)
        mask = observation.mask
        if mask is not None and mask.dtype != bool:
            np.maximum.at(labels, voxel, mask[uv[:, 1], uv[:, 0]])
        on_plane = np.zeros(len(centroids), dtype=bool)
        if cfg.remove_plane and len(centroids) >= 3:
            try:
                normal, offset, inliers = fit_plane(centroids, cfg.plane_threshold, rng=rng)
            except ValueError:  # a degenerate (collinear) cloud has no plane
                normal, offset, inliers = plane_normal, 0.0, on_plane
            if inliers.mean() >= cfg.plane_min_fraction:
                on_plane = inliers
                # the camera sits at the origin, where n·0 + offset > 0 on the normal's side
                plane_normal = normal if offset > 0 else -normal
        return _Cloud(centroids, in_roi, labels, on_plane, plane_normal, bool(on_plane.any()))

    def _normals(self, cloud: _Cloud, tree: cKDTree, needed: np.ndarray) -> np.ndarray:
        """(M, 3) outward normals: PCA for the needed points off the plane, the plane's on it."""
        normals = np.zeros_like(cloud.points)
        normals[cloud.on_plane] = cloud.plane_normal
        query = needed[~cloud.on_plane[needed]]
        normals[query] = estimate_normals(cloud.points, self.config.num_neighbors, query=query,
                                          tree=tree)
        return normals

    def _propose(
        self, cloud: _Cloud, samples: np.ndarray, rng: np.random.Generator, timer: _Timer,
        observation: Observation,
    ) -> GraspGroup:
        """Hand-search every (sample, view, angle, depth) and return the valid proposals."""
        cfg, gripper, points = self.config, self.config.gripper, cloud.points
        params = cfg.search_params
        tree = cKDTree(points)
        neighbors = neighborhoods(tree, points[samples], params.reach(gripper), cfg.max_neighbors)
        real = neighbors < len(points)
        if np.any(real[:, -1]):
            logger.debug("max_neighbors=%d truncated %d neighbourhoods", cfg.max_neighbors,
                         int(real[:, -1].sum()))
        neighbors = neighbors[:, : int(real.sum(axis=1).max())]  # drop all-padding columns
        normals = self._normals(cloud, tree, np.unique(neighbors[neighbors < len(points)]))
        timer.lap("normals")
        phase = rng.uniform(0.0, 2 * np.pi, size=len(samples))
        views = approach_directions(normals[samples], cfg.num_tilted_views, cfg.view_tilt, phase)
        rotations = candidate_rotations(views, cfg.num_angles)  # (S, R, 3, 3)
        local, normal_y = local_frames(points, normals, neighbors, points[samples], rotations)
        timer.lap("frames")
        result = search_hands(local, normal_y, gripper, params)
        timer.lap("search")
        scores = self._scores(cloud, samples, rotations, result, observation)
        timer.lap("score")
        # Depths of one (point, rotation) share the pose up to a shift along the jaw axis, so
        # pose NMS would keep only the best of them: keep it right away (ties: the deepest).
        num_depths = scores.shape[1]
        best = num_depths - 1 - np.argmax(scores[:, ::-1], axis=1)
        pair = np.flatnonzero(np.isfinite(scores[np.arange(len(scores)), best]))
        depth_idx = best[pair]
        rot = rotations.reshape(-1, 3, 3)[pair]
        offsets = result.offsets[pair, depth_idx]
        point = samples[pair // rotations.shape[1]]
        centres = points[point] + offsets[:, None] * rot[:, :, 1]
        final = scores[pair, depth_idx]
        if len(pair) > cfg.pre_nms:  # only the best pre_nms go on: re-score just those
            top = np.sort(np.argsort(-final, kind="stable")[: cfg.pre_nms])
            pair, depth_idx, rot, offsets, point, centres, final = (
                pair[top], depth_idx[top], rot[top], offsets[top], point[top], centres[top],
                final[top])
        if cfg.centroid_weight > 0 and len(pair):
            span = centroid_offsets(local, neighbors, cloud.on_plane, pair, offsets,
                                    result.widths[pair, depth_idx], gripper)
            final = final - cfg.centroid_weight * np.minimum(span / cfg.centroid_scale, 1.0)
        return GraspGroup.from_components(
            centres, rot, result.widths[pair, depth_idx], np.asarray(cfg.depths)[depth_idx],
            scores=final, heights=gripper.height,
            object_ids=cloud.labels[point] - 1, validate=False,
        )

    def _scores(
        self, cloud: _Cloud, samples: np.ndarray, rotations: np.ndarray,
        result: HandSearchResult, observation: Observation,
    ) -> np.ndarray:
        """(P, D) grasp scores, -inf for invalid hands (see :class:`AnalyticDetectorConfig`)."""
        cfg, gripper = self.config, self.config.gripper
        rot = rotations.reshape(-1, 3, 3)
        num_depths = result.valid.shape[1]
        depths = np.asarray(cfg.depths)
        scores = (result.antipodal + cfg.clearance_weight * result.clearance
                  - cfg.tip_weight * (1.0 - np.minimum(result.tip_points / cfg.tip_points, 1.0))
                  + cfg.depth_weight * np.arange(num_depths) / max(num_depths - 1, 1))
        pair, level = np.nonzero(result.valid)
        point = samples[pair // rotations.shape[1]]
        if cfg.occlusion_weight > 0 and len(pair):
            centres = (cloud.points[point]
                       + result.offsets[pair, level, None] * rot[pair, :, 1])
            local = finger_samples(result.widths[pair, level], depths[level], gripper)
            hidden = occluded_fraction(centres, rot[pair], local, observation.depth,
                                       observation.intrinsics, cfg.occlusion_tolerance)
            scores[pair, level] -= cfg.occlusion_weight * hidden
        if cfg.tilt_weight > 0:
            if cloud.found_plane:
                down = np.broadcast_to(-cloud.plane_normal, (len(rot), 3))
            else:  # the camera ray through the grasp point
                ray = cloud.points[samples][np.arange(len(rot)) // rotations.shape[1]]
                down = ray / np.linalg.norm(ray, axis=1, keepdims=True)
            tilt = np.arccos(np.clip(np.einsum("pi,pi->p", rot[:, :, 0], down), -1.0, 1.0))
            excess = np.clip((tilt - cfg.tilt_free) / (np.pi / 2 - cfg.tilt_free), 0.0, 1.0)
            scores -= cfg.tilt_weight * excess[:, None]
        return np.where(result.valid, scores, -np.inf)

    def _verify(self, grasps: GraspGroup, points: np.ndarray) -> GraspGroup:
        """The best ``max_grasps`` grasps that pass the reference collision / empty check.

        The hand search only accepts free, non-empty hands up to its bin resolution, so this
        float64 check on the cloud rarely rejects anything; it makes the guarantee exact.
        """
        wanted = self.config.max_grasps
        kept: list[GraspGroup] = []
        num_kept, start = 0, 0
        while num_kept < wanted and start < len(grasps):
            batch = grasps[start : start + wanted - num_kept]
            collision, empty = self.config.gripper.collision_and_empty(batch, points)
            if np.any(collision | empty):
                logger.debug("exact check rejected %d grasps", int(np.sum(collision | empty)))
            kept.append(batch[~(collision | empty)])
            num_kept += len(kept[-1])
            start += len(batch)
        return GraspGroup.concatenate(kept) if kept else GraspGroup.empty()


class _Timer:
    """Stage stopwatch: ``lap(name)`` records the seconds since the previous lap."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now
