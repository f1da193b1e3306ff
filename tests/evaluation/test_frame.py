"""evaluate_frame on the synthetic root (geometry in tests/evaluation/ap_synthetic.py)."""

import numpy as np
import pytest
from ap_synthetic import TOP_DOWN, antipodal, make_grasps

from grasplab.core.grasp_group import GraspGroup
from grasplab.evaluation import APConfig, APEvaluator, evaluate_frame, sanitize_grasp_array
from grasplab.evaluation.collision import collision_and_empty, collision_and_empty_dense


@pytest.fixture(scope="module")
def evaluator(synthetic_root):
    return APEvaluator(synthetic_root, "realsense")


@pytest.fixture(scope="module")
def scene(evaluator):
    return evaluator.frame_scene(0, 0)


def test_antipodal_grasp_across_the_box_scores_smallest_mu(scene):
    result = evaluate_frame(antipodal(-0.05, 0.9), scene)
    assert result.scores.tolist() == [0.2]
    assert not result.collision[0] and not result.empty[0]
    assert result.object_ids.tolist() == [0]
    np.testing.assert_allclose(result.accuracy, np.tile(1.0 / np.arange(1, 51)[:, None], (1, 6)))


def test_jaw_flipped_grasp_is_not_suppressed_and_also_scores(scene):
    grasps = np.concatenate([antipodal(0.0, 0.9), antipodal(0.0, 0.8, flip=True)])
    result = evaluate_frame(grasps, scene)
    assert result.num_after_nms == 2
    assert result.scores.tolist() == [0.2, 0.2]


def test_grasp_reaching_into_the_table_collides(scene):
    # fingertips 1 cm below the table top (camera z = 0.5)
    grasp = make_grasps([(0.05, 0.0, 0.47)], [0.8], depths=0.04)
    result = evaluate_frame(grasp, scene)
    assert result.collision.tolist() == [True]
    assert result.scores.tolist() == [-1.0]
    # the same grasp 2 cm shallower stays clear of the table and closes on the box
    clear = evaluate_frame(make_grasps([(0.05, 0.0, 0.47)], [0.8], depths=0.01), scene)
    assert clear.collision.tolist() == [False] and clear.scores.tolist() == [0.2]


def test_grasp_in_the_air_is_empty(scene):
    result = evaluate_frame(make_grasps([(0.0, 0.0, 0.30)], [0.7]), scene)
    assert result.empty.tolist() == [True] and not result.collision[0]
    assert result.scores.tolist() == [-1.0]
    assert result.ap == 0.0


def test_narrow_grasp_collides_with_the_box(scene):
    result = evaluate_frame(make_grasps([(0.0, 0.0, 0.46)], [0.7], widths=0.02), scene)
    assert result.collision.tolist() == [True] and result.scores.tolist() == [-1.0]


def test_mixed_frame_sorted_by_confidence(scene):
    grasps = np.concatenate(
        [
            make_grasps([(0.0, 0.0, 0.30)], [0.95]),  # empty
            antipodal(-0.05, 0.9),  # 0.2
            make_grasps([(0.05, 0.0, 0.47)], [0.99], depths=0.04),  # table collision
        ]
    )
    result = evaluate_frame(grasps, scene)
    assert result.grasps[:, 0].tolist() == [0.99, 0.95, 0.9]
    assert result.scores.tolist() == [-1.0, -1.0, 0.2]
    # one good grasp at rank 3: P@k = 1/k for k >= 3, 0 before
    expected = np.where(np.arange(1, 51) >= 3, 1.0 / np.arange(1, 51), 0.0)
    np.testing.assert_allclose(result.accuracy[:, 0], expected)


def test_at_most_ten_grasps_per_object(scene):
    # 6 positions 3.5 cm apart along the bar, each with its jaw-flipped twin: 12 good grasps
    xs = [-0.0875, -0.0525, -0.0175, 0.0175, 0.0525, 0.0875]
    grasps = np.concatenate(
        [antipodal(x, 0.99 - 0.01 * (2 * i + f), flip=bool(f)) for i, x in enumerate(xs) for f in (0, 1)]
    )
    result = evaluate_frame(grasps, scene)
    assert result.num_after_nms == 12
    assert len(result.scores) == 10 and np.all(result.scores == 0.2)
    assert result.grasps[:, 0].min() == pytest.approx(0.90)
    k = np.arange(1, 51)
    np.testing.assert_allclose(result.accuracy[:, 3], np.minimum(k, 10) / k)


def test_nms_removes_a_near_duplicate(scene):
    grasps = np.concatenate([antipodal(0.0, 0.9), antipodal(0.01, 0.8)])
    result = evaluate_frame(grasps, scene)
    assert result.num_after_nms == 1 and result.grasps[0, 0] == 0.9


