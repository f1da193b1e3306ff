"""Tests of the same-grasp rule, the pose filters, the trackers and the tracker registry."""

from __future__ import annotations

import numpy as np
import pytest

from grasplab.core import CameraIntrinsics, GraspGroup, make_transform
from grasplab.core.rotations import rotation_x, rotation_z
from grasplab.detection.observation import Observation
from grasplab.detection.scene_state import SceneState
from grasplab.detection.smoothing import (
    KalmanFilter,
    NoFilter,
    OneEuroFilter,
    SmoothingConfig,
    make_pose_filter,
)
from grasplab.detection.tracker_registry import available_trackers, build_tracker, register_tracker
from grasplab.detection.tracking import (
    GraspTracker,
    NearestTracker,
    OracleTracker,
    TrackerConfig,
)
from grasplab.labels.grasp_correspondence import (
    pairwise_rotation_angles,
    pose_distance_matrix,
    same_grasp_labels,
)


def _observation() -> Observation:
    K = CameraIntrinsics(500.0, 500.0, 32.0, 24.0, 64, 48)
    return Observation(np.full((48, 64), 0.5, np.float32), K, T_world_cam=np.eye(4))


def _grasps(rng: np.random.Generator, num: int = 8) -> GraspGroup:
    t = rng.uniform(-0.3, 0.3, size=(num, 3))
    R = np.stack([rotation_z(a) @ rotation_x(b) for a, b in rng.uniform(0, 2 * np.pi, (num, 2))])
    return GraspGroup.from_components(t, R, 0.05, 0.02, scores=rng.uniform(0.1, 1.0, num))


def _moved(grasps: GraspGroup, T: np.ndarray, rng: np.random.Generator) -> GraspGroup:
    """The same grasps moved rigidly by T, rows shuffled, new scores."""
    moved = grasps.transform(T)
    order = rng.permutation(len(grasps))
    return moved[order].with_columns(scores=rng.uniform(0.1, 1.0, len(grasps)))


# ----------------------------------------------------------------------------- same-grasp rule
def test_same_grasp_rule_known_poses() -> None:
    R = np.eye(3)[None]
    # 5 mm apart: d = 0.005 / 0.1 = 0.05 <= 0.1; 2 cm: 0.2 > 0.1; w_max = 0.01: 0.5 > 0.1
    assert same_grasp_labels(R, [[0, 0, 0]], [3], R, [[0.005, 0, 0]], [3])[0, 0]
    assert not same_grasp_labels(R, [[0, 0, 0]], [3], R, [[0.02, 0, 0]], [3])[0, 0]
    assert not same_grasp_labels(R, [[0, 0, 0]], [3], R, [[0.005, 0, 0]], [3], w_max=0.01)[0, 0]
    # a π/2 turn: γ ΔR / π = 0.05; with 6 mm: 0.06 + 0.05 > 0.1
    Rz = rotation_z(np.pi / 2)[None]
    assert same_grasp_labels(R, [[0, 0, 0]], [1], Rz, [[0, 0, 0]], [1])[0, 0]
    assert not same_grasp_labels(R, [[0, 0, 0]], [1], Rz, [[0.006, 0, 0]], [1])[0, 0]
    # different objects (or unknown ones) never match, even at the same pose
    assert not same_grasp_labels(R, [[0, 0, 0]], [1], R, [[0, 0, 0]], [2])[0, 0]
    assert not same_grasp_labels(R, [[0, 0, 0]], [-1], R, [[0, 0, 0]], [-1])[0, 0]


def test_rotation_angles_jaw_symmetry() -> None:
    flip = np.diag([1.0, -1.0, -1.0])[None]
    assert pairwise_rotation_angles(np.eye(3)[None], flip)[0, 0] == pytest.approx(0.0)
    assert pairwise_rotation_angles(np.eye(3)[None], flip, symmetric=False)[0, 0] == pytest.approx(np.pi)
    d = pose_distance_matrix(np.eye(3)[None], [[0, 0, 0]], np.stack([np.eye(3)] * 3),
                             np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.2, 0]]))
    np.testing.assert_allclose(d, [[0.0, 1.0, 2.0]])


def test_same_grasp_rule_bad_inputs() -> None:
    R = np.eye(3)[None]
    with pytest.raises(ValueError, match="w_max"):
        pose_distance_matrix(R, [[0, 0, 0]], R, [[0, 0, 0]], w_max=0.0)
    with pytest.raises(ValueError, match="object ids"):
        same_grasp_labels(R, [[0, 0, 0]], [1, 2], R, [[0, 0, 0]], [1])
    with pytest.raises(ValueError):
        pose_distance_matrix(R, [[0, 0]], R, [[0, 0, 0]])


