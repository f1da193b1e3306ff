"""Grasp trackers: detect grasps in every frame and keep stable identities across frames.

The API follows AnyGrasp's (anygrasp.txt §IV-B2, §V-B): ``update(observation, target_ids=None)
-> TrackResult`` gives this frame's grasps, a stable track id per grasp, the correspondence score
with the track each grasp continues, and the current targets. A tracker keeps a buffer of the
features of recently seen tracks; every frame its grasps are matched one to one to the buffer
(Hungarian assignment on the similarity, pairs below ``min_similarity`` rejected; unmatched
grasps start new tracks numbered in score order, so on the first frame a grasp's track id is its
row). Targets: given by the user (``target_ids``, track ids of the previous result or rows of the
first frame), else the best-scored grasp; afterwards the grasp most similar to the target's last
feature (Alg. 1 line 14), the target lost when nothing reaches ``min_target_similarity``. Target
poses are smoothed (:mod:`grasplab.detection.smoothing`).

Trackers differ only in their features and similarity:

- :class:`NearestTracker`: the nearest-grasp heuristic: the feature is the pose (12 numbers),
  similarity ``exp(-d)`` with the pose distance ``d = Δt / w + γ ΔR / π`` in the world frame;
- :class:`OracleTracker` (a scene-aware tracker for simulation, a ceiling): the feature is the
  object id and the grasp pose in that object's frame (ground-truth poses from :meth:`bind`),
  similarity ``exp(-d)`` with the same-grasp distance of
  :mod:`grasplab.labels.grasp_correspondence`, 0 across objects;
- the learned association (cosine similarity of 256-d grasp features) plugs in the same way.

Frames: grasps in the observation's camera frame (OpenCV, metres); association in the world
frame when the observation has ``T_world_cam``, else in the camera frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from scipy.optimize import linear_sum_assignment

from grasplab.core import GraspGroup, invert_transform, make_transform
from grasplab.detection.observation import Observation
from grasplab.detection.protocol import Detector, SceneAwareDetector
from grasplab.detection.smoothing import PoseFilter, SmoothingConfig, make_pose_filter
from grasplab.labels.grasp_correspondence import DEFAULT_GAMMA, DEFAULT_W_MAX, pose_distance_matrix

if TYPE_CHECKING:
    from grasplab.detection.scene_state import SceneState

__all__ = [
    "GraspTracker",
    "NearestTracker",
    "OracleTracker",
    "TrackResult",
    "TrackerBase",
    "TrackerConfig",
]


@dataclass(frozen=True, eq=False)
class TrackResult:
    """One frame of tracking.

    Attributes:
        frame: 0-based index of the frame since the last reset.
        grasps: (M,) this frame's grasps, camera frame, best score first.
        track_ids: (M,) int64 stable id of each grasp's track.
        scores: (M,) correspondence score in [0, 1] with the track each grasp continues (0 for
            a new track).
        target_ids: track ids of the current targets (empty when none).
        target_rows: (K,) row of each target in ``grasps``.
        targets: (K,) the target grasps with smoothed poses, camera frame.
        lost_ids: targets lost in this frame (no grasp similar enough).
    """

    frame: int
    grasps: GraspGroup
    track_ids: np.ndarray
    scores: np.ndarray
    target_ids: tuple[int, ...] = ()
    target_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    targets: GraspGroup = field(default_factory=GraspGroup.empty)
    lost_ids: tuple[int, ...] = ()


@runtime_checkable
class GraspTracker(Protocol):
    """Anything that tracks grasps frame after frame."""

    def update(self, observation: Observation, target_ids: Sequence[int] | None = None, *,
               grasps: GraspGroup | None = None, time: float | None = None) -> TrackResult:
        """Detect (unless ``grasps`` are given) and associate the next frame's grasps."""
        ...

    def reset(self) -> None:
        """Forget every track and target."""
        ...


@dataclass(frozen=True)
class TrackerConfig:
    """Settings shared by every tracker.

    Attributes:
        min_similarity: least similarity of a grasp and a buffered track to continue it.
        min_target_similarity: least similarity of a grasp to the target's last feature for
            the target to continue (below it the target is lost).
        buffer_size: most tracks kept in the feature buffer (the latest seen first).
        max_missed: frames a track is kept after it was last seen.
        frame_rate: frames per second, for the smoothing filters' time stamps when
            ``update`` is not given a ``time``.
        smoothing: the target-pose filter.
        assignment: ``"hungarian"`` (optimal one-to-one, scipy) or ``"greedy"`` (pairs above
            ``min_similarity`` taken best first: faster for a thousand grasps per frame).
    """

    min_similarity: float = 0.5
    min_target_similarity: float = 0.2
    buffer_size: int = 1024
    max_missed: int = 5
    frame_rate: float = 10.0
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    assignment: str = "hungarian"

    def __post_init__(self) -> None:
        if self.assignment not in ("hungarian", "greedy"):
            raise ValueError(f"TrackerConfig.assignment: expected 'hungarian' or 'greedy', got "
                             f"{self.assignment!r}")
        for name in ("min_similarity", "min_target_similarity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"TrackerConfig.{name}: expected in [0, 1], got "
                                 f"{getattr(self, name)}")
        if self.buffer_size < 1 or self.max_missed < 0 or not self.frame_rate > 0:
            raise ValueError("TrackerConfig: need buffer_size >= 1, max_missed >= 0, frame_rate > 0")


