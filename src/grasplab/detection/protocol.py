"""The detector protocol: anything with ``detect(observation) -> GraspGroup``.

Detectors return 6-DoF grasps in the graspnetAPI layout (``GraspGroup``), expressed in the
**camera frame** of the observation (OpenCV convention, metres), sorted by score descending.
The protocol is structural: the analytic detector, learned detectors and wrappers around other
people's code all satisfy it without inheriting from anything.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from grasplab.core import GraspGroup
from grasplab.detection.observation import Observation


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