def test_widths_are_clipped(scene):
    wide = make_grasps([(0.0, 0.0, 0.46)], [0.9], widths=0.3)
    result = evaluate_frame(wide, scene)
    assert result.grasps[0, 1] == pytest.approx(0.1)
    assert result.scores.tolist() == [0.2]


def test_empty_frame_scores_zero(scene):
    for empty in (np.zeros((0, 17)), np.zeros(0), GraspGroup.empty()):
        result = evaluate_frame(empty, scene)
        assert result.ap == 0.0 and result.accuracy.shape == (50, 6)
        assert result.issues == () and len(result.scores) == 0


def test_nan_and_bad_rotation_rows_are_reported_and_dropped(scene):
    grasps = np.concatenate([antipodal(-0.05, 0.9)] * 3)
    grasps[1, 13] = np.nan
    grasps[2, 4:13] = (2.0 * TOP_DOWN).ravel()
    grasps[2, 13] = 0.05
    result = evaluate_frame(grasps, scene)
    assert result.num_input == 3 and result.num_valid == 1
    assert len(result.issues) == 2
    assert result.issues[0].startswith("row 1: non-finite")
    assert result.issues[1].startswith("row 2: rotation not orthonormal")
    assert result.scores.tolist() == [0.2]


def test_wrong_shape_scores_zero_with_a_message(scene):
    for bad in (np.ones((4, 16)), "not grasps", np.ones((2, 3, 17))):
        result = evaluate_frame(bad, scene)
        assert result.ap == 0.0
        assert any("frame scored 0" in msg for msg in result.issues)


def test_sanitize_does_not_mutate_input():
    grasps = antipodal(0.0, 0.9)
    grasps[0, 1] = 0.5
    before = grasps.copy()
    clean, issues, fatal = sanitize_grasp_array(grasps)
    assert fatal is None and issues == ()
    clean[0, 1] = 0.0
    np.testing.assert_array_equal(grasps, before)


def test_fast_collision_equals_dense_transcription(scene, rng):
    from scipy.spatial.transform import Rotation

    n = 300
    rotations = Rotation.random(n, random_state=3).as_matrix()
    centres = rng.uniform([-0.15, -0.06, 0.40], [0.35, 0.06, 0.52], size=(n, 3))
    grasps = make_grasps(centres, rng.uniform(size=n), widths=rng.uniform(0.0, 0.1, n),
                         depths=rng.uniform(0.0, 0.04, n), rotations=rotations)
    owner = (centres[:, 0] > 0.2).astype(np.int64)
    fast = collision_and_empty(grasps, owner, scene, APConfig().gripper)
    dense = collision_and_empty_dense(grasps, owner, scene, APConfig().gripper)
    np.testing.assert_array_equal(fast[0], dense[0])
    np.testing.assert_array_equal(fast[1], dense[1])
    assert 20 < fast[0].sum() < n - 20 and 20 < fast[1].sum() < n - 20  # a real mix


def test_combined_caster_equals_per_object_force_closure(scene, rng):
    from grasplab.evaluation.frame import _force_closure_scores
    from grasplab.labels.force_closure import force_closure
    from grasplab.labels.raycast import MeshRayCaster

    n = 200
    from scipy.spatial.transform import Rotation

    rotations = Rotation.random(n, random_state=5).as_matrix()
    centres = np.where(rng.uniform(size=(n, 1)) < 0.5, [0.0, 0.0, 0.46], [0.3, 0.0, 0.46])
    centres = centres + rng.normal(0, 0.015, (n, 3))
    grasps = make_grasps(centres, 1.0, widths=rng.uniform(0.03, 0.1, n), depths=0.0,
                         rotations=rotations)
    owner = (centres[:, 0] > 0.15).astype(np.int64)
    combined = _force_closure_scores(grasps, owner, scene, APConfig())
    expected = np.empty(n)
    for k, model in enumerate(scene.models):
        rows = owner == k
        inverse = np.linalg.inv(scene.T_cam_obj[k])
        c = grasps[rows, 13:16] @ inverse[:3, :3].T + inverse[:3, 3]
        axes = rotations[rows, :, 1] @ scene.T_cam_obj[k, :3, :3]
        result = force_closure(MeshRayCaster(model.mesh), c, axes, grasps[rows, 1],
                               APConfig().mu_grid)
        expected[rows] = result.min_mu
    np.testing.assert_array_equal(combined, expected)
    assert (combined > 0).sum() > 20 and (combined < 0).sum() > 20
