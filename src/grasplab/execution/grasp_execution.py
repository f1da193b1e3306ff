"""Execute one 6-DoF grasp with the floating gripper and judge it (physics, no arm).

The trial, for a grasp ``(R, t, width, depth)`` in the world frame (reference layout, metres):

1. open the jaws to the grasp width (plus ``open_margin``), teleport the hand to the pre-grasp
   pose ``pregrasp_distance`` back along the approach axis; a hand that overlaps anything
   there fails with ``"collision_on_approach"``;
2. approach in a straight line until the fingertips are at the grasp depth; touching the table
   or tray, or ending more than ``approach_tolerance`` away from the target, fails with
   ``"collision_on_approach"`` (pushing objects aside on the way is allowed, as in PLGP §III-E);
3. close with the finger force limit until the fingers stall; no object touching both fingers
   fails with ``"empty"``;
4. lift ``lift_height`` straight up (world +z) and hold ``hold_time``; success when an object
   still touches both fingers and has risen by at least ``success_rise``; otherwise
   ``"slipped"``.

Friction: PyBullet multiplies the two bodies' coefficients. :func:`set_grasp_friction` sets the
objects to μ and the fingers, table and tray to 1, so finger-object and object-support contacts
have exactly μ (object-object contacts have μ²).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grasplab.core import (
    GraspGroup,
    check_positive_scalar,
    make_transform,
    rotation_angle,
)
from grasplab.execution.sim_gripper import SimGripper
from grasplab.scenes import World
from grasplab.scenes.world import pq_to_pose

__all__ = [
    "OUTCOME_REASONS",
    "ExecutionConfig",
    "GraspOutcome",
    "execute_grasp",
    "set_grasp_friction",
]

#: Every ``GraspOutcome.reason``.
OUTCOME_REASONS = ("success", "collision_on_approach", "empty", "slipped")


@dataclass(frozen=True)
class ExecutionConfig:
    """Settings of one grasp trial (metres, seconds, m/s).

    Attributes:
        pregrasp_distance: start this far back along the approach axis.
        approach_speed: hand speed while approaching.
        approach_tolerance: largest tip position error at the end of the approach.
        open_margin: added to the grasp width when opening (clipped to the max width).
        close_time: longest closing phase.
        lift_height: lift this far up (world +z).
        lift_speed: hand speed while lifting.
        hold_time: hold still this long after lifting.
        success_rise: an object must rise at least this much to count as lifted.
    """

    pregrasp_distance: float = 0.10
    approach_speed: float = 0.5
    approach_tolerance: float = 0.01
    open_margin: float = 0.0
    close_time: float = 0.4
    lift_height: float = 0.15
    lift_speed: float = 0.5
    hold_time: float = 0.5
    success_rise: float = 0.075

    def __post_init__(self) -> None:
        for name in ("pregrasp_distance", "approach_speed", "approach_tolerance", "close_time",
                     "lift_height", "lift_speed", "hold_time", "success_rise"):
            object.__setattr__(self, name, check_positive_scalar(getattr(self, name),
                                                                 f"ExecutionConfig.{name}"))
        if not np.isfinite(self.open_margin) or self.open_margin < 0:
            raise ValueError(f"ExecutionConfig.open_margin: expected >= 0 m, got {self.open_margin}")
        if self.success_rise >= self.lift_height:
            raise ValueError(f"ExecutionConfig.success_rise ({self.success_rise}) must be below "
                             f"lift_height ({self.lift_height})")


@dataclass(frozen=True)
class GraspOutcome:
    """The result of one simulated grasp.

    Attributes:
        success: an object was lifted and held.
        object_id: grasplab id of the lifted object, or of the object last held (slipped),
            or None.
        reason: one of :data:`OUTCOME_REASONS`.
        num_steps: simulation steps the trial took.
        object_rotation: how far (rad) the object between the fingers turned from the start
            of the trial until the jaws closed (0 without one). A large value means the jaws
            re-oriented the object (PLGP Fig. 7b): the executed grasp differs from the planned.
    """

    success: bool
    object_id: int | None
    reason: str
    num_steps: int = 0
    object_rotation: float = 0.0


def set_grasp_friction(world: World, hand: SimGripper, mu: float) -> None:
    """Give finger-object and object-support contacts friction μ (module docstring)."""
    world.set_friction(check_positive_scalar(mu, "mu"))
    for body in _static_bodies(world):
        world.p.changeDynamics(body, -1, lateralFriction=1.0, physicsClientId=world.client)
    hand.set_friction(1.0)


def _grasp_row(grasp: GraspGroup | np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    group = grasp if isinstance(grasp, GraspGroup) else GraspGroup(np.atleast_2d(grasp))
    if len(group) != 1:
        raise ValueError(f"grasp: expected exactly one grasp, got {len(group)}")
    bad = group.invalid_rows()
    if bad:
        raise ValueError(f"grasp: invalid ({bad[0][1]}); expected a finite row with a rotation")
    return group.rotations[0], group.translations[0], float(group.widths[0]), float(group.depths[0])


class _Trial:
    """One grasp trial's state: the world, the hand, the step count."""

    def __init__(self, world: World, hand: SimGripper, config: ExecutionConfig) -> None:
        self.world, self.hand, self.cfg = world, hand, config
        self.steps = 0
        self.objects = {world.body_id(oid): oid for oid in world.object_ids}
        self.static = _static_bodies(world)
        self.start_heights = {body: self.body_height(body) for body in self.objects}
        self.start_rotations = {body: self.body_rotation(body) for body in self.objects}

    def step(self) -> None:
        self.world.p.stepSimulation(physicsClientId=self.world.client)
        self.steps += 1

    def move(self, start: np.ndarray, goal: np.ndarray, speed: float, guard: bool) -> bool:
        """Move the tip frame in a straight line; False when ``guard`` and a static contact."""
        distance = float(np.linalg.norm(goal[:3, 3] - start[:3, 3]))
        num = max(1, int(np.ceil(distance / (speed * self.world.timestep))))
        for k in range(1, num + 1):
            target = goal.copy()
            target[:3, 3] = start[:3, 3] + (goal[:3, 3] - start[:3, 3]) * (k / num)
            self.hand.command_pose(target)
            self.step()
            if guard and self.touches_static():
                return False
        return True

    def touches_static(self) -> bool:
        palm, left, right = self.hand.contact_bodies()
        return bool((palm | left | right) & self.static)

    def overlaps_anything(self) -> bool:
        p = self.world.p
        p.performCollisionDetection(physicsClientId=self.world.client)
        return bool(p.getContactPoints(bodyA=self.hand.body, physicsClientId=self.world.client))

    def held_object(self) -> int | None:
        """Body id of an object touching both fingers (the first found), or None."""
        _, left, right = self.hand.contact_bodies()
        both = sorted((left & right) & set(self.objects))
        return both[0] if both else None

    def close(self) -> None:
        self.hand.command_opening(0.0)
        num = max(1, int(np.ceil(self.cfg.close_time / self.world.timestep)))
        for k in range(num):
            self.step()
            if k >= 8 and k % 4 == 0 and np.all(np.abs(self.hand.finger_speeds()) < 1e-3):
                break

    def wait(self, seconds: float) -> None:
        for _ in range(max(1, int(np.ceil(seconds / self.world.timestep)))):
            self.step()

    def body_rotation(self, body: int) -> np.ndarray:
        pos, xyzw = self.world.p.getBasePositionAndOrientation(body, physicsClientId=self.world.client)
        return pq_to_pose(pos, xyzw)[:3, :3]

    def turned(self, body: int) -> float:
        """Rotation (rad) of a body since the start of the trial."""
        return float(rotation_angle(self.start_rotations[body][None],
                                    self.body_rotation(body)[None])[0])

    def body_height(self, body: int) -> float:
        pos, _ = self.world.p.getBasePositionAndOrientation(body, physicsClientId=self.world.client)
        return float(pos[2])


