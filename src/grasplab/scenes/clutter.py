"""Cluttered scenes: drop objects into the tray, let them settle, record their poses.

As in PLGP §III-B and GraspNet-1Billion §3.2, objects are loaded at random poses above the tray and
fall freely into it. Objects are dropped one at a time above the current top of the pile (so they
never start interpenetrating), each followed by a short simulation; then the scene settles. An
object that ends up outside the tray is dropped again (up to ``max_redrops`` rounds) and then
removed. Poses are ``T_world_obj`` of the objects' model frames (metres); the world frame is the
table frame by default.

Determinism: all randomness comes from one generator seeded by :attr:`SceneRecord.seed`, and each
scene is simulated in a fresh :class:`World`, so the same seed, object pool and config give the
same scene. :func:`populate_world` restores a recorded scene exactly (no simulation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from grasplab.core.rotations import invert_transform, quaternion_to_matrix
from grasplab.core.validation import RngLike, as_array, as_rng, check_transform
from grasplab.scenes.world import (
    TRAY_FLOOR_HALF_EXTENT,
    TRAY_FLOOR_Z,
    TRAY_RIM_HALF_EXTENT,
    TRAY_WALL_TOP_Z,
    SceneObject,
    World,
)

__all__ = [
    "DEFAULT_NUM_OBJECTS",
    "ClutterConfig",
    "ObjectSource",
    "SceneRecord",
    "generate_clutter",
    "populate_world",
]

logger = logging.getLogger(__name__)

#: Scene sizes drawn from by default (PLGP uses 5 and 15, GraspNet-1Billion about 10).
DEFAULT_NUM_OBJECTS = (5, 10, 15)


class ObjectSource(Protocol):
    """Anything that loads objects by id (``grasplab.objects.ObjectLibrary`` does)."""

    def load(self, object_id: int) -> SceneObject:
        """Load object ``object_id``."""
        ...


@dataclass(frozen=True, eq=False)
class SceneRecord:
    """A settled scene: which objects, where (world frame, metres), and the seed that made it.

    Attributes:
        scene_id: scene number.
        object_ids: (K,) global object ids, in drop order.
        T_world_obj: (K, 4, 4) float64 object model-frame poses, read-only.
        T_world_table: (4, 4) table pose (top face at the table frame's z = 0), read-only.
        T_world_tray: (4, 4) tray pose, read-only.
        seed: the seed of the generator that made the scene.
    """

    scene_id: int
    object_ids: tuple[int, ...]
    T_world_obj: np.ndarray
    T_world_table: np.ndarray
    T_world_tray: np.ndarray
    seed: int

    def __post_init__(self) -> None:
        ids = tuple(int(i) for i in self.object_ids)
        if len(set(ids)) != len(ids):
            raise ValueError(f"object_ids must be unique, got {ids}")
        poses = as_array(self.T_world_obj, "T_world_obj", (len(ids), 4, 4))
        for i, T in enumerate(poses):
            check_transform(T, f"T_world_obj[{i}]")
        fields = {
            "scene_id": int(self.scene_id),
            "object_ids": ids,
            "T_world_obj": poses,
            "T_world_table": check_transform(self.T_world_table, "T_world_table"),
            "T_world_tray": check_transform(self.T_world_tray, "T_world_tray"),
            "seed": int(self.seed),
        }
        for name, value in fields.items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def num_objects(self) -> int:
        """Number of objects K."""
        return len(self.object_ids)

    def pose(self, object_id: int) -> np.ndarray:
        """(4, 4) ``T_world_obj`` of one object (a copy)."""
        if object_id not in self.object_ids:
            raise ValueError(f"object {object_id} is not in scene {self.scene_id}: {self.object_ids}")
        return np.array(self.T_world_obj[self.object_ids.index(object_id)])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (floats at full precision, so the round trip is exact)."""
        return {
            "scene_id": self.scene_id,
            "object_ids": list(self.object_ids),
            "T_world_obj": self.T_world_obj.tolist(),
            "T_world_table": self.T_world_table.tolist(),
            "T_world_tray": self.T_world_tray.tolist(),
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneRecord:
        """Inverse of :meth:`to_dict` (ValueError naming a missing key)."""
        keys = ("scene_id", "object_ids", "T_world_obj", "T_world_table", "T_world_tray", "seed")
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f"scene record is missing {missing}; expected keys {list(keys)}")
        poses = np.asarray(data["T_world_obj"], dtype=np.float64).reshape(-1, 4, 4)
        return cls(
            scene_id=int(data["scene_id"]),
            object_ids=tuple(int(i) for i in data["object_ids"]),
            T_world_obj=poses,
            T_world_table=np.asarray(data["T_world_table"], dtype=np.float64),
            T_world_tray=np.asarray(data["T_world_tray"], dtype=np.float64),
            seed=int(data["seed"]),
        )


@dataclass(frozen=True)
class ClutterConfig:
    """Settings of :func:`generate_clutter`.

    Attributes:
        num_objects: objects per scene: None (default) drops all of the given ``object_ids`` in
            their order; an int draws that many from them; a tuple draws the count uniformly
            from it first (``DEFAULT_NUM_OBJECTS`` gives PLGP/GraspNet-like 5, 10 or 15).
        drop_gap: clearance between a dropped object and the top of the pile (m).
        drop_steps: steps simulated after each drop.
        max_redrops: rounds of re-dropping objects that left the tray before removing them.
        settle_steps: cap on the steps of each settle.
        lin_tol: linear speed (m/s) below which an object is at rest.
        ang_tol: angular speed (rad/s) below which an object is at rest.
        packing_fraction: the largest fraction of the tray's volume the objects' convex hulls
            may fill; more raises ValueError.
        friction: lateral friction of every body while dropping (None = PyBullet's default).
        drop_half_extent: objects are dropped with their footprint inside
            ``[-e, e]²`` of the tray frame (m); None = the tray floor.
    """

    num_objects: int | tuple[int, ...] | None = None
    drop_gap: float = 0.03
    drop_steps: int = 60
    max_redrops: int = 3
    settle_steps: int = 2400
    lin_tol: float = 5e-3
    ang_tol: float = 5e-2
    packing_fraction: float = 0.3
    friction: float | None = None
    drop_half_extent: float | None = None


#: Inner volume of the tray (floor area × wall height), m³, for the capacity check.
_TRAY_VOLUME = (2 * TRAY_FLOOR_HALF_EXTENT) ** 2 * (TRAY_WALL_TOP_Z - TRAY_FLOOR_Z)


def _draw_ids(pool: Sequence[int], config: ClutterConfig, rng: np.random.Generator) -> list[int]:
    pool = [int(i) for i in pool]
    if len(set(pool)) != len(pool) or not pool:
        raise ValueError(f"object_ids must be a non-empty list of unique ids, got {pool}")
    choice = config.num_objects
    if choice is None:
        return pool
    n = int(choice) if isinstance(choice, int | np.integer) else int(rng.choice(list(choice)))
    if n < 1 or n > len(pool):
        raise ValueError(
            f"cannot draw {n} objects from a pool of {len(pool)} ids; pass more ids, a smaller "
            f"num_objects, or num_objects=None to drop all of them"
        )
    return [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]


def _check_capacity(objects: Sequence[SceneObject], packing_fraction: float) -> None:
    volume = float(sum(obj.mesh.convex_hull.volume for obj in objects))
    capacity = packing_fraction * _TRAY_VOLUME
    if volume > capacity:
        raise ValueError(
            f"{len(objects)} objects with a total convex volume of {volume * 1e3:.2f} L do not fit "
            f"the tray (capacity {capacity * 1e3:.2f} L = {packing_fraction:.0%} of "
            f"{_TRAY_VOLUME * 1e3:.1f} L); use fewer or smaller objects"
        )


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=(1, 4))
    return np.asarray(quaternion_to_matrix(q / np.linalg.norm(q))[0])


