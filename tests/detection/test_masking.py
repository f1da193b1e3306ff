"""User masks, camera-frame workspace boxes and the support workspace (grasplab.detection.masking)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grasplab.core import CameraIntrinsics, GripperModel, invert_transform
from grasplab.detection import AnalyticDetector, AnalyticDetectorConfig, Observation
from grasplab.detection.masking import (
    SupportWorkspace,
    WorkspaceBox,
    check_pixel_mask,
    read_pixel_mask,
    resting_mask,
    restrict_observation,
)
from grasplab.scenes import look_at

K = CameraIntrinsics(200.0, 200.0, 99.5, 74.5, 200, 150)
STEP = 0.0015
FLOOR_Z, FLOOR_HALF, RIM_HALF, RIM_Z = 0.015, 0.2, 0.29, 0.13


def _rect(origin: tuple[float, ...], edge_u: tuple[float, ...], edge_v: tuple[float, ...]) -> np.ndarray:
    eu, ev = np.asarray(edge_u, float), np.asarray(edge_v, float)
    s = np.arange(0, 1, STEP / np.linalg.norm(eu))
    t = np.arange(0, 1, STEP / np.linalg.norm(ev))
    st = np.stack(np.meshgrid(s, t, indexing="ij"), -1).reshape(-1, 2)
    return np.asarray(origin, float) + st[:, :1] * eu + st[:, 1:] * ev


def _box(cx: float, cy: float, sx: float, sy: float, sz: float) -> np.ndarray:
    x0, y0, z0 = cx - sx / 2, cy - sy / 2, FLOOR_Z
    return np.concatenate([
        _rect((x0, y0, z0 + sz), (sx, 0, 0), (0, sy, 0)),
        _rect((x0, y0, z0), (sx, 0, 0), (0, 0, sz)), _rect((x0, y0 + sy, z0), (sx, 0, 0), (0, 0, sz)),
        _rect((x0, y0, z0), (0, sy, 0), (0, 0, sz)), _rect((x0 + sx, y0, z0), (0, sy, 0), (0, 0, sz)),
    ])


def _tray_world() -> tuple[np.ndarray, np.ndarray]:
    """World points of a table, a tray (floor + four sloping walls) and two boxes; wall flags."""
    f, r, d = FLOOR_HALF, RIM_HALF, RIM_Z - FLOOR_Z
    table = _rect((-0.45, -0.45, 0.0), (0.9, 0, 0), (0, 0.9, 0))
    table = table[np.max(np.abs(table[:, :2]), axis=1) > r]
    floor = _rect((-f, -f, FLOOR_Z), (2 * f, 0, 0), (0, 2 * f, 0))
    walls = np.concatenate([
        _rect((-f, -f, FLOOR_Z), (2 * f, 0, 0), (-(r - f), -(r - f), d)),
        _rect((-f, f, FLOOR_Z), (2 * f, 0, 0), (-(r - f), r - f, d)),
        _rect((-f, -f, FLOOR_Z), (0, 2 * f, 0), (-(r - f), -(r - f), d)),
        _rect((f, -f, FLOOR_Z), (0, 2 * f, 0), (r - f, -(r - f), d)),
    ])
    boxes = np.concatenate([_box(0.05, 0.03, 0.05, 0.035, 0.06), _box(-0.07, -0.05, 0.04, 0.04, 0.045)])
    world = np.concatenate([table, floor, walls, boxes])
    is_wall = np.repeat([False, False, True, False], [len(table), len(floor), len(walls), len(boxes)])
    return world, is_wall


def _zbuffer(points: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Depth image (m) of dense camera-frame points: the nearest point per pixel."""
    u = np.round(intrinsics.fx * points[:, 0] / points[:, 2] + intrinsics.cx).astype(int)
    v = np.round(intrinsics.fy * points[:, 1] / points[:, 2] + intrinsics.cy).astype(int)
    keep = (u >= 0) & (u < intrinsics.width) & (v >= 0) & (v < intrinsics.height) & (points[:, 2] > 0)
    depth = np.full((intrinsics.height, intrinsics.width), np.inf)
    np.minimum.at(depth, (v[keep], u[keep]), points[keep, 2])
    return np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)


