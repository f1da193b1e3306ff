"""Execution: the simulated gripper, grasp execution and episodes with per-attempt logs.

- :mod:`~grasplab.execution.sim_gripper`: :class:`SimGripper`, a floating parallel-jaw gripper
  in a :class:`~grasplab.scenes.World`, built from a :class:`~grasplab.core.GripperModel`;
- :mod:`~grasplab.execution.grasp_execution`: :func:`execute_grasp` (open, pre-grasp, approach,
  close, lift, hold) returning a :class:`GraspOutcome`, and :func:`set_grasp_friction`;
- :mod:`~grasplab.execution.episode`: bin-picking episodes on a :class:`BinpickScene` (clearance
  and top-k runs) returning one :class:`AttemptRecord` per attempt;
- :mod:`~grasplab.execution.attempt_log`: :class:`AttemptRecord` and its CSV
  (:func:`write_attempts_csv`, :func:`read_attempts_csv`);
- :mod:`~grasplab.execution.primitives`: :class:`PrimitiveLibrary`, boxes and cylinders with
  URDFs for known-answer physics checks.

PyBullet is imported lazily (through the world), so importing this package needs no simulator.
"""

from grasplab.execution.attempt_log import AttemptRecord, read_attempts_csv, write_attempts_csv
from grasplab.execution.episode import (
    BinpickScene,
    EpisodeConfig,
    clearance_finished,
    run_clearance,
    run_top_k,
)
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
    "AttemptRecord",
    "BinpickScene",
    "EpisodeConfig",
    "ExecutionConfig",
    "GraspOutcome",
    "PrimitiveLibrary",
    "PrimitiveObject",
    "SimGripper",
    "SimGripperConfig",
    "clearance_finished",
    "execute_grasp",
    "gripper_urdf",
    "random_primitives",
    "read_attempts_csv",
    "run_clearance",
    "run_top_k",
    "set_grasp_friction",
    "write_attempts_csv",
    "write_primitive",
]
