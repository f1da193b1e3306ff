"""Scenes whose objects move while a fixed camera watches (conveyor, turntable, random, crossing).

A :class:`MovingScene` holds objects in their own :class:`~grasplab.scenes.World` on a table
(the tray is hidden below it) and drives each along a
:class:`~grasplab.execution.trajectories.PlanarTrajectory`: kinematically, by a force-limited
fixed constraint whose target is moved every physics step (:meth:`MovingScene.drive`), so the
floating gripper can still touch, squeeze and, once :meth:`MovingScene.release` lets go of the
object, lift it. :func:`record_motion_sequence` renders frames at a fixed rate with the
ground-truth object poses of every frame (a :class:`MotionSequence`), without physics.

:func:`motion_objects` makes small boxes and cylinders (two identical ones for ``crossing``).
World frame: table top at z = 0; OpenCV camera looking down at the origin; metres, seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import trimesh

from grasplab.core import CameraIntrinsics, as_rng, check_positive_scalar, make_transform
from grasplab.core.validation import RngLike
from grasplab.detection.observation import Observation
from grasplab.detection.scene_state import SceneState
from grasplab.execution.primitives import PrimitiveLibrary
from grasplab.execution.trajectories import MOTION_KINDS, PlanarTrajectory, make_trajectories
from grasplab.scenes import ObjectSource, World, render_frame
from grasplab.scenes.cameras import look_at
from grasplab.scenes.world import pose_to_pq, pq_to_pose

__all__ = [
    "MotionConfig",
    "MotionSequence",
    "MovingScene",
    "motion_objects",
    "record_motion_sequence",
]


@dataclass(frozen=True)
class MotionConfig:
    """A moving-object setup.

    Attributes:
        kind: one of ``conveyor``, ``turntable``, ``random``, ``crossing``.
        num_objects: objects (2 for ``crossing``).
        speed: object speed (m/s).
        frame_rate: camera frames per second.
        image_width: rendered width (pixels).
        image_height: rendered height (pixels).
        fov_y_deg: vertical field of view (degrees).
        camera_eye: (3,) camera centre (m); it looks at the origin.
        drive_force: force limit of the constraint that carries each object (N).
        provide_mask: give detectors the instance mask (grasps then carry object ids).
    """

    kind: str = "conveyor"
    num_objects: int = 1
    speed: float = 0.05
    frame_rate: float = 10.0
    image_width: int = 320
    image_height: int = 240
    fov_y_deg: float = 50.0
    camera_eye: tuple[float, float, float] = (0.0, -0.25, 0.6)
    drive_force: float = 20.0
    provide_mask: bool = True

    def __post_init__(self) -> None:
        if self.kind not in MOTION_KINDS:
            raise ValueError(f"MotionConfig.kind: expected one of {MOTION_KINDS}, got {self.kind!r}")
        for name in ("speed", "frame_rate", "fov_y_deg", "drive_force"):
            check_positive_scalar(getattr(self, name), f"MotionConfig.{name}")
        if self.num_objects < 1 or self.image_width < 32 or self.image_height < 32:
            raise ValueError("MotionConfig: need num_objects >= 1 and images of at least 32 px")

    def intrinsics(self) -> CameraIntrinsics:
        """The camera intrinsics."""
        return CameraIntrinsics.from_fov(self.fov_y_deg, self.image_width, self.image_height)

    def camera_pose(self) -> np.ndarray:
        """(4, 4) ``T_world_cam`` looking at the origin."""
        return look_at(self.camera_eye, (0.0, 0.0, 0.0))


def motion_objects(folder: str | Path, kind: str, num_objects: int, rng: RngLike = None,
                   first_id: int = 0) -> PrimitiveLibrary:
    """Boxes and cylinders (3-6 cm) for a motion; ``crossing`` gets two identical boxes."""
    gen = as_rng(rng)
    if kind == "crossing":
        mesh = trimesh.creation.box(gen.uniform(0.03, 0.05, size=3))
        meshes = {first_id: mesh, first_id + 1: mesh.copy()}
    else:
        meshes = {}
        for k in range(num_objects):
            size = gen.uniform(0.03, 0.05, size=3)
            meshes[first_id + k] = (trimesh.creation.box(size) if k % 2 == 0 else
                                    trimesh.creation.cylinder(radius=size[0] / 2, height=size[2],
                                                              sections=24))
    return PrimitiveLibrary(folder, meshes)


class MovingScene:
    """Objects carried along trajectories in a world, watched by a fixed camera.

    Use it as a context manager (or call :meth:`close`).

    Args:
        library: loads the objects (``.load(id)`` with ``mesh`` and ``urdf_path``).
        object_ids: the objects, one per trajectory.
        trajectories: their planar trajectories.
        config: :class:`MotionConfig`.
    """

    def __init__(self, library: ObjectSource, object_ids: Sequence[int],
                 trajectories: Sequence[PlanarTrajectory], config: MotionConfig) -> None:
        if len(object_ids) != len(trajectories) or not object_ids:
            raise ValueError(f"need one trajectory per object, got {len(object_ids)} objects and "
                             f"{len(trajectories)} trajectories")
        self.config = config
        self.T_world_cam = config.camera_pose()
        self.trajectories = {int(i): tr for i, tr in zip(object_ids, trajectories, strict=True)}
        self.world = World()
        try:
            self._build(library)
        except BaseException:
            self.world.close()
            raise

    def _build(self, library: ObjectSource) -> None:
        hidden = make_transform(np.eye(3), np.array([0.0, 0.0, -2.0]))
        self.world.add_table_and_tray(T_world_tray=hidden)
        p, client = self.world.p, self.world.client
        self.T_rest: dict[int, np.ndarray] = {}
        self._T_link_com: dict[int, np.ndarray] = {}
        self._constraints: dict[int, int] = {}
        for oid in self.trajectories:
            obj = library.load(oid)
            lift = -float(obj.mesh.bounds[0, 2]) + 1e-3
            self.T_rest[oid] = make_transform(np.eye(3), np.array([0.0, 0.0, lift]))
            body = self.world.add_object(obj, self.pose_at(oid, 0.0))
            info = p.getDynamicsInfo(body, -1, physicsClientId=client)
            self._T_link_com[oid] = pq_to_pose(info[3], info[4])
            pos, orn = pose_to_pq(self.pose_at(oid, 0.0) @ self._T_link_com[oid])
            self._constraints[oid] = int(p.createConstraint(
                body, -1, -1, -1, p.JOINT_FIXED, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], pos,
                childFrameOrientation=orn, physicsClientId=client))

    def __enter__(self) -> MovingScene:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the world."""
        self.world.close()

    @property
    def object_ids(self) -> list[int]:
        """The objects, in order."""
        return list(self.trajectories)

    def driven(self) -> list[int]:
        """Objects still carried by their trajectory (not released)."""
        return list(self._constraints)

    def pose_at(self, object_id: int, t: float) -> np.ndarray:
        """(4, 4) planned ``T_world_obj`` of an object at time ``t`` (s)."""
        return self.trajectories[object_id].pose(t, self.T_rest[object_id])

    def drive(self, t: float) -> None:
        """Move every driven object's constraint target to its pose at ``t``."""
        p = self.world.p
        for oid, constraint in self._constraints.items():
            pos, orn = pose_to_pq(self.pose_at(oid, t) @ self._T_link_com[oid])
            p.changeConstraint(constraint, jointChildPivot=pos, jointChildFrameOrientation=orn,
                               maxForce=self.config.drive_force, physicsClientId=self.world.client)

    def release(self, object_id: int) -> None:
        """Stop carrying an object (it is then free, e.g. held by the gripper)."""
        constraint = self._constraints.pop(int(object_id), None)
        if constraint is not None:
            self.world.p.removeConstraint(constraint, physicsClientId=self.world.client)

    def teleport(self, t: float) -> None:
        """Put every driven object exactly at its pose at ``t`` (no physics)."""
        for oid in self._constraints:
            self.world.set_object_pose(oid, self.pose_at(oid, t))
        self.drive(t)

    def state(self) -> SceneState:
        """The objects as they lie now (for scene-aware detectors and trackers)."""
        return SceneState.from_world(self.world)

    def observe(self) -> Observation:
        """Render the scene now: depth, colour, the mask when configured, ``T_world_cam``."""
        frame = render_frame(self.world, self.config.intrinsics(), self.T_world_cam)
        mask = frame.mask if self.config.provide_mask else None
        return Observation(frame.depth, frame.intrinsics, frame.rgb, mask, frame.T_world_cam)


