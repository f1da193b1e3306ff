"""A tiny synthetic dataset root for the AP evaluator tests, with hand-made known geometry.

Camera (every frame): 0.5 m above the table, looking straight down (``T_table_cam = Rx(pi)`` at
z = 0.5), so camera +z points into the table and the table top is the camera plane z = 0.5.

Objects: 0 = a 0.2 x 0.04 x 0.04 m box lying along the table x axis at the origin; 1 = a 0.04 m
cube at table x = 0.3. In the camera frame box 0 spans x in [-0.1, 0.1], y in [-0.02, 0.02],
z in [0.46, 0.50].

Scenes 0 ("seen") and 1 ("novel") are identical, each with 2 frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh

from grasplab.core.camera import REALSENSE
from grasplab.scenes.layout import DatasetWriter, annotation_xml

CAMERA = "realsense"
T_TABLE_CAM = np.array(
    [[1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, -1.0, 0.5], [0, 0, 0, 1.0]]
)
OBJECT_IDS = [0, 1]
NUM_FRAMES = 2
SPLITS = {0: "seen", 1: "novel"}

#: Top-down gripper: approach camera +z, jaws along camera y, finger height along camera -x.
TOP_DOWN = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def object_poses_cam() -> np.ndarray:
    """(2, 4, 4) T_cam_obj of the two objects."""
    poses = []
    for x, half in ((0.0, 0.02), (0.3, 0.02)):
        T_table_obj = np.eye(4)  # noqa: N806
        T_table_obj[:3, 3] = (x, 0.0, half)
        poses.append(np.linalg.inv(T_TABLE_CAM) @ T_table_obj)
    return np.stack(poses)


def make_grasps(
    translations: list[tuple[float, float, float]] | np.ndarray,
    scores: list[float] | np.ndarray,
    widths: float | list[float] = 0.06,
    depths: float | list[float] = 0.02,
    rotations: np.ndarray | None = None,
) -> np.ndarray:
    """(N, 17) grasp rows in the graspnetAPI layout (top-down by default)."""
    t = np.asarray(translations, dtype=np.float64).reshape(-1, 3)
    n = len(t)
    rot = np.broadcast_to(TOP_DOWN if rotations is None else rotations, (n, 3, 3))
    arr = np.zeros((n, 17))
    arr[:, 0] = scores
    arr[:, 1] = widths
    arr[:, 2] = 0.02
    arr[:, 3] = depths
    arr[:, 4:13] = rot.reshape(n, 9)
    arr[:, 13:16] = t
    arr[:, 16] = -1
    return arr


def antipodal(x: float, score: float, flip: bool = False) -> np.ndarray:
    """A grasp across box 0's 4 cm width at camera x, jaw line through the box centre."""
    rot = TOP_DOWN @ np.diag([1.0, -1.0, -1.0]) if flip else TOP_DOWN
    return make_grasps([(x, 0.0, 0.46)], [score], rotations=rot)


def write_root(root: Path) -> Path:
    """Write the synthetic dataset (models, 2 scenes x 2 frames, manifest) under ``root``."""
    writer = DatasetWriter(root, CAMERA)
    writer.write_model(0, trimesh.creation.box((0.2, 0.04, 0.04)))
    writer.write_model(1, trimesh.creation.box((0.04, 0.04, 0.04)))
    poses = object_poses_cam()
    for scene_id in SPLITS:
        path = writer.scene_path(scene_id)
        path.mkdir(parents=True)
        writer.write_scene_static(
            path, OBJECT_IDS, REALSENSE, np.stack([np.eye(4)] * NUM_FRAMES), T_TABLE_CAM
        )
        annotations = path / CAMERA / "annotations"
        annotations.mkdir()
        xml = annotation_xml(OBJECT_IDS, poses, ["bar", "cube"], ["m0", "m1"])
        for frame in range(NUM_FRAMES):
            (annotations / f"{frame:04d}.xml").write_text(xml)
    manifest = {"scenes": {f"{s:04d}": split for s, split in SPLITS.items()}}
    (root / "grasplab_dataset.json").write_text(json.dumps(manifest))
    return root


def save_dump(dump: Path, scene_id: int, frame_id: int, grasps: np.ndarray) -> Path:
    """Write one frame's grasps in the reference dump layout."""
    path = dump / f"scene_{scene_id:04d}" / CAMERA / f"{frame_id:04d}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, grasps)
    return path

