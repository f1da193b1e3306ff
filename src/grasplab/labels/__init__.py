"""Analytic grasp labels: force closure on exact geometry and dense per-object labels.

- :mod:`~grasplab.labels.raycast`: :class:`MeshRayCaster`, batched Embree first-hit queries.
- :mod:`~grasplab.labels.force_closure`: :func:`force_closure` of parallel-jaw grasps (the
  reference's two-contact antipodal test, reference protocol §5.2) and its minimal μ.
- :mod:`~grasplab.labels.object_labels`: :func:`label_object`, the GraspNet-1Billion dense
  labels (points × views × angles × depths) with widths, self collision, scores, AnyGrasp's
  stable score and GraspNet's tolerance.
- :mod:`~grasplab.labels.label_io`: ``grasp_label/%03d_labels.npz`` files and
  :func:`labels_to_grasps` (graspnetAPI ``loadGrasp``).

Frames: labels live in the object (model) frame, in metres.
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
from grasplab.labels.raycast import MeshRayCaster, RayHits
from grasplab.labels.sampling import sample_surface_voxels
from grasplab.labels.stable import gripper_plane_distances, normalize_stable_scores
from grasplab.labels.tolerance import good_label_mask, grasp_tolerance

__all__ = [
    "ANYGRASP_DEPTHS",
    "EVAL_MU_GRID",
    "GRASPNET_DEPTHS",
    "LABEL_MU_GRID",
    "ForceClosureResult",
    "MeshRayCaster",
    "ObjectLabelConfig",
    "ObjectLabels",
    "RayHits",
    "candidate_rotations",
    "check_labelable_mesh",
    "contact_angles",
    "extra_path",
    "force_closure",
    "good_label_mask",
    "grasp_tolerance",
    "gripper_plane_distances",
    "label_object",
    "label_path",
    "labels_to_grasps",
    "load_label_config",
    "load_object_labels",
    "min_mu_on_grid",
    "normalize_stable_scores",
    "object_labels_complete",
    "sample_grasp_points",
    "sample_surface_voxels",
    "save_object_labels",
]
