"""What a scene-aware detector binds to: where the objects, the table and the tray are now.

:class:`SceneState` is the argument of :meth:`grasplab.detection.SceneAwareDetector.bind`. World
frame (table top at z = 0 by default), model-frame object poses ``T_world_obj``, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasplab.core.validation import as_array, check_transform
from grasplab.scenes import SceneRecord, World

__all__ = ["SceneState"]


@dataclass(frozen=True, eq=False)
class SceneState:
    """Where the objects are now (world frame, metres): what a scene-aware detector binds to.

    Attributes:
        object_ids: (K,) global object ids.
        T_world_obj: (K, 4, 4) model-frame poses.
        T_world_table: (4, 4) table pose (top face at its z = 0).
        T_world_tray: (4, 4) tray pose, or None for no tray.
    """

    object_ids: tuple[int, ...]
    T_world_obj: np.ndarray
    T_world_table: np.ndarray
    T_world_tray: np.ndarray | None = None

    def __post_init__(self) -> None:
        ids = tuple(int(i) for i in self.object_ids)
        object.__setattr__(self, "object_ids", ids)
        object.__setattr__(self, "T_world_obj",
                           as_array(self.T_world_obj, "T_world_obj", (len(ids), 4, 4)))
        object.__setattr__(self, "T_world_table", check_transform(self.T_world_table, "T_world_table"))
        if self.T_world_tray is not None:
            object.__setattr__(self, "T_world_tray", check_transform(self.T_world_tray, "T_world_tray"))

    @classmethod
    def from_record(cls, record: SceneRecord) -> SceneState:
        """The state of a recorded (reset) scene."""
        return cls(record.object_ids, np.array(record.T_world_obj), np.array(record.T_world_table),
                   np.array(record.T_world_tray))

    @classmethod
    def from_world(cls, world: World) -> SceneState:
        """The current state of a world (objects as they lie now)."""
        if world.T_world_table is None:
            raise ValueError("world: has no table; call add_table_and_tray first")
        poses = world.object_poses()
        ids = tuple(poses)
        stack = np.stack([poses[i] for i in ids]) if ids else np.zeros((0, 4, 4))
        return cls(ids, stack, world.T_world_table, world.T_world_tray)
