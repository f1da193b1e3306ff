"""APEvaluator over dump folders, the reports and the CLI (synthetic root of ap_synthetic.py)."""

import json

import numpy as np
import pytest
import typer
from ap_synthetic import antipodal, make_grasps, save_dump
from typer.testing import CliRunner

from grasplab.cli.evaluate import register
from grasplab.evaluation import APEvaluator, scene_splits, split_scene_ids
from grasplab.evaluation.report import write_report

H50 = float(np.sum(1.0 / np.arange(1, 51)))


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    """Scene 0: frame 0 = one good + one empty grasp, frame 1 missing.
    Scene 1: frame 0 = good grasp + NaN row, frame 1 = an unreadable file."""
    folder = tmp_path_factory.mktemp("dump")
    save_dump(folder, 0, 0, np.concatenate([antipodal(0.0, 0.9), make_grasps([(0, 0, 0.3)], [0.5])]))
    bad = np.concatenate([antipodal(0.05, 0.9), antipodal(-0.05, 0.8)])
    bad[1, 5] = np.nan
    save_dump(folder, 1, 0, bad)
    broken = folder / "scene_0001" / "realsense" / "0001.npy"
    broken.write_bytes(b"this is not a numpy file")
    return folder


@pytest.fixture(scope="module")
def result(synthetic_root, dump):
    return APEvaluator(synthetic_root, "realsense").evaluate(dump, [0, 1])


def test_frames_scored_and_missing_frames_count_as_zero(result):
    assert [(r.scene_id, r.frame_id, r.status) for r in result.records] == [
        (0, 0, "ok"), (0, 1, "missing"), (1, 0, "ok"), (1, 1, "unreadable"),
    ]
    good = H50 / 50  # one good grasp at rank 1: P@k = 1/k for every mu
    assert result.records[0].result.ap == pytest.approx(good)
    assert result.records[1].result.ap == 0.0
    assert result.records[2].result.ap == pytest.approx(good)
    tables = result.tables()
    assert tables["all"].ap == pytest.approx(good / 2)
    assert tables["all"].num_frames == 4
    assert set(tables) == {"all", "seen", "novel"}
    assert tables["seen"].ap == pytest.approx(good / 2)


def test_problems_are_reported_with_frame_and_row(result):
    issues = result.issues
    assert any("scene 0 frame 1: missing dump file" in msg for msg in issues)
    assert any("scene 1 frame 1: unreadable dump file" in msg for msg in issues)
    assert any(msg.startswith("scene 1 frame 0: row 1: non-finite") for msg in issues)
    assert len(issues) == 3


def test_reports_json_npz_markdown(result, tmp_path):
    data = write_report(result, tmp_path / "res.json")
    on_disk = json.loads((tmp_path / "res.json").read_text())
    assert on_disk["AP"] == pytest.approx(100 * H50 / 100)
    assert set(on_disk["AP_mu"]) == {"0.2", "0.4", "0.6", "0.8", "1.0", "1.2"}
    assert on_disk["AP_paper"] == pytest.approx(on_disk["AP"])
    assert on_disk["tables"]["novel"]["num_frames"] == 2
    assert on_disk["per_frame"][1] == {"scene": 0, "frame": 1, "AP": 0.0, "status": "missing"}
    assert on_disk["num_missing"] == 2 and on_disk["num_dropped_rows"] == 1
    assert data["AP"] == on_disk["AP"]
    with np.load(tmp_path / "res.npz", allow_pickle=False) as npz:
        assert npz["accuracy"].shape == (4, 50, 6)
        assert npz["grasp_array"].shape == (3, 17)
        assert npz["grasp_score"].tolist() == [0.2, -1.0, 0.2]
        assert npz["grasp_empty"].tolist() == [False, True, False]
        assert npz["grasp_frame"].tolist() == [0, 0, 2]
        assert npz["grasp_object_id"].tolist() == [0, 0, 0]
    report = (tmp_path / "res.md").read_text()
    assert "| seen |" in report and "res_precision.png" in report
    assert (tmp_path / "res_precision.png").stat().st_size > 1000


def test_splits_from_manifest_and_reference(synthetic_root, tmp_path):
    assert scene_splits(synthetic_root) == {0: "seen", 1: "novel"}
    assert split_scene_ids(synthetic_root, "novel", [0, 1]) == [1]
    assert split_scene_ids(synthetic_root, "test", [0, 1]) == [0, 1]
    assert scene_splits(tmp_path) is None
    assert split_scene_ids(tmp_path, "similar", [5, 130, 131, 170]) == [130, 131]
    with pytest.raises(ValueError, match="unknown split"):
        split_scene_ids(synthetic_root, "bogus", [0, 1])
    with pytest.raises(ValueError, match="no scene"):
        split_scene_ids(tmp_path, "seen", [0, 1])


