"""PLGP pixel-level labels: known answers on a box lying flat, seen from straight above."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.core import CameraIntrinsics, pixel_grasps_to_grasps
from grasplab.labels.pixel_label_jobs import load_pixel_labels, pixel_labels_complete, save_pixel_labels
from grasplab.labels.pixel_labels import (
    PixelLabelConfig,
    PixelLabels,
    grasp_depth_grid,
    pixel_labels,
)
from grasplab.labels.raycast import MeshRayCaster
from grasplab.scenes.render import render_parallel_depth
from grasplab.scenes.world import PosedMesh

pytest.importorskip("embreex")

INTR = CameraIntrinsics(300.0, 300.0, 159.5, 119.5, 320, 240)
HEIGHT = 0.5  # camera above the table top, metres
ETA = INTR.fx / HEIGHT  # parallel image at the pinhole scale of the table
BOX = (0.12, 0.04, 0.03)  # long side along world x (image columns), 4 cm across, 3 cm tall


Frame = tuple[np.ndarray, np.ndarray, np.ndarray]


def _pose(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> np.ndarray:
    T = np.eye(4)
    T[:3, 3] = (x, y, z)
    return T


def _camera() -> np.ndarray:
    """Straight down from HEIGHT: camera x = world x, camera y = world -y."""
    T = _pose(z=HEIGHT)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    return T


def _scene(extra: list[PosedMesh] | None = None) -> list[PosedMesh]:
    table = trimesh.creation.box((1.0, 1.0, 0.05))
    box = trimesh.creation.box(BOX)
    return [PosedMesh(table, _pose(z=-0.025), 0), PosedMesh(box, _pose(z=BOX[2] / 2), 1),
            *(extra or [])]


def _render(meshes: list[PosedMesh]) -> Frame:
    """Pinhole depth and mask by ray casting, and the parallel depth (eq. 11)."""
    T_cam_world = np.linalg.inv(_camera())
    parts = [item.world_mesh() for item in meshes]
    labels = np.concatenate([np.full(len(m.faces), item.label)
                             for m, item in zip(parts, meshes, strict=True)])
    scene = trimesh.util.concatenate(parts)
    scene.apply_transform(T_cam_world)
    cols, rows = np.meshgrid(np.arange(INTR.width), np.arange(INTR.height))
    rays = np.stack([(cols.ravel() - INTR.cx) / INTR.fx, (rows.ravel() - INTR.cy) / INTR.fy,
                     np.ones(cols.size)], axis=1)
    hits = MeshRayCaster(scene).first_hits(np.zeros_like(rays), rays)
    depth = np.where(hits.hit, hits.locations[:, 2], 0.0).reshape(INTR.height, INTR.width)
    mask = np.where(hits.hit, labels[np.maximum(hits.faces, 0)], 0).reshape(depth.shape)
    parallel = render_parallel_depth(meshes, _camera(), eta=ETA, width=INTR.width,
                                     height=INTR.height)
    return depth.astype(np.float32), mask.astype(np.int32), parallel.depth


@pytest.fixture(scope="module")
def box_frame() -> Frame:
    return _render(_scene())


@pytest.fixture(scope="module")
def box_labels(box_frame: Frame) -> PixelLabels:
    depth, mask, parallel = box_frame
    return pixel_labels(depth, mask, INTR, parallel, ETA)


def test_depth_grid_is_plgp_grid() -> None:
    grid = grasp_depth_grid(0.04, 0.002)
    assert len(grid) == 20 and grid[0] == 0.0 and grid[-1] == pytest.approx(0.038)


def test_box_is_grasped_across_its_short_side_only(box_labels: PixelLabels, box_frame: Frame) -> None:
    mask = box_frame[1]
    per_angle = box_labels.angle_quality.sum(axis=(1, 2))
    assert box_labels.num_angles == 18
    # theta = pi/2 closes the jaws along image rows, across the 4 cm side: every box pixel.
    assert per_angle[9] == (mask == 1).sum()
    # Jaws along the 12 cm side (> L4 = 10 cm) never fit; beyond the friction cone of mu = 0.2
    # (11.3 deg) the walls are too oblique: only the bins within 10 deg of pi/2 are labelled.
    assert per_angle[0] == 0
    assert set(np.flatnonzero(per_angle)) == {8, 9, 10}
    assert np.all(box_labels.quality[mask != 1] == 0)


def test_widths_and_depths_have_known_values(box_labels: PixelLabels, box_frame: Frame) -> None:
    mask = box_frame[1]
    rows, cols = np.nonzero(mask == 1)
    centre = (int(round(np.mean(rows))), int(round(np.mean(cols))))
    width = box_labels.width[9][centre] * box_labels.max_width
    # Contact width (4 cm, to a pixel of 1/600 m) plus the 5 mm tolerance.
    assert width == pytest.approx(BOX[1] + 0.005, abs=1.5 / ETA)
    # Deepest 2 mm step whose fingertips stay 1 mm above the table (3 cm below the top).
    assert np.all(box_labels.depth[9][mask == 1] == pytest.approx(0.028))
    # Off-centre pixels need a wider symmetric opening, capped at L4.
    labelled = box_labels.width[9][mask == 1]
    assert labelled.min() == pytest.approx(width / box_labels.max_width)
    assert labelled.max() <= 1.0
    assert np.all(box_labels.width[box_labels.angle_quality == 0] == 0)


def test_labels_decode_to_grasps_on_the_box(box_labels: PixelLabels, box_frame: Frame) -> None:
    depth = box_frame[0]
    group = pixel_grasps_to_grasps(box_labels.grasps, depth, INTR)
    assert len(group) == len(box_labels.grasps) > 0
    T = _camera()
    points = group.translations @ T[:3, :3].T + T[:3, 3]
    assert np.all(np.abs(points[:, 0]) <= BOX[0] / 2 + 1e-3)
    assert np.all(np.abs(points[:, 1]) <= BOX[1] / 2 + 1e-3)
    assert np.allclose(points[:, 2], BOX[2], atol=1e-3)
    approach = group.rotations[:, :, 0] @ T[:3, :3].T
    assert np.allclose(approach, [0.0, 0.0, -1.0])
    jaw = group.rotations[:, :, 1] @ T[:3, :3].T
    assert np.all(np.abs(jaw[:, 1]) >= np.cos(np.deg2rad(10.5)))  # across the short side
    tips = points[:, 2] - group.depths
    assert np.all(tips > 0)  # fingertips above the table


def test_table_pixels_far_from_objects_get_no_label(box_frame: Frame) -> None:
    depth, mask, parallel = box_frame
    fake = mask.copy()
    fake[:40, :60] = 5  # a table patch far from the box, marked as an "object"
    labels = pixel_labels(depth, fake, INTR, parallel, ETA, config=PixelLabelConfig(stride=2))
    assert labels.quality[:40, :60].sum() == 0
    assert labels.quality[mask == 1].sum() > 0


def test_a_close_neighbour_blocks_the_fingers() -> None:
    # A second box 6 mm from the first's long side: a 1 cm finger cannot go down the gap.
    neighbour = PosedMesh(trimesh.creation.box(BOX), _pose(y=BOX[1] + 0.006, z=BOX[2] / 2), 2)
    depth, mask, parallel = _render(_scene([neighbour]))
    labels = pixel_labels(depth, mask, INTR, parallel, ETA, config=PixelLabelConfig(stride=2))
    assert labels.angle_quality[9][mask == 1].sum() == 0
    assert labels.angle_quality[9][mask == 2].sum() == 0


def test_friction_and_flatness_checks_reject_oblique_walls(box_frame: Frame) -> None:
    depth, mask, parallel = box_frame
    low_mu = pixel_labels(depth, mask, INTR, parallel, ETA,
                          config=PixelLabelConfig(friction=0.1, stride=2))
    per_angle = low_mu.angle_quality.sum(axis=(1, 2))
    assert set(np.flatnonzero(per_angle)) == {9}  # 10 deg > atan(0.1) = 5.7 deg
    strict = pixel_labels(depth, mask, INTR, parallel, ETA,
                          config=PixelLabelConfig(flatness_tol=1e-9, stride=2))
    # Walls aligned with the pixel grid give collinear contacts; 10 deg walls are stair-cased.
    assert set(np.flatnonzero(strict.angle_quality.sum(axis=(1, 2)))) == {9}


def test_stride_labels_a_subgrid_with_the_same_values(box_labels: PixelLabels, box_frame: Frame) -> None:
    depth, mask, parallel = box_frame
    strided = pixel_labels(depth, mask, INTR, parallel, ETA, config=PixelLabelConfig(stride=3))
    assert strided.stride == 3
    off = np.ones(mask.shape, dtype=bool)
    off[::3, ::3] = False
    assert strided.quality[off].sum() == 0
    np.testing.assert_array_equal(strided.angle_quality[:, ::3, ::3],
                                  box_labels.angle_quality[:, ::3, ::3])
    np.testing.assert_array_equal(strided.width[:, ::3, ::3], box_labels.width[:, ::3, ::3])


def test_save_load_round_trip(box_labels: PixelLabels, tmp_path: Path) -> None:
    path = save_pixel_labels(tmp_path / "pixel_labels" / "0000.npz", box_labels)
    loaded = load_pixel_labels(path)
    assert pixel_labels_complete(path)
    np.testing.assert_array_equal(loaded.angle_quality, box_labels.angle_quality)
    np.testing.assert_array_equal(loaded.width, box_labels.width)
    np.testing.assert_array_equal(loaded.depth, box_labels.depth)
    np.testing.assert_allclose(loaded.grasps.array, box_labels.grasps.array, atol=1e-5)
    assert loaded.max_width == box_labels.max_width and loaded.stride == 1
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert not pixel_labels_complete(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="not a readable"):
        load_pixel_labels(tmp_path / "bad.npz")


def test_bad_inputs_raise_clear_errors(box_frame: Frame) -> None:
    depth, mask, parallel = box_frame
    with pytest.raises(ValueError, match="match the intrinsics"):
        pixel_labels(depth[:-1], mask[:-1], INTR, parallel, ETA)
    with pytest.raises(ValueError, match="millimetres"):
        pixel_labels(depth * 1000, mask, INTR, parallel, ETA)
    with pytest.raises(ValueError, match="mask"):
        pixel_labels(depth, mask[:, :-1], INTR, parallel, ETA)
    with pytest.raises(ValueError, match="eta"):
        pixel_labels(depth, mask, INTR, parallel, -1.0)
    with pytest.raises(ValueError, match="num_angles"):
        PixelLabelConfig(num_angles=0)
    with pytest.raises(ValueError, match="width_tolerance"):
        PixelLabelConfig(width_tolerance=-0.1)


def test_is_deterministic(box_labels: PixelLabels, box_frame: Frame) -> None:
    depth, mask, parallel = box_frame
    again = pixel_labels(depth, mask, INTR, parallel, ETA)
    np.testing.assert_array_equal(again.grasps.array, box_labels.grasps.array)
