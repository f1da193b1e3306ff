"""Evaluation: the GraspNet-1Billion AP protocol (``evaluate_frame``, ``APEvaluator``) and reports.

The AP evaluator reproduces graspnetAPI 1.2.11's rules (pose NMS, assignment, top-50 selection,
collision and empty checks on voxel model points and the table grid) with force closure on exact
mesh geometry, about two orders of magnitude faster per grasp.
"""

from grasplab.evaluation.ap import APEvaluator, APResult, FrameRecord, dump_path
from grasplab.evaluation.assign import assign_to_objects, select_top_grasps
from grasplab.evaluation.collision import collision_and_empty, collision_and_empty_dense
from grasplab.evaluation.frame import APConfig, FrameResult, evaluate_frame, sanitize_grasp_array
from grasplab.evaluation.geometry import (
    VOXEL_SIZE,
    FrameScene,
    ObjectModel,
    SceneObjects,
    build_object_model,
)
from grasplab.evaluation.precision import MU_GRID, TOP_K, APSummary, precision_at_k, summarize_ap
from grasplab.evaluation.splits import REFERENCE_SPLITS, scene_splits, split_scene_ids
from grasplab.evaluation.voxel import TableGrid, create_table_points, voxel_down_sample

__all__ = [
    "MU_GRID",
    "REFERENCE_SPLITS",
    "TOP_K",
    "VOXEL_SIZE",
    "APConfig",
    "APEvaluator",
    "APResult",
    "APSummary",
    "FrameRecord",
    "FrameResult",
    "FrameScene",
    "ObjectModel",
    "SceneObjects",
    "TableGrid",
    "assign_to_objects",
    "build_object_model",
    "collision_and_empty",
    "collision_and_empty_dense",
    "create_table_points",
    "dump_path",
    "evaluate_frame",
    "precision_at_k",
    "sanitize_grasp_array",
    "scene_splits",
    "select_top_grasps",
    "split_scene_ids",
    "summarize_ap",
    "voxel_down_sample",
]
