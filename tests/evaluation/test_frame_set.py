"""AP of a detector on a fixed frame list: frame choice, known answers, bad inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh

from grasplab.evaluation.frame import APConfig
from grasplab.evaluation.frame_set import FrameSetEvaluator, dataset_frames, spread_frames
from grasplab.labels import label_object

pytest.importorskip("embreex")


def _box_helpers() -> Any:
    """The box dataset of tests/labels/test_graspness_jobs.py (tests are not a package)."""
    path = Path(__file__).parents[1] / "labels" / "test_graspness_jobs.py"
    spec = importlib.util.spec_from_file_location("frame_set_box_dataset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BOX = _box_helpers()


@pytest.fixture(scope="module")
def box_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frame_set_box")
    BOX.write_box_dataset(root, label_object(trimesh.creation.box(BOX.BOX), config=BOX.SMALL, rng=0))
    return root


def test_spread_frames_even_and_bounded() -> None:
    frames = [(s, a) for s in range(3) for a in range(4)]
    assert spread_frames(frames, 4) == [(0, 0), (1, 0), (1, 3), (2, 3)]  # indices 0, 4, 7, 11
    assert spread_frames(frames, 1) == [(0, 0)] and spread_frames(frames, 0) == []
    assert spread_frames(frames, 50) == frames and spread_frames([], 3) == []
    with pytest.raises(ValueError, match=">= 0"):
        spread_frames(frames, -1)


def _top_down_grasp(T_cam_obj: np.ndarray, offset: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:  # noqa: N803
    """One graspnetAPI row: approach straight down into the box's top, jaws across its 3 cm side."""
    R_obj = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])  # noqa: N806 - columns a, j, h
    t_obj = np.array([0.0, 0.0, BOX.BOX[2] / 2 - 0.01]) + np.asarray(offset)  # 1 cm below the top
    row = np.zeros(17)
    row[:4] = [1.0, 0.05, 0.02, 0.02]  # score, width, height, depth
    row[4:13] = (T_cam_obj[:3, :3] @ R_obj).ravel()
    row[13:16] = T_cam_obj[:3, :3] @ t_obj + T_cam_obj[:3, 3]
    row[16] = -1
    return row[None]


def test_known_answers_good_far_and_no_grasp(box_root: Path) -> None:
    frames = dataset_frames(box_root, [0])
    assert frames == [(0, 0), (0, 1)]
    scorer = FrameSetEvaluator(box_root, frames, config=APConfig(fc_backend="exact"))

    def grasp_of(offset: tuple[float, float, float]) -> Any:
        def detect(frame: Any) -> np.ndarray:
            _, poses = scorer.evaluator.dataset.object_poses(frame.scene_id, frame.ann_id)
            return _top_down_grasp(poses[0], offset)
        return detect

    good = scorer.score(grasp_of((0.0, 0.0, 0.0)))
    # One force-closure grasp at every μ (antipodal faces): Precision@k = 1/k, AP = H_50 / 50.
    harmonic = sum(1.0 / k for k in range(1, 51)) / 50
    assert good.summary.ap == pytest.approx(harmonic) and good.num_grasps == (1, 1)
    assert good.detect_seconds >= 0.0 and good.eval_seconds > 0.0
    assert scorer.score(grasp_of((0.3, 0.0, 0.0))).summary.ap == 0.0  # nothing between the jaws
    assert scorer.score(lambda frame: np.zeros((0, 17))).summary.ap == 0.0
    assert scorer.frame(0, 1) is scorer.frame(0, 1)  # read once


def test_bad_inputs(box_root: Path) -> None:
    with pytest.raises(ValueError, match=r"scenes \[5\] are not in the dataset"):
        dataset_frames(box_root, [0, 5])
    with pytest.raises(ValueError, match="no frames"):
        FrameSetEvaluator(box_root, [])
