"""A check between closing the jaws and lifting: lift, or re-open and try another grasp.

A :class:`PreLiftCheck` watches a grasp trial through
:func:`~grasplab.execution.grasp_execution.execute_grasp`'s observer (e.g. reading tactile pads
before contact and after closing, :mod:`grasplab.tactile.check`) and, once the jaws have closed,
predicts the probability that lifting will hold the object. :func:`execute_checked` runs one
grasp under a check:

1. the world state is saved and the grasp executed to its end, the check predicting at
   ``"closed"``: this gives the outcome lifting *would* have (the simulator's counterfactual,
   so that false rejections can be counted);
2. if the prediction is at least the check's threshold, that trial stands (the world is left as
   it left it);
3. otherwise the state is restored, the grasp replayed up to the closed jaws, and the gripper
   re-opens and is parked: nothing was lifted.

This stage knows nothing of touch: the check is any object with the protocol's methods.
Frames: world; seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from grasplab.core import GraspGroup
from grasplab.execution.grasp_execution import ExecutionConfig, GraspOutcome, execute_grasp
from grasplab.execution.sim_gripper import SimGripper
from grasplab.scenes import World

__all__ = ["CheckedOutcome", "PreLiftCheck", "execute_checked"]


@runtime_checkable
class PreLiftCheck(Protocol):
    """Predicts, with the jaws closed, whether lifting will hold the object.

    Attributes:
        threshold: lift when the predicted success probability is at least this.
    """

    threshold: float

    def begin(self, world: World, hand: SimGripper) -> None:
        """Start watching a new grasp trial in ``world`` with ``hand``."""

    def observe(self, phase: str) -> None:
        """Called at each phase the trial reaches (``"before_contact"``, ``"closed"``, ...)."""

    def predict(self) -> float:
        """Success probability in [0, 1], after ``"closed"`` was observed."""


class _StopAtClosed(Exception):
    """Raised by the replay's observer to stop a trial when the jaws have closed."""


@dataclass(frozen=True)
class CheckedOutcome:
    """One grasp run under a pre-lift check.

    Attributes:
        outcome: what lifting gave (accepted) or would have given (rejected).
        prediction: the check's success probability (None: the trial ended before closing).
        rejected: the check stopped the lift; the gripper re-opened.
    """

    outcome: GraspOutcome
    prediction: float | None
    rejected: bool


def execute_checked(world: World, hand: SimGripper, grasp: GraspGroup | np.ndarray,
                    check: PreLiftCheck, config: ExecutionConfig | None = None, *,
                    enforce: bool = True) -> CheckedOutcome:
    """Execute one grasp under ``check`` (module docstring).

    Args:
        world: the world holding the scene and ``hand`` (friction set).
        hand: its floating gripper.
        grasp: one grasp, world frame.
        check: the pre-lift check.
        config: trial settings.
        enforce: False records the prediction but lifts whatever it says.

    Returns:
        :class:`CheckedOutcome`. A rejected grasp leaves the scene as the re-opened jaws left it
        and the hand parked; an accepted one leaves it as :func:`execute_grasp` does.
    """
    predictions: list[float] = []

    def observer(phase: str) -> None:
        check.observe(phase)
        if phase == "closed":
            predictions.append(float(np.clip(check.predict(), 0.0, 1.0)))

    p, client = world.p, world.client
    state = int(p.saveState(physicsClientId=client))
    try:
        check.begin(world, hand)
        outcome = execute_grasp(world, hand, grasp, config, observer=observer)
        prediction = predictions[0] if predictions else None
        if not enforce or prediction is None or prediction >= float(check.threshold):
            return CheckedOutcome(outcome, prediction, False)
        p.restoreState(stateId=state, physicsClientId=client)
        _reopen_after_closing(world, hand, grasp, config)
        return CheckedOutcome(outcome, prediction, True)
    finally:
        p.removeState(state, physicsClientId=client)


def _reopen_after_closing(world: World, hand: SimGripper, grasp: GraspGroup | np.ndarray,
                          config: ExecutionConfig | None) -> None:
    """Replay the grasp until the jaws have closed, then open them and park the hand."""

    def stop(phase: str) -> None:
        if phase == "closed":
            raise _StopAtClosed

    try:
        execute_grasp(world, hand, grasp, config, observer=stop)
    except _StopAtClosed:
        hand.command_opening(hand.gripper.max_width)
        for _ in range(max(1, int(np.ceil(0.2 / world.timestep)))):
            world.p.stepSimulation(physicsClientId=world.client)
    hand.park()
