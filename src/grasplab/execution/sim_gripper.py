"""A floating parallel-jaw gripper in a :class:`~grasplab.scenes.World` (PyBullet, no arm).

The gripper is built from a :class:`~grasplab.core.GripperModel`'s numbers: a palm box and two
finger boxes on prismatic joints with a force limit. It is moved by a ``JOINT_FIXED`` constraint
to the world whose child frame is changed every step (a mocap-style floating hand), and its
fingers by position control with a maximum force.

Frames: the gripper body's frame is the *tip frame*: axes as the grasp frame (x approach, y jaw
axis, z finger height), origin at the fingertips' centre. The fingers span
``x ∈ [-finger_length, 0]``; the palm lies behind them, ``x ∈ [-finger_length - palm_thickness,
-finger_length]``. A grasp ``(R, t, depth)`` puts the tip frame at ``t + depth R[:, 0]`` with
orientation ``R``, so the fingertips sit at the grasp depth (reference protocol §1). A joint
value ``q`` is half the jaw opening: the fingers' inner faces are at ``y = ±q``. Metres, kg, N.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core import GripperModel, check_positive_scalar, check_transform, make_transform
from grasplab.scenes import World
from grasplab.scenes.world import pose_to_pq, pq_to_pose

__all__ = ["PARK_POSITION", "SimGripper", "SimGripperConfig", "gripper_urdf"]

#: Where an idle gripper waits (world frame, m): far above the scene, out of every camera.
PARK_POSITION = (0.0, 0.0, 10.0)


@dataclass(frozen=True)
class SimGripperConfig:
    """Physical settings of the simulated gripper.

    Attributes:
        palm_mass: palm mass (kg).
        finger_mass: mass of each finger (kg).
        finger_force: force limit of each finger's joint motor (N).
        finger_speed: largest finger speed while opening or closing (m/s).
        hand_force: force limit of the constraint that moves the hand (N).
        finger_friction: lateral friction of the fingers. PyBullet multiplies the coefficients
            of two touching bodies, so 1.0 makes a finger-object contact have the object's μ.
    """

    palm_mass: float = 0.5
    finger_mass: float = 0.05
    finger_force: float = 5.0
    finger_speed: float = 0.2
    hand_force: float = 300.0
    finger_friction: float = 1.0

    def __post_init__(self) -> None:
        for name in ("palm_mass", "finger_mass", "finger_force", "finger_speed", "hand_force",
                     "finger_friction"):
            object.__setattr__(self, name, check_positive_scalar(getattr(self, name),
                                                                 f"SimGripperConfig.{name}"))


def _box_inertia(mass: float, size: tuple[float, float, float]) -> str:
    x, y, z = size
    ixx, iyy, izz = (mass / 12 * (y * y + z * z), mass / 12 * (x * x + z * z),
                     mass / 12 * (x * x + y * y))
    return f'<inertia ixx="{ixx:.9g}" ixy="0" ixz="0" iyy="{iyy:.9g}" iyz="0" izz="{izz:.9g}"/>'


def _box_link(name: str, mass: float, size: tuple[float, float, float],
              center: tuple[float, float, float], com_at_origin: bool = False) -> str:
    xyz = " ".join(f"{c:.9g}" for c in center)
    dims = " ".join(f"{s:.9g}" for s in size)
    geometry = f'<origin xyz="{xyz}"/><geometry><box size="{dims}"/></geometry>'
    com = "0 0 0" if com_at_origin else xyz
    return (f'<link name="{name}"><inertial><origin xyz="{com}"/><mass value="{mass:.9g}"/>'
            f"{_box_inertia(mass, size)}</inertial><visual>{geometry}</visual>"
            f"<collision>{geometry}</collision></link>")


def gripper_urdf(gripper: GripperModel, config: SimGripperConfig | None = None) -> str:
    """The URDF text of the floating gripper (tip frame as the base link frame).

    Args:
        gripper: geometry (finger width, height, finger length, palm thickness, max width).
        config: masses and limits.

    The palm's inertial frame is put at the tip frame: PyBullet reports, resets and constrains
    a base by its inertial frame, so this makes the body pose the tip-frame pose.

    Returns:
        URDF XML: link ``palm`` and links ``left_finger`` / ``right_finger`` on prismatic
        joints with axes -y / +y, limits ``[0, max_width / 2]`` (half the opening).
    """
    cfg = config or SimGripperConfig()
    fl, fw, h = gripper.finger_length, gripper.finger_width, gripper.height
    span = gripper.max_width + 2 * fw
    palm = _box_link("palm", cfg.palm_mass, (gripper.palm_thickness, span, h),
                     (-fl - gripper.palm_thickness / 2, 0.0, 0.0), com_at_origin=True)
    links, joints = [palm], []
    for side, sign in (("left", -1.0), ("right", 1.0)):
        links.append(_box_link(f"{side}_finger", cfg.finger_mass, (fl, fw, h),
                               (-fl / 2, sign * fw / 2, 0.0)))
        joints.append(
            f'<joint name="{side}_joint" type="prismatic"><parent link="palm"/>'
            f'<child link="{side}_finger"/><origin xyz="0 0 0"/><axis xyz="0 {sign:g} 0"/>'
            f'<limit lower="0" upper="{gripper.max_width / 2:.9g}" '
            f'effort="{cfg.finger_force:.9g}" velocity="{cfg.finger_speed:.9g}"/></joint>')
    return f'<?xml version="1.0"?><robot name="grasplab_gripper">{"".join(links + joints)}</robot>'


class SimGripper:
    """The floating gripper inside one :class:`World` (it lives as long as the world).

    Example::

        with World() as world:
            world.add_table_and_tray()
            hand = SimGripper(world, GripperModel())
            hand.teleport(T_world_tip, opening=0.08)

    Attributes:
        world: the world it lives in.
        gripper: its geometry.
        config: its physical settings.
        body: PyBullet body id.
    """

    def __init__(self, world: World, gripper: GripperModel | None = None,
                 config: SimGripperConfig | None = None) -> None:
        self.world = world
        self.gripper = gripper or GripperModel()
        self.config = config or SimGripperConfig()
        p = world.p
        with tempfile.TemporaryDirectory(prefix="grasplab_gripper_") as folder:
            path = Path(folder) / "gripper.urdf"
            path.write_text(gripper_urdf(self.gripper, self.config))
            park = make_transform(np.eye(3), np.asarray(PARK_POSITION, dtype=np.float64))
            pos, orn = pose_to_pq(park)
            self.body = int(p.loadURDF(str(path), pos, orn, physicsClientId=world.client))
        self._constraint = int(p.createConstraint(
            self.body, -1, -1, -1, p.JOINT_FIXED, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], pos,
            childFrameOrientation=orn, physicsClientId=world.client))
        for link in (-1, 0, 1):
            p.changeDynamics(self.body, link, lateralFriction=self.config.finger_friction,
                             physicsClientId=world.client)
        self.teleport(park, self.gripper.max_width)

    @property
    def _p(self) -> ModuleType:
        return self.world.p

    @property
    def _client(self) -> int:
        return self.world.client

    def set_friction(self, mu: float) -> None:
        """Set the lateral friction of the palm and both fingers."""
        value = check_positive_scalar(mu, "mu")
        for link in (-1, 0, 1):
            self._p.changeDynamics(self.body, link, lateralFriction=value,
                                   physicsClientId=self._client)

    def tip_pose(self) -> np.ndarray:
        """(4, 4) ``T_world_tip``: the current tip-frame pose."""
        pos, xyzw = self._p.getBasePositionAndOrientation(self.body, physicsClientId=self._client)
        return pq_to_pose(pos, xyzw)

    def opening(self) -> float:
        """Current jaw opening (m): the sum of both finger joint values."""
        states = self._p.getJointStates(self.body, [0, 1], physicsClientId=self._client)
        return float(states[0][0] + states[1][0])

    def finger_speeds(self) -> np.ndarray:
        """(2,) finger joint speeds (m/s)."""
        states = self._p.getJointStates(self.body, [0, 1], physicsClientId=self._client)
        return np.array([states[0][1], states[1][1]], dtype=np.float64)

    def teleport(self, T_world_tip: ArrayLike, opening: float) -> None:
        """Place the hand at a pose with the jaws at ``opening`` (m), at rest, no physics.

        Args:
            T_world_tip: (4, 4) tip-frame pose.
            opening: jaw opening, clipped to ``[0, max_width]``.
        """
        T = check_transform(T_world_tip, "T_world_tip")
        half = float(np.clip(opening, 0.0, self.gripper.max_width)) / 2
        pos, orn = pose_to_pq(T)
        p = self._p
        p.resetBasePositionAndOrientation(self.body, pos, orn, physicsClientId=self._client)
        p.resetBaseVelocity(self.body, [0.0] * 3, [0.0] * 3, physicsClientId=self._client)
        for joint in (0, 1):
            p.resetJointState(self.body, joint, half, 0.0, physicsClientId=self._client)
        self.command_pose(T)
        self.command_opening(2 * half)

    def command_pose(self, T_world_tip: np.ndarray) -> None:
        """Set the hand constraint's target pose (reached by the next simulation steps)."""
        pos, orn = pose_to_pq(T_world_tip)
        self._p.changeConstraint(self._constraint, jointChildPivot=pos,
                                 jointChildFrameOrientation=orn, maxForce=self.config.hand_force,
                                 physicsClientId=self._client)

    def command_opening(self, opening: float, force: float | None = None) -> None:
        """Drive both fingers toward a jaw opening (m) with the motor force limit (N)."""
        half = float(np.clip(opening, 0.0, self.gripper.max_width)) / 2
        limit = self.config.finger_force if force is None else float(force)
        for joint in (0, 1):
            self._p.setJointMotorControl2(
                self.body, joint, self._p.POSITION_CONTROL, targetPosition=half, force=limit,
                maxVelocity=self.config.finger_speed, physicsClientId=self._client)

    def park(self) -> None:
        """Move the hand out of the way (far above the scene), jaws open."""
        self.teleport(make_transform(np.eye(3), np.asarray(PARK_POSITION, dtype=np.float64)),
                      self.gripper.max_width)

    def contact_bodies(self) -> tuple[set[int], set[int], set[int]]:
        """Bodies touching the palm, the left finger and the right finger (sets of body ids)."""
        touching: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        for contact in self._p.getContactPoints(bodyA=self.body, physicsClientId=self._client):
            link, other = int(contact[3]), int(contact[2])
            if other != self.body:
                touching[link + 1].add(other)
        return touching
