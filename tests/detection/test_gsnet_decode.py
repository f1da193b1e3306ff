"""GSNet decoding: a label decoded by the network's decoder returns the labelled grasp."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from grasplab.core.grasp_group import GraspGroup
from grasplab.core.rotations import approach_views, rotation_from_view
from grasplab.data.grasp_targets import camera_grasp_index, seed_grasp_targets, seed_view_targets
from grasplab.detection.gsnet_decode import GSNetDecodeConfig, decode_gsnet
from grasplab.labels.graspness import SceneGraspLabels

V, A = 300, 12
DEPTHS = (0.005, 0.01, 0.02, 0.03, 0.04)
EXACT = GSNetDecodeConfig(DEPTHS, A, V, width_scale=1.0)


def _one_point_labels(
    view: int, angle: int, depth: int, mu_centi: int = 20, width_mm: int = 42, stable: int | None = None
) -> SceneGraspLabels:
    """A scene with one label point at (0.01, 0.02, 0.03) and one free grasp."""
    mu = np.zeros((1, V, A, len(DEPTHS)), np.uint8)
    mu[0, view, angle, depth] = mu_centi
    width = np.where(mu > 0, width_mm, 0).astype(np.uint8)
    view_g = np.zeros((1, V), np.float16)
    view_g[0, view] = 1.0
    stab = None if stable is None else np.full((1, V, A), stable, np.uint8)
    return SceneGraspLabels(
        object_ids=np.array([3], np.int32),
        point_offsets=np.array([0, 1]),
        points=np.array([[0.01, 0.02, 0.03]], np.float32),
        point_graspness=np.array([1.0], np.float32),
        view_graspness=view_g,
        mu_centi=mu,
        width_mm=width,
        stable=stab,
        angles=(np.arange(A) * np.pi / A).astype(np.float32),
        depths=np.asarray(DEPTHS, np.float32),
    )


def _outputs(
    xyz: np.ndarray, view: int, labels: SceneGraspLabels, view_maps: np.ndarray, angle_maps: np.ndarray
) -> dict[str, np.ndarray]:
    """Network outputs equal to the label's targets for camera view ``view``."""
    t = seed_grasp_targets(labels, [0], [view_maps[view]], angle_maps[view][None])
    return {
        "seed_xyz": xyz[None],
        "view_index": np.array([view]),
        "score": t.score,
        "width": t.width * 10.0,
        "stable": t.stable,
    }


def test_identity_pose_decodes_the_labelled_grasp_exactly() -> None:
    labels = _one_point_labels(view=123, angle=5, depth=2)
    view_maps, angle_maps = camera_grasp_index(np.eye(3), V, A)
    point = labels.points[0].astype(np.float64)
    grasps = decode_gsnet(_outputs(point, 123, labels, view_maps, angle_maps), EXACT)
    rot = rotation_from_view(-approach_views(V)[[123]], [5 * np.pi / A])
    expected = GraspGroup.from_components(point[None], rot, 0.042, 0.02, 1.0 * np.log(1 / 0.2) / np.log(10))
    np.testing.assert_allclose(np.asarray(grasps), np.asarray(expected), atol=1e-6)


@pytest.mark.parametrize("flip", [False, True])
def test_posed_label_decodes_near_the_labelled_grasp(flip: bool) -> None:
    rot = Rotation.from_euler("xyz", [0.4, -0.7, 2.0]).as_matrix()
    if flip:
        rot = np.diag([-1.0, 1.0, 1.0]) @ rot
    t_cam = np.array([0.05, -0.02, 0.6])
    view_maps, angle_maps = camera_grasp_index(rot, V, A)
    views = approach_views(V)
    checked = 0
    for cam_view in (7, 150, 299):
        obj_view = int(view_maps[cam_view])
        for obj_angle in (0, 4, 9):
            labels = _one_point_labels(obj_view, obj_angle, 3)
            point = rot @ labels.points[0] + t_cam
            outputs = _outputs(point, cam_view, labels, view_maps, angle_maps)
            if outputs["score"].max() == 0:  # no camera angle bin maps to this object angle
                continue
            grasp = decode_gsnet(outputs, EXACT)
            labelled = rot @ rotation_from_view(-views[[obj_view]], [obj_angle * np.pi / A])[0]
            got = grasp.rotations[0]
            assert np.degrees(np.arccos(np.clip(got[:, 0] @ labelled[:, 0], -1, 1))) < 9.0
            assert np.degrees(np.arccos(np.clip(abs(got[:, 1] @ labelled[:, 1]), -1, 1))) < 12.0
            np.testing.assert_allclose(grasp.translations[0], point, atol=1e-6)
            assert grasp.depths[0] == pytest.approx(0.03) and grasp.widths[0] == pytest.approx(0.042)
            checked += 1
    assert checked >= 7