# ----------------------------------------------------------------------------- filters
def test_filters_keep_a_constant_pose() -> None:
    T = make_transform(rotation_z(0.3), np.array([0.1, -0.2, 0.3]))
    for pose_filter in (NoFilter(), OneEuroFilter(), KalmanFilter()):
        for k in range(10):
            out = pose_filter(0.1 * k, T)
        np.testing.assert_allclose(out, T, atol=1e-9)


def test_filters_reduce_noise_and_track_a_ramp(rng: np.random.Generator) -> None:
    times = np.arange(200) * 0.05
    truth = np.stack([0.05 * times, np.zeros_like(times), np.zeros_like(times)], axis=1)
    noisy = truth + rng.normal(0, 0.003, size=truth.shape)
    errors = {}
    for name in ("none", "one_euro", "kalman"):
        pose_filter = make_pose_filter(SmoothingConfig(name, min_cutoff=0.5, beta=0.5,
                                                       process_noise=1e-3, measurement_noise=1e-5))
        out = np.stack([pose_filter(t, make_transform(np.eye(3), p))[:3, 3]
                        for t, p in zip(times, noisy, strict=True)])
        errors[name] = float(np.sqrt(np.mean((out[50:] - truth[50:]) ** 2)))
    assert errors["kalman"] < 0.6 * errors["none"]  # a constant-velocity model fits a ramp
    still = make_pose_filter(SmoothingConfig("one_euro", min_cutoff=0.5, beta=0.0))
    out = np.stack([still(t, make_transform(np.eye(3), p - truth[k]))[:3, 3]
                    for k, (t, p) in enumerate(zip(times, noisy, strict=True))])
    assert np.std(out[50:]) < 0.5 * np.std(noisy[50:] - truth[50:])  # jitter at rest is damped


def test_one_euro_step_response_is_monotonic() -> None:
    pose_filter = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    xs = [pose_filter(0.1 * k, make_transform(np.eye(3), np.array([0.0 if k == 0 else 1.0, 0, 0])))[0, 3]
          for k in range(30)]
    assert all(b >= a for a, b in zip(xs, xs[1:], strict=False))
    assert 0.0 < xs[1] < 1.0 and xs[-1] == pytest.approx(1.0, abs=1e-3)


def test_filter_bad_inputs() -> None:
    pose_filter = OneEuroFilter()
    pose_filter(1.0, np.eye(4))
    with pytest.raises(ValueError, match="increasing"):
        pose_filter(1.0, np.eye(4))
    with pytest.raises(ValueError):
        pose_filter(2.0, np.ones((4, 4)))
    with pytest.raises(ValueError, match="kind"):
        SmoothingConfig("median")
    with pytest.raises(ValueError):
        KalmanFilter(process_noise=0.0)
    pose_filter.reset()
    pose_filter(0.5, np.eye(4))  # time may restart after a reset


# ----------------------------------------------------------------------------- trackers
@pytest.mark.parametrize("assignment", ["hungarian", "greedy"])
def test_nearest_matches_a_moved_pair_one_to_one(rng: np.random.Generator, assignment: str) -> None:
    grasps = _grasps(rng)
    tracker = NearestTracker(config=TrackerConfig(assignment=assignment))
    first = tracker.update(_observation(), grasps=grasps)
    assert first.track_ids.tolist() == list(range(len(grasps)))  # first frame: ids = rows
    T = make_transform(rotation_z(0.05), np.array([0.01, -0.005, 0.0]))
    second = tracker.update(_observation(), grasps=_moved(first.grasps, T, rng))
    # each grasp of the second frame continues the track of the grasp it was moved from
    expected = first.grasps.transform(T).translations
    for row in range(len(second.grasps)):
        k = int(np.argmin(np.linalg.norm(expected - second.grasps.translations[row], axis=1)))
        assert second.track_ids[row] == first.track_ids[k]
    assert sorted(second.track_ids.tolist()) == sorted(first.track_ids.tolist())
    assert np.all(second.scores > 0.5)
    assert second.target_ids == first.target_ids  # the best grasp of frame 0 is still the target


def test_oracle_matches_large_motion_the_nearest_cannot(rng: np.random.Generator) -> None:
    grasps = _grasps(rng, 6).with_columns(object_ids=[0, 0, 0, 1, 1, 1])
    T_world_obj = np.stack([np.eye(4), np.eye(4)])
    state = SceneState((0, 1), T_world_obj, np.eye(4))
    oracle = OracleTracker()
    oracle.bind(state)
    first = oracle.update(_observation(), grasps=grasps)
    T = make_transform(rotation_z(1.0), np.array([0.3, 0.2, 0.0]))  # a big move of object 0
    moved0 = grasps[grasps.object_ids == 0].transform(T)
    second_grasps = GraspGroup.concat([moved0, grasps[grasps.object_ids == 1]])
    oracle.bind(SceneState((0, 1), np.stack([T, np.eye(4)]), np.eye(4)))
    second = oracle.update(_observation(), grasps=second_grasps)
    ids_first = {tuple(np.round(g.translations[0], 6)): i
                 for g, i in zip(first.grasps.transform(np.eye(4)), first.track_ids, strict=True)}
    assert len(set(second.track_ids.tolist())) == 6
    assert set(second.track_ids.tolist()) == set(ids_first.values())
    nearest = NearestTracker()
    nearest.update(_observation(), grasps=grasps)
    assert np.any(nearest.update(_observation(), grasps=second_grasps).scores == 0.0)


