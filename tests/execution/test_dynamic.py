"""Tests of the dynamic grasping loop (Alg. 1) and its benchmark runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from grasplab.core import make_transform
from grasplab.core.rotations import rotation_z
from grasplab.detection.registry import build_detector
from grasplab.detection.tracker_registry import build_tracker
from grasplab.execution.attempt_log import read_attempts_csv
from grasplab.execution.dynamic import (
    DynamicConfig,
    align_jaws,
    predict_momentum,
    pregrasp_pose,
    ready_pose,
    step_toward,
)
from grasplab.execution.dynamic_bench import draw_split_objects, run_dynamic_bench
from grasplab.execution.moving import MotionConfig


def test_momentum_on_a_constant_velocity_target() -> None:
    v, omega = np.array([0.05, -0.02, 0.01]), 0.4
    times = np.arange(10) * 0.1
    poses = [make_transform(rotation_z(omega * t), np.array([0.1, 0.2, 0.0]) + v * t) for t in times]
    predicted = predict_momentum(times, poses, horizon=0.3)
    t_next = times[-1] + 0.3
    np.testing.assert_allclose(predicted[:3, 3], np.array([0.1, 0.2, 0.0]) + v * t_next, atol=1e-12)
    np.testing.assert_allclose(predicted[:3, :3], rotation_z(omega * t_next), atol=1e-12)
    np.testing.assert_allclose(predict_momentum(times[:1], poses[:1], 0.3), poses[0])
    with pytest.raises(ValueError):
        predict_momentum(times, poses[:3], 0.3)


def test_pregrasp_servo_and_jaws() -> None:
    T = ready_pose(0.3)  # approach pointing down
    np.testing.assert_allclose(pregrasp_pose(T, 0.035)[:3, 3], [0.0, 0.0, 0.335])
    step = step_toward(np.eye(4), make_transform(rotation_z(1.0), np.array([1.0, 0, 0])), 0.1, 0.2)
    np.testing.assert_allclose(step[:3, 3], [0.1, 0, 0])
    np.testing.assert_allclose(step[:3, :3], rotation_z(0.2), atol=1e-12)
    flipped = T @ np.diag([1.0, -1.0, -1.0, 1.0])
    np.testing.assert_allclose(align_jaws(flipped, T), T, atol=1e-12)
    with pytest.raises(ValueError, match="max_speed"):
        DynamicConfig(max_speed=0.0)
    with pytest.raises(ValueError, match="buffer_length"):
        DynamicConfig(buffer_length=1)


def test_oracle_tracker_catches_on_a_conveyor(tmp_path: Path) -> None:
    motion = MotionConfig(kind="conveyor", num_objects=1, speed=0.05, image_width=160,
                          image_height=120)
    result = run_dynamic_bench(
        lambda: build_tracker("oracle", build_detector("analytic", seed=0, max_grasps=20)),
        motion, 1, seed=0, name="oracle/analytic", config=DynamicConfig(duration=5.0))
    episode = result.episodes[0]
    assert episode.success and episode.reason == "success", episode
    assert 0.0 < episode.time_to_catch < 5.0 and episode.frames >= 2 and episode.switches == 0
    assert result.success_rate == 1.0 and result.reasons == {"success": 1}
    path = result.save_attempts_csv(tmp_path / "log.csv")
    rows = read_attempts_csv(path)
    assert len(rows) == 1 and rows[0].phase == "catch" and rows[0].success
    assert result.to_dict()["episodes"][0]["reason"] == "success"


def test_bench_bad_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("grasplab.detection.shipped.shipped_association_weights", lambda: None)
    with pytest.raises(ValueError, match="episodes"):
        run_dynamic_bench(lambda: build_tracker("nearest"), MotionConfig(), 0)
    from grasplab.cli.main import app

    runner = CliRunner()
    cases = ((["--tracker", "telepathy"], "--tracker"), (["--tracker", "learned"], "needs weights"),
             (["--episodes", "0"], "--episodes"), (["--motion", "orbit"], "kind"),
             (["--detector", "oracle"], "--detector"), (["--object-set", "toys"], "--object-set"),
             (["--object-set", "seen", "--motion", "crossing"], "identical boxes"))
    for args, text in cases:
        res = runner.invoke(app, ["bench", "dynamic", "--out", str(tmp_path), *args])
        assert res.exit_code == 2, res.output
        assert text in res.output


def test_split_objects_are_drawn_from_the_split() -> None:
    from grasplab.objects import split_object_ids

    ids = draw_split_objects("novel", 3, np.random.default_rng(4))
    assert len(set(ids)) == 3 and set(ids) <= set(split_object_ids("novel"))
    assert ids == draw_split_objects("novel", 3, np.random.default_rng(4))
    with pytest.raises(ValueError, match="asked for"):
        draw_split_objects("novel", 10_000, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown split"):
        draw_split_objects("toys", 1, np.random.default_rng(0))
    nearest = lambda: build_tracker("nearest")  # noqa: E731
    with pytest.raises(ValueError, match="objects: expected"):
        run_dynamic_bench(nearest, MotionConfig(), 1, objects="toys")
    with pytest.raises(ValueError, match="identical boxes"):
        run_dynamic_bench(nearest, MotionConfig(kind="crossing", num_objects=2), 1, objects="seen",
                          library=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="object library"):
        run_dynamic_bench(nearest, MotionConfig(), 1, objects="seen")


@pytest.mark.slow
def test_oracle_tracker_catches_a_novel_library_object(tmp_path: Path) -> None:
    from grasplab.objects import ObjectLibrary

    motion = MotionConfig(kind="conveyor", num_objects=1, speed=0.05, image_width=160, image_height=120)
    result = run_dynamic_bench(
        lambda: build_tracker("oracle", build_detector("analytic", seed=0, max_grasps=20)),
        motion, 1, seed=0, name="oracle/analytic", config=DynamicConfig(duration=5.0), objects="novel",
        library=ObjectLibrary(tmp_path / "cache"))
    assert result.objects == "novel" and "(novel)" in result.to_markdown()
    assert result.episodes[0].frames >= 2, result.episodes[0]



def _association_head(path: Path, gsnet: Path | None = None) -> Path:
    """An untrained association head sized for the shipped GSNet (128-d seed and grasp features)."""
    torch = pytest.importorskip("torch")
    from grasplab.models.grasp_association import AssociationSpec
    from grasplab.models.registry import build_model
    from grasplab.training.checkpoints import save_checkpoint

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model("association", AssociationSpec(hidden_dim=32, out_dim=32))
    config = {"features": {"gsnet_weights": str(gsnet)}} if gsnet is not None else None
    return save_checkpoint(path, model, config=config)


def test_bench_tracker_weights_bad_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grasplab.cli.main import app

    monkeypatch.setattr("grasplab.detection.shipped.shipped_association_weights", lambda: None)
    head = _association_head(tmp_path / "assoc.safetensors")
    learned = ["--tracker", "learned", "--tracker-weights", str(head)]
    cases = (
        (["--tracker", "learned"], "--tracker-weights"),
        (["--tracker", "learned", "--tracker-weights", str(tmp_path / "none.safetensors")],
         "no such file"),
        (["--tracker", "nearest", "--tracker-weights", str(head)], "takes no weights"),
        (["--tracker", "oracle", "--tracker-weights", str(head)], "takes no weights"),
        ([*learned, "--image-width", "640"], "--detector gsnet"),
        ([*learned, "--detector", "gsnet"], "--image-width 640"),
        ([*learned, "--detector", "gsnet", "--image-width", "320"], "got 320"),
        ([*learned, "--detector", "gsnet", "--image-width", "640"], "names no GSNet"),
    )
    runner = CliRunner()
    for args, text in cases:
        res = runner.invoke(app, ["bench", "dynamic", "--out", str(tmp_path / "out"), *args])
        assert res.exit_code == 2, (args, res.output)
        assert text in res.output and res.output.count("error:") == 1, (args, res.output)
    assert not (tmp_path / "out").exists()


def test_bench_learned_tracker_defaults_to_the_shipped_head() -> None:
    from grasplab.cli.bench_dynamic import _check_tracker_weights
    from grasplab.detection.shipped import shipped_association_weights

    shipped = shipped_association_weights()
    if shipped is None:
        pytest.skip("no association head shipped here")
    assert _check_tracker_weights("learned", None, "gsnet", 640) == shipped
    assert _check_tracker_weights("nearest", None, "analytic", 160) is None


@pytest.mark.slow
def test_bench_learned_tracker_end_to_end(tmp_path: Path) -> None:
    """One conveyor episode of the learned tracker (untrained head on the shipped GSNet)."""
    from grasplab.cli.main import app
    from grasplab.detection.shipped import shipped_gsnet_weights

    gsnet = shipped_gsnet_weights()
    if gsnet is None:
        pytest.skip("no GSNet shipped here")
    head = _association_head(tmp_path / "assoc.safetensors", gsnet)
    res = CliRunner().invoke(app, ["bench", "dynamic", "--out", str(tmp_path), "--episodes", "1",
                                   "--tracker", "learned", "--tracker-weights", str(head),
                                   "--detector", "gsnet", "--image-width", "640"])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "dynamic_learned_conveyor.json").read_text())
    assert result["name"] == "learned/gsnet" and len(result["episodes"]) == 1
    episode = result["episodes"][0]
    assert episode["reason"] in {"success", "empty", "slipped", "collision", "timeout"}
    assert episode["frames"] >= 1
    rows = read_attempts_csv(tmp_path / "dynamic_learned_conveyor.attempts.csv")
    assert len(rows) == 1 and rows[0].phase == "catch"
    assert (tmp_path / "dynamic_learned_conveyor.md").read_text().count("learned/gsnet") == 1

def test_identity_switches_are_counted() -> None:
    from grasplab.execution.dynamic import _Counts

    count = _Counts()
    for object_id, new in ((3, True), (3, False), (4, False), (-1, False), (4, False), (5, True)):
        count.see(object_id, new_track=new)
    assert count.switches == 1  # 3 -> 4; unknown objects and new tracks are not switches
