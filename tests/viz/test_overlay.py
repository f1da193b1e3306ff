"""Grasp overlays: colours, projection of the gripper outline, legend and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel, project_points
from grasplab.viz import OverlayStyle, depth_to_image, draw_grasps, save_overlay, score_colors

K = CameraIntrinsics(150.0, 150.0, 79.5, 59.5, 160, 120)
MAGENTA = np.array([236, 0, 140])


def _top_down(points: np.ndarray, scores: np.ndarray, width: float = 0.06) -> GraspGroup:
    """Grasps approaching along camera +z, jaw axis along camera x."""
    R = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # columns: z, x, y of camera
    n = len(points)
    return GraspGroup.from_components(points, np.stack([R] * n), width, 0.02, scores=scores)


def _grey(value: int = 90) -> np.ndarray:
    return np.full((K.height, K.width, 3), value, dtype=np.uint8)


def test_score_colors_known_answers() -> None:
    colors = score_colors([0.0, 0.5, 1.0])
    assert colors.dtype == np.uint8 and colors.shape == (3, 3)
    assert colors[0].tolist() == [215, 48, 39]  # red
    assert colors[2].tolist() == [26, 152, 80]  # green
    assert colors[1].tolist() == [254, 224, 139]  # the yellow middle of the ramp
    assert score_colors([0.3, 0.3]).tolist() == [[26, 152, 80]] * 2  # all equal: all "best"
    assert score_colors([]).shape == (0, 3)
    # explicit limits clip
    assert score_colors([-5.0, 5.0], vmin=0.0, vmax=1.0).tolist() == [[215, 48, 39], [26, 152, 80]]


def test_best_grasp_is_drawn_where_it_projects() -> None:
    grasps = _top_down(np.array([[0.0, 0.0, 0.5], [0.05, 0.03, 0.5]]), np.array([0.9, 0.2]))
    style = OverlayStyle(legend=False, min_width=320)
    picture = draw_grasps(_grey(), grasps, K, style=style)
    zoom = int(np.ceil(style.min_width / K.width))
    assert picture.shape == (K.height * zoom, K.width * zoom, 3)
    # the left finger of the best grasp: gripper y in (-0.04, -0.03) = camera x, z = 0.48..0.52
    corners = GripperModel().box_corners(grasps[:1])[0, 0]  # (8, 3) left finger
    uv, _ = project_points(corners, K)
    lo, hi = (uv.min(axis=0) + 0.5) * zoom, (uv.max(axis=0) + 0.5) * zoom
    inner = picture[int(lo[1]) + 3 : int(hi[1]) - 3, int(lo[0]) + 3 : int(hi[0]) - 3].reshape(-1, 3)
    # the finger's fill is magenta-tinted (red up, green down), not the grey background
    assert len(inner) > 0 and np.all(inner[:, 0].astype(int) - inner[:, 1] > 40)
    distances = np.linalg.norm(picture.reshape(-1, 3).astype(float) - MAGENTA, axis=1)
    assert distances.min() < 10  # the highlight colour is there
    # far from both grasps the image is untouched background
    assert np.all(picture[:zoom * 10, :zoom * 10] == 90)


def test_without_highlight_the_best_grasp_is_green() -> None:
    grasps = _top_down(np.array([[0.0, 0.0, 0.5], [0.05, 0.03, 0.5]]), np.array([0.9, 0.2]))
    style = OverlayStyle(legend=False, highlight_best=False, min_width=320)
    picture = draw_grasps(_grey(), grasps, K, style=style)
    pixels = picture.reshape(-1, 3).astype(float)
    assert np.linalg.norm(pixels - MAGENTA, axis=1).min() > 60
    assert np.linalg.norm(pixels - [26, 152, 80], axis=1).min() < 10


def test_legend_strip_and_empty_group() -> None:
    grasps = _top_down(np.array([[0.0, 0.0, 0.5]]), np.array([0.5]))
    plain = draw_grasps(_grey(), grasps, K, style=OverlayStyle(legend=False, min_width=320))
    with_legend = draw_grasps(_grey(), grasps, K, style=OverlayStyle(min_width=320))
    assert with_legend.shape[1] == plain.shape[1] and with_legend.shape[0] > plain.shape[0]
    assert np.array_equal(with_legend[: plain.shape[0]], plain)
    empty = draw_grasps(_grey(), GraspGroup.empty(), K, style=OverlayStyle(min_width=320))
    assert np.all(empty[: plain.shape[0]] == 90)  # nothing drawn on the image
    assert empty[plain.shape[0]:].std() > 5  # the strip holds text ("no grasps found")


def test_grasps_behind_the_camera_are_skipped() -> None:
    grasps = _top_down(np.array([[0.0, 0.0, -0.5], [0.0, 0.0, 0.01]]), np.array([0.9, 0.5]))
    picture = draw_grasps(_grey(), grasps, K, style=OverlayStyle(legend=False, min_width=320))
    assert np.all(picture == 90)


def test_depth_background_and_max_grasps() -> None:
    depth = np.full((K.height, K.width), 0.6, dtype=np.float32)
    depth[:10] = 0.0
    grey = depth_to_image(depth)
    assert grey.shape == (K.height, K.width, 3) and np.all(grey[:10] == 0) and np.all(grey[10:] > 0)
    points = np.stack([np.linspace(-0.08, 0.08, 5), np.zeros(5), np.full(5, 0.5)], axis=1)
    few = draw_grasps(depth, _top_down(points, np.arange(5.0)), K,
                      style=OverlayStyle(legend=False, max_grasps=1, min_width=320))
    one = draw_grasps(depth, _top_down(points[-1:], np.array([4.0])), K,
                      style=OverlayStyle(legend=False, min_width=320))
    assert np.array_equal(few, one)  # only the best grasp is drawn


def test_bad_input() -> None:
    grasps = _top_down(np.array([[0.0, 0.0, 0.5]]), np.array([0.5]))
    with pytest.raises(ValueError, match="160x120"):
        draw_grasps(np.zeros((10, 10, 3), np.uint8), grasps, K)
    with pytest.raises(ValueError, match="GraspGroup"):
        draw_grasps(_grey(), np.zeros((1, 17)), K)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uint8"):
        draw_grasps(_grey().astype(np.float32), grasps, K)
    with pytest.raises(ValueError, match="fill_alpha"):
        OverlayStyle(fill_alpha=300)


def test_save_overlay_writes_a_png(tmp_path: Path) -> None:
    grasps = _top_down(np.array([[0.0, 0.0, 0.5]]), np.array([0.5]))
    path = save_overlay(tmp_path / "sub" / "o.png", _grey(), grasps, K)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert np.array_equal(np.asarray(image), draw_grasps(_grey(), grasps, K))


def test_outline_of_a_box_seen_edge_on_is_its_extent() -> None:
    from grasplab.viz.overlay import _outline

    square = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0], [1.0, 0.5]] + [[0.0, 0.0]] * 3)
    assert sorted(_outline(square)) == [(0.0, 0.0), (0.0, 1.0), (2.0, 0.0), (2.0, 1.0)]
    line = np.stack([np.linspace(0.0, 3.0, 8), np.linspace(1.0, 7.0, 8)], axis=1)
    assert sorted(_outline(line)) == [(0.0, 1.0), (3.0, 7.0)]
