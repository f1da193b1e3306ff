"""The floating gripper and one grasp trial: known answers on a box in the tray."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.core import GraspGroup, GripperModel, make_transform
from grasplab.execution.grasp_execution import (
    OUTCOME_REASONS,
    ExecutionConfig,
    GraspOutcome,
    execute_grasp,
    set_grasp_friction,
)
from grasplab.execution.primitives import PrimitiveLibrary, PrimitiveObject
from grasplab.execution.sim_gripper import SimGripper, SimGripperConfig, gripper_urdf
from grasplab.scenes import TRAY_FLOOR_Z, World

pytest.importorskip("pybullet")

BOX = (0.04, 0.06, 0.05)  # x, y, z extents (m)
#: Top-down: approach world -z, jaw axis world x (across the 4 cm side), height axis world -y.
R_DOWN = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> PrimitiveObject:
    lib = PrimitiveLibrary(tmp_path_factory.mktemp("box"), {7: trimesh.creation.box(BOX)},
                           density=500.0)
    return lib.load(7)


@pytest.fixture
def world(box: PrimitiveObject) -> Iterator[World]:
    with World() as w:
        w.add_table_and_tray()
        w.add_object(box, make_transform(np.eye(3), np.array([0.0, 0.0, TRAY_FLOOR_Z + BOX[2] / 2])))
        w.settle(max_steps=240)
        yield w


def _grasp(t: tuple[float, float, float], width: float = 0.06, depth: float = 0.02) -> GraspGroup:
    return GraspGroup.from_components(np.array([t]), R_DOWN[None], [width], [depth])


def _run(world: World, mu: float, grasp: GraspGroup) -> GraspOutcome:
    hand = SimGripper(world, GripperModel())
    set_grasp_friction(world, hand, mu)
    return execute_grasp(world, hand, grasp)


def test_rotation_is_top_down() -> None:
    assert np.isclose(np.linalg.det(R_DOWN), 1.0)
    np.testing.assert_allclose(R_DOWN[:, 0], [0, 0, -1])


def test_box_is_lifted_at_high_friction(world: World) -> None:
    top = TRAY_FLOOR_Z + BOX[2]
    outcome = _run(world, 1.0, _grasp((0.0, 0.0, top)))
    assert (outcome.success, outcome.object_id, outcome.reason) == (True, 7, "success")
    assert outcome.object_rotation < np.deg2rad(5.0)  # held as planned, not re-oriented
    assert 100 < outcome.num_steps < 600  # a modest trial
    assert world.object_pose(7)[2, 3] > TRAY_FLOOR_Z + BOX[2] / 2 + 0.1  # lifted ~15 cm


def test_box_slips_at_tiny_friction(world: World) -> None:
    # 5 N per finger and mu = 0.01 hold 0.1 N; the box weighs 0.06 kg * 9.81 = 0.59 N.
    outcome = _run(world, 0.01, _grasp((0.0, 0.0, TRAY_FLOOR_Z + BOX[2])))
    assert not outcome.success and outcome.reason == "slipped" and outcome.object_id == 7


def test_grasp_in_empty_air_is_empty(world: World) -> None:
    outcome = _run(world, 1.0, _grasp((0.1, 0.1, 0.15)))
    assert outcome == GraspOutcome(False, None, "empty", outcome.num_steps, 0.0)


def test_approach_into_the_table_collides(world: World) -> None:
    # fingertips 4 cm below a grasp point 2 cm above the tray floor: they hit the floor
    outcome = _run(world, 1.0, _grasp((0.1, -0.1, TRAY_FLOOR_Z + 0.02), depth=0.04))
    assert outcome.reason == "collision_on_approach" and not outcome.success


def test_grasp_inside_the_box_collides_at_pregrasp(world: World) -> None:
    grasp = _grasp((0.0, 0.0, TRAY_FLOOR_Z + BOX[2] / 2), depth=0.04, width=0.06)
    rotated = GraspGroup.from_components(grasp.translations, R_DOWN[None] @ np.diag([-1, -1, 1])[None] * 1.0,
                                         grasp.widths, grasp.depths)  # approach from below
    assert _run(world, 1.0, rotated).reason == "collision_on_approach"
    assert set(OUTCOME_REASONS) >= {"success", "empty", "slipped", "collision_on_approach"}


def test_trial_is_deterministic(box: PrimitiveObject) -> None:
    results = []
    for _ in range(2):
        with World() as w:
            w.add_table_and_tray()
            w.add_object(box, make_transform(np.eye(3), np.array([0.0, 0.0, TRAY_FLOOR_Z + BOX[2] / 2])))
            hand = SimGripper(w)
            set_grasp_friction(w, hand, 0.5)
            outcome = execute_grasp(w, hand, _grasp((0.0, 0.0, TRAY_FLOOR_Z + BOX[2])))
            results.append((outcome, w.object_pose(7).round(12).tolist()))
    assert results[0] == results[1]


def test_bad_input(world: World, box: PrimitiveObject) -> None:
    hand = SimGripper(world)
    two = GraspGroup.concatenate([_grasp((0, 0, 0.1)), _grasp((0, 0, 0.2))])
    with pytest.raises(ValueError, match="exactly one grasp"):
        execute_grasp(world, hand, two)
    with World() as other, pytest.raises(ValueError, match="another World"):
        execute_grasp(other, hand, _grasp((0, 0, 0.1)))
    with pytest.raises(ValueError, match="success_rise"):
        ExecutionConfig(success_rise=0.2, lift_height=0.15)
    with pytest.raises(ValueError, match="finger_force"):
        SimGripperConfig(finger_force=0.0)
    with pytest.raises(ValueError, match="mu"):
        set_grasp_friction(world, hand, -1.0)


def test_gripper_is_built_from_the_model(world: World) -> None:
    model = GripperModel(max_width=0.08, finger_length=0.05)
    text = gripper_urdf(model)
    assert 'upper="0.04"' in text and text.count("prismatic") == 2
    hand = SimGripper(world, model)
    T = make_transform(R_DOWN, np.array([0.2, 0.0, 0.4]))
    hand.teleport(T, 0.05)
    assert hand.opening() == pytest.approx(0.05)
    np.testing.assert_allclose(hand.tip_pose(), T, atol=1e-9)
    hand.teleport(T, 0.5)  # clipped to the max width
    assert hand.opening() == pytest.approx(0.08)
    hand.park()
    assert hand.tip_pose()[2, 3] > 5.0


def test_primitive_library_rejects_bad_meshes(tmp_path: Path) -> None:
    broken = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], faces=[[0, 1, 2]])
    with pytest.raises(ValueError, match="watertight"):
        PrimitiveLibrary(tmp_path, {1: broken})
    lib = PrimitiveLibrary.random(tmp_path, 2, rng=0, first_id=5)
    assert lib.ids() == [5, 6]
    with pytest.raises(ValueError, match="unknown object id 9"):
        lib.load(9)
