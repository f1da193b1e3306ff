"""One registry of grasp trackers (``grasplab.detection.tracking``), built by name with options.

The detector registry's sibling, with its registration rules and option handling
(``check_registration``, ``resolve_options`` of :mod:`grasplab.detection.registry`); a tracker
is built around a detector from that registry. Built in: ``nearest`` (the
nearest-grasp heuristic), ``oracle`` (true object poses, a ceiling) and ``learned`` (AnyGrasp's
association head on GSNet features, :mod:`grasplab.detection.learned_tracker`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grasplab.detection.protocol import Detector
from grasplab.detection.registry import check_registration, resolve_options

__all__ = [
    "LearnedTrackerOptions",
    "TrackerEntry",
    "TrackerOptions",
    "available_trackers",
    "build_tracker",
    "register_tracker",
]


@dataclass(frozen=True)
class TrackerEntry:
    """One registered grasp tracker (``grasplab.detection.tracking``).

    Attributes:
        name: registry name (``--tracker`` value).
        builder: ``builder(detector, options) -> GraspTracker``.
        options_type: frozen dataclass of the tracker's options (all fields with defaults).
        doc: one line saying what the tracker is.
        scene_aware: it needs ``bind(state)`` of a simulated scene before each update.
    """

    name: str
    builder: Callable[[Detector | None, Any], Any]
    options_type: type
    doc: str
    scene_aware: bool = False


@dataclass(frozen=True)
class TrackerOptions:
    """Options of the built-in trackers ``nearest`` and ``oracle``.

    Attributes:
        config: a ``TrackerConfig`` (None: the default).
        length_scale: length scale w of the pose distance (m).
        gamma: weight of the rotation term of the pose distance.
    """

    config: Any = None
    length_scale: float = 0.1
    gamma: float = 0.1


@dataclass(frozen=True)
class LearnedTrackerOptions:
    """Options of the ``learned`` tracker (:mod:`grasplab.detection.learned_tracker`).

    Attributes:
        weights: the association checkpoint (``grasplab train association``); required.
        gsnet_weights: the GSNet checkpoint of the features (None: the one the association
            head was trained on, from its checkpoint's config).
        config: a ``TrackerConfig`` (None: the learned tracker's defaults).
        min_similarity: overrides ``config.min_similarity`` when set.
        num_points: points per frame for the GSNet (None: from the training config, else 4096).
        device: torch device.
        postprocess: follow the GSNet detector's post-processed grasps (its default workspace,
            NMS, centring and collision check, 50 best; ``GSNetOptions()``), as
            ``--method gsnet`` gives them; False: every seed's raw grasp.
    """

    weights: str | None = None
    gsnet_weights: str | None = None
    config: Any = None
    min_similarity: float | None = None
    num_points: int | None = None
    device: str = "cpu"
    postprocess: bool = True


_TRACKERS: dict[str, TrackerEntry] = {}


def register_tracker(name: str, builder: Callable[[Detector | None, Any], Any],
                     options_type: type, doc: str, *, scene_aware: bool = False,
                     replace: bool = False) -> None:
    """Register a grasp tracker under ``name`` (same rules as :func:`register_detector`)."""
    check_registration("tracker", name, options_type, taken=name in _TRACKERS and not replace)
    _TRACKERS[name] = TrackerEntry(name, builder, options_type, doc, scene_aware)


def available_trackers() -> tuple[str, ...]:
    """Registered tracker names, sorted."""
    return tuple(sorted(_TRACKERS))


def build_tracker(name: str, detector: Detector | None = None, options: Any = None, /,
                  **overrides: Any) -> Any:
    """Build the tracker ``name`` around ``detector`` (options as in :func:`build_detector`).

    Raises:
        ValueError: an unknown name (the message lists the known ones) or unknown options.
    """
    if name not in _TRACKERS:
        raise ValueError(f"unknown tracker {name!r}; expected one of {', '.join(available_trackers())}")
    entry = _TRACKERS[name]
    return entry.builder(detector, resolve_options("tracker", name, entry.options_type, options, overrides))


def _build_nearest_tracker(detector: Detector | None, options: TrackerOptions) -> Any:
    from grasplab.detection.tracking import NearestTracker

    return NearestTracker(detector, options.config, options.length_scale, options.gamma)


def _build_oracle_tracker(detector: Detector | None, options: TrackerOptions) -> Any:
    from grasplab.detection.tracking import OracleTracker

    return OracleTracker(detector, options.config, options.length_scale, options.gamma)


register_tracker("nearest", _build_nearest_tracker, TrackerOptions,
                 "nearest-grasp heuristic: association by pose distance (AnyGrasp's baseline)")
register_tracker("oracle", _build_oracle_tracker, TrackerOptions,
                 "same-grasp distance in each object's frame from true poses (a ceiling)",
                 scene_aware=True)


def _build_learned_tracker(detector: Detector | None, options: LearnedTrackerOptions) -> Any:
    from grasplab.detection.learned_tracker import build_learned_tracker

    return build_learned_tracker(detector, options)


register_tracker("learned", _build_learned_tracker, LearnedTrackerOptions,
                 "learned association: cosine of AnyGrasp's grasp features on a GSNet (weights=)")
