"""Tests of the learned grasp tracker: association of a hand-made pair, the tracker API, registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grasplab.core import CameraIntrinsics, GraspGroup, make_transform
from grasplab.core.rotations import rotation_x, rotation_z
from grasplab.detection.association_features import DetectedFeatures, colour_samples, grasp_objects_from_mask
from grasplab.detection.learned_tracker import LearnedTracker, build_learned_tracker
from grasplab.detection.observation import Observation
from grasplab.detection.smoothing import SmoothingConfig
from grasplab.detection.tracker_registry import LearnedTrackerOptions, available_trackers, build_tracker
from grasplab.detection.tracking import NearestTracker, TrackerConfig
from grasplab.models.grasp_association import AssociationSpec, GraspAssociationNet
from grasplab.models.registry import build_model
from grasplab.training.checkpoints import save_checkpoint

FEATURE_DIM = 16


def _observation() -> Observation:
    K = CameraIntrinsics(500.0, 500.0, 32.0, 24.0, 64, 48)
    return Observation(np.full((48, 64), 0.5, np.float32), K, T_world_cam=np.eye(4))


def _row_grasps(num: int = 6, spacing: float = 0.03) -> GraspGroup:
    """Grasps on a line along x, 3 cm apart, scores falling with the row."""
    t = np.stack([np.arange(num) * spacing, np.zeros(num), np.full(num, 0.5)], axis=1)
    R = np.stack([rotation_z(0.3 * k) @ rotation_x(0.2) for k in range(num)])
    return GraspGroup.from_components(t, R, np.full(num, 0.05), np.full(num, 0.02),
                                      np.linspace(0.9, 0.4, num))


def _detected(grasps: GraspGroup, seed: np.ndarray) -> DetectedFeatures:
    num = len(grasps)
    return DetectedFeatures(grasps, seed.astype(np.float32), np.zeros((num, 0), np.float32),
                            np.full((num, 16, 3), 128, np.uint8))


def _appearance_net() -> GraspAssociationNet:
    """A head that sees only the seed features (no pose, no colour): equal inputs, equal outputs."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model("association", AssociationSpec(seed_dim=FEATURE_DIM, grasp_dim=0, colour_dim=0,
                                                           use_pose=False, hidden_dim=32, out_dim=32))
    assert isinstance(model, GraspAssociationNet)
    return model


def _moved_pair(rng: np.random.Generator) -> tuple[DetectedFeatures, DetectedFeatures, np.ndarray]:
    """Frame b = frame a's grasps moved 4.5 cm and turned 40°, rows permuted (perm[j] = row in a)."""
    a = _row_grasps()
    seed = rng.normal(size=(len(a), FEATURE_DIM))
    move = make_transform(rotation_z(np.radians(40)), np.array([0.045, 0.0, 0.0]))
    perm = rng.permutation(len(a))
    moved = a.transform(move)[perm]
    # equal scores keep the permuted order through the trackers' stable sort
    b = GraspGroup(np.asarray(moved), validate=False).with_columns(scores=np.full(len(a), 0.5))
    return _detected(a, seed), _detected(b, seed[perm]), perm


def test_learned_tracker_matches_a_moved_and_rotated_pair_one_to_one(rng: np.random.Generator) -> None:
    first, second, perm = _moved_pair(rng)
    tracker = LearnedTracker(None, _appearance_net(), TrackerConfig(min_similarity=0.9))
    r0 = tracker.update(_observation(), detected=first)
    r1 = tracker.update(_observation(), detected=second)
    assert r0.track_ids.tolist() == list(range(6))
    assert r1.track_ids.tolist() == perm.tolist()  # each grasp keeps the id of the grasp it was
    np.testing.assert_allclose(r1.scores, 1.0, atol=1e-6)


def test_nearest_heuristic_switches_on_the_same_pair(rng: np.random.Generator) -> None:
    first, second, perm = _moved_pair(rng)
    tracker = NearestTracker()
    tracker.update(_observation(), grasps=first.grasps)
    r1 = tracker.update(_observation(), grasps=second.grasps)
    assert (r1.track_ids != perm).any()  # a 4.5 cm shift on a 3 cm row fools the pose distance


