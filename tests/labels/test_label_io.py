"""Label files (reference layout, atomic, resumable) and labels → grasps as graspnetAPI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from grasplab.labels import (
    ObjectLabels,
    extra_path,
    label_path,
    labels_to_grasps,
    load_label_config,
    load_object_labels,
    object_labels_complete,
    save_object_labels,
)

NUM_V, NUM_A, NUM_D = 300, 12, 4


def _random_labels(rng: np.random.Generator, num_points: int = 6) -> ObjectLabels:
    grid = (num_points, NUM_V, NUM_A, NUM_D)
    offsets = np.empty((*grid, 3), dtype=np.float32)
    offsets[..., 0] = (np.arange(NUM_A) * np.pi / NUM_A)[:, None]
    offsets[..., 1] = [0.01, 0.02, 0.03, 0.04]
    offsets[..., 2] = rng.uniform(0.01, 0.1, size=grid)
    scores = rng.choice(np.array([-1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.8], dtype=np.float32), grid)
    return ObjectLabels(
        points=rng.uniform(-0.03, 0.03, size=(num_points, 3)),
        offsets=offsets,
        scores=scores,
        collision=rng.random(grid) < 0.3,
        stable=rng.random(grid[:3]),
        tolerance=rng.uniform(0, 0.01, size=grid),
    )


# --- a direct transcription of graspnetAPI loadGrasp (reference protocol §8.4) ------------------
def _ref_generate_views(n: int) -> np.ndarray:
    # §8.4 step 2: Fibonacci sphere, phi = (sqrt(5) - 1) / 2, computed in float32 (the reference's
    # numpy < 1.24 never upcast a float32 array by a scalar: keep the scalars Python floats).
    phi = float((np.sqrt(5) - 1) / 2)
    i = np.arange(n, dtype=np.float32)
    zi = (2 * i + 1) / n - 1
    xi = np.sqrt(1 - zi**2) * np.cos(2 * i * np.pi * phi)
    yi = np.sqrt(1 - zi**2) * np.sin(2 * i * np.pi * phi)
    return np.stack([xi, yi, zi], axis=1)


def _ref_view_to_matrix(towards: np.ndarray, angle: float) -> np.ndarray:
    a = towards / np.linalg.norm(towards)
    b = np.array([-a[1], a[0], 0.0])
    b = np.array([0.0, 1.0, 0.0]) if np.linalg.norm(b) == 0 else b / np.linalg.norm(b)
    c = np.cross(a, b)
    rx = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    return np.stack([a, b, c], axis=1) @ rx


def _ref_load_grasp(labels: ObjectLabels, pose: np.ndarray, obj_id: int, thresh: float,
                    collision: np.ndarray) -> np.ndarray:
    views = _ref_generate_views(NUM_V)
    keep = (labels.scores > 0) & (labels.scores <= thresh) & ~collision  # step 3
    rows = []
    for i, v, a, d in zip(*np.nonzero(keep), strict=True):
        mu = labels.scores[i, v, a, d]
        angle, depth, width = labels.offsets[i, v, a, d]
        t = pose[:3, :3] @ labels.points[i] + pose[:3, 3]  # step 5
        R = pose[:3, :3] @ _ref_view_to_matrix(-views[v], angle)  # steps 5-6
        rows.append([1.1 - mu, width, 0.02, depth, *R.reshape(-1), *t, obj_id])  # step 7
    return np.array(rows, dtype=np.float32).reshape(-1, 17)


def test_labels_to_grasps_matches_the_reference_transcription(rng: np.random.Generator) -> None:
    labels = _random_labels(rng, num_points=1)
    pose = np.eye(4)
    pose[:3, :3] = Rotation.random(random_state=4).as_matrix()
    pose[:3, 3] = [0.1, -0.05, 0.6]
    scene_collision = rng.random(labels.scores.shape) < 0.5
    for collision, mask in ((None, labels.collision), (scene_collision, scene_collision)):
        got = labels_to_grasps(labels, pose, object_id=7, fric_coef_thresh=0.4,
                               collision=collision)
        expected = _ref_load_grasp(labels, pose, 7, 0.4, mask)
        assert len(got) == len(expected) > 100
        np.testing.assert_allclose(got.array, expected, atol=2e-6)
    assert np.all(got.scores >= 0.7 - 1e-6) and np.all(got.object_ids == 7)


def test_labels_to_grasps_errors(rng: np.random.Generator) -> None:
    labels = _random_labels(rng, num_points=1)
    with pytest.raises(ValueError, match="collision"):
        labels_to_grasps(labels, np.eye(4), 0, collision=np.zeros((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="T_cam_obj"):
        labels_to_grasps(labels, np.ones((4, 4)), 0)


def test_save_load_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    labels = _random_labels(rng)
    path = save_object_labels(tmp_path, 3, labels, config={"spacing": 0.005})
    assert path == tmp_path / "grasp_label" / "003_labels.npz" == label_path(tmp_path, 3)
    with np.load(path) as data:
        assert sorted(data.files) == ["collision", "offsets", "points", "scores"]
        assert data["points"].dtype == data["offsets"].dtype == data["scores"].dtype == np.float32
        assert data["collision"].dtype == bool
    with np.load(extra_path(tmp_path, 3)) as extra:
        assert sorted(extra.files) == ["config", "stable", "tolerance"]
        assert json.loads(str(extra["config"])) == {"spacing": 0.005}
    loaded = load_object_labels(tmp_path, 3)
    for name in ("points", "offsets", "scores", "collision", "stable", "tolerance"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(labels, name))
    assert load_label_config(tmp_path, 3) == {"spacing": 0.005}
    assert [p.name for p in (tmp_path / "grasp_label").iterdir() if p.name.startswith(".")] == []
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_reference_files_without_extras_load(tmp_path: Path, rng: np.random.Generator) -> None:
    labels = _random_labels(rng, num_points=2)
    save_object_labels(tmp_path, 0, labels)
    extra_path(tmp_path, 0).unlink()
    loaded = load_object_labels(tmp_path, 0)
    assert loaded.stable is None and loaded.tolerance is None
    assert object_labels_complete(tmp_path, 0)


def test_completeness_check(tmp_path: Path, rng: np.random.Generator) -> None:
    assert not object_labels_complete(tmp_path, 1)
    with pytest.raises(FileNotFoundError):
        load_object_labels(tmp_path, 1)
    save_object_labels(tmp_path, 1, _random_labels(rng, num_points=2))
    assert object_labels_complete(tmp_path, 1)
    label_path(tmp_path, 1).write_bytes(b"not a zip file")
    assert not object_labels_complete(tmp_path, 1)
    with pytest.raises(ValueError, match="not a readable"):
        load_object_labels(tmp_path, 1)
    np.savez(label_path(tmp_path, 1), points=np.zeros((2, 3)))
    assert not object_labels_complete(tmp_path, 1)
    with pytest.raises(ValueError, match="missing fields"):
        load_object_labels(tmp_path, 1)
    with pytest.raises(ValueError, match="object_id"):
        label_path(tmp_path, -1)


def test_object_labels_validates_shapes(rng: np.random.Generator) -> None:
    labels = _random_labels(rng, num_points=1)
    with pytest.raises(ValueError, match="offsets"):
        ObjectLabels(labels.points, labels.offsets[..., :2], labels.scores, labels.collision)
    with pytest.raises(ValueError, match="stable"):
        ObjectLabels(labels.points, labels.offsets, labels.scores, labels.collision,
                     stable=np.zeros((1, 2, 3)))
    assert not labels.scores.flags.writeable
