"""Evaluate grasps on a simulated scene held in memory, without writing a dataset.

The AP protocol needs object model points, meshes and poses in the camera frame. For a scene that
exists only in a PyBullet world (the demo, the benchmarks) these come straight from the object
library and the scene record. Frames: world = table frame; poses ``T_<to>_<from>``; metres.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grasplab.core import invert_transform
from grasplab.evaluation.geometry import FrameScene, SceneObjects, build_object_model
from grasplab.objects import ObjectLibrary
from grasplab.scenes import dense_model_mesh

#: Spacing of the model points (m); the evaluation voxelizes them at 8 mm anyway.
MODEL_SPACING = 0.004


def in_memory_scene_objects(
    library: ObjectLibrary, object_ids: Sequence[int], spacing: float = MODEL_SPACING
) -> SceneObjects:
    """The AP evaluation's ``SceneObjects`` of simulated objects, without writing a dataset.

    Model points are the vertices of the library mesh subdivided to ``spacing`` (the dataset
    writer's ``nontextured.ply`` rule, coarser; the evaluation voxelizes them at 8 mm anyway);
    force closure uses the library mesh itself.
    """
    models = []
    for oid in object_ids:
        mesh = library.load(int(oid)).mesh
        models.append(build_object_model(int(oid), dense_model_mesh(mesh, spacing).vertices, mesh))
    return SceneObjects.build(models)


def in_memory_frame_scene(
    objects: SceneObjects, T_world_obj: np.ndarray, T_world_table: np.ndarray, T_world_cam: np.ndarray
) -> FrameScene:
    """The ``FrameScene`` of one simulated view: objects' and table's poses in the camera."""
    T_cam_world = invert_transform(T_world_cam)
    return FrameScene(objects, T_cam_world @ np.asarray(T_world_obj),
                      T_cam_world @ np.asarray(T_world_table))
