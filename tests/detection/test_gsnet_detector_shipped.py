"""The GSNet shipped inside the package detects a graspable object in a rendered frame."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pybullet")

from grasplab.core import GraspGroup, GripperModel, depth_to_points, intrinsics_preset  # noqa: E402
from grasplab.detection import Observation, build_detector  # noqa: E402
from grasplab.detection.shipped import shipped_gsnet_weights  # noqa: E402
from grasplab.training.checkpoints import read_checkpoint_header  # noqa: E402

needs_shipped = pytest.mark.skipif(shipped_gsnet_weights() is None, reason="no GSNet shipped here")


def _rendered_frame(object_ids: list[int]) -> tuple[Observation, np.ndarray]:
    """Objects of the similar split settled in the tray, seen from rig view 0 at 640x360."""
    from grasplab.objects import ObjectLibrary
    from grasplab.scenes import World, generate_clutter, populate_world, render_frame, rig_camera_poses

    library = ObjectLibrary()
    record = generate_clutter(library, object_ids, 0, np.random.default_rng(0))
    pose = rig_camera_poses(256, center=np.asarray(record.T_world_tray)[:3, 3], view_ids=[0])[0]
    intrinsics = intrinsics_preset("realsense").scaled(0.5)
    with World() as world:
        populate_world(world, library, record, static=True)
        frame = render_frame(world, intrinsics, pose)
    return Observation(frame.depth, intrinsics, frame.rgb, T_world_cam=pose), frame.mask


def _fitting_grasps(grasps: GraspGroup, object_points: np.ndarray, gripper: GripperModel) -> np.ndarray:
    """Per grasp: within 2 cm of the object, >= 5 object points between the jaws, width covering them."""
    ok = np.zeros(len(grasps), dtype=bool)
    for i in range(len(grasps)):
        q = (object_points - grasps.translations[i]) @ grasps.rotations[i]  # gripper frame
        near = np.linalg.norm(q, axis=1).min() < 0.02
        slab = (q[:, 0] > -gripper.depth_base) & (q[:, 0] < grasps.depths[i])
        slab &= np.abs(q[:, 2]) < gripper.height / 2
        inner = slab & (np.abs(q[:, 1]) <= grasps.widths[i] / 2)
        if near and inner.sum() >= 5:
            ok[i] = np.ptp(q[inner, 1]) <= grasps.widths[i] <= gripper.max_width
    return ok


def test_the_fit_criterion_tells_wide_grasps_from_closed_ones() -> None:
    points = np.array([[x, y, 0.0] for x in (0.0, 0.01) for y in np.linspace(-0.02, 0.02, 5)])
    grasp = GraspGroup.from_components(np.zeros((1, 3)), np.eye(3)[None], 0.06, 0.02)
    assert _fitting_grasps(grasp, points, GripperModel()).all()  # 4 cm of object, 6 cm opening
    narrow = GraspGroup.from_components(np.zeros((1, 3)), np.eye(3)[None], 0.002, 0.02)
    assert not _fitting_grasps(narrow, points, GripperModel()).any()  # too few points between
    far = GraspGroup.from_components(np.array([[0.0, 0.0, 0.1]]), np.eye(3)[None], 0.06, 0.02)
    assert not _fitting_grasps(far, points, GripperModel()).any()


@needs_shipped
def test_shipped_gsnet_is_a_gsnet_checkpoint() -> None:
    path = shipped_gsnet_weights()
    assert path is not None and path.suffix == ".safetensors"
    header = read_checkpoint_header(path)
    assert header["family"] == "gsnet" and header["config"]["data"]["num_points"] >= 1


@needs_shipped
@pytest.mark.slow
def test_shipped_gsnet_grasps_a_rendered_object() -> None:
    observation, mask = _rendered_frame([700, 701, 702])
    grasps = build_detector("gsnet").detect(observation)
    assert len(grasps) > 0 and grasps.invalid_rows() == []
    object_points, _ = depth_to_points(observation.depth, observation.intrinsics, mask > 0)
    assert _fitting_grasps(grasps, object_points, GripperModel()).any()
