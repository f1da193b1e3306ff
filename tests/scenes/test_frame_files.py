"""Reading a user's frame from files: depth scale checks, colour alignment, intrinsics specs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grasplab.scenes.frame_files import (
    FrameInputError,
    read_depth_image,
    read_intrinsics,
    read_rgb_image,
)


def _depth_png(path: Path, mm: int = 600, shape: tuple[int, int] = (12, 16)) -> Path:
    raw = np.full(shape, mm, np.uint16)
    raw[0, 0] = 0  # an invalid pixel
    Image.fromarray(raw).save(path)
    return path


def test_depth_png_and_npy_in_metres(tmp_path: Path) -> None:
    depth = read_depth_image(_depth_png(tmp_path / "d.png"), 1000.0)
    assert depth.dtype == np.float32 and depth.shape == (12, 16)
    assert depth[0, 0] == 0.0 and depth[5, 5] == pytest.approx(0.6)
    values = np.full((4, 5), 0.7)
    values[1, 1] = np.nan
    np.save(tmp_path / "d.npy", values)
    depth = read_depth_image(str(tmp_path / "d.npy"), 1.0)
    assert depth[1, 1] == 0.0 and depth[0, 0] == pytest.approx(0.7)


def test_depth_errors_say_what_to_fix(tmp_path: Path) -> None:
    png = _depth_png(tmp_path / "d.png")
    with pytest.raises(FrameInputError, match="use --depth-scale 1000"):
        read_depth_image(png, 1.0)
    with pytest.raises(FrameInputError, match="depth file not found"):
        read_depth_image(tmp_path / "none.png", 1000.0)
    Image.new("RGB", (16, 12)).save(tmp_path / "c.png")
    with pytest.raises(FrameInputError, match="16-bit single-channel"):
        read_depth_image(tmp_path / "c.png", 1000.0)
    assert issubclass(FrameInputError, ValueError)


def test_rgb_must_match_the_depth_size(tmp_path: Path) -> None:
    Image.new("RGB", (16, 12), (10, 20, 30)).save(tmp_path / "c.png")
    rgb = read_rgb_image(tmp_path / "c.png", (12, 16), "d.png")
    assert rgb.shape == (12, 16, 3) and rgb.dtype == np.uint8 and tuple(rgb[0, 0]) == (10, 20, 30)
    with pytest.raises(FrameInputError, match="must be aligned"):
        read_rgb_image(tmp_path / "c.png", (24, 32), "d.png")


def test_intrinsics_file_inline_and_preset(tmp_path: Path) -> None:
    (tmp_path / "K.json").write_text(json.dumps({"fx": 20, "fy": 21, "cx": 7.5, "cy": 5.5}))
    K = read_intrinsics(str(tmp_path / "K.json"), (12, 16))
    assert (K.fx, K.fy, K.cx, K.cy, K.width, K.height) == (20.0, 21.0, 7.5, 5.5, 16, 12)
    assert read_intrinsics("20,21,7.5,5.5", (12, 16)) == K
    assert read_intrinsics("realsense", (720, 1280)).width == 1280
    with pytest.raises(FrameInputError, match="are for a 1280x720 image"):
        read_intrinsics("kinect", (12, 16))
    with pytest.raises(FrameInputError, match="expected 4 numbers"):
        read_intrinsics("1,2,3", (12, 16))
    with pytest.raises(FrameInputError, match="outside the image"):
        read_intrinsics("20,21,70,5.5", (12, 16))
