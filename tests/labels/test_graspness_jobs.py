"""Graspness label files and jobs: round trips, resume, settings, bad inputs, the CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from grasplab.cli.main import app
from grasplab.labels import label_object, save_object_labels
from grasplab.labels.graspness import GraspnessConfig, scene_grasp_labels
from grasplab.labels.graspness_frame import frame_graspness
from grasplab.labels.graspness_io import (
    frame_graspness_path,
    graspness_file_matches,
    load_frame_graspness,
    load_label_points,
    load_scene_grasp_labels,
    save_frame_graspness,
    save_scene_grasp_labels,
    scene_graspness_path,
)
from grasplab.labels.graspness_jobs import (
    check_graspness_inputs,
    label_dataset_graspness,
    label_frame_graspness,
)
from grasplab.labels.object_labels import ObjectLabels
from grasplab.labels.scene_label_jobs import collision_label_path, label_scene
from grasplab.runtime.jobs import FingerprintMismatchError, read_job_manifest
from grasplab.scenes.layout import DatasetWriter

pytest.importorskip("embreex")


def _scene_helpers() -> Any:
    """The hand-built box scene of test_graspness.py (tests are not a package)."""
    path = Path(__file__).with_name("test_graspness.py")
    spec = importlib.util.spec_from_file_location("graspness_box_scene", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BOX_SCENE = _scene_helpers()
BOX, INTRINSICS, SMALL = _BOX_SCENE.BOX, _BOX_SCENE.INTRINSICS, _BOX_SCENE.SMALL
box_pose, look_at, render = _BOX_SCENE.box_pose, _BOX_SCENE.look_at, _BOX_SCENE.render

EYES = ((0.0, -0.3, 0.4), (0.25, 0.1, 0.35))


@pytest.fixture(scope="module")
def box_labels() -> ObjectLabels:
    return label_object(trimesh.creation.box(BOX), config=SMALL, rng=0)


def write_box_dataset(root: Path, labels: ObjectLabels, object_id: int = 4) -> None:
    """One scene: a box (object ``object_id``) on the table, two ray-cast frames, labelled."""
    writer = DatasetWriter(root)
    writer.write_model(object_id, trimesh.creation.box(BOX))
    save_object_labels(root, object_id, labels)
    cams = [look_at(eye, (0.0, 0.0, 0.02)) for eye in EYES]
    tmp = writer.begin_scene(0)
    writer.write_scene_static(tmp, [object_id], INTRINSICS,
                              np.stack([np.linalg.inv(cams[0]) @ c for c in cams]), cams[0])
    for ann_id, cam in enumerate(cams):
        depth, mask = render(cam, box_pose())
        writer.write_frame(tmp, ann_id, rgb=np.zeros((*depth.shape, 3), np.uint8), depth=depth,
                           mask=mask * (object_id + 1), intrinsics=INTRINSICS,
                           object_ids=[object_id], T_cam_obj=(np.linalg.inv(cam) @ box_pose())[None])
    writer.commit_scene(tmp, 0)
    label_scene(root, 0)


def test_files_round_trip_and_record_their_settings(box_labels: ObjectLabels, tmp_path: Path) -> None:
    mask = np.zeros(box_labels.grid_shape, dtype=bool)
    cfg = GraspnessConfig(max_distance=0.008)
    scene = scene_grasp_labels([box_labels], [mask], [4], cfg)
    path = save_scene_grasp_labels(tmp_path / "objects.npz", scene, cfg)
    back = load_scene_grasp_labels(path)
    for name in ("object_ids", "point_offsets", "points", "point_graspness", "view_graspness",
                 "mu_centi", "width_mm", "stable", "angles", "depths"):
        np.testing.assert_array_equal(getattr(back, name), getattr(scene, name))
        assert getattr(back, name).dtype == getattr(scene, name).dtype
    assert back.mu_centi.dtype == np.uint8 and back.view_graspness.dtype == np.float16
    points = load_label_points(path)
    np.testing.assert_array_equal(points.points, scene.points)
    assert graspness_file_matches(path, cfg, scene=True)
    # The scene file depends on the thresholds and the max width, not on frame settings.
    assert graspness_file_matches(path, GraspnessConfig(voxel_size=0.0), scene=True)
    assert not graspness_file_matches(path, GraspnessConfig(view_mu_max=0.4), scene=True)
    assert not graspness_file_matches(path, cfg, scene=False)
    cam = look_at(EYES[0], (0.0, 0.0, 0.02))
    depth, instance = render(cam, box_pose())
    frame = frame_graspness(depth, instance * 5, INTRINSICS,
                            (np.linalg.inv(cam) @ box_pose())[None], scene, cfg)
    again = load_frame_graspness(save_frame_graspness(tmp_path / "0000.npz", frame, cfg))
    for name in ("points", "pixels", "instance", "label_index", "graspness", "graspness_range",
                 "object_ids", "T_cam_obj"):
        np.testing.assert_array_equal(getattr(again, name), getattr(frame, name))
    with np.load(tmp_path / "0000.npz") as data:
        assert json.loads(str(data["config"])) == cfg.to_dict() and int(data["format"]) == 1
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable graspness"):
        load_frame_graspness(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        load_scene_grasp_labels(tmp_path / "none.npz")
    with pytest.raises(ValueError, match="missing fields"):
        load_scene_grasp_labels(tmp_path / "0000.npz")


def test_job_labels_every_frame_then_skips_then_redoes_other_settings(
    box_labels: ObjectLabels, tmp_path: Path
) -> None:
    write_box_dataset(tmp_path, box_labels)
    leftover = tmp_path / "scenes" / "scene_0000" / "realsense" / "graspness" / ".0001.npz.x.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a file")
    seen: list[object] = []
    outcomes = label_dataset_graspness(tmp_path, progress=seen.append)
    assert [(o.scene_id, o.ann_id, o.status) for o in outcomes] == [(0, 0, "labelled"),
                                                                   (0, 1, "labelled")]
    assert [o.wrote_scene for o in outcomes] == [True, False] and len(seen) == 2
    assert all(o.num_points > o.num_graspable > 0 for o in outcomes) and not leftover.exists()
    scene_file = scene_graspness_path(tmp_path, 0)
    assert scene_file == tmp_path / "scenes/scene_0000/realsense/graspness/objects.npz"
    frame = load_frame_graspness(frame_graspness_path(tmp_path, 0, 1))
    _, mask = render(look_at(EYES[1], (0.0, 0.0, 0.02)), box_pose())
    u, v = frame.pixels[:, 0].astype(int), frame.pixels[:, 1].astype(int)
    np.testing.assert_array_equal(frame.instance, mask[v, u] * 5)
    assert frame.object_ids.tolist() == [4] and np.all(frame.graspness[frame.instance == 0] == 0)
    assert frame.graspness[frame.instance == 5].mean() > 0.2
    manifest = read_job_manifest(tmp_path, "graspness-labels")
    assert manifest is not None and manifest["state"] == "complete"
    assert manifest["fingerprint"]["config"] == GraspnessConfig().to_dict()
    stamps = [p.stat().st_mtime_ns for p in (scene_file, frame_graspness_path(tmp_path, 0, 1))]
    again = label_dataset_graspness(tmp_path)
    assert [o.status for o in again] == ["skipped", "skipped"]
    assert [p.stat().st_mtime_ns for p in (scene_file, frame_graspness_path(tmp_path, 0, 1))] == stamps
    # A rerun with other settings is refused (naming them) unless --overwrite.
    finer = GraspnessConfig(voxel_size=0.003)
    with pytest.raises(FingerprintMismatchError, match="voxel_size: 0.005 -> 0.003"):
        label_dataset_graspness(tmp_path, config=finer)
    # A frame with another voxel size is redone from the scene file, which stays as it is.
    assert label_frame_graspness(tmp_path, 0, 0, config=finer).status == "labelled"
    assert scene_file.stat().st_mtime_ns == stamps[0]
    # One frame alone with other thresholds computes from the labels and rewrites its own file.
    other = GraspnessConfig(voxel_size=0.0, point_mu_max=0.6)
    single = label_frame_graspness(tmp_path, 0, 1, config=other, write_scene=False)
    assert single.status == "labelled" and not single.wrote_scene
    assert single.num_points > outcomes[1].num_points
    direct = load_frame_graspness(frame_graspness_path(tmp_path, 0, 1))
    redo = label_dataset_graspness(tmp_path, config=other, overwrite=True)
    assert [o.status for o in redo] == ["labelled", "labelled"]
    assert [o.wrote_scene for o in redo] == [True, False]
    assert graspness_file_matches(scene_file, other, scene=True)
    # Made from the labels directly or from the scene file: the same frame labels.
    from_file = load_frame_graspness(frame_graspness_path(tmp_path, 0, 1))
    for name in ("label_index", "graspness", "instance", "points"):
        np.testing.assert_array_equal(getattr(from_file, name), getattr(direct, name))
    manifest = read_job_manifest(tmp_path, "graspness-labels")
    assert manifest is not None and manifest["fingerprint"]["config"] == other.to_dict()


def test_missing_inputs_name_the_command_to_run_first(box_labels: ObjectLabels,
                                                       tmp_path: Path) -> None:
    write_box_dataset(tmp_path, box_labels)
    collision_label_path(tmp_path, 0).unlink()
    with pytest.raises(FileNotFoundError, match="grasplab label scenes --root"):
        label_dataset_graspness(tmp_path)
    with pytest.raises(FileNotFoundError, match="grasplab label scenes --root"):
        label_frame_graspness(tmp_path, 0, 0)
    (tmp_path / "grasp_label" / "004_labels.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"objects \[4\].*grasplab label objects --root"):
        check_graspness_inputs(tmp_path, [0])
    result = CliRunner().invoke(app, ["label", "graspness", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "grasplab label objects" in result.output
    assert not (tmp_path / "scenes" / "scene_0000" / "realsense" / "graspness").exists()


def test_collision_masks_of_other_labels_are_refused(box_labels: ObjectLabels,
                                                     tmp_path: Path) -> None:
    write_box_dataset(tmp_path, box_labels)
    fewer = ObjectLabels(box_labels.points[:5], box_labels.offsets[:5], box_labels.scores[:5],
                         box_labels.collision[:5], box_labels.stable[:5]
                         if box_labels.stable is not None else None)
    save_object_labels(tmp_path, 4, fewer)
    outcomes = label_dataset_graspness(tmp_path)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "does not fit the object labels" in outcomes[0].message
    assert "--overwrite" in outcomes[0].message


def test_cli_labels_and_resumes(box_labels: ObjectLabels, tmp_path: Path) -> None:
    write_box_dataset(tmp_path, box_labels)
    runner = CliRunner()
    first = runner.invoke(app, ["label", "graspness", "--root", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "2 labelled, 0 skipped, 0 failed" in first.output
    assert frame_graspness_path(tmp_path, 0, 0).is_file()
    second = runner.invoke(app, ["label", "graspness", "--root", str(tmp_path)])
    assert second.exit_code == 0 and "0 labelled, 2 skipped, 0 failed" in second.output
    bad = runner.invoke(app, ["label", "graspness", "--root", str(tmp_path), "--voxel-size", "-1"])
    assert bad.exit_code == 2 and "voxel_size" in bad.output
    other = ["label", "graspness", "--root", str(tmp_path), "--voxel-size", "0.004"]
    refused = runner.invoke(app, other)
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert "voxel_size" in refused.output
    redone = runner.invoke(app, [*other, "--overwrite"])
    assert redone.exit_code == 0 and "2 labelled, 0 skipped, 0 failed" in redone.output
    missing = runner.invoke(app, ["label", "graspness", "--root", str(tmp_path), "--ids", "3"])
    assert missing.exit_code == 2 and "0003" in missing.output


@pytest.mark.slow
def test_a_process_pool_writes_the_same_bytes(box_labels: ObjectLabels, tmp_path: Path) -> None:
    roots = [tmp_path / "one", tmp_path / "two"]
    for root in roots:
        write_box_dataset(root, box_labels)
    assert [o.status for o in label_dataset_graspness(roots[0])] == ["labelled"] * 2
    assert [o.status for o in label_dataset_graspness(roots[1], workers=2)] == ["labelled"] * 2
    folder = Path("scenes/scene_0000/realsense/graspness")
    names = sorted(p.name for p in (roots[0] / folder).iterdir())
    assert names == ["0000.npz", "0001.npz", "objects.npz"]
    for name in names:
        assert (roots[0] / folder / name).read_bytes() == (roots[1] / folder / name).read_bytes()
