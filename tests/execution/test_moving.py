"""Tests of the planar trajectories and the moving-object scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grasplab.execution.moving import MotionConfig, MovingScene, motion_objects, record_motion_sequence
from grasplab.execution.trajectories import MOTION_KINDS, PlanarTrajectory, make_trajectories


@pytest.mark.parametrize("kind", MOTION_KINDS)
def test_trajectories_speed_and_determinism(kind: str) -> None:
    num = 2 if kind == "crossing" else 3
    first = make_trajectories(kind, num, 0.05, rng=7)
    again = make_trajectories(kind, num, 0.05, rng=7)
    assert len(first) == num
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.planar(1.3), b.planar(1.3))
    speeds = [tr.speed(t) for tr in first for t in np.linspace(0, 5, 11)]
    if kind in ("conveyor", "turntable", "crossing"):
        np.testing.assert_allclose(speeds, 0.05, rtol=1e-4)  # constant speed
    else:
        assert 0.0 < float(np.mean(speeds)) < 0.15


def test_known_trajectories() -> None:
    conveyor = PlanarTrajectory(np.array([0.1, 0.2, 0.3]), np.array([0.05, 0.0, 0.0]))
    np.testing.assert_allclose(conveyor.planar(2.0), [0.2, 0.2, 0.3])
    table = PlanarTrajectory(np.array([0.1, 0.0, 0.0]), np.zeros(3), spin_rate=np.pi / 2)
    np.testing.assert_allclose(table.planar(1.0), [0.0, 0.1, np.pi / 2], atol=1e-12)
    T = table.pose(1.0, np.eye(4))
    np.testing.assert_allclose(T[:3, 3], [0.0, 0.1, 0.0], atol=1e-12)
    crossing = make_trajectories("crossing", 2, 0.1, rng=0)
    gaps = [np.linalg.norm(crossing[0].planar(t)[:2] - crossing[1].planar(t)[:2])
            for t in np.linspace(0, 4, 81)]
    assert 0.05 < min(gaps) < 0.1  # they pass each other closely without touching


def test_trajectory_bad_inputs() -> None:
    with pytest.raises(ValueError, match="motion kind"):
        make_trajectories("orbit", 1, 0.05)
    with pytest.raises(ValueError, match="exactly 2"):
        make_trajectories("crossing", 3, 0.05)
    with pytest.raises(ValueError, match="speed"):
        make_trajectories("conveyor", 1, 0.0)
    with pytest.raises(ValueError, match="start"):
        PlanarTrajectory(np.array([0.0, np.nan, 0.0]), np.zeros(3))
    with pytest.raises(ValueError, match="kind"):
        MotionConfig(kind="orbit")


def test_recorded_sequence_follows_the_conveyor(tmp_path: Path) -> None:
    config = MotionConfig(kind="conveyor", num_objects=1, speed=0.1, image_width=64,
                          image_height=48)
    library = motion_objects(tmp_path, "conveyor", 1, rng=0)
    seq = record_motion_sequence(config, library, library.ids(), 4, rng=0)
    assert len(seq) == 4 and seq.T_world_obj.shape == (4, 1, 4, 4)
    np.testing.assert_allclose(np.diff(seq.T_world_obj[:, 0, 0, 3]), 0.1 / 10.0, atol=1e-6)
    np.testing.assert_allclose(np.diff(seq.T_world_obj[:, 0, 1, 3]), 0.0, atol=1e-6)
    assert all(frame.mask is not None and frame.T_world_cam is not None for frame in seq.frames)
    assert all(np.any(frame.mask == library.ids()[0] + 1) for frame in seq.frames)  # in view
    assert seq.state(2).object_ids == tuple(library.ids())
    with pytest.raises(ValueError):
        record_motion_sequence(config, library, library.ids(), 0)


def test_driven_object_follows_its_trajectory(tmp_path: Path) -> None:
    config = MotionConfig(kind="turntable", num_objects=2, speed=0.1)
    library = motion_objects(tmp_path, "turntable", 2, rng=1)
    trajectories = make_trajectories("turntable", 2, 0.1, rng=1)
    with MovingScene(library, library.ids(), trajectories, config) as scene:
        for _ in range(240):  # one simulated second
            scene.world.step()
            scene.drive(scene.world.timestep * (_ + 1))
        for oid in scene.object_ids:
            err = np.linalg.norm(scene.world.object_pose(oid)[:3, 3] - scene.pose_at(oid, 1.0)[:3, 3])
            assert err < 0.005
        scene.release(scene.object_ids[0])
        assert scene.driven() == scene.object_ids[1:]
    with pytest.raises(ValueError, match="one trajectory per object"):
        MovingScene(library, library.ids(), trajectories[:1], config)
