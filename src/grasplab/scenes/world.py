"""A headless PyBullet world: a table, a tray and grasp objects, each world with its own client.

Frames and units: the world frame has +z up; the table frame has its top surface at z = 0 (the
GraspNet-1Billion table frame); the tray frame sits on the table top at the tray's centre. Object
poses are ``T_world_obj`` 4×4 float64 transforms of the object's *model* frame (the frame of
``obj.mesh`` and of its URDF link), never PyBullet's centre-of-mass frame: PyBullet reports and
resets the inertial frame of a body, so every pose crossing this module is converted. Metres,
seconds, kilograms.

Every :class:`World` owns one ``p.DIRECT`` physics client and passes ``physicsClientId`` to every
call, so several worlds coexist in one process (no global client).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Protocol

import numpy as np
import trimesh
from numpy.typing import ArrayLike

from grasplab.core.rotations import invert_transform
from grasplab.core.validation import check_positive_scalar, check_transform
from grasplab.scenes.bodies import (
    _TABLE_RGBA,
    TABLE_SIZE,
    TRAY_FLOOR_HALF_EXTENT,
    TRAY_FLOOR_Z,
    TRAY_RIM_HALF_EXTENT,
    TRAY_VISUAL_LIFT,
    TRAY_WALL_TOP_Z,
    PosedMesh,
    _pybullet,
    _tray_urdf,
    pose_to_pq,
    pq_to_pose,
    table_mesh,
    tray_mesh,
)

__all__ = [
    "TABLE_SIZE",
    "TRAY_FLOOR_HALF_EXTENT",
    "TRAY_FLOOR_Z",
    "TRAY_RIM_HALF_EXTENT",
    "TRAY_VISUAL_LIFT",
    "TRAY_WALL_TOP_Z",
    "PosedMesh",
    "SavedState",
    "SceneObject",
    "World",
    "pose_to_pq",
    "pq_to_pose",
    "table_mesh",
    "tray_mesh",
]

logger = logging.getLogger(__name__)

class SceneObject(Protocol):
    """What a world needs of an object: ``grasplab.objects.GraspObject`` satisfies it."""

    @property
    def object_id(self) -> int:
        """Global grasplab object id."""
        ...

    @property
    def mesh(self) -> trimesh.Trimesh:
        """Watertight mesh in the model frame (metres)."""
        ...

    @property
    def urdf_path(self) -> Path:
        """URDF whose link frame is the model frame."""
        ...


class SavedState:
    """A simulation state saved by :meth:`World.saved_state`, restorable while its block runs."""

    def __init__(self, world: World, state_id: int) -> None:
        self._world, self._state_id, self._active = world, state_id, True

    def restore(self) -> None:
        """Put the world back into the saved state (RuntimeError after the block ended)."""
        if not self._active:
            raise RuntimeError("this saved state was released when its with-block ended")
        self._world.p.restoreState(stateId=self._state_id, physicsClientId=self._world.client)


class World:
    """A headless PyBullet world with its own physics client.

    Use it as a context manager (or call :meth:`close`)::

        with World() as world:
            world.add_table_and_tray()
            world.add_object(obj, T_world_obj)
            world.settle()

    Attributes:
        client: the PyBullet physics client id; pass it as ``physicsClientId`` to any direct
            PyBullet call (e.g. from execution code).
        timestep: simulation step in seconds.
        T_world_table: (4, 4) table pose, or None before :meth:`add_table_and_tray`.
        T_world_tray: (4, 4) tray pose, or None before :meth:`add_table_and_tray`.
    """

    def __init__(self, timestep: float = 1.0 / 240.0, gravity: float = 9.81) -> None:
        p = _pybullet()
        self.timestep = check_positive_scalar(timestep, "timestep")
        self.client: int = int(p.connect(p.DIRECT))
        if self.client < 0:  # pragma: no cover - PyBullet ran out of clients
            raise RuntimeError("PyBullet could not open a DIRECT physics client")
        self._p: ModuleType | None = p
        p.setGravity(0.0, 0.0, -float(gravity), physicsClientId=self.client)
        p.setTimeStep(self.timestep, physicsClientId=self.client)
        self.T_world_table: np.ndarray | None = None
        self.T_world_tray: np.ndarray | None = None
        self._static_bodies: list[int] = []
        self._bodies: dict[int, int] = {}  # object id -> body id
        self._objects: dict[int, SceneObject] = {}
        self._T_com_link: dict[int, np.ndarray] = {}  # object id -> inverse inertial offset
        self._friction: float | None = None

    # ----------------------------------------------------------------- lifetime
    def __enter__(self) -> World:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def close(self) -> None:
        """Disconnect the physics client; the world cannot be used afterwards."""
        if self._p is not None:
            self._p.disconnect(physicsClientId=self.client)
            self._p = None

    @property
    def p(self) -> ModuleType:
        """The pybullet module (raises if the world is closed)."""
        if self._p is None:
            raise RuntimeError("this World is closed")
        return self._p

    # ----------------------------------------------------------------- static scene
    def add_table_and_tray(
        self, T_world_table: ArrayLike | None = None, T_world_tray: ArrayLike | None = None
    ) -> None:
        """Add the static table (top face at the table frame's z = 0) and pybullet_data's tray.

        Args:
            T_world_table: (4, 4) table pose; identity by default.
            T_world_tray: (4, 4) tray pose; the table pose by default (tray centred on the table).

        Raises:
            ValueError: a pose is not rigid, or the table and tray were already added.
        """
        if self.T_world_table is not None:
            raise ValueError("this world already has a table and a tray")
        p = self.p
        T_table = np.eye(4) if T_world_table is None else check_transform(T_world_table, "T_world_table")
        T_tray = T_table.copy() if T_world_tray is None else check_transform(T_world_tray, "T_world_tray")
        half = [TABLE_SIZE[0] / 2, TABLE_SIZE[1] / 2, TABLE_SIZE[2] / 2]
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, physicsClientId=self.client)
        vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half, rgbaColor=_TABLE_RGBA, physicsClientId=self.client
        )
        T_center = T_table @ np.array(
            [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -half[2]], [0, 0, 0, 1]], dtype=np.float64
        )
        pos, orn = pose_to_pq(T_center)
        table = p.createMultiBody(0.0, col, vis, pos, orn, physicsClientId=self.client)
        pos, orn = pose_to_pq(T_tray)
        tray = p.loadURDF(_tray_urdf(), pos, orn, useFixedBase=True, physicsClientId=self.client)
        self._static_bodies = [int(table), int(tray)]
        self.T_world_table, self.T_world_tray = T_table, T_tray
        if self._friction is not None:
            self._apply_friction(self._static_bodies, self._friction)

    # ----------------------------------------------------------------- objects
    @property
    def object_ids(self) -> list[int]:
        """Ids of the objects in the world, in the order they were added."""
        return list(self._bodies)

    def body_id(self, object_id: int) -> int:
        """PyBullet body id of an object (ValueError if it is not in the world)."""
        if object_id not in self._bodies:
            raise ValueError(f"object {object_id} is not in this world (has {self.object_ids})")
        return self._bodies[object_id]

    def add_object(self, obj: SceneObject, T_world_obj: ArrayLike) -> int:
        """Add an object with its model frame at ``T_world_obj``; returns its PyBullet body id.

        Raises:
            ValueError: the pose is not rigid or an object with this id is already present.
        """
        T = check_transform(T_world_obj, "T_world_obj")
        object_id = int(obj.object_id)
        if object_id in self._bodies:
            raise ValueError(f"object {object_id} is already in this world; ids must be unique")
        p = self.p
        pos, orn = pose_to_pq(T)
        body = int(
            p.loadURDF(
                str(obj.urdf_path),
                pos,
                orn,
                flags=p.URDF_USE_INERTIA_FROM_FILE,
                physicsClientId=self.client,
            )
        )
        if body < 0:  # pragma: no cover - PyBullet prints the reason
            raise ValueError(f"PyBullet could not load {obj.urdf_path}")
        info = p.getDynamicsInfo(body, -1, physicsClientId=self.client)
        T_link_com = pq_to_pose(info[3], info[4])
        self._bodies[object_id] = body
        self._objects[object_id] = obj
        self._T_com_link[object_id] = invert_transform(T_link_com)
        self.set_object_pose(object_id, T)
        if self._friction is not None:
            self._apply_friction([body], self._friction)
        return body

    def remove_object(self, object_id: int) -> None:
        """Remove an object from the world (ValueError if absent)."""
        body = self.body_id(object_id)
        self.p.removeBody(body, physicsClientId=self.client)
        del self._bodies[object_id], self._objects[object_id], self._T_com_link[object_id]

    def set_object_pose(self, object_id: int, T_world_obj: ArrayLike) -> None:
        """Teleport an object's model frame to ``T_world_obj`` and zero its velocity."""
        T = check_transform(T_world_obj, "T_world_obj")
        body = self.body_id(object_id)
        T_world_com = T @ invert_transform(self._T_com_link[object_id])
        pos, orn = pose_to_pq(T_world_com)
        self.p.resetBasePositionAndOrientation(body, pos, orn, physicsClientId=self.client)
        self.p.resetBaseVelocity(body, [0.0] * 3, [0.0] * 3, physicsClientId=self.client)

    def object_pose(self, object_id: int) -> np.ndarray:
        """(4, 4) ``T_world_obj`` of the object's model frame."""
        body = self.body_id(object_id)
        pos, orn = self.p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return pq_to_pose(pos, orn) @ self._T_com_link[object_id]

    def object_poses(self) -> dict[int, np.ndarray]:
        """``{object_id: (4, 4) T_world_obj}`` for every object, in insertion order."""
        return {oid: self.object_pose(oid) for oid in self._bodies}

    def object_velocities(self) -> np.ndarray:
        """(K, 2) linear (m/s) and angular (rad/s) speed of each object, in insertion order."""
        speeds = np.zeros((len(self._bodies), 2))
        for i, body in enumerate(self._bodies.values()):
            lin, ang = self.p.getBaseVelocity(body, physicsClientId=self.client)
            speeds[i] = np.linalg.norm(lin), np.linalg.norm(ang)
        return speeds

    def _com_heights(self) -> np.ndarray:
        """(K,) world z of each object's centre of mass, in insertion order."""
        return np.array(
            [
                self.p.getBasePositionAndOrientation(body, physicsClientId=self.client)[0][2]
                for body in self._bodies.values()
            ],
            dtype=np.float64,
        ).reshape(-1)

    # ----------------------------------------------------------------- simulation
    def step(self, num_steps: int = 1) -> None:
        """Advance the simulation by ``num_steps`` steps of :attr:`timestep`."""
        if num_steps < 0:
            raise ValueError(f"num_steps must be >= 0, got {num_steps}")
        for _ in range(int(num_steps)):
            self.p.stepSimulation(physicsClientId=self.client)

    def settle(
        self,
        max_steps: int = 2400,
        lin_tol: float = 5e-3,
        ang_tol: float = 5e-2,
        check_every: int = 10,
        patience: int = 3,
        ignore_below: float | None = None,
    ) -> int:
        """Simulate until every object is at rest, or for at most ``max_steps`` steps.

        At rest means every object's linear speed is below ``lin_tol`` (m/s) and its angular
        speed below ``ang_tol`` (rad/s) at ``patience`` consecutive checks, one check every
        ``check_every`` steps (a single slow instant, e.g. the top of a bounce, is not rest).
        Objects whose centre of mass is below world z = ``ignore_below`` (fallen off the table,
        falling for ever) are not waited for.

        Returns:
            The number of steps simulated (``max_steps`` when the cap was hit).
        """
        if max_steps < 0 or check_every < 1 or patience < 1:
            raise ValueError(
                f"need max_steps >= 0, check_every >= 1 and patience >= 1, got "
                f"{max_steps}, {check_every}, {patience}"
            )
        steps, calm = 0, 0
        while steps < max_steps:
            n = min(check_every, max_steps - steps)
            self.step(n)
            steps += n
            speeds = self.object_velocities()
            moving = (speeds[:, 0] >= lin_tol) | (speeds[:, 1] >= ang_tol)
            if ignore_below is not None:
                moving &= self._com_heights() >= ignore_below
            at_rest = not bool(np.any(moving))
            calm = calm + 1 if at_rest else 0
            if calm >= patience:
                return steps
        logger.debug("settle hit its cap of %d steps before all objects came to rest", max_steps)
        return steps

    @contextmanager
    def saved_state(self) -> Iterator[SavedState]:
        """Save the simulation state; restore it on exit and forget the saved copy.

        The yielded :class:`SavedState` can also restore the saved state inside the block
        (e.g. before every grasp trial from the same scene)::

            with world.saved_state() as saved:
                for grasp in grasps:
                    saved.restore()
                    ...

        PyBullet restores the poses and velocities of the bodies that exist; a body removed
        inside the block stays removed.
        """
        p, client = self.p, self.client
        state_id = int(p.saveState(physicsClientId=client))
        saved = SavedState(self, state_id)
        try:
            yield saved
        finally:
            if self._p is not None:  # closed inside the block: nothing to restore
                p.restoreState(stateId=state_id, physicsClientId=client)
                p.removeState(state_id, physicsClientId=client)
            saved._active = False

    def set_friction(self, mu: float) -> None:
        """Set the lateral friction coefficient of the table, tray and all (present and future) objects.

        PyBullet multiplies the coefficients of two touching bodies.
        """
        self._friction = check_positive_scalar(mu, "mu")
        self._apply_friction(self._static_bodies + list(self._bodies.values()), self._friction)

    def _apply_friction(self, bodies: list[int], mu: float) -> None:
        for body in bodies:
            self.p.changeDynamics(body, -1, lateralFriction=mu, physicsClientId=self.client)

    # ----------------------------------------------------------------- geometry for rendering
    def posed_meshes(self, include_static: bool = True) -> list[PosedMesh]:
        """The scene's meshes at their current poses (objects, then table and tray).

        Object labels are ``object_id + 1``; the table and tray are labelled 0.
        """
        meshes = [PosedMesh(obj.mesh, self.object_pose(oid), oid + 1) for oid, obj in self._objects.items()]
        if include_static and self.T_world_table is not None and self.T_world_tray is not None:
            meshes.append(PosedMesh(table_mesh(), self.T_world_table.copy(), 0))
            meshes.append(PosedMesh(tray_mesh(), self.T_world_tray.copy(), 0))
        return meshes

    def segmentation_to_mask(self, segmentation: np.ndarray) -> np.ndarray:
        """Map a PyBullet segmentation image (body ids, -1 = none) to ``object_id + 1`` labels.

        Args:
            segmentation: (H, W) integer body ids.

        Returns:
            (H, W) int32: ``object_id + 1`` on objects, 0 on table, tray and background.
        """
        seg = np.asarray(segmentation, dtype=np.int64)
        size = max([int(seg.max(initial=-1)), *self._bodies.values(), *self._static_bodies, 0]) + 2
        lut = np.zeros(size, dtype=np.int32)
        for oid, body in self._bodies.items():
            lut[body + 1] = oid + 1
        return lut[np.clip(seg, -1, size - 2) + 1]