def test_learned_tracker_api_targets_and_smoothing(rng: np.random.Generator) -> None:
    first, second, perm = _moved_pair(rng)
    for kind in ("none", "one_euro", "kalman"):
        config = TrackerConfig(min_similarity=0.9, smoothing=SmoothingConfig(kind=kind))
        tracker = LearnedTracker(None, _appearance_net(), config)
        r0 = tracker.update(_observation(), target_ids=[2], detected=first)
        assert r0.target_ids == (2,) and r0.target_rows.tolist() == [2]
        r1 = tracker.update(_observation(), detected=second)
        assert r1.target_ids == (2,)
        assert r1.target_rows.tolist() == [int(np.flatnonzero(perm == 2)[0])]
        assert len(r1.targets) == 1 and r1.lost_ids == ()
    best = LearnedTracker(None, _appearance_net()).update(_observation(), detected=first)
    assert best.target_ids == (0,)  # no user choice: the best-scored grasp


def test_learned_tracker_bad_inputs(rng: np.random.Generator) -> None:
    first, _, _ = _moved_pair(rng)
    tracker = LearnedTracker(None, _appearance_net())
    with pytest.raises(ValueError, match="detected="):
        tracker.update(_observation(), grasps=first.grasps)
    with pytest.raises(ValueError, match="no feature source"):
        tracker.update(_observation())
    with pytest.raises(ValueError, match="rows"):
        DetectedFeatures(first.grasps, first.seed_features[:2], first.grasp_features, first.colours)


class _Source:
    def __init__(self, frames: list[DetectedFeatures]) -> None:
        self.frames = frames

    def describe(self, observation: Observation) -> DetectedFeatures:
        return self.frames.pop(0)

    def detect(self, observation: Observation) -> GraspGroup:
        return self.frames[0].grasps


def test_learned_tracker_is_registered_and_loads_a_checkpoint(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {"learned", "nearest"} <= set(available_trackers())
    with monkeypatch.context() as patch:  # an install without a shipped head
        patch.setattr("grasplab.detection.shipped.shipped_association_weights", lambda: None)
        with pytest.raises(ValueError, match="weights"):
            build_tracker("learned", None)
    path = save_checkpoint(tmp_path / "assoc.safetensors", _appearance_net())
    first, second, perm = _moved_pair(rng)
    tracker = build_tracker("learned", _Source([first, second]), LearnedTrackerOptions(weights=str(path)),
                            min_similarity=0.9)
    assert isinstance(tracker, LearnedTracker)
    tracker.update(_observation())
    assert tracker.update(_observation()).track_ids.tolist() == perm.tolist()
    with pytest.raises(ValueError, match="names no GSNet"):
        build_learned_tracker(None, LearnedTrackerOptions(weights=str(path)))


def test_target_continuing_under_another_targets_id_does_not_crash() -> None:
    """Regression: target 0 follows (by similarity) the grasp that continues target 1's track."""
    tracker = NearestTracker()
    two = _row_grasps(2)
    tracker.update(_observation(), target_ids=[0, 1], grasps=two)
    result = tracker.update(_observation(), grasps=two[np.array([1])])
    assert result.track_ids.tolist() == [1]
    assert result.target_ids == (1,) and result.lost_ids == (1,)  # old id 0 now lives as id 1


def test_colour_samples_take_the_points_along_the_grasp() -> None:
    grasp = _row_grasps(1)
    t, approach = grasp.translations[0], grasp.rotations[0][:, 0]
    points = np.stack([t + 0.01 * approach, t - 0.01 * approach, t + 0.3])  # the last far away
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8)
    out = colour_samples(points, colours, grasp, num_samples=4)
    assert out.shape == (1, 4, 3)
    assert set(map(tuple, out[0].tolist())) == {(255, 0, 0), (0, 255, 0)}
    empty = colour_samples(points[2:], colours[2:], grasp, num_samples=4)
    assert (empty == 128).all()  # nothing in the cylinder: mid-grey


