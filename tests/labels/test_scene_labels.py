"""Scene collision labels: known answers with neighbouring boxes and the table, and dataset jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.core import CameraIntrinsics, GripperModel
from grasplab.core.gripper import GraspPoses
from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.labels import ObjectLabelConfig, label_object, labels_to_grasps, save_object_labels
from grasplab.labels.object_labels import ObjectLabels
from grasplab.labels.sampling import sample_surface_voxels
from grasplab.labels.scene_label_jobs import (
    collision_label_path,
    collision_labels_complete,
    label_scene,
    label_scenes,
    load_collision_labels,
)
from grasplab.labels.scene_labels import (
    SceneCollisionConfig,
    floor_collisions,
    scene_collision_labels,
)
from grasplab.scenes.layout import DatasetWriter

pytest.importorskip("embreex")

BOX = (0.03, 0.04, 0.05)
SMALL = ObjectLabelConfig(num_views=60, num_angles=6, spacing=0.01, max_points=40)


@pytest.fixture(scope="module")
def box_labels() -> ObjectLabels:
    return label_object(trimesh.creation.box(BOX), config=SMALL, rng=3)


@pytest.fixture(scope="module")
def box_points() -> np.ndarray:
    return sample_surface_voxels(trimesh.creation.box(BOX), 0.003, 0)


def _pose(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def _hand_labels(
    widths: list[float], depth: float, angles: list[float]
) -> tuple[ObjectLabels, int]:
    """One grasp point on top of a BOX (model frame centred), a top-down view, A angles."""
    views = approach_views(300)
    top = int(np.argmax(views[:, 2]))  # view ~ +z: approach ~ -z (from above)
    grid = (1, 300, len(angles), 1)
    offsets = np.zeros((*grid, 3), dtype=np.float32)
    offsets[0, :, :, 0, 0] = angles
    offsets[0, :, :, 0, 1] = depth
    offsets[0, :, :, 0, 2] = np.asarray(widths)
    scores = np.full(grid, -1.0, dtype=np.float32)
    scores[0, top] = 0.2
    return ObjectLabels(points=np.array([[0.0, 0.0, BOX[2] / 2]]), offsets=offsets, scores=scores,
                        collision=np.zeros(grid, dtype=bool)), top


def test_finger_through_a_neighbour_is_flagged_an_isolated_grasp_is_not(box_points: np.ndarray) -> None:
    # Jaw along x (angle 0 gives the jaw axis ~ x for the top view) or along y (pi/2).
    labels, top = _hand_labels([0.04, 0.05], 0.02, [0.0, np.pi / 2])
    rot = rotation_from_view(-approach_views(300)[[top, top]], np.array([0.0, np.pi / 2]))
    jaw_x = int(np.argmax(np.abs(rot[:, 0, 1])))
    # A neighbouring box 8 mm beside the labelled one along x: the jaw-x fingers (at
    # |x| in (0.02, 0.03)) enter it; the jaw-y grasp stays clear of it.
    poses = np.stack([_pose(z=BOX[2] / 2), _pose(x=BOX[0] + 0.008, z=BOX[2] / 2)])
    masks = scene_collision_labels([labels, labels], poses, [box_points, box_points])
    assert masks[0][0, top, jaw_x, 0]
    assert not masks[0][0, top, 1 - jaw_x, 0]
    assert masks[0].sum() == 1  # score <= 0 entries are not evaluated
    # The same grasps with the neighbour far away: nothing collides.
    far = np.stack([_pose(z=BOX[2] / 2), _pose(x=0.3, z=BOX[2] / 2)])
    assert not scene_collision_labels([labels, labels], far, [box_points, box_points])[0].any()


def test_table_flags_fingertips_below_the_top(box_points: np.ndarray) -> None:
    labels, top = _hand_labels([0.05], BOX[2] + 0.004, [np.pi / 2])  # tips 4 mm into the table
    pose = _pose(z=BOX[2] / 2)[None]
    hit = scene_collision_labels([labels], pose, [box_points], floors=[np.eye(4)])[0]
    assert hit[0, top, 0, 0]
    assert not scene_collision_labels([labels], pose, [box_points])[0].any()
    shallow, _ = _hand_labels([0.05], BOX[2] - 0.004, [np.pi / 2])
    assert not scene_collision_labels([shallow], pose, [box_points], floors=[np.eye(4)])[0].any()


def test_floor_collisions_known_answer() -> None:
    gripper = GripperModel()
    down = np.array([[[0.0, 1, 0], [0, 0, 1], [-1, 0, 0]]]).repeat(3, axis=0)  # approach -z
    t = np.array([[0.0, 0.0, 0.03]] * 3)
    depths = np.array([0.02, 0.0299, 0.0301])
    bounds = gripper.box_bounds(GraspPoses(down, t, np.full(3, 0.05), depths))
    hit = floor_collisions(bounds, down, t, np.array([0.0, 0.0, 1.0, 0.0]))
    assert hit.tolist() == [False, False, True]


def test_matches_collision_and_empty_exactly(box_labels: ObjectLabels, box_points: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    neighbour = _pose(x=0.035, y=0.01, z=BOX[2] / 2)
    neighbour[:3, :3] = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
    poses = np.stack([_pose(z=BOX[2] / 2), neighbour])
    masks = scene_collision_labels([box_labels, box_labels], poses, [box_points, box_points],
                                   include_self_collision=False)
    entries = np.nonzero(box_labels.scores > 0)
    offsets = box_labels.offsets[entries].astype(np.float64)
    rot = poses[0, :3, :3] @ rotation_from_view(-approach_views(60)[entries[1]], offsets[:, 0])
    trans = box_labels.points[entries[0]] @ poses[0, :3, :3].T + poses[0, :3, 3]
    obstacles = box_points @ neighbour[:3, :3].T + neighbour[:3, 3]
    reference = GripperModel().collision_and_empty(
        GraspPoses(rot, trans, offsets[:, 2], offsets[:, 1]), obstacles)[0]
    assert reference.any() and not reference.all()
    np.testing.assert_array_equal(masks[0][entries], reference)
    assert not masks[0][box_labels.scores <= 0].any()


def test_self_collision_is_or_ed_in(box_labels: ObjectLabels, box_points: np.ndarray) -> None:
    pose = _pose(x=0.3)[None]
    with_self = scene_collision_labels([box_labels], pose, [box_points])[0]
    np.testing.assert_array_equal(with_self, box_labels.collision & (box_labels.scores > 0))
    without = scene_collision_labels([box_labels], pose, [box_points],
                                     include_self_collision=False)[0]
    assert not without.any()


def test_bad_inputs_raise(box_labels: ObjectLabels, box_points: np.ndarray) -> None:
    with pytest.raises(ValueError, match="object_points"):
        scene_collision_labels([box_labels], np.eye(4)[None], [])
    with pytest.raises(ValueError, match="T_scene_obj"):
        scene_collision_labels([box_labels], np.eye(4), [box_points])
    with pytest.raises(ValueError, match="point_spacing"):
        SceneCollisionConfig(point_spacing=0.0)


def _write_dataset(root: Path, labels: ObjectLabels, gap: float) -> list[int]:
    """Two boxes side by side (gap along x), one tiny frame, labels for objects 3 and 5."""
    writer = DatasetWriter(root)
    ids = [5, 3]
    for obj_id in ids:
        writer.write_model(obj_id, trimesh.creation.box(BOX))
        save_object_labels(root, obj_id, labels)
    intr = CameraIntrinsics(10.0, 10.0, 3.5, 3.5, 8, 8)
    T_table_cam0 = _pose(z=0.6)
    T_table_cam0[:3, :3] = np.diag([1.0, -1.0, -1.0])
    poses = np.stack([_pose(z=BOX[2] / 2), _pose(x=BOX[0] + gap, z=BOX[2] / 2)])
    tmp = writer.begin_scene(0)
    writer.write_scene_static(tmp, ids, intr, np.eye(4)[None], T_table_cam0)
    writer.write_frame(tmp, 0, rgb=np.zeros((8, 8, 3), np.uint8), depth=np.full((8, 8), 0.5),
                       mask=np.zeros((8, 8), np.int32), intrinsics=intr, object_ids=ids,
                       T_cam_obj=np.linalg.inv(T_table_cam0) @ poses)
    writer.commit_scene(tmp, 0)
    return ids


def test_label_scene_writes_reference_masks_resumably(box_labels: ObjectLabels,
                                                      tmp_path: Path) -> None:
    ids = _write_dataset(tmp_path, box_labels, gap=0.008)
    outcome = label_scene(tmp_path, 0)
    assert outcome.status == "labelled" and outcome.num_checked > outcome.num_colliding > 0
    path = collision_label_path(tmp_path, 0)
    assert path == tmp_path / "collision_label" / "scene_0000" / "collision_labels.npz"
    masks = load_collision_labels(tmp_path, 0)
    assert len(masks) == len(ids) and all(m.shape == box_labels.grid_shape for m in masks)
    with np.load(path) as data:
        assert sorted(data.files) == ["arr_0", "arr_1"]
    # The masks remove grasps in graspnetAPI's loadGrasp rule.
    kept = labels_to_grasps(box_labels, np.eye(4), 5, collision=masks[0])
    assert 0 < len(kept) < len(labels_to_grasps(box_labels, np.eye(4), 5))
    mtime = path.stat().st_mtime_ns
    assert label_scene(tmp_path, 0).status == "skipped"
    assert path.stat().st_mtime_ns == mtime
    assert collision_labels_complete(tmp_path, 0, [box_labels.grid_shape] * 2)
    assert not collision_labels_complete(tmp_path, 0, [(1, 2, 3, 4)] * 2)


def test_label_scenes_reports_failures(box_labels: ObjectLabels, tmp_path: Path) -> None:
    _write_dataset(tmp_path, box_labels, gap=0.05)
    (tmp_path / "grasp_label" / "003_labels.npz").unlink()
    outcomes = label_scenes(tmp_path)
    assert [o.status for o in outcomes] == ["failed"]
    assert "003" in outcomes[0].message
    with pytest.raises(FileNotFoundError):
        load_collision_labels(tmp_path, 0)


def test_tray_from_the_scene_record_adds_collisions(box_labels: ObjectLabels,
                                                    tmp_path: Path) -> None:
    _write_dataset(tmp_path, box_labels, gap=0.05)
    record = {"record": {"T_world_table": np.eye(4).tolist(), "T_world_tray": np.eye(4).tolist()}}
    DatasetWriter.write_json(tmp_path / "scenes" / "scene_0000" / "scene_record.json", record)
    label_scene(tmp_path, 0, config=SceneCollisionConfig(include_tray=False))
    plain = load_collision_labels(tmp_path, 0)
    label_scene(tmp_path, 0, overwrite=True)
    tray = load_collision_labels(tmp_path, 0)
    # The tray floor (1.5 cm above the table top) catches grasps reaching low on the boxes.
    for a, b in zip(plain, tray, strict=True):
        assert np.all(b[a]) and b.sum() > a.sum()