def _static_bodies(world: World) -> set[int]:
    """Every body that is neither an object nor a multi-link gripper: the table and the tray."""
    p = world.p
    objects = {world.body_id(oid) for oid in world.object_ids}
    bodies = {p.getBodyUniqueId(i, physicsClientId=world.client)
              for i in range(p.getNumBodies(physicsClientId=world.client))}
    return {int(b) for b in bodies
            if b not in objects and p.getNumJoints(b, physicsClientId=world.client) == 0}


def execute_grasp(world: World, hand: SimGripper, grasp: GraspGroup | np.ndarray,
                  config: ExecutionConfig | None = None, *,
                  observer: Callable[[str], None] | None = None) -> GraspOutcome:
    """Execute one grasp (world frame) and return whether it lifted an object.

    The world is left as the trial leaves it (a lifted object hangs in the closed hand); the
    caller removes a grasped object (``world.remove_object``) and parks the hand
    (``hand.park()``) before the next trial. Set friction first with
    :func:`set_grasp_friction`.

    Args:
        world: the world holding the scene and ``hand``.
        hand: the floating gripper of ``world``.
        grasp: one grasp, a 1-row ``GraspGroup`` or a (17,) row, in the world frame.
        config: trial settings.
        observer: called with ``"before_contact"`` (jaws open at the grasp pose), ``"closed"``
            (jaws closed, before lifting) and ``"lifted"`` (after the hold) as the trial reaches
            them, e.g. to read tactile sensors from the physics state.

    Returns:
        :class:`GraspOutcome`.

    Raises:
        ValueError: not exactly one valid grasp, or a hand from another world.
    """
    cfg = config or ExecutionConfig()
    if hand.world is not world:
        raise ValueError("hand: the SimGripper belongs to another World")
    R, t, width, depth = _grasp_row(grasp)
    trial = _Trial(world, hand, cfg)
    T_tip = make_transform(R, t + depth * R[:, 0])
    T_pre = make_transform(R, T_tip[:3, 3] - cfg.pregrasp_distance * R[:, 0])
    hand.teleport(T_pre, width + cfg.open_margin)
    if trial.overlaps_anything():
        return GraspOutcome(False, None, "collision_on_approach", trial.steps)
    if not trial.move(T_pre, T_tip, cfg.approach_speed, guard=True):
        return GraspOutcome(False, None, "collision_on_approach", trial.steps)
    trial.wait(0.02)
    if np.linalg.norm(hand.tip_pose()[:3, 3] - T_tip[:3, 3]) > cfg.approach_tolerance:
        return GraspOutcome(False, None, "collision_on_approach", trial.steps)
    if observer is not None:
        observer("before_contact")
    trial.close()
    if observer is not None:
        observer("closed")
    body = trial.held_object()
    if body is None:
        return GraspOutcome(False, None, "empty", trial.steps)
    turned = trial.turned(body)
    T_lift = T_tip.copy()
    T_lift[2, 3] += cfg.lift_height
    trial.move(hand.tip_pose(), T_lift, cfg.lift_speed, guard=False)
    trial.wait(cfg.hold_time)
    if observer is not None:
        observer("lifted")
    held = trial.held_object()
    if held is not None and trial.body_height(held) - trial.start_heights[held] >= cfg.success_rise:
        return GraspOutcome(True, trial.objects[held], "success", trial.steps, turned)
    return GraspOutcome(False, trial.objects[body], "slipped", trial.steps, turned)
