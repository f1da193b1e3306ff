"""Tests of grasplab.scenes.reference_files: textured.sdf and rs_wrt_kn.npy in a dataset."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.core.camera import KINECT, REALSENSE
from grasplab.objects.sdf import read_sdf
from grasplab.scenes.layout import DatasetWriter
from grasplab.scenes.reference_files import dataset_model_ids, write_model_sdfs, write_rs_wrt_kn


def test_write_model_sdfs_writes_keeps_and_overwrites(tmp_path):
    writer = DatasetWriter(tmp_path, "realsense")
    writer.write_model(3, trimesh.creation.box((0.04, 0.02, 0.03)))
    writer.write_model(7, trimesh.creation.icosphere(2, 0.02))
    assert dataset_model_ids(tmp_path) == [3, 7]
    written = write_model_sdfs(tmp_path, dim=20, padding=2)
    assert [p.parent.name for p in written] == ["003", "007"]
    field = read_sdf(tmp_path / "models" / "003" / "textured.sdf")
    assert field.dims == (24, 14, 19)  # extent / (0.04 / 20) + 2 * 2 cells
    assert field.values.min() == pytest.approx(-0.01, abs=1e-5)  # half the thinnest side
    assert write_model_sdfs(tmp_path, dim=20, padding=2) == []  # kept
    assert len(write_model_sdfs(tmp_path, [7], dim=20, padding=2, overwrite=True)) == 1
    assert not list((tmp_path / "models").glob("*/.tmp-*"))
    with pytest.raises(FileNotFoundError):
        write_model_sdfs(tmp_path, [5])


def test_rs_wrt_kn_only_with_both_cameras(tmp_path):
    rng = np.random.default_rng(0)
    T_table_cam0 = np.eye(4)  # noqa: N806
    T_table_cam0[:3, 3] = [0.0, 0.0, 0.6]
    shift = np.eye(4)
    shift[:3, 3] = rng.normal(0, 0.05, 3)
    for camera, intrinsics, base in (("kinect", KINECT, T_table_cam0),
                                     ("realsense", REALSENSE, T_table_cam0 @ shift)):
        writer = DatasetWriter(tmp_path, camera)
        path = writer.scene_path(0)
        path.mkdir(parents=True, exist_ok=True)
        writer.write_scene_static(path, [0], intrinsics, np.stack([np.eye(4)] * 2), base)
        if camera == "kinect":
            assert write_rs_wrt_kn(tmp_path) == []  # one camera only
    (written,) = write_rs_wrt_kn(tmp_path)
    poses = np.load(written)
    assert poses.shape == (2, 4, 4)
    assert np.allclose(poses[0], shift)


def test_cli_label_sdf(tmp_path):
    from typer.testing import CliRunner

    from grasplab.cli.label import label_app

    DatasetWriter(tmp_path, "realsense").write_model(0, trimesh.creation.box((0.02, 0.02, 0.02)))
    runner = CliRunner()
    outcome = runner.invoke(label_app, ["sdf", "--root", str(tmp_path), "--dim", "10"])
    assert outcome.exit_code == 0, outcome.output
    assert read_sdf(tmp_path / "models" / "000" / "textured.sdf").dims == (20, 20, 20)
    empty = runner.invoke(label_app, ["sdf", "--root", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "no models" in empty.output