@dataclass(frozen=True, eq=False)
class MotionSequence:
    """Frames of a moving scene with the true object poses of each frame.

    Attributes:
        frames: F observations (camera frame, ``T_world_cam`` set).
        times: (F,) time stamps (s).
        object_ids: (K,) the objects.
        T_world_obj: (F, K, 4, 4) true model-frame poses at each frame.
    """

    frames: tuple[Observation, ...]
    times: np.ndarray
    object_ids: tuple[int, ...]
    T_world_obj: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def state(self, index: int, T_world_table: np.ndarray | None = None) -> SceneState:
        """The :class:`SceneState` of frame ``index`` (table at the origin by default)."""
        table = np.eye(4) if T_world_table is None else T_world_table
        return SceneState(self.object_ids, self.T_world_obj[index], table)


def record_motion_sequence(config: MotionConfig, library: ObjectSource,
                           object_ids: Sequence[int], num_frames: int,
                           rng: RngLike = None) -> MotionSequence:
    """Render ``num_frames`` frames at ``config.frame_rate`` of objects moving kinematically.

    Args:
        config: the motion and the camera.
        library: loads the objects.
        object_ids: the objects (``config.num_objects`` of them).
        num_frames: frames to render, >= 1.
        rng: seed or generator of the trajectories.

    Raises:
        ValueError: a bad count or a trajectory that cannot be drawn.
    """
    if num_frames < 1 or len(object_ids) != config.num_objects:
        raise ValueError(f"need num_frames >= 1 and {config.num_objects} object ids, got "
                         f"{num_frames} and {len(object_ids)}")
    trajectories = make_trajectories(config.kind, config.num_objects, config.speed, rng)
    times = np.arange(num_frames) / config.frame_rate
    frames, poses = [], []
    with MovingScene(library, object_ids, trajectories, config) as scene:
        for t in times:
            scene.teleport(float(t))
            frames.append(scene.observe())
            poses.append(np.stack([scene.world.object_pose(oid) for oid in scene.object_ids]))
    return MotionSequence(tuple(frames), times, tuple(int(i) for i in object_ids),
                          np.stack(poses))
