"""Execution: the simulated gripper, grasp execution and the dynamic grasping loop.

- :mod:`~grasplab.execution.sim_gripper`: :class:`SimGripper`, a floating parallel-jaw gripper
  in a :class:`~grasplab.scenes.World`, built from a :class:`~grasplab.core.GripperModel`;
- :mod:`~grasplab.execution.grasp_execution`: :func:`execute_grasp` (open, pre-grasp, approach,
  close, lift, hold) returning a :class:`GraspOutcome`, and :func:`set_grasp_friction`;
- :mod:`~grasplab.execution.primitives`: :class:`PrimitiveLibrary`, boxes and cylinders with
  URDFs for known-answer physics checks.

PyBullet is imported lazily (through the world), so importing this package needs no simulator.
"""

from grasplab.execution.grasp_execution import (
    OUTCOME_REASONS,
    ExecutionConfig,
    GraspOutcome,
    execute_grasp,
    set_grasp_friction,
)
from grasplab.execution.primitives import (
    PrimitiveLibrary,
    PrimitiveObject,
    random_primitives,
    write_primitive,
)
from grasplab.execution.sim_gripper import PARK_POSITION, SimGripper, SimGripperConfig, gripper_urdf

__all__ = [
    "OUTCOME_REASONS",
    "PARK_POSITION",
    "ExecutionConfig",
    "GraspOutcome",
    "PrimitiveLibrary",
    "PrimitiveObject",
    "SimGripper",
    "SimGripperConfig",
    "execute_grasp",
    "gripper_urdf",
    "random_primitives",
    "set_grasp_friction",
    "write_primitive",
]
