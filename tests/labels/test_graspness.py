"""Graspness labels: known answers on hand-made arrays and a box alone on a table."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.core import CameraIntrinsics
from grasplab.core.rotations import approach_views, rotation_z
from grasplab.labels import ObjectLabelConfig, label_object
from grasplab.labels.graspness import (
    GraspnessConfig,
    concatenate_scene_labels,
    free_grasps,
    grasp_scores_from_mu,
    minmax_normalize,
    point_graspness,
    scene_grasp_labels,
    view_graspness,
)
from grasplab.labels.graspness_frame import (
    camera_view_index,
    frame_graspness,
    view_targets,
    voxel_downsample,
)
from grasplab.labels.object_labels import ObjectLabels, candidate_rotations
from grasplab.labels.raycast import MeshRayCaster
from grasplab.labels.sampling import sample_surface_voxels
from grasplab.labels.scene_labels import scene_collision_labels
from grasplab.labels.stable import gripper_plane_distances

pytest.importorskip("embreex")

BOX = (0.03, 0.04, 0.05)
SMALL = ObjectLabelConfig(num_views=60, num_angles=6, spacing=0.01)
INTRINSICS = CameraIntrinsics(300.0, 300.0, 79.5, 59.5, 160, 120)


def look_at(eye: tuple[float, float, float], target: tuple[float, float, float]) -> np.ndarray:
    """``T_table_cam`` of an OpenCV camera at ``eye`` looking at ``target`` (table z up)."""
    z = np.subtract(target, eye) / np.linalg.norm(np.subtract(target, eye))
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    pose[:3, 3] = eye
    return pose


def render(T_table_cam: np.ndarray, T_table_obj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth (m) and mask (1 on the box = object 0) of the box on a 60 cm table, ray cast."""
    box = trimesh.creation.box(BOX)
    box.apply_transform(T_table_obj)
    table = trimesh.creation.box((0.6, 0.6, 0.01))
    table.apply_translation((0.0, 0.0, -0.005))
    caster = MeshRayCaster(trimesh.util.concatenate([box, table]))
    u, v = np.meshgrid(np.arange(INTRINSICS.width), np.arange(INTRINSICS.height))
    rays = np.stack([(u - INTRINSICS.cx) / INTRINSICS.fx, (v - INTRINSICS.cy) / INTRINSICS.fy,
                     np.ones(u.shape)], axis=-1).reshape(-1, 3)
    hits = caster.first_hits(np.broadcast_to(T_table_cam[:3, 3], rays.shape),
                             rays @ T_table_cam[:3, :3].T)
    depth = np.where(hits.hit, hits.distances / np.linalg.norm(rays, axis=1), 0.0)
    mask = (hits.hit & (hits.faces < len(box.faces))).astype(np.int32)
    return depth.reshape(u.shape).astype(np.float32), mask.reshape(u.shape)


def box_pose() -> np.ndarray:
    pose = np.eye(4)
    pose[2, 3] = BOX[2] / 2
    return pose


@pytest.fixture(scope="module")
def box_labels() -> ObjectLabels:
    return label_object(trimesh.creation.box(BOX), config=SMALL, rng=0)


@pytest.fixture(scope="module")
def box_collision(box_labels: ObjectLabels) -> np.ndarray:
    points = sample_surface_voxels(trimesh.creation.box(BOX), 0.003, 0)
    return scene_collision_labels([box_labels], box_pose()[None], [points],
                                  floors=[np.eye(4)])[0]


