"""Support plane and container walls (grasplab.detection.support) on synthetic clouds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grasplab.core import depth_to_points, invert_transform
from grasplab.detection.support import SupportConfig, extract_planes, find_support
from grasplab.scenes import look_at

Scene = Any  # tests/detection/conftest.py::Scene (conftest modules are not importable)

SPACING = 0.004


def _grid(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack(np.meshgrid(u, v, indexing="ij"), -1).reshape(-1, 2)


def _rect(origin: tuple[float, ...], edge_u: tuple[float, ...], edge_v: tuple[float, ...]) -> np.ndarray:
    """Points every SPACING on the parallelogram origin + s * edge_u + t * edge_v (world)."""
    eu, ev = np.asarray(edge_u), np.asarray(edge_v)
    st = _grid(np.arange(0, 1, SPACING / np.linalg.norm(eu)), np.arange(0, 1, SPACING / np.linalg.norm(ev)))
    return np.asarray(origin) + st[:, :1] * eu + st[:, 1:] * ev


def _box(center: tuple[float, float], size: tuple[float, float, float], base: float) -> np.ndarray:
    """The top and four sides of an axis-aligned box standing on z = base."""
    (cx, cy), (sx, sy, sz) = center, size
    x0, y0, z1 = cx - sx / 2, cy - sy / 2, base + sz
    return np.concatenate([
        _rect((x0, y0, z1), (sx, 0, 0), (0, sy, 0)),
        _rect((x0, y0, base), (sx, 0, 0), (0, 0, sz)),
        _rect((x0, y0 + sy, base), (sx, 0, 0), (0, 0, sz)),
        _rect((x0, y0, base), (0, sy, 0), (0, 0, sz)),
        _rect((x0 + sx, y0, base), (0, sy, 0), (0, 0, sz)),
    ])


FLOOR_Z, FLOOR_HALF, RIM_HALF, RIM_Z = 0.015, 0.2, 0.29, 0.13
BOXES = (((0.05, 0.02), (0.06, 0.04, 0.05)), ((-0.08, -0.06), (0.04, 0.04, 0.04)))


def _tray() -> np.ndarray:
    """A tray (floor, four walls sloping out to the rim) on a table, in world coordinates."""
    f, r, d = FLOOR_HALF, RIM_HALF, RIM_Z - FLOOR_Z
    walls = [
        _rect((-f, -f, FLOOR_Z), (2 * f, 0, 0), (-(r - f), -(r - f), d)),
        _rect((-f, f, FLOOR_Z), (2 * f, 0, 0), (-(r - f), r - f, d)),
        _rect((-f, -f, FLOOR_Z), (0, 2 * f, 0), (-(r - f), -(r - f), d)),
        _rect((f, -f, FLOOR_Z), (0, 2 * f, 0), (r - f, -(r - f), d)),
    ]
    return np.concatenate(walls)


def _to_camera(world: np.ndarray, eye: tuple[float, float, float]) -> np.ndarray:
    T_cam_world = invert_transform(look_at(eye, (0.0, 0.0, 0.0)))
    return world @ T_cam_world[:3, :3].T + T_cam_world[:3, 3]


@pytest.fixture(scope="module")
def tray_cloud() -> tuple[np.ndarray, ...]:
    """Points (camera frame) of a tray holding boxes, and flags: box, wall, 16 mm over the floor."""
    table = _rect((-0.5, -0.5, 0.0), (1.0, 0, 0), (0, 1.0, 0))
    table = table[np.max(np.abs(table[:, :2]), axis=1) > RIM_HALF]
    floor = _rect((-FLOOR_HALF, -FLOOR_HALF, FLOOR_Z), (2 * FLOOR_HALF, 0, 0), (0, 2 * FLOOR_HALF, 0))
    walls = _tray()
    boxes = np.concatenate([_box(c, s, FLOOR_Z) for c, s in BOXES])
    world = np.concatenate([table, floor, walls, boxes])
    kind = np.repeat([0, 0, 1, 2], [len(table), len(floor), len(walls), len(boxes)])
    high = world[:, 2] > FLOOR_Z + 0.016  # clear of the inlier band (8 mm) and its voxels (8 mm)
    return _to_camera(world, (0.15, -0.3, 0.6)), kind == 2, kind == 1, high


def test_tray_walls_found_and_only_boxes_rest(tray_cloud: tuple[np.ndarray, ...]) -> None:
    points, is_box, is_wall, high = tray_cloud
    result = find_support(points, rng=0)
    assert len(result.walls) == 4
    assert len(result.supports) >= 2  # the table and the tray floor
    assert not np.any(result.resting & is_wall)
    assert not np.any(result.resting & ~is_box)
    assert result.resting[is_box & high].all()  # only the box sides' lowest 16 mm may be lost
    assert result.obstacle[is_wall].mean() > 0.95
    up_world = look_at((0.15, -0.3, 0.6), (0.0, 0.0, 0.0))[:3, :3] @ result.up
    assert up_world[2] > np.cos(np.deg2rad(2.0))


def test_walls_face_the_objects(tray_cloud: tuple[np.ndarray, ...]) -> None:
    points, is_box = tray_cloud[:2]
    result = find_support(points, rng=0)
    centre = points[is_box].mean(axis=0)
    for wall in result.walls:
        assert wall.distance(centre[None])[0] > 0.1
        assert np.isclose(np.linalg.norm(wall.normal), 1.0)


def test_table_without_bin_keeps_every_box(two_box_scene: Scene) -> None:
    points, uv = depth_to_points(two_box_scene.depth, two_box_scene.intrinsics)
    on_box = two_box_scene.labels[uv[:, 1], uv[:, 0]] > 0
    result = find_support(points, rng=0)
    assert result.walls == ()
    assert len(result.supports) == 1
    assert not np.any(result.resting & ~on_box)
    assert result.resting[on_box].mean() > 0.8


def test_deterministic_and_input_untouched(tray_cloud: tuple[np.ndarray, ...]) -> None:
    points = tray_cloud[0]
    before = points.copy()
    first, second = find_support(points, rng=3), find_support(points, rng=3)
    np.testing.assert_array_equal(first.resting, second.resting)
    np.testing.assert_array_equal(points, before)


def test_extract_planes_keeps_largest_patch_only() -> None:
    """Two coplanar squares 20 cm apart: the plane keeps one patch, the other is found next."""
    a = _rect((0.0, 0.0, 0.5), (0.15, 0, 0), (0, 0.15, 0))
    b = _rect((0.35, 0.0, 0.5), (0.12, 0, 0), (0, 0.12, 0))
    planes, label = extract_planes(np.concatenate([a, b]), SupportConfig(voxel_size=0.004), rng=0)
    assert len(planes) == 2
    assert len(np.unique(label[: len(a)])) == 1 and len(np.unique(label[len(a):])) == 1
    assert label[0] != label[-1]
    np.testing.assert_allclose(planes[0][2], 0.15**2, rtol=0.1)


def test_no_support_means_nothing_known() -> None:
    """A lone small box (no plane of min_area): every point rests, none is an obstacle."""
    points = _to_camera(_box((0.0, 0.0), (0.05, 0.05, 0.05), 0.0), (0.0, -0.2, 0.5))
    result = find_support(points, rng=0)
    assert result.planes == () and result.resting.all() and not result.obstacle.any()


def test_lone_plane_is_the_support_whatever_its_slope() -> None:
    """Without gravity a lone plane is the support: a box on a 40° slope still rests on it."""
    tilt = np.deg2rad(40.0)
    R = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    board = _rect((-0.3, -0.3, 0.0), (0.6, 0, 0), (0, 0.6, 0))
    box = _box((0.0, 0.0), (0.05, 0.06, 0.05), 0.0)
    points = _to_camera(np.concatenate([board, box]) @ R.T, (0.0, -0.6, 0.4))
    result = find_support(points, rng=0)
    assert len(result.supports) == 1 and result.walls == ()
    is_box = np.arange(len(points)) >= len(board)
    assert not np.any(result.resting[~is_box])
    assert result.resting[is_box].mean() > 0.7


@pytest.mark.parametrize("points", [np.zeros((0, 3)), np.zeros((2, 3)),
                                    np.stack([np.linspace(0, 1, 50)] * 3, axis=1)])
def test_degenerate_clouds(points: np.ndarray) -> None:
    result = find_support(points, rng=0)
    assert result.resting.shape == (len(points),) and result.resting.all()


@pytest.mark.parametrize("points", [np.zeros((5, 2)), np.full((5, 3), np.nan)])
def test_bad_points(points: np.ndarray) -> None:
    with pytest.raises(ValueError, match="points"):
        find_support(points)


@pytest.mark.parametrize("kwargs", [{"voxel_size": 0.0}, {"min_area": -1.0}, {"max_planes": 0},
                                    {"link_factor": 20.0}, {"footprint_slack": -0.01},
                                    {"horizontal_tolerance": 0.6, "min_wall_tilt": 0.5}])
def test_bad_config(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SupportConfig(**kwargs)  # type: ignore[arg-type]
