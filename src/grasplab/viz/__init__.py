"""Visualisation: grasp overlays on images and 3D export (PLY / GLB) of clouds with grippers.

- :func:`draw_grasps` / :func:`save_overlay`: grasps as projected gripper outlines on the RGB
  (or depth) image, coloured by score, the best one highlighted, with a legend;
- :func:`export_grasp_scene`: the observed cloud plus gripper meshes for any mesh viewer;
  :func:`observation_cloud` and :func:`gripper_mesh` build its parts.

Nothing else in grasplab imports this package (it sits at the edge, with the CLI).
"""

from grasplab.viz.export3d import (
    EXPORT_FORMATS,
    export_grasp_scene,
    grasp_colors,
    gripper_mesh,
    observation_cloud,
)
from grasplab.viz.overlay import OverlayStyle, depth_to_image, draw_grasps, save_overlay, score_colors

__all__ = [
    "EXPORT_FORMATS",
    "OverlayStyle",
    "depth_to_image",
    "draw_grasps",
    "export_grasp_scene",
    "grasp_colors",
    "gripper_mesh",
    "observation_cloud",
    "save_overlay",
    "score_colors",
]
