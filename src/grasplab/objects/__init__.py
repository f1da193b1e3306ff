"""The object library: meshes, scale, mass, centre of mass, collision shapes and splits.

Objects come from the package manager's own data (``pybullet_data``: 1000 procedural
``random_urdfs`` and named meshes) and from ``trimesh.creation`` primitives. Ids and splits are
fixed in :mod:`grasplab.objects.splits` (versioned by :data:`SPLITS_VERSION`): 0-699 ``"seen"``,
700-999 ``"similar"``, 1000+ ``"novel"``. :class:`ObjectLibrary` turns an id into a processed
:class:`GraspObject` (watertight mesh in metres, scaled to fit the gripper, mass and centre of
mass at a uniform density, a PyBullet URDF with convex collision parts), cached on disk.
"""

from grasplab.objects.grasp_object import (
    PROCESSING_VERSION,
    CorruptEntryError,
    GraspObject,
    ProcessingConfig,
)
from grasplab.objects.library import ObjectLibrary, default_cache_dir, load_mesh_object
from grasplab.objects.processing import DEFAULT_DENSITY, fit_scale
from grasplab.objects.splits import (
    SPLITS,
    SPLITS_VERSION,
    ObjectSpec,
    num_objects,
    object_id_by_name,
    object_spec,
    split_object_ids,
)

__all__ = [
    "DEFAULT_DENSITY",
    "PROCESSING_VERSION",
    "SPLITS",
    "SPLITS_VERSION",
    "CorruptEntryError",
    "GraspObject",
    "ObjectLibrary",
    "ObjectSpec",
    "ProcessingConfig",
    "default_cache_dir",
    "fit_scale",
    "load_mesh_object",
    "num_objects",
    "object_id_by_name",
    "object_spec",
    "split_object_ids",
]