@dataclass
class _Track:
    feature: np.ndarray
    last_frame: int


class TrackerBase(ABC):
    """Detection, buffer, one-to-one association, targets and smoothing (module docstring).

    Subclasses define :meth:`features` and :meth:`similarity`.

    Args:
        detector: gives each frame's grasps (camera frame); None when grasps are always passed
            to :meth:`update`.
        config: :class:`TrackerConfig`.
    """

    def __init__(self, detector: Detector | None = None, config: TrackerConfig | None = None) -> None:
        self.detector = detector
        self.config = config or TrackerConfig()
        self.reset()

    def reset(self) -> None:
        """Forget every track, target and filter state."""
        self._tracks: dict[int, _Track] = {}
        self._next_id = 0
        self._frame = -1
        self._targets: dict[int, PoseFilter] = {}
        self._target_features: dict[int, np.ndarray] = {}

    @abstractmethod
    def features(self, grasps: GraspGroup) -> np.ndarray:
        """(M, C) features of grasps given in the association frame."""

    @abstractmethod
    def similarity(self, past: np.ndarray, current: np.ndarray) -> np.ndarray:
        """(n, M) similarities in [0, 1] between buffered and current features."""

    # ------------------------------------------------------------------ the frame update
    def update(self, observation: Observation, target_ids: Sequence[int] | None = None, *,
               grasps: GraspGroup | None = None, time: float | None = None) -> TrackResult:
        """Track one frame.

        Args:
            observation: the frame (its ``T_world_cam``, when given, fixes the world frame).
            target_ids: track ids to follow from now on (None: keep the current targets, or
                take the best grasp when there are none).
            grasps: this frame's grasps in the camera frame (None: run the detector).
            time: time stamp (s) for the smoothing filters (None: frame / frame_rate).

        Returns:
            :class:`TrackResult`.

        Raises:
            ValueError: no detector and no grasps, or unknown target ids.
        """
        if grasps is None:
            if self.detector is None:
                raise ValueError("this tracker has no detector: pass grasps=")
            grasps = self.detector.detect(observation)
        grasps = grasps.sort_by_score()
        self._frame += 1
        stamp = self._frame / self.config.frame_rate if time is None else float(time)
        T_ref_cam = observation.T_world_cam if observation.T_world_cam is not None else np.eye(4)
        current = self.features(grasps.transform(T_ref_cam))
        ids, scores = self._associate(current)
        self._store(ids, current)
        rows, lost = self._follow_targets(target_ids, ids, current, grasps)
        targets = self._smoothed(rows, ids, grasps, T_ref_cam, stamp)
        return TrackResult(self._frame, grasps, ids, scores, tuple(int(ids[r]) for r in rows),
                           np.asarray(rows, dtype=np.int64), targets, tuple(lost))

    def _associate(self, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        num = len(current)
        ids = np.full(num, -1, dtype=np.int64)
        scores = np.zeros(num)
        past_ids = list(self._tracks)
        if past_ids and num:
            sim = self.similarity(np.stack([self._tracks[i].feature for i in past_ids]), current)
            for r, c in zip(*_assign(sim, self.config.min_similarity, self.config.assignment),
                            strict=True):
                ids[c], scores[c] = past_ids[r], sim[r, c]
        for c in np.flatnonzero(ids < 0):
            ids[c] = self._next_id
            self._next_id += 1
        return ids, scores

    def _store(self, ids: np.ndarray, current: np.ndarray) -> None:
        for i, feature in zip(ids.tolist(), current, strict=True):
            self._tracks[i] = _Track(feature, self._frame)
        alive = [(t.last_frame, i) for i, t in self._tracks.items()
                 if self._frame - t.last_frame <= self.config.max_missed]
        keep = {i for _, i in sorted(alive, reverse=True)[: self.config.buffer_size]}
        self._tracks = {i: t for i, t in self._tracks.items() if i in keep}

    def _follow_targets(self, target_ids: Sequence[int] | None, ids: np.ndarray,
                        current: np.ndarray, grasps: GraspGroup) -> tuple[list[int], list[int]]:
        """Rows of this frame's targets and the ids lost; updates the target state."""
        if target_ids is not None:
            self._set_targets(target_ids)
        if not self._targets and len(grasps) and target_ids is None:
            best = int(np.argmax(grasps.scores))
            self._targets[int(ids[best])] = make_pose_filter(self.config.smoothing)
        rows: list[int] = []
        lost: list[int] = []
        # re-keyed from snapshots: a target may continue under the id another target had
        old_targets, old_features = self._targets, self._target_features
        self._targets, self._target_features = {}, {}
        for tid, pose_filter in old_targets.items():
            row = self._target_row(tid, ids, current, old_features.get(tid))
            if row is None or row in rows:
                lost.append(tid)
                continue
            rows.append(row)
            self._targets[int(ids[row])] = pose_filter
            self._target_features[int(ids[row])] = current[row]
        return rows, lost

    def _set_targets(self, target_ids: Sequence[int]) -> None:
        wanted = [int(i) for i in target_ids]
        unknown = [i for i in wanted if i not in self._tracks]
        if unknown:
            raise ValueError(f"target_ids: unknown track ids {unknown}; known: "
                             f"{sorted(self._tracks)[:20]}")
        kept = {i: f for i, f in self._targets.items() if i in wanted}
        self._targets = {i: kept.get(i) or make_pose_filter(self.config.smoothing) for i in wanted}

    def _target_row(self, tid: int, ids: np.ndarray, current: np.ndarray,
                    last: np.ndarray | None) -> int | None:
        here = np.flatnonzero(ids == tid)
        if len(here):
            return int(here[0])
        if last is None or not len(current):
            return None
        sim = self.similarity(last[None], current)[0]
        best = int(np.argmax(sim))
        return best if sim[best] >= self.config.min_target_similarity else None

    def _smoothed(self, rows: list[int], ids: np.ndarray, grasps: GraspGroup,
                  T_ref_cam: np.ndarray, stamp: float) -> GraspGroup:
        if not rows:
            return GraspGroup.empty()
        chosen = grasps[np.asarray(rows)].transform(T_ref_cam)
        rots, trans = chosen.rotations.copy(), chosen.translations.copy()
        for k, row in enumerate(rows):
            pose = self._targets[int(ids[row])](stamp, make_transform(rots[k], trans[k]))
            rots[k], trans[k] = pose[:3, :3], pose[:3, 3]
        smooth = chosen.with_columns(rotations=rots, translations=trans, validate=False)
        return smooth.transform(invert_transform(T_ref_cam))


def _assign(sim: np.ndarray, least: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one (row, column) pairs of ``sim`` (n, M) with similarity >= ``least``."""
    if method == "hungarian":
        rows, cols = linear_sum_assignment(-sim)
        keep = sim[rows, cols] >= least
        return rows[keep], cols[keep]
    return _greedy_pairs(sim, least)


def _greedy_pairs(sim: np.ndarray, least: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one pairs of similarity >= ``least``, in the order the greedy pass takes them.

    The pass visits pairs by similarity (ties: row-major) and takes each whose row and column are
    both free. Here it runs in rounds instead of pair by pair: a pair that is the first maximum
    of its row and of its column (in that order) is taken by the pass whatever comes before it,
    so each round takes all such pairs, removes their rows and columns and repeats.
    """
    m = sim.shape[1]
    ok = sim >= least
    row_ids, col_ids = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    live = np.where(ok, sim, -np.inf)[np.ix_(row_ids, col_ids)]  # rows and columns with a candidate
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    while live.size:
        best_col = live.argmax(axis=1)  # first maximum: the smallest column among ties
        best_row = live.argmax(axis=0)  # the smallest row among ties
        here = np.arange(len(row_ids))
        mutual = (best_row[best_col] == here) & np.isfinite(live[here, best_col])
        rows_out.append(row_ids[mutual])
        cols_out.append(col_ids[best_col[mutual]])
        live[mutual, :] = -np.inf
        live[:, best_col[mutual]] = -np.inf
        finite = np.isfinite(live)  # drop the rows and columns left without a candidate
        keep_r, keep_c = finite.any(axis=1), finite.any(axis=0)
        live, row_ids, col_ids = live[np.ix_(keep_r, keep_c)], row_ids[keep_r], col_ids[keep_c]
    rows = np.concatenate(rows_out).astype(np.int64) if rows_out else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols_out).astype(np.int64) if cols_out else np.zeros(0, dtype=np.int64)
    order = np.lexsort((rows * m + cols, -sim[rows, cols]))  # similarity descending, then row-major
    return rows[order], cols[order]


class NearestTracker(TrackerBase):
    """The nearest-grasp heuristic: association by pose distance (module docstring).

    Args:
        detector: gives each frame's grasps.
        config: :class:`TrackerConfig`.
        length_scale: ``w`` of the pose distance (m); a 5 cm move gives similarity e^-0.5.
        gamma: weight of the rotation term.
    """

    def __init__(self, detector: Detector | None = None, config: TrackerConfig | None = None,
                 length_scale: float = DEFAULT_W_MAX, gamma: float = DEFAULT_GAMMA) -> None:
        self.length_scale, self.gamma = float(length_scale), float(gamma)
        if not self.length_scale > 0:
            raise ValueError(f"length_scale: expected > 0 m, got {length_scale}")
        super().__init__(detector, config)

    def features(self, grasps: GraspGroup) -> np.ndarray:
        """(M, 12) rotation (row-major) and translation of each grasp."""
        return np.concatenate([grasps.rotations.reshape(-1, 9), grasps.translations], axis=1)

    def similarity(self, past: np.ndarray, current: np.ndarray) -> np.ndarray:
        """(n, M) ``exp(-d)`` of the pose distance."""
        d = pose_distance_matrix(past[:, :9].reshape(-1, 3, 3), past[:, 9:12],
                                 current[:, :9].reshape(-1, 3, 3), current[:, 9:12],
                                 w_max=self.length_scale, gamma=self.gamma)
        return np.asarray(np.exp(-d))


class OracleTracker(NearestTracker):
    """Association by the same-grasp distance in each object's frame, from true poses.

    A scene-aware tracker: call :meth:`bind` with the scene state before each :meth:`update`
    (the observation must then carry ``T_world_cam``). A grasp's object is its ``object_id``
    column, or else the object whose origin is nearest to the grasp point (within
    ``max_object_distance``). Different objects have similarity 0.
    """

    max_object_distance = 0.15

    def __init__(self, detector: Detector | None = None, config: TrackerConfig | None = None,
                 length_scale: float = DEFAULT_W_MAX, gamma: float = DEFAULT_GAMMA) -> None:
        super().__init__(detector, config, length_scale, gamma)
        self._state: SceneState | None = None

    def bind(self, state: SceneState) -> None:
        """Bind the scene as it lies now (also binds a scene-aware detector)."""
        self._state = state
        if isinstance(self.detector, SceneAwareDetector):
            self.detector.bind(state)

    def update(self, observation: Observation, target_ids: Sequence[int] | None = None, *,
               grasps: GraspGroup | None = None, time: float | None = None) -> TrackResult:
        """As :meth:`TrackerBase.update`; needs :meth:`bind` and ``T_world_cam`` first."""
        if self._state is None or observation.T_world_cam is None:
            raise ValueError("OracleTracker: bind(state) first and give T_world_cam")
        return super().update(observation, target_ids, grasps=grasps, time=time)

    def _objects_of(self, grasps: GraspGroup) -> np.ndarray:
        assert self._state is not None
        ids = grasps.object_ids.astype(np.int64)
        known = np.isin(ids, np.asarray(self._state.object_ids, dtype=np.int64))
        origins = self._state.T_world_obj[:, :3, 3]
        if len(origins) and not np.all(known):
            dist = np.linalg.norm(grasps.translations[:, None] - origins[None], axis=2)
            nearest = np.asarray(self._state.object_ids)[np.argmin(dist, axis=1)]
            near = dist.min(axis=1) <= self.max_object_distance
            ids = np.where(known, ids, np.where(near, nearest, -1))
        return np.where(np.isin(ids, np.asarray(self._state.object_ids)), ids, -1)

    def features(self, grasps: GraspGroup) -> np.ndarray:
        """(M, 13): the grasp pose in its object's frame (12 numbers) and the object id."""
        assert self._state is not None
        objects = self._objects_of(grasps)
        index = {oid: k for k, oid in enumerate(self._state.object_ids)}
        T_obj_world = np.stack([*(invert_transform(T) for T in self._state.T_world_obj), np.eye(4)])
        T = T_obj_world[[index.get(oid, len(index)) for oid in objects.tolist()]]  # (M, 4, 4)
        rotations = np.matmul(T[:, :3, :3], grasps.rotations).reshape(-1, 9)
        translations = np.einsum("mij,mj->mi", T[:, :3, :3], grasps.translations) + T[:, :3, 3]
        return np.concatenate([rotations, translations, objects[:, None].astype(np.float64)],
                              axis=1)

    def similarity(self, past: np.ndarray, current: np.ndarray) -> np.ndarray:
        """(n, M) ``exp(-d)`` in the object frame; 0 across objects or for unknown objects."""
        sim = super().similarity(past[:, :12], current[:, :12])
        same = (past[:, 12][:, None] == current[:, 12][None, :]) & (past[:, 12][:, None] >= 0)
        return np.where(same, sim, 0.0)