def test_colour_samples_equal_the_per_grasp_definition(rng: np.random.Generator) -> None:
    """Each grasp: its nearest inside points first (within the 4K nearest), cycled when fewer."""
    from scipy.spatial import cKDTree

    from grasplab.core import GraspGroup, rotation_from_view

    num = 40
    rot = rotation_from_view(rng.normal(size=(num, 3)), rng.uniform(0, np.pi, num))
    grasps = GraspGroup.from_components(rng.uniform(-0.05, 0.05, (num, 3)), rot, 0.05, 0.02)
    points = rng.uniform(-0.08, 0.08, (3000, 3))
    colours = rng.integers(0, 256, (3000, 3), dtype=np.uint8)
    out = colour_samples(points, colours, grasps, num_samples=8, radius=0.01)
    dist, idx = cKDTree(points).query(grasps.translations, k=32, distance_upper_bound=np.hypot(0.01, 0.04))
    counts = set()
    for m in range(num):
        near = idx[m][np.isfinite(dist[m])]
        local = (points[near] - grasps.translations[m]) @ grasps.rotations[m]
        inside = near[(local[:, 0] >= -0.02) & (local[:, 0] <= 0.04)
                      & (local[:, 1] ** 2 + local[:, 2] ** 2 <= 0.01**2)][:8]
        counts.add(min(len(inside), 8))
        want = colours[np.resize(inside, 8)] if len(inside) else np.full((8, 3), 128)
        assert np.array_equal(out[m], want)
    assert len(counts) > 2  # grasps with none, some and enough inside points were compared


def test_grasp_objects_from_mask_reads_the_label_at_the_grasp_point() -> None:
    K = CameraIntrinsics(500.0, 500.0, 32.0, 24.0, 64, 48)
    mask = np.zeros((48, 64), np.int32)
    mask[20:28, 28:36] = 8  # object 7
    on = GraspGroup.from_components(np.array([[0.0, 0.0, 0.5], [0.05, 0.04, 0.5]]), np.stack([np.eye(3)] * 2),
                                    np.full(2, 0.05), np.full(2, 0.02), np.ones(2))
    assert grasp_objects_from_mask(on, mask, K).tolist() == [7, -1]


def test_feature_source_post_processing_keeps_each_rows_own_features() -> None:
    from grasplab.detection.association_features import GSNetFeatureSource
    from grasplab.detection.postprocess import PostProcessConfig
    from grasplab.models.gsnet import GSNetSpec

    with torch.random.fork_rng():
        torch.manual_seed(0)
        gsnet = build_model("gsnet", GSNetSpec(feature_dim=16, depth2d_channels=(8, 8, 16, 16), num_seeds=32,
                                               group_dim=16, num_views=30))
    gsnet.eval()
    yy, xx = np.mgrid[0:48, 0:64]
    depth = (0.5 - 0.03 * np.exp(-((xx - 32) ** 2 + (yy - 24) ** 2) / 60.0)).astype(np.float32)
    observation = Observation(depth, CameraIntrinsics(60.0, 60.0, 32.0, 24.0, 64, 48))
    raw = GSNetFeatureSource(gsnet, 512, 1).describe(observation)
    config = PostProcessConfig(nms_translation=0.01, nms_rotation=float(np.pi / 6), center=False,
                               collision=False, top_k=8)
    kept = GSNetFeatureSource(gsnet, 512, 1, postprocess=config).describe(observation)
    assert 0 < len(kept.grasps) <= 8 and len(kept.grasps) < len(raw.grasps)
    assert np.all(np.diff(kept.grasps.scores) <= 0) and np.all(kept.grasps.object_ids == -1)
    raw_rows = np.asarray(raw.grasps)[:, :16]
    for row, seed_feature, grasp_feature in zip(np.asarray(kept.grasps)[:, :16], kept.seed_features,
                                                kept.grasp_features, strict=True):
        match = np.flatnonzero(np.all(np.isclose(raw_rows, row), axis=1))
        assert len(match) >= 1  # the same grasp among the raw seeds, with the same features
        assert any(np.allclose(raw.seed_features[m], seed_feature)
                   and np.allclose(raw.grasp_features[m], grasp_feature) for m in match)
