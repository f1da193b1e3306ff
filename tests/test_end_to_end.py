"""The whole pipeline once, small: objects → scene → labels → one training step → detect → evaluate.

Each stage runs through its public entry point on the files the previous stage wrote, so a change
that breaks the hand-over between two stages fails here even when every unit test passes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grasplab.core import GraspGroup
from grasplab.detection import AnalyticDetector, Observation, workspace_mask
from grasplab.detection.baselines import RandomDetector
from grasplab.evaluation import APEvaluator
from grasplab.labels import (
    ObjectLabelConfig,
    label_dataset_pixels,
    label_scene,
    labels_to_grasps,
    load_collision_labels,
    load_object_labels,
    load_pixel_labels,
    pixel_label_path,
)
from grasplab.labels.dataset_labels import label_dataset_objects
from grasplab.scenes import TRAY_FLOOR_HALF_EXTENT, GraspNetDataset, SceneRecord, generate_dataset
from grasplab.scenes.generate import GenerationConfig

torch = pytest.importorskip("torch")

CAMERA = "realsense"


def _dump(root: Path, dump: Path, scene: int, frame: int, grasps: GraspGroup) -> None:
    path = dump / f"scene_{scene:04d}" / CAMERA / f"{frame:04d}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    grasps.save_npy(path)


def test_pipeline_end_to_end(tmp_path: Path) -> None:
    root, dump = tmp_path / "ds", tmp_path / "dump"
    config = GenerationConfig(views=2, objects_per_scene=3, image_scale=0.25, depth_noise="none")
    summary = generate_dataset(root, "seen", num_scenes=1, views=2, seed=3, config=config)
    assert summary.generated == (0,)
    dataset = GraspNetDataset(root, CAMERA)
    object_ids = dataset.object_ids(0)
    assert len(object_ids) >= 2

    # dense labels of every model (coarse), scene collision labels, pixel labels
    coarse = ObjectLabelConfig(num_views=60, num_angles=6, max_points=60)
    outcomes = label_dataset_objects(root, config=coarse, seed=0)
    assert all(o.status in ("labelled", "skipped") for o in outcomes), outcomes
    assert label_scene(root, 0, CAMERA).status != "failed"
    frames = label_dataset_pixels(root, camera=CAMERA)
    assert all(f.status != "failed" for f in frames), frames
    pixels = load_pixel_labels(pixel_label_path(root, 0, 0, CAMERA))
    assert pixels.quality.max() > 0, "no pixel label on a frame with objects"

    # one training step of the pixel network on those labels
    from grasplab.training import PixelTrainer, config_from_dict

    train_config = config_from_dict({
        "data": {"root": str(root), "camera": CAMERA, "crop_size": 64, "max_translation": 4,
                 "val_fraction": 0.0},
        "model": {"name": "ggcnn2", "channels": 4},
        "optim": {"epochs": 1, "batch_size": 1, "max_steps_per_epoch": 1},
    })
    result = PixelTrainer(train_config, tmp_path / "run").fit()
    assert result.last_checkpoint.is_file()
    assert np.isfinite(result.history[-1].train_loss)

    # detect on frame 0 with the analytic detector, a random baseline and the ground truth
    frame = dataset.frame(0, 0)
    record = SceneRecord.from_dict(dataset.scene_record(0)["record"])
    T_world_cam = np.asarray(record.T_world_table) @ frame.T_table_cam
    roi = workspace_mask(frame.depth, frame.intrinsics, T_world_cam, np.asarray(record.T_world_tray),
                         TRAY_FLOOR_HALF_EXTENT)
    observation = Observation(frame.depth, frame.intrinsics, frame.rgb, roi, T_world_cam)
    analytic = AnalyticDetector(rng=0).detect(observation)
    assert len(analytic) > 0
    random = RandomDetector(rng=0).detect(observation)
    collision = load_collision_labels(root, 0)
    truth = GraspGroup.concatenate(
        labels_to_grasps(load_object_labels(root, oid), frame.T_cam_obj[i], oid,
                         fric_coef_thresh=0.4, collision=collision[i])
        for i, oid in enumerate(object_ids)
    )
    assert len(truth) > 0

    # evaluate each with the GraspNet AP protocol on the written dataset
    evaluator = APEvaluator(root, CAMERA)
    ap = {}
    for name, grasps in (("analytic", analytic), ("random", random), ("truth", truth)):
        _dump(root, dump / name, 0, 0, grasps)
        _dump(root, dump / name, 0, 1, GraspGroup.empty())
        ap[name] = evaluator.evaluate(dump / name, [0]).summary().ap
    assert ap["truth"] > 0.3, ap
    assert ap["truth"] > ap["random"] and ap["analytic"] > ap["random"], ap