def test_view_targets_follow_the_camera_view_order() -> None:
    rot = Rotation.from_euler("z", 0.9).as_matrix()
    view_maps, _ = camera_grasp_index(rot, V, A)
    labels = _one_point_labels(view=40, angle=0, depth=0)
    targets = seed_view_targets(labels, [0, -1], np.stack([view_maps, view_maps]))
    assert targets.shape == (2, V) and targets[1].max() == 0
    hot = np.flatnonzero(targets[0])
    assert len(hot) >= 1 and set(view_maps[hot]) == {40}
    assert np.degrees(np.arccos(approach_views(V)[hot] @ (rot @ approach_views(V)[40])).max()) < 9.0


def test_stable_score_ranks_and_width_scale_clamps() -> None:
    score = np.zeros((2, A, len(DEPTHS)))
    score[:, 1, 0], score[:, 2, 1] = 0.9, 0.8
    stable = np.zeros((2, A))
    stable[:, 1] = 0.5  # AnyGrasp: 0.9 * 0.5 < 0.8 * 1
    out = {
        "seed_xyz": np.zeros((2, 3)),
        "view_index": np.array([0, 1]),
        "score": score,
        "width": np.full((2, A, len(DEPTHS)), 0.9),
        "stable": stable,
    }
    grasps = decode_gsnet(out)
    np.testing.assert_allclose(grasps.scores, [0.8, 0.8])
    np.testing.assert_allclose(grasps.depths, [0.01, 0.01])
    np.testing.assert_allclose(grasps.widths, [0.1, 0.1])  # 1.2 * 0.09 clamped to 0.1
    plain = decode_gsnet(out, GSNetDecodeConfig(use_stable=False, min_score=0.85))
    assert len(plain) == 2 and plain.depths.tolist() == [0.005, 0.005]
    assert len(decode_gsnet(out, GSNetDecodeConfig(min_score=0.85))) == 0


def test_decode_takes_batched_tensors_and_rejects_bad_shapes() -> None:
    torch = pytest.importorskip("torch")
    out = {
        "seed_xyz": torch.zeros(2, 4, 3),
        "view_index": torch.zeros(2, 4, dtype=torch.int64),
        "score": torch.rand(2, 4, A, 5),
        "width": torch.rand(2, 4, A, 5),
    }
    assert len(decode_gsnet(out, index=1)) == 4
    with pytest.raises(ValueError, match="score"):
        decode_gsnet({**out, "score": torch.rand(2, 4, A, 4)})
    with pytest.raises(ValueError, match="view_index"):
        decode_gsnet({**out, "view_index": torch.full((2, 4), 300)})
    with pytest.raises(ValueError, match="orthogonal"):
        camera_grasp_index(np.ones((3, 3)))


def test_gsnet_grasps_on_a_depth_frame() -> None:
    torch = pytest.importorskip("torch")
    from grasplab.core.camera import CameraIntrinsics, depth_to_points
    from grasplab.detection.gsnet_detect import gsnet_grasps
    from grasplab.models import build_model

    cam = CameraIntrinsics(200.0, 200.0, 39.5, 29.5, 80, 60)
    depth = np.full((60, 80), 0.6, np.float32)
    depth[20:40, 30:50] = 0.55  # a box on the table
    torch.manual_seed(0)
    spec = {"feature_dim": 16, "depth2d_channels": [8, 8], "num_seeds": 12, "group_dim": 16}
    net = build_model("gsnet", spec)
    grasps = gsnet_grasps(net, depth, cam, num_points=200, downsample=1, width_scale=1.0)
    assert len(grasps) == 12 and net.training  # the mode is restored
    assert np.all(np.diff(grasps.scores) <= 0) and np.all((grasps.widths >= 0) & (grasps.widths <= 0.1))
    points, _ = depth_to_points(depth, cam)
    nearest = np.min(np.linalg.norm(points[None] - grasps.translations[:, None], axis=2), axis=1)
    assert nearest.max() < 1e-6  # every grasp point is an observed point
    again = gsnet_grasps(net, depth, cam, num_points=200, downsample=1, width_scale=1.0)
    np.testing.assert_array_equal(np.asarray(again), np.asarray(grasps))
    rgb_net = build_model("gsnet", {**spec, "use_rgb": True})
    with pytest.raises(ValueError, match="RGB"):
        gsnet_grasps(rgb_net, depth, cam)
    with pytest.raises(ValueError, match="GSNet"):
        gsnet_grasps(torch.nn.Linear(2, 2), depth, cam)