def test_oracle_never_matches_across_objects() -> None:
    R = np.eye(3)[None]
    a = GraspGroup.from_components([[0, 0, 0]], R, 0.05, 0.02, object_ids=0)
    b = GraspGroup.from_components([[0, 0, 0]], R, 0.05, 0.02, object_ids=1)
    oracle = OracleTracker()
    oracle.bind(SceneState((0, 1), np.stack([np.eye(4)] * 2), np.eye(4)))
    first = oracle.update(_observation(), grasps=a)
    second = oracle.update(_observation(), grasps=b)
    assert second.track_ids[0] != first.track_ids[0] and second.scores[0] == 0.0
    assert second.lost_ids == first.target_ids and len(second.targets) == 0


def test_user_targets_and_loss(rng: np.random.Generator) -> None:
    grasps = _grasps(rng)
    tracker = NearestTracker(config=TrackerConfig(smoothing=SmoothingConfig("none")))
    first = tracker.update(_observation(), target_ids=[3, 5], grasps=grasps)
    assert first.target_ids == (3, 5)
    np.testing.assert_allclose(first.targets.translations, first.grasps.translations[[3, 5]])
    far = grasps.transform(make_transform(np.eye(3), np.array([5.0, 0.0, 0.0])))
    gone = tracker.update(_observation(), grasps=far)
    assert set(gone.lost_ids) == {3, 5} and gone.target_ids == ()
    empty = tracker.update(_observation(), grasps=GraspGroup.empty())
    assert len(empty.grasps) == 0 and empty.target_ids == ()


def test_tracker_bad_inputs(rng: np.random.Generator) -> None:
    tracker = NearestTracker()
    with pytest.raises(ValueError, match="detector"):
        tracker.update(_observation())
    tracker.update(_observation(), grasps=_grasps(rng))
    with pytest.raises(ValueError, match="unknown track"):
        tracker.update(_observation(), target_ids=[999], grasps=_grasps(rng))
    with pytest.raises(ValueError, match="bind"):
        OracleTracker().update(_observation(), grasps=_grasps(rng))
    with pytest.raises(ValueError, match="min_similarity"):
        TrackerConfig(min_similarity=1.5)
    with pytest.raises(ValueError, match="assignment"):
        TrackerConfig(assignment="auction")
    with pytest.raises(ValueError, match="length_scale"):
        NearestTracker(length_scale=0.0)


def test_tracker_registry() -> None:
    assert {"nearest", "oracle"} <= set(available_trackers())
    tracker = build_tracker("nearest", None, length_scale=0.05)
    assert isinstance(tracker, NearestTracker) and isinstance(tracker, GraspTracker)
    assert tracker.length_scale == 0.05
    assert isinstance(build_tracker("oracle"), OracleTracker)
    with pytest.raises(ValueError, match="unknown tracker"):
        build_tracker("learned-someday")
    with pytest.raises(ValueError, match="unknown option"):
        build_tracker("nearest", None, sigma=1.0)
    with pytest.raises(ValueError, match="already registered"):
        register_tracker("nearest", lambda d, o: None, TrackerConfig, "dup")


def _greedy_one_by_one(sim: np.ndarray, least: float) -> tuple[list[int], list[int]]:
    """The definition: visit pairs by similarity (stable: row-major among ties), take free ones."""
    rows, cols = np.nonzero(sim >= least)
    order = np.argsort(-sim[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    out_r, out_c = [], []
    for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            out_r.append(r)
            out_c.append(c)
    return out_r, out_c


@pytest.mark.parametrize("levels", [0, 4])  # continuous similarities, and 4 levels (many ties)
def test_greedy_rounds_equal_the_one_by_one_definition(rng: np.random.Generator, levels: int) -> None:
    from grasplab.detection.tracking import _greedy_pairs

    for n, m in [(0, 5), (5, 0), (1, 1), (7, 3), (40, 60), (200, 150)]:
        sim = rng.random((n, m))
        if levels:
            sim = np.round(sim * levels) / levels
        for least in (0.0, 0.5, 0.99, 2.0):
            rows, cols = _greedy_pairs(sim, least)
            want_r, want_c = _greedy_one_by_one(sim, least)
            assert rows.tolist() == want_r and cols.tolist() == want_c
