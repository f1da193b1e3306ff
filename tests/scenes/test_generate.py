"""The sharded generation job: layout, geometry, determinism, resumability, manifest checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grasplab.core.camera import depth_to_points
from grasplab.scenes.generate import (
    GenerationConfig,
    generate_dataset,
    rig_view_ids,
    scene_complete,
    scene_seed,
)
from grasplab.scenes.layout import MANIFEST_NAME
from grasplab.scenes.reader import GraspNetDataset

pytest.importorskip("pybullet")

CONFIG = GenerationConfig(objects_per_scene=2, image_scale=0.1)
JOB: dict[str, Any] = {"split": "seen", "num_scenes": 2, "views": 3, "seed": 7, "config": CONFIG}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen") / "data"
    calls: list[int] = []
    summary = generate_dataset(root, progress=calls.append, **JOB)
    assert summary.generated == (0, 1) and summary.skipped == () and sum(calls) == 2
    return root


def test_rig_view_ids_and_scene_seed() -> None:
    assert rig_view_ids(1).tolist() == [0]
    assert rig_view_ids(3).tolist() == [0, 128, 255]
    assert rig_view_ids(256).tolist() == list(range(256))
    with pytest.raises(ValueError, match="views"):
        rig_view_ids(0)
    a = np.random.default_rng(scene_seed(3, 5)).random()
    assert a == np.random.default_rng(np.random.SeedSequence(3).spawn(6)[5]).random()
    assert a != np.random.default_rng(scene_seed(3, 6)).random()


def test_config_validation() -> None:
    bad_settings: list[dict[str, Any]] = [
        {"views": 0},
        {"views": 257},
        {"camera": "zed"},
        {"depth_noise": "salt"},
        {"image_scale": 2.0},
        {"objects_per_scene": 0},
        {"parallel_eta": -1.0},
        {"object_pool": 1},
        {"object_pool": 2.5},
    ]
    for bad in bad_settings:
        with pytest.raises(ValueError):
            GenerationConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="split"):
        generate_dataset("unused", "train", 1)


def test_layout_and_manifest(dataset: Path) -> None:
    manifest = json.loads((dataset / MANIFEST_NAME).read_text())
    assert manifest["seed"] == 7 and manifest["scenes"] == {"0000": "seen", "0001": "seen"}
    assert manifest["image_size"] == [128, 72] and manifest["config"]["views"] == 3
    ds = GraspNetDataset(dataset)
    assert ds.scene_ids() == [0, 1]
    for scene in (0, 1):
        assert scene_complete(dataset, scene, GenerationConfig(**{**manifest["config"]}))
        assert ds.frame_ids(scene) == [0, 1, 2]
        poses = ds.camera_poses(scene)
        assert poses.shape == (3, 4, 4)
        np.testing.assert_allclose(poses[0], np.eye(4), atol=1e-12)
        T_table_cam0 = ds.T_table_cam0(scene)
        assert T_table_cam0[2, 3] > 0.2 and T_table_cam0[2, 2] < -0.3  # above the table, looking down
        record = ds.scene_record(scene)
        assert record["rig_view_ids"] == [0, 128, 255] and record["frames"] == 3
        assert ds.object_ids(scene) == record["record"]["object_ids"]
        assert all(0 <= i < 700 for i in ds.object_ids(scene))  # the seen split
        for obj in ds.object_ids(scene):
            assert (dataset / f"models/{obj:03d}/nontextured.ply").is_file()
            assert (dataset / f"models/{obj:03d}/textured.obj").is_file()
    assert not list((dataset / "scenes").glob(".tmp-*"))


def test_masks_depth_and_poses_agree(dataset: Path) -> None:
    """Model points posed by the XML poses land on their own mask and on the clean depth."""
    ds = GraspNetDataset(dataset)
    checked = 0
    for ann in (0, 2):
        frame = ds.frame(1, ann)
        clean = ds.depth(1, ann, folder="depth_clean")
        assert np.count_nonzero(frame.mask) > 20
        for obj, T in zip(frame.object_ids, frame.T_cam_obj, strict=True):
            on_mask = frame.mask == obj + 1
            if on_mask.sum() < 10:
                continue  # hidden in this view
            points, _ = depth_to_points(clean, frame.intrinsics, mask=on_mask)
            model = ds.model_points(obj) @ T[:3, :3].T + T[:3, 3]
            dist = np.min(np.linalg.norm(points[:, None] - model[None, ::7], axis=2), axis=1)
            assert np.median(dist) < 0.004, (obj, ann, np.median(dist))
            checked += 1
        noisy = frame.depth[frame.depth > 0]
        assert 0.3 < np.median(noisy) < 1.2  # metres
    assert checked >= 2


def test_same_seed_same_bytes(dataset: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    generate_dataset(other, **{**JOB, "num_scenes": 1})
    first, second = _files(dataset / "scenes/scene_0000"), _files(other / "scenes/scene_0000")
    assert first.keys() == second.keys() and len(first) > 20
    assert all(first[k] == second[k] for k in first)


def test_interrupted_run_is_completed(dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    original = _files(root / "scenes/scene_0001")
    # scene 1 was being written: only a leftover temp folder; scene 0 is finished
    shutil.rmtree(root / "scenes/scene_0001")
    leftover = root / "scenes/.tmp-scene_0001-deadbeef"
    (leftover / "realsense/rgb").mkdir(parents=True)
    (leftover / "realsense/rgb/0000.png").write_bytes(b"half")
    stamps = {p: p.stat().st_mtime_ns for p in (root / "scenes/scene_0000").rglob("*")}
    summary = generate_dataset(root, **JOB)
    assert summary.generated == (1,) and summary.skipped == (0,)
    assert not leftover.exists()
    assert _files(root / "scenes/scene_0001") == original
    assert stamps == {p: p.stat().st_mtime_ns for p in (root / "scenes/scene_0000").rglob("*")}
    # a partially written scene folder is redone too
    (root / "scenes/scene_0001/realsense/depth/0002.png").unlink()
    assert generate_dataset(root, **JOB).generated == (1,)
    assert _files(root / "scenes/scene_0001") == original
    assert generate_dataset(root, **JOB).generated == ()


def test_a_different_dataset_in_the_folder_is_an_error(dataset: Path) -> None:
    before = _files(dataset)
    changes: list[dict[str, Any]] = [
        {"seed": 8},
        {"split": "novel"},
        {"views": 2},
        {"config": GenerationConfig(objects_per_scene=3, image_scale=0.1)},
    ]
    for change in changes:
        with pytest.raises(ValueError, match="different dataset"):
            generate_dataset(dataset, **{**JOB, **change})
    with pytest.raises(ValueError, match="different dataset"):
        generate_dataset(dataset, **JOB, camera="kinect")
    assert _files(dataset) == before


def test_scenes_without_manifest_are_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "scenes/scene_0000").mkdir(parents=True)
    with pytest.raises(ValueError, match="no grasplab_dataset.json"):
        generate_dataset(tmp_path, **JOB)
    assert not (tmp_path / MANIFEST_NAME).exists()


@pytest.mark.slow
def test_process_pool_gives_the_same_files(dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "pool"
    generate_dataset(root, workers=2, **JOB)
    assert _files(root) == _files(dataset)


def test_scenes_of_another_split_can_be_added(dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    summary = generate_dataset(root, **{**JOB, "split": "novel", "num_scenes": 1}, first_scene=2)
    assert summary.generated == (2,)
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["scenes"] == {"0000": "seen", "0001": "seen", "0002": "novel"}
    assert all(i >= 1000 for i in GraspNetDataset(root).object_ids(2))


def test_a_failing_scene_does_not_stop_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import grasplab.scenes.generate as generate

    real_job = generate._job

    def flaky(job: tuple[Any, ...]) -> Any:
        if job[1] == 0:
            raise ValueError("object 'random_xyz' has zero volume")
        return real_job(job)

    monkeypatch.setattr(generate, "_job", flaky)
    summary = generate_dataset(tmp_path, **JOB)
    assert summary.failed == ((0, "object 'random_xyz' has zero volume"),)
    assert summary.generated == (1,)
    assert not (tmp_path / "scenes" / "scene_0000").exists()
    # the rerun (with the cause gone) makes only the missing scene
    monkeypatch.setattr(generate, "_job", real_job)
    again = generate_dataset(tmp_path, **JOB)
    assert again.generated == (0,) and again.skipped == (1,) and again.failed == ()


def test_a_rerun_removes_leftovers_of_a_killed_run_and_records_the_job(dataset: Path, tmp_path: Path) -> None:
    from grasplab.runtime.jobs import read_job_manifest

    root = tmp_path / "copy"
    shutil.copytree(dataset, root)
    leftovers = [root / "scenes/.tmp-scene_0007-0123abcd", root / "models/.tmp-042-0123abcd"]
    for folder in leftovers:
        (folder / "sub").mkdir(parents=True)
    (root / ".grasplab_dataset.json.0123abcd.tmp").write_text("{")
    summary = generate_dataset(root, **JOB)
    assert summary.generated == () and summary.skipped == (0, 1) and summary.failed == ()
    assert not any(p.exists() for p in leftovers) and not list(root.glob(".*.tmp"))
    manifest = read_job_manifest(root, "scenes")
    assert manifest is not None and manifest["state"] == "complete" and manifest["num_shards"] == 2
    dataset_config = json.loads((root / MANIFEST_NAME).read_text())["config"]
    assert manifest["fingerprint"] == {"seed": 7, "config": dataset_config}


def test_object_pool_limits_the_objects_and_keeps_old_manifests(tmp_path: Path) -> None:
    pooled = GenerationConfig(objects_per_scene=2, image_scale=0.1, object_pool=3, parallel_depth=False)
    root = tmp_path / "pool"
    generate_dataset(root, "seen", 3, views=1, seed=1, config=pooled)
    used = {int(i) for s in range(3)
            for i in (root / "scenes" / f"scene_{s:04d}" / "object_id_list.txt").read_text().split()}
    assert used <= {0, 1, 2} and len(used) >= 2
    assert json.loads((root / MANIFEST_NAME).read_text())["config"]["object_pool"] == 3
    # a manifest without a pool does not record the key, so folders made before the option match
    plain = tmp_path / "plain"
    generate_dataset(plain, "seen", 1, views=1, seed=1,
                     config=GenerationConfig(objects_per_scene=2, image_scale=0.1, parallel_depth=False))
    assert "object_pool" not in json.loads((plain / MANIFEST_NAME).read_text())["config"]
    with pytest.raises(ValueError, match="object_pool"):
        generate_dataset(root, "seen", 1, views=1, seed=1, first_scene=5,
                         config=GenerationConfig(objects_per_scene=2, image_scale=0.1, object_pool=4,
                                                 parallel_depth=False))