@pytest.fixture(scope="module")
def tray_frame() -> tuple[Observation, np.ndarray]:
    """A rendered tray holding two boxes, and the tray walls' points in the camera frame."""
    world, is_wall = _tray_world()
    T_cam_world = invert_transform(look_at((0.1, -0.3, 0.55), (0.0, 0.0, 0.03)))
    cam = world @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]
    return Observation(_zbuffer(cam, K), K), cam[is_wall]


def _plane_depth() -> np.ndarray:
    return np.full((K.height, K.width), 0.5, np.float32)


# ------------------------------------------------------------------ pixel masks
def test_check_pixel_mask_accepts_bool_int_and_rgb() -> None:
    mask = np.zeros((4, 5), np.uint8)
    mask[1, 2] = 255
    expected = mask > 0
    np.testing.assert_array_equal(check_pixel_mask(mask, (4, 5)), expected)
    np.testing.assert_array_equal(check_pixel_mask(expected, (4, 5)), expected)
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[1, 2, 1] = 7
    np.testing.assert_array_equal(check_pixel_mask(rgb, (4, 5)), expected)


@pytest.mark.parametrize(("mask", "message"), [
    (np.ones((4, 6), np.uint8), r"6x4 but the depth image is 5x4"),
    (np.zeros((4, 5), np.uint8), "no non-zero pixel"),
    (np.ones(5), "expected an"),
    (np.full((4, 5), "a"), "numbers or bools"),
])
def test_check_pixel_mask_rejects(mask: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_pixel_mask(mask, (4, 5))


@pytest.mark.parametrize("suffix", [".png", ".npy"])
def test_read_pixel_mask_round_trip(tmp_path: Path, suffix: str) -> None:
    mask = np.zeros((K.height, K.width), np.uint8)
    mask[30:60, 40:90] = 255
    path = tmp_path / f"mask{suffix}"
    if suffix == ".png":
        Image.fromarray(mask).save(path)
    else:
        np.save(path, mask)
    np.testing.assert_array_equal(read_pixel_mask(path, (K.height, K.width)), mask > 0)


def test_read_pixel_mask_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        read_pixel_mask(tmp_path / "missing.png", (2, 2))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read"):
        read_pixel_mask(bad, (2, 2))
    small = tmp_path / "small.png"
    Image.fromarray(np.full((3, 3), 255, np.uint8)).save(small)
    with pytest.raises(ValueError, match=r"mask small.png is 3x3 but the depth image is 5x4"):
        read_pixel_mask(small, (4, 5))


# ------------------------------------------------------------------ workspace boxes
def test_workspace_parse_round_trip() -> None:
    box = WorkspaceBox.parse(" -0.2, 0.2,-0.1,0.1, 0.3,0.8")
    assert box.lower == (-0.2, -0.1, 0.3) and box.upper == (0.2, 0.1, 0.8)
    again = WorkspaceBox.parse(",".join(f"{lo!r},{hi!r}" for lo, hi in zip(box.lower, box.upper,
                                                                           strict=True)))
    assert again == box


@pytest.mark.parametrize(("text", "message"), [
    ("0,1,0,1,0", "expected 6 numbers"),
    ("0,1,0,1,0,x", "not numbers"),
    ("0.3,0.1,0,1,0,1", "xmin 0.3 must be below xmax 0.1"),
    ("0,1,0,1,0.5,0.5", "zmin 0.5 must be below zmax 0.5"),
    ("0,1,0,nan,0,1", "finite"),
])
def test_workspace_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkspaceBox.parse(text)


def test_workspace_pixel_mask_known_answer() -> None:
    """A plane at 0.5 m: the box x ∈ [0, 0.1] keeps the pixels u ≥ cx up to x = 0.1 (u = cx + 40)."""
    mask = WorkspaceBox((0.0, -1.0, 0.4), (0.1, 1.0, 0.6)).pixel_mask(_plane_depth(), K)
    columns = np.flatnonzero(mask.any(axis=0))
    assert mask[:, columns].all()
    assert columns.min() == 100 and columns.max() == 139


def test_restrict_observation_intersects_and_keeps_labels() -> None:
    labels = np.zeros((K.height, K.width), np.int32)
    labels[:, :100] = 3
    obs = Observation(_plane_depth(), K, mask=labels)
    user = np.zeros((K.height, K.width), bool)
    user[:, 50:150] = True
    out = restrict_observation(obs, user, WorkspaceBox((-1.0, -1.0, 0.0), (1.0, 0.0, 1.0)))
    assert out.mask is not None and out.mask.dtype == np.int32
    assert set(np.unique(out.mask)) == {0, 3}
    np.testing.assert_array_equal(np.flatnonzero(out.mask.any(axis=0)), np.arange(50, 100))
    assert out.mask[:, 50].nonzero()[0].max() <= 75  # rows below the centre (y > 0) dropped
    np.testing.assert_array_equal(obs.mask, labels)  # input untouched


def test_restrict_observation_rejects_empty_region() -> None:
    obs = Observation(_plane_depth(), K)
    with pytest.raises(ValueError, match="workspace holds no valid depth pixel"):
        restrict_observation(obs, workspace=WorkspaceBox((-1, -1, 1.0), (1, 1, 2.0)))
    with pytest.raises(ValueError, match="no non-zero pixel"):
        restrict_observation(obs, np.zeros((K.height, K.width), bool))


# ------------------------------------------------------------------ support workspace
def test_resting_mask_covers_the_boxes_not_the_tray(tray_frame: tuple[Observation, np.ndarray]) -> None:
    obs, _ = tray_frame
    mask = resting_mask(obs)
    assert mask.shape == obs.shape and mask.dtype == bool
    assert 0 < mask.sum() < 0.1 * obs.valid.sum()
    np.testing.assert_array_equal(mask, resting_mask(obs))  # seeded: deterministic


@pytest.mark.parametrize("wrapped", [False, True])
def test_no_grasp_touches_a_tray_wall(tray_frame: tuple[Observation, np.ndarray], wrapped: bool) -> None:
    """Without a mask neither the analytic detector nor a wrapped one grasps the tray."""
    obs, wall_points = tray_frame
    if wrapped:  # any detector in SupportWorkspace; the inner one samples everywhere
        inner = AnalyticDetector(AnalyticDetectorConfig(max_grasps=30, support=None), rng=0)
        detector: SupportWorkspace | AnalyticDetector = SupportWorkspace(inner)
    else:
        detector = AnalyticDetector(AnalyticDetectorConfig(max_grasps=30), rng=0)
    grasps = detector.detect(obs)
    assert len(grasps) > 0
    collision, empty = GripperModel().collision_and_empty(grasps, wall_points)
    assert empty.all() and not collision.any()


def test_without_support_the_detector_grasps_the_tray(tray_frame: tuple[Observation, np.ndarray]) -> None:
    """The bug the support step fixes: sampling everywhere puts grasps on the walls."""
    obs, wall_points = tray_frame
    bare = AnalyticDetector(AnalyticDetectorConfig(max_grasps=30, support=None), rng=0).detect(obs)
    assert not GripperModel().collision_and_empty(bare, wall_points)[1].all()


def test_support_workspace_keeps_user_labels(tray_frame: tuple[Observation, np.ndarray]) -> None:
    obs, _ = tray_frame
    labels = np.where(obs.valid, 2, 0).astype(np.int32)
    wrapper = SupportWorkspace(AnalyticDetector(AnalyticDetectorConfig(max_grasps=5, support=None), rng=0))
    grasps = wrapper.detect(Observation(obs.depth, obs.intrinsics, mask=labels))
    assert wrapper.last_mask_ is not None and wrapper.last_mask_.sum() > 0
    assert len(grasps) > 0 and set(grasps.object_ids.tolist()) == {1}


def test_resting_mask_rejects_bad_stride(tray_frame: tuple[Observation, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="pixel_stride"):
        resting_mask(tray_frame[0], pixel_stride=0)


def test_analytic_config_rejects_bad_support() -> None:
    with pytest.raises(ValueError, match="support"):
        AnalyticDetectorConfig(support="auto")  # type: ignore[arg-type]
