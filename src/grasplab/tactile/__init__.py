"""Touch: simulated GelSight pads on the simulated gripper's fingers.

- :mod:`~grasplab.tactile.config`: :class:`GelSightConfig` (pad geometry, gel, lights, noise,
  markers);
- :mod:`~grasplab.tactile.background`: the untouched image (:func:`background_image`) and the
  marker dots moved by the shear (:func:`move_markers`);
- :mod:`~grasplab.tactile.optics`: pure functions from a pressed height map to an image
  (:func:`press`, :func:`pressing_depth`, :func:`deform_gel`, :func:`shade`,
  :func:`render_tactile`);
- :mod:`~grasplab.tactile.pads`: :class:`GelSightSensor`, the pads on a
  :class:`~grasplab.execution.SimGripper`, read from the PyBullet state (:class:`PadReading`);
- :mod:`~grasplab.tactile.capture`: :func:`capture_grasp`, a grasp trial with Ta / Tb / Tc of both
  pads (:class:`TactileTrial`).

numpy and scipy only (no OpenGL, no torch); PyBullet through the world.
"""

from grasplab.tactile.background import background_image, membrane_image, move_markers
from grasplab.tactile.capture import PHASES, TactileTrial, capture_grasp, top_down_grasp
from grasplab.tactile.config import GelSightConfig
from grasplab.tactile.optics import (
    deform_gel,
    phong_shading,
    press,
    pressing_depth,
    render_tactile,
    shade,
    shading_table,
    to_uint8,
)
from grasplab.tactile.pads import (
    SIDES,
    GelSightSensor,
    PadReading,
    mesh_distance,
    pad_caster,
    pad_pose,
)

__all__ = [
    "PHASES",
    "SIDES",
    "GelSightConfig",
    "GelSightSensor",
    "PadReading",
    "TactileTrial",
    "background_image",
    "capture_grasp",
    "deform_gel",
    "membrane_image",
    "mesh_distance",
    "move_markers",
    "pad_caster",
    "pad_pose",
    "phong_shading",
    "press",
    "pressing_depth",
    "render_tactile",
    "shade",
    "shading_table",
    "to_uint8",
    "top_down_grasp",
]
