"""Tests of the dynamic grasping loop (Alg. 1) and its benchmark runner."""

from __future__ import annotations

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
from grasplab.execution.dynamic_bench import run_dynamic_bench
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


def test_bench_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="episodes"):
        run_dynamic_bench(lambda: build_tracker("nearest"), MotionConfig(), 0)
    from grasplab.cli.main import app

    runner = CliRunner()
    cases = ((["--tracker", "telepathy"], "--tracker"), (["--tracker", "learned"], "needs weights"),
             (["--episodes", "0"], "--episodes"), (["--motion", "orbit"], "kind"),
             (["--detector", "oracle"], "--detector"))
    for args, text in cases:
        res = runner.invoke(app, ["bench", "dynamic", "--out", str(tmp_path), *args])
        assert res.exit_code == 2, res.output
        assert text in res.output


def test_identity_switches_are_counted() -> None:
    from grasplab.execution.dynamic import _Counts

    count = _Counts()
    for object_id, new in ((3, True), (3, False), (4, False), (-1, False), (4, False), (5, True)):
        count.see(object_id, new_track=new)
    assert count.switches == 1  # 3 -> 4; unknown objects and new tracks are not switches
