import numpy as np
import pytest

from grasplab.core import CameraIntrinsics, GraspGroup
from grasplab.detection import Observation, TrayWorkspace, workspace_mask

K = CameraIntrinsics(100.0, 100.0, 39.5, 29.5, 80, 60)


class _Recorder:
    """A detector that remembers the observation it was given."""

    def __init__(self) -> None:
        self.seen: Observation | None = None

    def detect(self, observation: Observation) -> GraspGroup:
        self.seen = observation
        return GraspGroup.empty()


def _top_down_camera(height: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])  # looking down the world -z axis
    T[2, 3] = height
    return T


def test_tray_workspace_masks_outside_the_floor_square() -> None:
    depth = np.full((K.height, K.width), 0.5, np.float32)  # the floor plane z = 0 seen from 0.5 m
    T_world_cam = _top_down_camera(0.5)
    inner = _Recorder()
    TrayWorkspace(inner, half_extent=0.05).detect(Observation(depth, K, T_world_cam=T_world_cam))
    assert inner.seen is not None and inner.seen.mask is not None
    expected = workspace_mask(depth, K, T_world_cam, np.eye(4), 0.05)
    assert np.array_equal(inner.seen.mask > 0, expected)
    # 0.05 m at 0.5 m depth is 10 px each side of the centre
    assert 15 <= expected.sum(axis=1).max() <= 21
    assert not expected[0].any() and expected[30, 40]


def test_tray_workspace_keeps_the_observation_mask_and_needs_the_camera_pose() -> None:
    depth = np.full((K.height, K.width), 0.5, np.float32)
    own = np.zeros(depth.shape, dtype=bool)
    own[:30] = True
    inner = _Recorder()
    TrayWorkspace(inner, half_extent=0.05).detect(
        Observation(depth, K, mask=own, T_world_cam=_top_down_camera(0.5)))
    assert inner.seen is not None and inner.seen.mask is not None
    assert not (inner.seen.mask[30:] > 0).any()
    with pytest.raises(ValueError, match="T_world_cam"):
        TrayWorkspace(inner).detect(Observation(depth, K))


def test_tray_workspace_forwards_bind_to_a_scene_aware_detector() -> None:
    class _Bindable(_Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.bound: object = None

        def bind(self, state: object) -> None:
            self.bound = state

    inner = _Bindable()
    wrapper = TrayWorkspace(inner)
    wrapper.bind("scene-state")
    assert inner.bound == "scene-state"
    TrayWorkspace(_Recorder()).bind("ignored")  # a detector without bind: no error
