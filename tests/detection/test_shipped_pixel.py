"""The pixel network shipped inside the package: present, small, loadable, and it detects."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from grasplab.core import CameraIntrinsics  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.detection.pixel_detector import PixelDetector  # noqa: E402
from grasplab.detection.shipped import shipped_pixel_weights  # noqa: E402
from grasplab.models import count_parameters  # noqa: E402
from grasplab.training.checkpoints import read_checkpoint_header  # noqa: E402


def test_shipped_weights_are_the_documented_cpu_model() -> None:
    path = shipped_pixel_weights()
    assert path is not None and path.suffix == ".safetensors"
    assert path.stat().st_size < 2_000_000
    header = read_checkpoint_header(path)
    assert header["model"]["name"] == "ggcnn2" and header["model"]["stem_stride"] == 2
    assert header["config"]["data"]["depth_scale"] == 10.0 and header["config"]["data"]["cover_image"]
    assert header["config"]["loss"]["width_loss"] == "labelled"
    assert len(header["state"]["history"]) == header["config"]["optim"]["epochs"]
    detector = PixelDetector(path)
    assert detector.model is not None and count_parameters(detector.model) < 100_000
    assert detector.depth_scale == 10.0 and detector.input_mode == "depth"


def test_shipped_detector_grasps_a_box_on_a_table() -> None:
    path = shipped_pixel_weights()
    assert path is not None
    height, width = 240, 320
    intrinsics = CameraIntrinsics(300.0, 300.0, (width - 1) / 2, (height - 1) / 2, width, height)
    depth = np.full((height, width), 0.70, np.float32)
    depth[100:140, 140:200] = 0.66  # a 4 cm tall block, 9 x 6 cm at 0.7 m
    grasps = PixelDetector(path).detect(Observation(depth, intrinsics))
    assert len(grasps) > 0 and grasps.invalid_rows() == []
    u = grasps.translations[:, 0] / grasps.translations[:, 2] * 300.0 + (width - 1) / 2
    v = grasps.translations[:, 1] / grasps.translations[:, 2] * 300.0 + (height - 1) / 2
    best = (u[0], v[0])
    assert 130 <= best[0] <= 210 and 90 <= best[1] <= 150  # the best grasp is on the block
