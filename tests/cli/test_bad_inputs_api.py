"""Bad-input battery of the library API behind the commands (issue 13).

Each case calls one public function with a bad or hostile value and asserts one ``ValueError``
whose single-line message names the problem; legal but implausible values give a warning
string instead. Files come from the session folder of hostile inputs (``conftest.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grasplab.core import GraspGroup
from grasplab.core.gripper import GripperModel
from grasplab.core.plausibility import (
    check_depth,
    check_grasps,
    check_intrinsics,
    check_points,
    check_rgb,
)
from grasplab.runtime.checks import (
    check_output_dir,
    check_output_file,
    check_weights_file,
    parse_device,
)
from grasplab.runtime.config import apply_overrides, parse_yaml


def _grasps(n: int = 2, translation: tuple[float, float, float] = (0.0, 0.0, 0.6),
            width: float = 0.05) -> np.ndarray:
    g = np.zeros((n, 17))
    g[:, 0], g[:, 1], g[:, 2], g[:, 3] = 0.5, width, 0.02, 0.02
    g[:, 4:13] = np.eye(3).ravel()
    g[:, 13:16] = translation
    return g


def _gripper_points_mm() -> Any:
    grasps = GraspGroup(_grasps(1, (0.0, 0.0, 600.0)))
    points = np.random.default_rng(0).uniform(-50, 50, (200, 3)) + [0.0, 0.0, 600.0]
    return GripperModel().collision_and_empty(grasps, points)


def _label_objects(root: Path, **kwargs: Any) -> Any:
    from grasplab.labels.dataset_labels import label_dataset_objects

    return label_dataset_objects(root, **kwargs)


def _generate(root: Path, **kwargs: Any) -> Any:
    from grasplab.scenes.generate import generate_dataset

    args = {"split": "seen", "num_scenes": 1, "views": 2, **kwargs}
    return generate_dataset(root, **args)


def _load_mesh(path: Path) -> Any:
    from grasplab.labels.dataset_labels import load_label_mesh

    return load_label_mesh(path)


def _load_checkpoint(path: Path) -> Any:
    pytest.importorskip("torch")
    from grasplab.training.checkpoints import load_checkpoint

    return load_checkpoint(path)


def _pixel_detector(path: Path) -> Any:
    pytest.importorskip("torch")
    from grasplab.detection.pixel_detector import PixelDetector

    return PixelDetector(path)


# (id, call taking the session folder, text the message must contain)
ERRORS: list[tuple[str, Callable[[Path], Any], str]] = [
    ("from_npy-empty", lambda w: GraspGroup.from_npy(w / "grasps_empty.npy"), "grasps_empty"),
    ("from_npy-text", lambda w: GraspGroup.from_npy(w / "grasps_text.npy"), "grasps_text"),
    ("from_npy-shape", lambda w: GraspGroup.from_npy(w / "grasps_wrong_shape.npy"), "17"),
    ("device-tpu9", lambda w: parse_device("tpu9"), "tpu9"),
    ("device-gpu", lambda w: parse_device("gpu"), "cuda"),
    ("device-cpu1", lambda w: parse_device("cpu:1"), "cpu"),
    ("device-empty", lambda w: parse_device(""), "device"),
    ("device-cuda-neg", lambda w: parse_device("cuda:-1"), "cuda:-1"),
    ("device-cuda-x", lambda w: parse_device("cuda:x"), "cuda:x"),
    ("device-int", lambda w: parse_device(0), "device"),  # type: ignore[arg-type]
    ("weights-garbage", lambda w: check_weights_file(w / "garbage.safetensors"), "neither"),
    ("weights-pickle", lambda w: check_weights_file(w / "pickle.pt"), "pickle"),
    ("weights-empty", lambda w: check_weights_file(w / "empty.safetensors"), "empty"),
    ("weights-onnx-garbage", lambda w: check_weights_file(w / "garbage.onnx"), "neither"),
    ("weights-dir", lambda w: check_weights_file(w / "weights_dir"), "folder"),
    ("weights-missing", lambda w: check_weights_file(w / "none.safetensors"), "does not exist"),
    ("checkpoint-pickle", lambda w: _load_checkpoint(w / "pickle.pt"), "pickle"),
    ("checkpoint-garbage", lambda w: _load_checkpoint(w / "garbage.safetensors"), "neither"),
    ("checkpoint-onnx", lambda w: _load_checkpoint(w / "garbage.onnx"), "garbage.onnx"),
    ("pixel-detector-onnx-garbage", lambda w: _pixel_detector(w / "garbage.onnx"), "neither"),
    ("pixel-detector-pickle", lambda w: _pixel_detector(w / "pickle.pt"), "pickle"),
    ("out-file-under-file", lambda w: check_output_file(w / "a_file" / "x.npy", "--out"),
     "is a file"),
    ("out-file-is-dir", lambda w: check_output_file(w, "--out"), "is a folder"),
    ("out-dir-is-file", lambda w: check_output_dir(w / "a_file", "--out"), "is a file"),
    ("out-dir-under-file", lambda w: check_output_dir(w / "a_file" / "d", "--out"), "is a file"),
    ("out-dir-kind-run", lambda w: check_output_dir(w / "train_run", "--out", "label-mesh"),
     "train-pixel"),
    ("out-dir-kind-dataset", lambda w: check_output_dir(w / "data", "--out", "train-pixel"),
     "dataset"),
    ("out-dir-kind-mesh", lambda w: check_output_dir(w / "label_mesh", "--out", "dataset"),
     "label-mesh"),
    ("yaml-syntax", lambda w: parse_yaml("a: [1, oops", "cfg.yaml"), "cfg.yaml"),
    ("yaml-tab", lambda w: parse_yaml("a:\n\t- 1", "tabs.yaml"), "tabs.yaml"),
    ("override-no-equals", lambda w: apply_overrides({}, ["optim.lr"]), "optim.lr"),
    ("override-bad-yaml", lambda w: apply_overrides({}, ["x=[1,oops"]), "x=[1,oops"),
    ("grasps-mm", lambda w: check_grasps(_grasps(3, (0.0, 0.0, 600.0))), "millimetres"),
    ("grasps-negative-width", lambda w: check_grasps(_grasps(2, width=-0.05)), "negative width"),
    ("grasps-nan", lambda w: check_grasps(np.full((1, 17), np.nan)), "non-finite"),
    ("points-mm", lambda w: check_points(np.full((5, 3), 600.0)), "points"),
    ("points-nan", lambda w: check_points(np.full((5, 3), np.nan)), "finite"),
    ("collision-points-mm", lambda w: _gripper_points_mm(), "points"),
    ("intrinsics-huge", lambda w: check_intrinsics(1e12, 1e12, 320, 240, 640, 480), "fx"),
    ("intrinsics-zero", lambda w: check_intrinsics(0, 600, 320, 240, 640, 480), "fx"),
    ("intrinsics-cx-out", lambda w: check_intrinsics(600, 600, 900, 240, 640, 480), "cx"),
    ("intrinsics-nan", lambda w: check_intrinsics(np.nan, 600, 320, 240, 640, 480), "fx"),
    ("depth-uint16", lambda w: check_depth(np.full((4, 4), 700, np.uint16)), "depth scale"),
    ("depth-mm-float", lambda w: check_depth(np.full((4, 4), 700.0)), "depth"),
    ("depth-empty", lambda w: check_depth(np.zeros((4, 4))), "no valid pixel"),
    ("depth-3d", lambda w: check_depth(np.zeros((4, 4, 3))), "(H, W)"),
    ("rgb-uint16-2d", lambda w: check_rgb(np.zeros((4, 4), np.uint16)), "depth image"),
    ("rgb-two-channels", lambda w: check_rgb(np.zeros((4, 4, 2), np.uint8)), "colour"),
    ("label-ids-999", lambda w: _label_objects(w / "data", object_ids=[999]), "999"),
    ("label-ids-negative", lambda w: _label_objects(w / "data", object_ids=[-1]), ">= 0"),
    ("label-ids-twice", lambda w: _label_objects(w / "data", object_ids=[99, 99]), "twice"),
    ("label-workers-0", lambda w: _label_objects(w / "data", workers=0), "workers"),
    ("label-no-models", lambda w: _label_objects(w / "label_mesh"), "models"),
    ("generate-workers-0", lambda w: _generate(w / "gen_never", workers=0), "workers"),
    ("generate-split", lambda w: _generate(w / "gen_never", split="unseen"), "split"),
    ("generate-scenes-0", lambda w: _generate(w / "gen_never", num_scenes=0), "num_scenes"),
    ("generate-other-seed", lambda w: _generate(w / "data", seed=5), "seed"),
    ("mesh-png", lambda w: _load_mesh(w / "image.png"), "image.png"),
    ("mesh-truncated-stl", lambda w: _load_mesh(w / "truncated.stl"), "truncated.stl"),
    ("mesh-empty", lambda w: _load_mesh(w / "empty.obj"), "empty.obj"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_value_raises_one_clear_value_error(case: tuple[str, Callable[[Path], Any], str],
                                                world: Path) -> None:
    _, call, names = case
    with pytest.raises(ValueError) as info:
        call(world)
    message = str(info.value)
    assert names.lower() in message.lower(), message
    assert "\n" not in message.strip(), message
    assert not (world / "gen_never").exists()


WARNINGS: list[tuple[str, Callable[[], list[str]], str]] = [
    ("grasps-wide", lambda: check_grasps(_grasps(2, width=5.0)), "width above"),
    ("grasps-zero-width", lambda: check_grasps(_grasps(2, width=0.0)), "zero width"),
    ("grasps-far", lambda: check_grasps(_grasps(2, (0.0, 0.0, 8.0))), "translations"),
    ("intrinsics-short-focal", lambda: check_intrinsics(30, 30, 32, 24, 64, 48), "fx"),
    ("intrinsics-aspect", lambda: check_intrinsics(600, 200, 320, 240, 640, 480), "fx / fy"),
    ("depth-sparse", lambda: check_depth(np.pad(np.full((1, 1), 0.7), ((0, 9), (0, 9)))),
     "valid depth"),
    ("points-some-nan", lambda: check_points([[0, 0, 0.6], [np.nan, 0, 0], [0, 0.1, 0.6]]),
     "not finite"),
]


@pytest.mark.parametrize("case", WARNINGS, ids=[c[0] for c in WARNINGS])
def test_implausible_but_legal_value_warns(case: tuple[str, Callable[[], list[str]], str]) -> None:
    _, call, names = case
    warnings = call()
    assert any(names.lower() in w.lower() for w in warnings), warnings


def test_plausible_values_give_nothing() -> None:
    assert check_grasps(_grasps()) == []
    assert check_points(np.random.default_rng(0).uniform(-0.2, 0.2, (50, 3))) == []
    assert check_intrinsics(615, 615, 320, 240, 640, 480) == []
    assert check_depth(np.full((8, 8), 0.7, np.float32)) == []
    assert check_rgb(np.zeros((8, 8, 3), np.uint8)) == []


def test_extra_npz_does_not_record_the_root(labelled: Path) -> None:
    """The same labels job in two folders writes the same bytes: no absolute path is stored."""
    from grasplab.labels.label_io import load_label_config

    config = load_label_config(labelled, 99)
    assert config["mesh"] == "models/099/textured.obj"
    raw = (labelled / "grasp_label" / "099_extra.npz").read_bytes()
    assert str(labelled).encode() not in raw


def test_manifest_of_refused_rerun_is_unchanged(labelled: Path) -> None:
    """A refused rerun leaves the job manifest (the settings of the labels) as it was."""
    manifest = labelled / ".grasplab-job-object-labels.json"
    before = manifest.read_bytes()
    with pytest.raises(ValueError, match="num_angles: 2 -> 12"):
        _label_objects(labelled)
    assert manifest.read_bytes() == before
    assert json.loads(before)["fingerprint"]["config"]["num_views"] == 8