# ----------------------------------------------------------------------- known answers
def test_minmax_normalize_known_answers() -> None:
    np.testing.assert_allclose(minmax_normalize([2.0, 4.0, 3.0]), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(minmax_normalize([0.3, 0.3]), [0.0, 0.0])
    np.testing.assert_allclose(minmax_normalize([[1.0, 3.0], [5.0, 5.0]], axis=1),
                               [[0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(minmax_normalize([[1.0, 3.0], [5.0, 5.0]]),
                               [[0.0, 0.5], [1.0, 1.0]])
    assert minmax_normalize(np.zeros(0)).shape == (0,)
    with pytest.raises(ValueError, match="non-finite"):
        minmax_normalize([0.0, np.nan])


def test_point_and_view_graspness_known_answers() -> None:
    # 2 points x 3 views x 2 angles x 1 depth.
    mu = np.array([[[0.1, 0.5], [0.7, 0.9], [-1.0, 0.3]],
                   [[-1.0, -1.0], [-1.0, -1.0], [-1.0, -1.0]]])[..., None]
    free = np.ones(mu.shape, dtype=bool)
    free[0, 2, 1] = False  # a collision removes the 0.3 grasp
    # point: mu <= 0.8 and free -> 0.1, 0.5, 0.7 of 6 entries; second point has none.
    np.testing.assert_allclose(point_graspness(mu, free), [3 / 6, 0.0])
    np.testing.assert_allclose(point_graspness(mu, free, mu_max=0.5), [2 / 6, 0.0])
    # view: mu <= 0.6 and free -> shares [1, 0, 0] of 2 per view, then min-max over views.
    np.testing.assert_allclose(view_graspness(mu, free), [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    free[0, 2, 1] = True
    np.testing.assert_allclose(view_graspness(mu, free), [[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="free"):
        point_graspness(mu, free[:1])


def test_free_grasps_drop_collisions_self_collisions_and_wide_grasps() -> None:
    grid = (1, 2, 1, 2)
    offsets = np.zeros((*grid, 3), dtype=np.float32)
    offsets[..., 2] = [[[[0.05, 0.12]], [[0.05, 0.05]]]]
    scores = np.array([[[[0.2, 0.2]], [[0.2, -1.0]]]], dtype=np.float32)
    self_hit = np.zeros(grid, dtype=bool)
    self_hit[0, 1, 0, 0] = True
    labels = ObjectLabels(np.zeros((1, 3)), offsets, scores, self_hit)
    scene_hit = np.zeros(grid, dtype=bool)
    np.testing.assert_array_equal(free_grasps(labels, scene_hit)[0, :, 0],
                                  [[True, False], [False, False]])
    scene_hit[0, 0, 0, 0] = True
    assert not free_grasps(labels, scene_hit).any()
    assert free_grasps(labels, None, max_width=0.15)[0, 0, 0].all()
    with pytest.raises(ValueError, match="labels' grid"):
        free_grasps(labels, np.zeros((1, 2, 1, 3), dtype=bool))


def test_grasp_scores_from_mu_known_answers() -> None:
    np.testing.assert_allclose(grasp_scores_from_mu([0.1, np.sqrt(0.1), 1.0, 0.0, -1.0]),
                               [1.0, 0.5, 0.0, 0.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="mu_min < mu_max"):
        grasp_scores_from_mu([0.5], mu_min=1.0, mu_max=0.5)


def test_scene_labels_quantise_exactly_and_compute_missing_stable_scores() -> None:
    grid = (2, 4, 3, 2)
    rng = np.random.default_rng(0)
    scores = rng.choice(np.round(np.arange(0.1, 1.01, 0.1), 1), size=grid).astype(np.float32)
    scores[0, 0] = -1.0
    offsets = np.zeros((*grid, 3), dtype=np.float32)
    offsets[..., 0] = np.arange(3)[None, None, :, None] * np.pi / 3
    offsets[..., 1] = [0.01, 0.02]
    offsets[..., 2] = rng.integers(10, 90, size=grid) / 1000
    points = np.array([[0.0, 0.0, 0.02], [0.01, 0.0, 0.0]], dtype=np.float32)
    labels = ObjectLabels(points, offsets, scores, np.zeros(grid, dtype=bool))
    mask = np.zeros(grid, dtype=bool)
    mask[1, 2] = True
    com = np.array([0.0, 0.01, 0.0])
    scene = scene_grasp_labels([labels, labels], [mask, np.zeros(grid, bool)], [7, 2],
                               centers_of_mass=[com, com])
    assert scene.object_ids.tolist() == [7, 2] and scene.point_offsets.tolist() == [0, 2, 4]
    free = scores > 0
    free[1, 2] = False
    np.testing.assert_array_equal(scene.mu_centi[:2], np.where(free, np.rint(scores * 100), 0))
    np.testing.assert_array_equal(scene.width_mm[:2], np.where(free, np.rint(offsets[..., 2] * 1000), 0))
    assert scene.mu_centi[2:].astype(bool).sum() == (scores > 0).sum()
    np.testing.assert_allclose(scene.angles, [0.0, np.pi / 3, 2 * np.pi / 3], rtol=1e-6)
    np.testing.assert_allclose(scene.depths, [0.01, 0.02])
    distances = gripper_plane_distances(points, candidate_rotations(4, 3)[..., 2].reshape(-1, 3), com)
    expected = np.rint(distances / distances.max() * 255).reshape(2, 4, 3)
    assert scene.stable is not None
    np.testing.assert_array_equal(scene.stable[:2], expected)
    assert scene_grasp_labels([labels], [mask], [7]).stable is None
    parts = [scene_grasp_labels([labels], [m], [i], centers_of_mass=[com])
             for m, i in ((mask, 7), (np.zeros(grid, bool), 2))]
    joined = concatenate_scene_labels(parts)
    for name in ("object_ids", "point_offsets", "points", "point_graspness", "view_graspness",
                 "mu_centi", "width_mm", "stable", "angles", "depths"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(scene, name))
    with pytest.raises(ValueError, match="as many"):
        scene_grasp_labels([labels], [mask, mask], [7])


def test_voxel_downsample_and_view_index_known_answers() -> None:
    pts = [[0.0, 0.0, 0.0], [0.004, 0.001, 0.0], [0.006, 0.0, 0.0], [0.001, 0.0, 0.0]]
    assert voxel_downsample(pts, 0.005).tolist() == [0, 2]
    assert voxel_downsample(pts, 0.0).tolist() == [0, 1, 2, 3]
    # Voxel grids too large for one int64 key per voxel take the row-wise path: same answer.
    far = [[0.0, 0.0, 0.0], [1.0, -1.0, 1.0], [0.0, 0.0, 1e-10], [1.0, -1.0, 1.0]]
    assert voxel_downsample(far, 1e-9).tolist() == [0, 1]
    with pytest.raises(ValueError, match="voxel_size"):
        voxel_downsample(pts, -0.1)
    views = approach_views(300)
    assert camera_view_index(np.eye(3)).tolist() == list(range(300))
    rotation = rotation_z(0.7)
    index = camera_view_index(rotation)
    # The rotated object view chosen for every camera view is its nearest (within ~one cell).
    cosines = np.einsum("ij,ij->i", views[index] @ rotation.T, views)
    assert cosines.min() > np.cos(np.radians(12))
    # A rotation taking object view 5 exactly onto view 200: camera view 200 is object view 5.
    axis = np.cross(views[5], views[200])
    angle = np.arctan2(np.linalg.norm(axis), views[5] @ views[200])
    turn = trimesh.transformations.rotation_matrix(angle, axis)[:3, :3]
    np.testing.assert_allclose(turn @ views[5], views[200], atol=1e-12)
    assert camera_view_index(turn)[200] == 5
    with pytest.raises(ValueError, match="R_cam_obj"):
        camera_view_index(np.diag([1.0, 1.0, -1.0]))


# ----------------------------------------------------------------- a box alone on a table
def test_box_on_a_table_graspable_faces_high_table_zero(
    box_labels: ObjectLabels, box_collision: np.ndarray
) -> None:
    cfg = GraspnessConfig(voxel_size=0.0)
    scene = scene_grasp_labels([box_labels], [box_collision], [0], cfg)
    # The table removes grasps: some label points lose graspness, none gains.
    alone = scene_grasp_labels([box_labels], [np.zeros_like(box_collision)], [0], cfg)
    assert np.all(scene.point_graspness <= alone.point_graspness)
    assert np.any(scene.point_graspness < alone.point_graspness)
    T_table_cam = look_at((0.0, -0.3, 0.4), (0.0, 0.0, 0.02))
    depth, mask = render(T_table_cam, box_pose())
    T_cam_obj = np.linalg.inv(T_table_cam) @ box_pose()
    frame = frame_graspness(depth, mask, INTRINSICS, T_cam_obj[None], scene, cfg)
    # Every valid pixel is a point; objectness is the mask.
    assert len(frame.points) == np.count_nonzero(depth > 0)
    u, v = frame.pixels[:, 0].astype(int), frame.pixels[:, 1].astype(int)
    np.testing.assert_array_equal(frame.objectness, mask[v, u] > 0)
    np.testing.assert_allclose(frame.points[:, 2], depth[v, u], rtol=1e-6)
    table, box = ~frame.objectness, frame.objectness
    assert box.sum() > 300 and table.sum() > 1000
    assert np.all(frame.graspness[table] == 0) and np.all(frame.label_index[table] == -1)
    # The box: every seen point matched to a label point of it, graspable almost everywhere.
    assert np.all(frame.label_index[box] >= 0)
    assert np.mean(frame.graspness[box] > 0) > 0.9 and frame.graspness.max() == 1.0
    assert float(np.median(frame.graspness[box])) > 0.3
    # Points low on the walls (fingers would reach into the table) are less graspable than the top.
    height = (np.c_[frame.points, np.ones(len(frame.points))] @ T_table_cam.T)[:, 2]
    top, low = box & (height > BOX[2] - 0.003), box & (height < 0.01)
    assert top.sum() > 20 and low.sum() > 20
    assert frame.graspness[top].mean() > frame.graspness[low].mean()
    raw = scene.point_graspness[frame.label_index[box]]
    np.testing.assert_allclose(frame.graspness[box] * frame.graspness_range[1], raw, rtol=1e-5)


def test_frame_labels_voxels_and_seed_side_lookups(
    box_labels: ObjectLabels, box_collision: np.ndarray
) -> None:
    scene = scene_grasp_labels([box_labels], [box_collision], [0])
    T_table_cam = look_at((0.2, -0.2, 0.35), (0.0, 0.0, 0.02))
    depth, mask = render(T_table_cam, box_pose())
    T_cam_obj = (np.linalg.inv(T_table_cam) @ box_pose())[None]
    frame = frame_graspness(depth, mask, INTRINSICS, T_cam_obj, scene)
    keys = np.floor(frame.points.astype(np.float64) / 0.005)
    assert len(np.unique(keys, axis=0)) == len(frame.points) < np.count_nonzero(depth > 0)
    rows = frame.label_index[frame.label_index >= 0]
    best = np.argmax(scene.view_graspness[rows].astype(np.float32), axis=1)
    scores, widths, stable = view_targets(scene, rows, best)
    num_a, num_d = len(scene.angles), len(scene.depths)
    assert scores.shape == widths.shape == (len(rows), num_a, num_d)
    assert stable is not None and stable.shape == (len(rows), num_a)
    assert np.all((widths > 0) == (scores > 0) | (scene.mu_centi[rows, best] == 100))
    assert np.all(widths <= 0.1) and np.all((stable >= 0) & (stable <= 1))
    # The best view of a graspable point has a free grasp.
    graspable = scene.point_graspness[rows] > 0
    assert np.all(scene.mu_centi[rows, best][graspable].reshape(graspable.sum(), -1).max(1) > 0)
    with pytest.raises(ValueError, match="rows and views"):
        view_targets(scene, [len(scene.points)], [0])
    with pytest.raises(ValueError, match="T_cam_obj"):
        frame_graspness(depth, mask, INTRINSICS, np.zeros((1, 4, 4)), scene)
    with pytest.raises(ValueError, match="mask"):
        frame_graspness(depth, mask[:-1], INTRINSICS, T_cam_obj, scene)
