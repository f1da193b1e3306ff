"""Analytic grasp labels: force closure on exact geometry and dense per-object labels.

- :mod:`~grasplab.labels.raycast`: :class:`MeshRayCaster`, batched Embree first-hit queries.
- :mod:`~grasplab.labels.force_closure`: :func:`force_closure` of parallel-jaw grasps (the
  reference's two-contact antipodal test, reference protocol §5.2) and its minimal μ.
- :mod:`~grasplab.labels.object_labels`: :func:`label_object`, the GraspNet-1Billion dense
  labels (points × views × angles × depths) with widths, self collision, scores, AnyGrasp's
  stable score and GraspNet's tolerance.
- :mod:`~grasplab.labels.label_io`: ``grasp_label/%03d_labels.npz`` files and
  :func:`labels_to_grasps` (graspnetAPI ``loadGrasp``).

- :mod:`~grasplab.labels.scene_labels` / :mod:`~grasplab.labels.scene_label_jobs`: per-scene
  collision masks of the projected object labels (``collision_label/scene_%04d``).
- :mod:`~grasplab.labels.pixel_labels` / :mod:`~grasplab.labels.pixel_label_jobs`: PLGP's
  pixel-level 4-DoF labels from the parallel depth image (PDG-Generation).

Frames: object labels live in the object (model) frame, in metres.
"""

from grasplab.labels.force_closure import (
    EVAL_MU_GRID,
    LABEL_MU_GRID,
    ForceClosureResult,
    contact_angles,
    force_closure,
    min_mu_on_grid,
)
from grasplab.labels.label_io import (
    extra_path,
    label_path,
    labels_to_grasps,
    load_label_config,
    load_object_labels,
    object_labels_complete,
    save_object_labels,
)
from grasplab.labels.object_labels import (
    ANYGRASP_DEPTHS,
    GRASPNET_DEPTHS,
    ObjectLabelConfig,
    ObjectLabels,
    candidate_rotations,
    check_labelable_mesh,
    label_object,
    sample_grasp_points,
)
from grasplab.labels.pixel_label_jobs import (
    FrameLabelOutcome,
    dataset_frames,
    label_dataset_pixels,
    label_frame_pixels,
    load_pixel_labels,
    pixel_label_path,
    pixel_labels_complete,
    save_pixel_labels,
)
from grasplab.labels.pixel_labels import PixelLabelConfig, PixelLabels, grasp_depth_grid, pixel_labels
from grasplab.labels.raycast import MeshRayCaster, RayHits
from grasplab.labels.sampling import sample_surface_voxels
from grasplab.labels.scene_label_jobs import (
    SceneLabelOutcome,
    collision_label_path,
    collision_labels_complete,
    label_scene,
    label_scenes,
    load_collision_labels,
    save_collision_labels,
)
from grasplab.labels.scene_labels import SceneCollisionConfig, floor_collisions, scene_collision_labels
from grasplab.labels.stable import gripper_plane_distances, normalize_stable_scores
from grasplab.labels.tolerance import good_label_mask, grasp_tolerance

__all__ = [
    "ANYGRASP_DEPTHS",
    "EVAL_MU_GRID",
    "ForceClosureResult",
    "FrameLabelOutcome",
    "GRASPNET_DEPTHS",
    "LABEL_MU_GRID",
    "MeshRayCaster",
    "ObjectLabelConfig",
    "ObjectLabels",
    "PixelLabelConfig",
    "PixelLabels",
    "RayHits",
    "SceneCollisionConfig",
    "SceneLabelOutcome",
    "candidate_rotations",
    "check_labelable_mesh",
    "collision_label_path",
    "collision_labels_complete",
    "contact_angles",
    "dataset_frames",
    "extra_path",
    "floor_collisions",
    "force_closure",
    "good_label_mask",
    "grasp_depth_grid",
    "grasp_tolerance",
    "gripper_plane_distances",
    "label_dataset_pixels",
    "label_frame_pixels",
    "label_object",
    "label_path",
    "label_scene",
    "label_scenes",
    "labels_to_grasps",
    "load_collision_labels",
    "load_label_config",
    "load_object_labels",
    "load_pixel_labels",
    "min_mu_on_grid",
    "normalize_stable_scores",
    "object_labels_complete",
    "pixel_label_path",
    "pixel_labels",
    "pixel_labels_complete",
    "sample_grasp_points",
    "sample_surface_voxels",
    "save_collision_labels",
    "save_object_labels",
    "save_pixel_labels",
    "scene_collision_labels",
]