def test_unknown_scene_is_a_clear_error(synthetic_root, dump):
    with pytest.raises(ValueError, match=r"scenes \[7\]"):
        APEvaluator(synthetic_root).evaluate(dump, [7])


def test_two_workers_give_the_same_result(synthetic_root, dump, result):
    parallel = APEvaluator(synthetic_root).evaluate(dump, [0, 1], workers=2)
    np.testing.assert_array_equal(parallel.accuracy, result.accuracy)
    assert parallel.issues == result.issues


def test_cli_eval_ap(synthetic_root, dump, tmp_path):
    out = tmp_path / "cli.json"
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    args = ["eval", "ap", "--backend", "exact", "--root", str(synthetic_root), "--dump", str(dump),
            "--scenes", "0-1", "--out", str(out)]  # exact: the reference rejects this flat-face grasp
    outcome = runner.invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(out.read_text())["AP"] == pytest.approx(H50)
    split = runner.invoke(app, [*args[:-4], "--split", "seen", "--out", str(out)])
    assert split.exit_code == 0, split.output
    assert json.loads(out.read_text())["num_frames"] == 2
    both = runner.invoke(app, [*args[:-2], "--split", "seen"])
    assert both.exit_code == 2 and "exactly one" in both.output
    bad = runner.invoke(app, [*args[:-4], "--scenes", "3-1"])
    assert bad.exit_code != 0


def test_cli_eval_ap_fails_when_no_dump_is_readable(synthetic_root, tmp_path):
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    empty = tmp_path / "empty_dump"
    empty.mkdir()
    out = tmp_path / "none.json"
    outcome = CliRunner().invoke(app, ["eval", "ap", "--root", str(synthetic_root), "--dump",
                                       str(empty), "--scenes", "0-1", "--out", str(out)])
    assert outcome.exit_code == 1, outcome.output
    assert "no readable dump file" in outcome.output
    assert not out.exists()  # nothing scored: no report that reads as AP 0 (issue 13)


def test_parse_scene_ids():
    from grasplab.cli.evaluate import parse_scene_ids

    assert parse_scene_ids("0,3-5, 2") == [0, 2, 3, 4, 5]
    for bad in ("", "a", "5-3", "-1"):
        with pytest.raises(ValueError):
            parse_scene_ids(bad)


def test_an_npz_archive_dump_is_unreadable_not_a_crash(synthetic_root, tmp_path):
    folder = tmp_path / "dump_npz"
    target = folder / "scene_0000" / "realsense" / "0000.npy"
    target.parent.mkdir(parents=True)
    with open(target, "wb") as handle:  # np.savez to a file object keeps the .npy name
        np.savez(handle, grasps=antipodal(0.0, 0.9))
    result = APEvaluator(synthetic_root, "realsense").evaluate(folder, [0])
    assert result.records[0].status == "unreadable"
    assert "npz" in result.issues[0]


def test_frame_scene_with_a_shared_scene_cache_equals_a_fresh_read(synthetic_root, monkeypatch):
    evaluator = APEvaluator(synthetic_root, "realsense")
    fresh = [evaluator.frame_scene(0, f) for f in (0, 1)]
    reads = []
    original = evaluator.dataset.camera_poses
    monkeypatch.setattr(
        evaluator.dataset, "camera_poses", lambda s: (reads.append(s), original(s))[1]
    )
    cache: dict = {}
    cached = [evaluator.frame_scene(0, f, cache) for f in (0, 1)]
    assert reads == [0]  # the camera poses are read once for both frames
    assert set(cache) == {"camera_poses", "T_table_cam0"}
    for a, b in zip(fresh, cached, strict=True):
        np.testing.assert_array_equal(a.T_cam_obj, b.T_cam_obj)
        np.testing.assert_array_equal(a.T_cam_table, b.T_cam_table)
    np.testing.assert_array_equal(cache["camera_poses"], original(0))


def test_implausible_widths_are_reported_before_the_evaluation_clips_them(synthetic_root, tmp_path):
    wide = np.concatenate([antipodal(0.0, 0.9), antipodal(0.05, 0.8)])
    wide[1, 1] = 5.0  # a 5 m opening: a plausibility warning, clipped to 0.1 m when scored
    save_dump(tmp_path, 0, 0, wide)
    evaluator = APEvaluator(synthetic_root, "realsense")
    record = evaluator.evaluate(tmp_path, [0]).records[0]
    assert record.status == "ok"
    assert any("implausible grasps" in m and "width" in m for m in record.result.issues)
    direct = evaluator.evaluate_grasps(0, 0, wide)  # the evaluation itself is unchanged
    np.testing.assert_array_equal(record.result.scores, direct.scores)
    assert record.result.grasps[:, 1].max() <= 0.1
    assert wide[1, 1] == 5.0  # the caller's array is not modified