def _pile_top(world: World, exclude: int | None = None) -> float:
    """Highest point (world z) of the objects in the world, or the tray floor."""
    assert world.T_world_tray is not None
    top = float((world.T_world_tray @ np.array([0.0, 0.0, TRAY_FLOOR_Z, 1.0]))[2])
    for oid in world.object_ids:
        if oid != exclude:
            aabb = world.p.getAABB(world.body_id(oid), physicsClientId=world.client)
            top = max(top, float(aabb[1][2]))
    return top


def _drop(world: World, obj: SceneObject, config: ClutterConfig, rng: np.random.Generator) -> None:
    """Add (or re-add) ``obj`` at a random pose above the pile and let it fall."""
    assert world.T_world_tray is not None
    if obj.object_id in world.object_ids:
        world.remove_object(obj.object_id)
    R = _random_rotation(rng)
    T_tray_world = invert_transform(world.T_world_tray)
    verts = np.asarray(obj.mesh.vertices) @ R.T  # in tray axes
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    half_xy = (hi[:2] - lo[:2]) / 2.0
    extent = TRAY_FLOOR_HALF_EXTENT if config.drop_half_extent is None else config.drop_half_extent
    room = np.maximum(extent - half_xy, 0.0)
    center_xy = rng.uniform(-room, room)
    top_in_tray = (T_tray_world @ np.array([0.0, 0.0, _pile_top(world), 1.0]))[2]
    t = np.array([*(center_xy - (lo[:2] + hi[:2]) / 2.0), top_in_tray + config.drop_gap - lo[2]])
    T_tray_obj = np.eye(4)
    T_tray_obj[:3, :3], T_tray_obj[:3, 3] = R, t
    world.add_object(obj, world.T_world_tray @ T_tray_obj)
    world.step(config.drop_steps)


