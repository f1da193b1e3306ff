from __future__ import annotations

import numpy as np
import pytest

from grasplab.core import CameraIntrinsics
from grasplab.detection import Observation

K = CameraIntrinsics(100.0, 100.0, 3.5, 2.5, 8, 6)


def _depth(value: float = 0.5) -> np.ndarray:
    return np.full((6, 8), value, dtype=np.float32)


def test_points_known_answer() -> None:
    depth = _depth(0.0)
    depth[2, 3] = 0.5  # pixel (u, v) = (3, 2)
    depth[4, 7] = 1.0
    obs = Observation(depth, K)
    pts = obs.points()
    expected = np.array([[(3 - 3.5) / 100 * 0.5, (2 - 2.5) / 100 * 0.5, 0.5],
                         [(7 - 3.5) / 100 * 1.0, (4 - 2.5) / 100 * 1.0, 1.0]])
    np.testing.assert_allclose(pts, expected, atol=1e-7)


def test_mask_selects_points_and_roi() -> None:
    mask = np.zeros((6, 8), dtype=np.int64)
    mask[1:3, 2:4] = 5
    obs = Observation(_depth(), K, mask=mask)
    assert obs.mask is not None and obs.mask.dtype == np.int32
    assert obs.roi.sum() == 4
    assert len(obs.points(masked=True)) == 4
    assert len(obs.points()) == 48


def test_arrays_are_readonly_copies() -> None:
    depth = _depth()
    depth[0, 0] = np.nan
    T = np.eye(4)
    obs = Observation(depth, K, rgb=np.zeros((6, 8, 3), np.uint8), mask=np.ones((6, 8), bool),
                      T_world_cam=T)
    assert np.isnan(depth[0, 0])  # input untouched
    assert obs.depth[0, 0] == 0.0 and obs.depth.dtype == np.float32
    for arr in (obs.depth, obs.rgb, obs.mask, obs.T_world_cam):
        assert arr is not None
        with pytest.raises(ValueError):
            arr.flat[0] = 1
    T[0, 3] = 5.0
    assert obs.T_world_cam is not None and obs.T_world_cam[0, 3] == 0.0
    assert obs.shape == (6, 8)


def test_float_rgb_is_converted() -> None:
    obs = Observation(_depth(), K, rgb=np.full((6, 8, 3), 1.0))
    assert obs.rgb is not None and obs.rgb.dtype == np.uint8 and obs.rgb.max() == 255


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depth": np.zeros((6, 8), np.float32)}, "no valid pixel"),
        ({"depth": np.full((6, 8), 500.0)}, "millimetres"),
        ({"depth": np.full((5, 8), 0.5)}, "does not match"),
        ({"depth": np.full((6, 8, 1), 0.5)}, r"\(H, W\)"),
        ({"intrinsics": CameraIntrinsics(100.0, 100.0, 3.5, 2.5, 16, 12)}, "does not match"),
        ({"intrinsics": "realsense"}, "CameraIntrinsics"),
        ({"rgb": np.zeros((6, 8), np.uint8)}, "rgb"),
        ({"rgb": np.full((6, 8, 3), 2.0)}, r"\[0, 1\]"),
        ({"mask": np.ones((6, 7), bool)}, "mask"),
        ({"mask": np.ones((6, 8), np.float32)}, "dtype"),
        ({"mask": -np.ones((6, 8), np.int32)}, ">= 0"),
        ({"T_world_cam": np.ones((4, 4))}, "T_world_cam"),
    ],
)
def test_bad_input(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"depth": _depth(), "intrinsics": K}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Observation(**args)  # type: ignore[arg-type]
