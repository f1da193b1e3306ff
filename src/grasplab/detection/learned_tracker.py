"""The learned grasp tracker: AnyGrasp's temporal association (anygrasp.txt §IV-B2) on the tracker API.

:class:`LearnedTracker` is a :class:`~grasplab.detection.tracking.TrackerBase` whose feature of a
grasp is the unit 256-d output of the association head
(:class:`~grasplab.models.grasp_association.GraspAssociationNet`) on the detector's seed and
grasp features, the grouped colours and the pose (12 numbers in the association frame: the world
when the observation has ``T_world_cam``, else the camera), and whose similarity is the cosine
mapped to [0, 1], ``(1 + cos) / 2``. Detection, the buffer, one-to-one matching, targets and
smoothing are :class:`TrackerBase`'s. Each frame's grasps and per-row inputs come from a
:class:`~grasplab.detection.association_features.FeatureSource` (a frozen GSNet by default).

Registered as tracker ``"learned"`` (:mod:`grasplab.detection.tracker_registry`) with
:class:`LearnedTrackerOptions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402

from grasplab.core import GraspGroup  # noqa: E402
from grasplab.data.association_pairs import grasp_poses  # noqa: E402
from grasplab.detection.association_features import DetectedFeatures, FeatureSource, GSNetFeatureSource  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.detection.tracker_registry import LearnedTrackerOptions  # noqa: E402
from grasplab.detection.tracking import TrackerBase, TrackerConfig, TrackResult  # noqa: E402
from grasplab.models.grasp_association import GraspAssociationNet  # noqa: E402

__all__ = [
    "LEARNED_TRACKER_CONFIG",
    "LearnedTracker",
    "LearnedTrackerOptions",
    "build_learned_tracker",
    "embed_grasps",
    "load_association",
]

#: TrackerConfig defaults of the learned tracker: a cosine of 0.5 to continue a track.
LEARNED_TRACKER_CONFIG = TrackerConfig(min_similarity=0.75, min_target_similarity=0.6, assignment="greedy")


class LearnedTracker(TrackerBase):
    """Association by the cosine of learned grasp features (module docstring).

    Args:
        source: gives each frame's grasps and their per-row inputs (None: always pass
            ``detected=`` to :meth:`update`).
        model: the association head (inference mode is set here).
        config: :class:`TrackerConfig` (default :data:`LEARNED_TRACKER_CONFIG`).
    """

    def __init__(self, source: FeatureSource | None, model: GraspAssociationNet,
                 config: TrackerConfig | None = None) -> None:
        self.source = source
        self.model = model
        self.model.train(False)
        self._pending: DetectedFeatures | None = None
        super().__init__(None, config or LEARNED_TRACKER_CONFIG)

    def update(self, observation: Observation, target_ids: Sequence[int] | None = None, *,
               grasps: GraspGroup | None = None, time: float | None = None,
               detected: DetectedFeatures | None = None) -> TrackResult:
        """As :meth:`TrackerBase.update`; ``detected`` gives precomputed grasps with features.

        Raises:
            ValueError: ``grasps`` without ``detected`` (the head needs the features), or no
                source and no ``detected``.
        """
        if detected is None:
            if grasps is not None:
                raise ValueError("LearnedTracker: pass detected= (grasps with their features), not grasps=")
            if self.source is None:
                raise ValueError("LearnedTracker has no feature source: pass detected=")
            detected = self.source.describe(observation)
        detected = detected.take(np.argsort(-detected.grasps.scores, kind="stable"))
        self._pending = detected
        try:
            return super().update(observation, target_ids, grasps=detected.grasps, time=time)
        finally:
            self._pending = None

    def features(self, grasps: GraspGroup) -> np.ndarray:
        """(M, C) unit association features of this frame's grasps (association frame)."""
        if self._pending is None or len(self._pending.grasps) != len(grasps):
            raise ValueError("LearnedTracker.features: only called from update()")
        return embed_grasps(self.model, self._pending, grasp_poses(grasps))

    def similarity(self, past: np.ndarray, current: np.ndarray) -> np.ndarray:
        """(n, M) ``(1 + cos) / 2`` of unit features."""
        return np.asarray(np.clip((1.0 + past @ current.T) / 2.0, 0.0, 1.0))


def embed_grasps(model: GraspAssociationNet, detected: DetectedFeatures, poses: np.ndarray) -> np.ndarray:
    """(M, C) float64 unit features of ``detected`` with ``poses`` (M, 12) in the association frame."""
    if not len(poses):
        return np.zeros((0, model.spec.out_dim))
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(
            torch.as_tensor(detected.seed_features, dtype=torch.float32, device=device),
            torch.as_tensor(detected.grasp_features, dtype=torch.float32, device=device),
            torch.as_tensor(detected.colours, dtype=torch.float32, device=device) / 255.0,
            torch.as_tensor(poses, dtype=torch.float32, device=device),
        )
    return np.asarray(out.cpu().numpy(), dtype=np.float64)


def load_association(path: str | Path, device: str = "cpu") -> tuple[GraspAssociationNet, dict[str, Any]]:
    """The association head of a checkpoint and the checkpoint's config."""
    from grasplab.training.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(path, device)
    if checkpoint.family != "association":
        raise ValueError(f"{path}: expected an association checkpoint, got family {checkpoint.family!r}")
    model = checkpoint.model
    assert isinstance(model, GraspAssociationNet)
    return model, checkpoint.config


def detector_postprocess() -> Any:
    """The GSNet detector's default post-processing (``GSNetOptions()``)."""
    from grasplab.detection.gsnet_detector import postprocess_config
    from grasplab.detection.gsnet_options import GSNetOptions

    return postprocess_config(GSNetOptions())


def build_learned_tracker(detector: Any, options: LearnedTrackerOptions) -> LearnedTracker:
    """A :class:`LearnedTracker` from options; ``detector`` may be a ready feature source."""
    from grasplab.detection.shipped import installed_asset, shipped_association_weights

    weights = options.weights if options.weights is not None else shipped_association_weights()
    if weights is None:
        raise ValueError("tracker 'learned': needs weights= (an association checkpoint of "
                         "`grasplab train association`; this install ships none)")
    model, config = load_association(weights, options.device)
    source = detector if hasattr(detector, "describe") else None
    if source is None:
        from grasplab.training.checkpoints import load_model

        features = dict(config.get("features", {}))
        gsnet = options.gsnet_weights or features.get("gsnet_weights")
        if not gsnet:
            raise ValueError(f"tracker 'learned': {weights} names no GSNet; pass gsnet_weights=")
        if not options.gsnet_weights and not Path(gsnet).is_file():
            # trained against shipped weights: this install's copy of them
            installed = installed_asset(gsnet)
            if installed is None:
                raise ValueError(f"tracker 'learned': the GSNet {gsnet} named by {weights} is not "
                                 "here; pass gsnet_weights=")
            gsnet = str(installed)
        num_points = options.num_points or int(features.get("num_points", 4096))
        source = GSNetFeatureSource(load_model(gsnet, options.device), num_points,
                                    int(features.get("downsample", 2)),
                                    postprocess=detector_postprocess() if options.postprocess else None)
    tracker_config = options.config or LEARNED_TRACKER_CONFIG
    if options.min_similarity is not None:
        tracker_config = replace(tracker_config, min_similarity=float(options.min_similarity))
    return LearnedTracker(source, model, tracker_config)
