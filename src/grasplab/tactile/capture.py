"""Tactile snapshots of a grasp trial: Ta (before contact), Tb (closed) and Tc (lifted).

As in Calandra et al.'s data (tactile-moco.txt §III): ``Ta`` with the jaws open around the
object at the grasp pose, ``Tb`` when the jaws have closed and before lifting, ``Tc`` after
lifting and holding. :func:`capture_grasp` runs
:func:`~grasplab.execution.grasp_execution.execute_grasp` with an observer that reads both pads
at those moments; a trial that ends early (collision on approach: no snapshot; empty jaws: no
``Tc``) has fewer snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grasplab.core import GraspGroup, GripperModel
from grasplab.core.validation import RngLike, as_rng
from grasplab.execution.grasp_execution import ExecutionConfig, GraspOutcome, execute_grasp
from grasplab.execution.sim_gripper import SimGripper
from grasplab.scenes import World
from grasplab.tactile.optics import render_tactile
from grasplab.tactile.pads import GelSightSensor, PadReading

__all__ = ["PHASES", "TactileTrial", "capture_grasp", "top_down_grasp"]

#: Snapshot phases in trial order: Ta, Tb, Tc.
PHASES = ("before_contact", "closed", "lifted")


@dataclass(frozen=True)
class TactileTrial:
    """One grasp trial with its tactile snapshots.

    Attributes:
        outcome: the trial's :class:`GraspOutcome`.
        images: ``{phase: (2, H, W, 3) float32}`` left and right pad images, for the phases
            the trial reached (:data:`PHASES` order).
        readings: ``{phase: (left, right)}`` the pad readings behind the images (forces,
            shear, pressing depth, height maps).
    """

    outcome: GraspOutcome
    images: dict[str, np.ndarray]
    readings: dict[str, tuple[PadReading, PadReading]]

    def difference(self, phase: str = "closed", side: int = 0) -> np.ndarray:
        """(H, W, 3) ``image[phase] - image["before_contact"]`` of one pad (Tb − Ta by default).

        Raises:
            KeyError: the trial did not reach ``phase``.
        """
        return self.images[phase][side] - self.images["before_contact"][side]


def capture_grasp(world: World, hand: SimGripper, grasp: GraspGroup | np.ndarray,
                  sensor: GelSightSensor, config: ExecutionConfig | None = None,
                  rng: RngLike = None, *,
                  on_phase: Callable[[str], None] | None = None) -> TactileTrial:
    """Execute one grasp and capture Ta / Tb / Tc of both pads.

    Args:
        world: the world holding the scene and ``hand`` (friction already set).
        hand: its floating gripper.
        grasp: one grasp in the world frame (a 1-row ``GraspGroup`` or a (17,) row).
        sensor: the pads.
        config: trial settings.
        rng: draws the images' pixel noise.
        on_phase: also called with each phase after the pads are read (e.g. to render the
            scene at that moment).

    Returns:
        :class:`TactileTrial`.
    """
    gen = as_rng(rng)
    images: dict[str, np.ndarray] = {}
    readings: dict[str, tuple[PadReading, PadReading]] = {}

    def observe(phase: str) -> None:
        pair = sensor.read(world, hand)
        readings[phase] = pair
        images[phase] = np.stack([render_tactile(r.height, sensor.config, shear=r.shear, rng=gen)
                                  for r in pair])
        if on_phase is not None:
            on_phase(phase)

    outcome = execute_grasp(world, hand, grasp, config, observer=observe)
    return TactileTrial(outcome, images, readings)


def top_down_grasp(points: np.ndarray, gripper: GripperModel | None = None,
                   depth: float = 0.02, margin: float = 0.01) -> GraspGroup:
    """A straight-down grasp across an object's narrow horizontal axis (a simple test grasp).

    The jaw axis is the minor principal axis of the points' horizontal spread; the grasp point
    is above their horizontal centre at their top; the fingertips go ``depth`` below it (at most
    half the object's height and the gripper's reach).

    Args:
        points: (N, 3) object surface points, world frame (z up), metres.
        gripper: gripper geometry (max width and reach).
        depth: wanted fingertip depth below the top (m).
        margin: added to the object's extent along the jaw axis to get the opening (m).

    Returns:
        A 1-row :class:`GraspGroup` (score 1, object id -1), world frame.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 3:
        raise ValueError(f"points: expected (N >= 3, 3), got {pts.shape}")
    grip = gripper or GripperModel()
    xy = pts[:, :2] - pts[:, :2].mean(axis=0)
    _, vectors = np.linalg.eigh(xy.T @ xy)
    jaw = np.array([vectors[0, 0], vectors[1, 0], 0.0])
    approach = np.array([0.0, 0.0, -1.0])
    R = np.column_stack([approach, jaw, np.cross(approach, jaw)])
    along = xy @ jaw[:2]
    width = min(float(along.max() - along.min()) + margin, grip.max_width)
    centre = np.array([*pts[:, :2].mean(axis=0), pts[:, 2].max()])
    height = float(np.ptp(pts[:, 2]))
    reach = min(depth, 0.5 * height, grip.max_depth)
    row = np.concatenate([[1.0, width, grip.height, reach], R.ravel(), centre, [-1.0]])
    return GraspGroup(row[None])
