"""The numpy core shared by every stage: grasp arrays, gripper model, rotations, camera.

Only numpy and scipy are imported here (a test enforces it), so the core loads anywhere.
Conventions: SI units; OpenCV camera frame; grasp arrays in the graspnetAPI column order.
"""

from grasplab.core.camera import (
    KINECT,
    REALSENSE,
    CameraIntrinsics,
    depth_to_points,
    intrinsics_preset,
    parallel_project,
    parallel_unproject,
    project_points,
    rasterize_parallel_depth,
)
from grasplab.core.grasp_group import GRASP_ARRAY_LEN, GraspGroup, summarize_grasps
from grasplab.core.gripper import GripperModel, GripperRegions
from grasplab.core.rect import (
    PixelGrasps,
    RectGraspGroup,
    grasps_to_pixel_grasps,
    grasps_to_rects,
    pixel_grasps_to_grasps,
    rects_to_grasps,
)
from grasplab.core.rotations import (
    approach_views,
    invert_transform,
    make_transform,
    matrix_to_quaternion,
    orthonormalize,
    quaternion_to_matrix,
    rotation_angle,
    rotation_from_view,
    rotation_x,
    rotation_y,
    rotation_z,
    transform_points,
    transform_rotations,
)
from grasplab.core.validation import (
    as_array,
    as_rng,
    check_depth_image,
    check_nonnegative,
    check_positive_scalar,
    check_rotations,
    check_transform,
)

__all__ = [
    "GRASP_ARRAY_LEN",
    "KINECT",
    "REALSENSE",
    "CameraIntrinsics",
    "GraspGroup",
    "GripperModel",
    "GripperRegions",
    "PixelGrasps",
    "RectGraspGroup",
    "approach_views",
    "as_array",
    "as_rng",
    "check_depth_image",
    "check_nonnegative",
    "check_positive_scalar",
    "check_rotations",
    "check_transform",
    "depth_to_points",
    "grasps_to_pixel_grasps",
    "grasps_to_rects",
    "intrinsics_preset",
    "invert_transform",
    "make_transform",
    "matrix_to_quaternion",
    "orthonormalize",
    "parallel_project",
    "parallel_unproject",
    "pixel_grasps_to_grasps",
    "project_points",
    "quaternion_to_matrix",
    "rasterize_parallel_depth",
    "rects_to_grasps",
    "rotation_angle",
    "rotation_from_view",
    "rotation_x",
    "rotation_y",
    "rotation_z",
    "summarize_grasps",
    "transform_points",
    "transform_rotations",
]
