"""The detector protocol: anything with ``detect(observation) -> GraspGroup``.

Detectors return 6-DoF grasps in the graspnetAPI layout (``GraspGroup``), expressed in the
**camera frame** of the observation (OpenCV convention, metres), sorted by score descending.
The protocol is structural: the analytic detector, learned detectors and wrappers around other
people's code all satisfy it without inheriting from anything.

:class:`SceneAwareDetector` adds ``bind(state)``: detectors that read the simulated scene (the
ground-truth oracle, the pixel-label oracle, wrappers around them) are told where the objects
lie before each detection. Episodes test ``isinstance(detector, SceneAwareDetector)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from grasplab.core import GraspGroup
from grasplab.detection.observation import Observation

if TYPE_CHECKING:
    from grasplab.detection.scene_state import SceneState

__all__ = ["Detector", "SceneAwareDetector"]


@runtime_checkable
class Detector(Protocol):
    """A grasp detector.

    ``detect`` must not mutate the observation, must return grasps in the camera frame sorted by
    score (highest first), and returns an empty ``GraspGroup`` when it finds nothing.
    """

    def detect(self, observation: Observation) -> GraspGroup:
        """Detect grasps in one observation.

        Args:
            observation: the frame to detect grasps in.

        Returns:
            (N,) grasps in the camera frame, sorted by score descending.
        """
        ...


@runtime_checkable
class SceneAwareDetector(Detector, Protocol):
    """A detector that binds to a simulated scene before each detection.

    ``bind`` is called with the scene as it lies now (objects, table, tray in the world frame);
    the next :meth:`detect` uses it. Only simulation benchmarks can bind; a real frame has no
    scene state.
    """

    def bind(self, state: SceneState) -> None:
        """Bind to the scene as it lies now.

        Args:
            state: object ids and poses, table and tray poses (world frame, metres).
        """
        ...
