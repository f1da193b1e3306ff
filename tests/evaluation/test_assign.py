import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from grasplab.evaluation.assign import assign_to_objects, select_top_grasps


def test_at_most_ten_per_object_then_fiftieth_threshold():
    # object 0: 12 grasps, object 1: 3 grasps; confidences all distinct
    conf = np.concatenate([np.linspace(0.99, 0.88, 12), [0.5, 0.4, 0.3]])
    owner = np.array([0] * 12 + [1] * 3)
    chosen = select_top_grasps(conf, owner, 2)
    assert chosen.tolist() == list(range(10)) + [12, 13, 14]


def test_pooled_threshold_keeps_the_fifty_best_and_ties():
    # 6 objects x 10 grasps = 60 pooled; the 50th best is the threshold
    conf = np.arange(60, dtype=float)[::-1]  # 59 .. 0
    owner = np.repeat(np.arange(6), 10)
    chosen = select_top_grasps(conf, owner, 6)
    assert len(chosen) == 50 and conf[chosen].min() == 10
    tied = conf.copy()
    tied[50] = tied[49]  # a tie at the threshold admits a 51st grasp
    assert len(select_top_grasps(tied, owner, 6)) == 51
    assert select_top_grasps(np.zeros(0), np.zeros(0, dtype=int), 3).size == 0


def test_assignment_equals_dense_nearest_point(rng):
    models = [rng.normal(size=(50, 3)) * 0.03 for _ in range(3)]
    poses = np.stack([np.eye(4)] * 3)
    for k in range(3):
        poses[k, :3, :3] = Rotation.random(random_state=k).as_matrix()
        poses[k, :3, 3] = rng.normal(0, 0.05, 3)
    grasps = rng.normal(0, 0.08, size=(200, 3))
    got = assign_to_objects(grasps, [cKDTree(m) for m in models], poses)
    scene = np.concatenate([m @ p[:3, :3].T + p[:3, 3] for m, p in zip(models, poses, strict=True)])
    owner = np.repeat(np.arange(3), 50)
    dense = owner[np.argmin(np.linalg.norm(grasps[:, None] - scene[None], axis=2), axis=1)]
    np.testing.assert_array_equal(got, dense)
    assert assign_to_objects(grasps, [], np.zeros((0, 4, 4))).tolist() == [-1] * 200