def _outside_tray(world: World) -> list[int]:
    """Ids of objects whose centre of mass lies outside the tray's rim or below its floor."""
    assert world.T_world_tray is not None
    T_tray_world = invert_transform(world.T_world_tray)
    out = []
    for oid in world.object_ids:
        pos, _ = world.p.getBasePositionAndOrientation(world.body_id(oid), physicsClientId=world.client)
        x, y, z = T_tray_world[:3, :3] @ np.asarray(pos) + T_tray_world[:3, 3]
        if max(abs(x), abs(y)) > TRAY_RIM_HALF_EXTENT or z < TRAY_FLOOR_Z - 0.01:
            out.append(oid)
    return out


def _settle(world: World, config: ClutterConfig) -> None:
    """Settle, not waiting for objects that fell off the table."""
    assert world.T_world_table is not None
    table_z = float(world.T_world_table[2, 3])
    world.settle(config.settle_steps, config.lin_tol, config.ang_tol, ignore_below=table_z - 0.2)


def generate_clutter(
    library: ObjectSource,
    object_ids: Sequence[int],
    scene_id: int,
    rng: RngLike = None,
    config: ClutterConfig | None = None,
) -> SceneRecord:
    """Drop objects into the tray, simulate until they settle, and record the scene.

    Args:
        library: loads objects by id (e.g. ``ObjectLibrary``).
        object_ids: the scene's objects (default), or the pool to draw them from when
            ``config.num_objects`` is set (e.g. ``ClutterConfig(num_objects=DEFAULT_NUM_OBJECTS)``
            for 5, 10 or 15 objects).
        scene_id: scene number stored in the record.
        rng: generator or seed; a seed drawn from it is stored as ``SceneRecord.seed``.
        config: :class:`ClutterConfig`.

    Returns:
        The :class:`SceneRecord`; objects that stayed outside the tray are left out of it.

    Raises:
        ValueError: bad ids or counts, or more objects than the tray can hold.
    """
    cfg = config or ClutterConfig()
    gen = as_rng(rng)
    seed = int(rng) if isinstance(rng, int | np.integer) else int(gen.integers(0, 2**63 - 1))
    gen = np.random.default_rng(seed)
    ids = _draw_ids(object_ids, cfg, gen)
    objects = {oid: library.load(oid) for oid in ids}
    _check_capacity(list(objects.values()), cfg.packing_fraction)
    with World() as world:
        world.add_table_and_tray()
        if cfg.friction is not None:
            world.set_friction(cfg.friction)
        for oid in ids:
            _drop(world, objects[oid], cfg, gen)
        _settle(world, cfg)
        for _ in range(cfg.max_redrops):
            outside = _outside_tray(world)
            if not outside:
                break
            for oid in outside:
                _drop(world, objects[oid], cfg, gen)
            _settle(world, cfg)
        lost = _outside_tray(world)
        if lost:
            logger.warning("scene %d: removing objects %s that stayed outside the tray", scene_id, lost)
            for oid in lost:
                world.remove_object(oid)
            _settle(world, cfg)
        kept = [oid for oid in ids if oid in world.object_ids]
        poses = world.object_poses()
        assert world.T_world_table is not None and world.T_world_tray is not None
        return SceneRecord(
            scene_id=int(scene_id),
            object_ids=tuple(kept),
            T_world_obj=np.stack([poses[oid] for oid in kept]) if kept else np.zeros((0, 4, 4)),
            T_world_table=world.T_world_table,
            T_world_tray=world.T_world_tray,
            seed=seed,
        )


def populate_world(
    world: World, library: ObjectSource, record: SceneRecord, static: bool = False
) -> dict[int, int]:
    """Place a recorded scene's objects in ``world`` at exactly their recorded poses.

    Adds the table and tray at the record's poses when the world has none yet.

    Args:
        world: the world to fill.
        library: loads objects by id.
        record: the scene.
        static: make the objects immovable (mass 0), e.g. for rendering or collision checks.

    Returns:
        ``{object_id: body_id}``.

    Raises:
        ValueError: the world's table or tray is elsewhere than in the record.
    """
    if world.T_world_table is None:
        world.add_table_and_tray(record.T_world_table, record.T_world_tray)
    elif not (
        np.allclose(world.T_world_table, record.T_world_table)
        and world.T_world_tray is not None
        and np.allclose(world.T_world_tray, record.T_world_tray)
    ):
        raise ValueError("the world's table/tray poses differ from the scene record's")
    bodies = {}
    for oid, T in zip(record.object_ids, record.T_world_obj, strict=True):
        bodies[oid] = world.add_object(library.load(oid), T)
        if static:
            world.p.changeDynamics(bodies[oid], -1, mass=0.0, physicsClientId=world.client)
    return bodies
