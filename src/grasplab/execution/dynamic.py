"""AnyGrasp's dynamic grasping loop (anygrasp.txt §V-B, Alg. 1) with the floating gripper.

Every camera frame (at ``MotionConfig.frame_rate``; the simulation waits while perception
runs, so timings are simulated seconds): render (the hand hidden from the camera), track
grasps, take the target, align its jaw order with the previous one, add it to a buffer of the
last ``buffer_length`` (10) targets and predict its pose ``horizon`` seconds ahead from the
buffer's momentum (:func:`predict_momentum`). When the hand is within ``grasp_distance``
(5.5 cm), ``grasp_horizontal`` (2 cm, in the table plane) and ``grasp_angle`` (20°) of the
prediction, catch: move to the predicted grasp, close, let the carrier release the object
between the fingers, lift and hold. Otherwise servo towards the pre-grasp pose,
``pregrasp_distance`` (3.5 cm) back along the approach, at most ``max_speed`` m/s and
``max_angular_speed`` rad/s. When the target is lost (no grasp, or none similar enough) the
buffer is emptied, the tracker reset and the hand sent back to its ready pose.

Outcomes (``DynamicEpisode.reason``): ``success``, ``empty`` (closed on nothing: a wrong future
pose), ``slipped``, ``collision`` (the hand hit the table), ``timeout`` (no catch within
``duration``). Frames: world (table top z = 0), tip frame of the hand; metres, radians, seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from grasplab.core import GraspGroup, make_transform
from grasplab.detection.observation import Observation
from grasplab.detection.tracking import GraspTracker, OracleTracker
from grasplab.execution.attempt_log import AttemptRecord
from grasplab.execution.moving import MovingScene
from grasplab.execution.sim_gripper import SimGripper
from grasplab.labels.grasp_correspondence import pairwise_rotation_angles

__all__ = [
    "DYNAMIC_REASONS",
    "DynamicConfig",
    "DynamicEpisode",
    "align_jaws",
    "pregrasp_pose",
    "predict_momentum",
    "ready_pose",
    "run_dynamic_episode",
    "step_toward",
]

#: Every ``DynamicEpisode.reason``.
DYNAMIC_REASONS = ("success", "empty", "slipped", "collision", "timeout")
_FLIP = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class DynamicConfig:
    """Constants of the loop (Alg. 1 defaults; metres, radians, seconds).

    Attributes:
        buffer_length: past targets used for the momentum.
        horizon: how far ahead the target is predicted (the time to reach and close).
        pregrasp_distance: servo target back along the approach.
        grasp_distance: catch when the hand is this close to the prediction...
        grasp_horizontal: ...this close in the table plane...
        grasp_angle: ...and turned less than this.
        max_speed: hand speed limit.
        max_angular_speed: hand turn-rate limit.
        ready_height: height of the ready pose above the table (looking down).
        duration: give up after this much simulated time.
        close_time: closing phase.
        lift_height: lift after closing.
        success_rise: the object must rise this much.
        hold_time: hold after lifting.
    """

    buffer_length: int = 10
    horizon: float = 0.3
    pregrasp_distance: float = 0.035
    grasp_distance: float = 0.055
    grasp_horizontal: float = 0.02
    grasp_angle: float = float(np.deg2rad(20.0))
    max_speed: float = 0.3
    max_angular_speed: float = 2.0
    ready_height: float = 0.3
    duration: float = 8.0
    close_time: float = 0.3
    lift_height: float = 0.1
    success_rise: float = 0.05
    hold_time: float = 0.3

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not np.isfinite(value) or value < 0 or (name != "horizon" and value == 0):
                raise ValueError(f"DynamicConfig.{name}: expected a positive number, got {value}")
        if self.buffer_length < 2:
            raise ValueError(f"DynamicConfig.buffer_length: expected >= 2, got {self.buffer_length}")


@dataclass(frozen=True)
class DynamicEpisode:
    """One dynamic catch.

    Attributes:
        success: the object was lifted and held.
        reason: one of :data:`DYNAMIC_REASONS`.
        time_to_catch: simulated seconds until the jaws closed (NaN without a catch).
        frames: camera frames processed.
        resets: times the target was lost.
        object_id: the object grasped (-1 for none).
        track_seconds: wall time spent in ``tracker.update`` (detection + association).
        seconds: wall time of the episode.
        grasp: the executed grasp (17 numbers, world frame), empty without a catch.
        switches: frames in which the followed target moved to another object (identity
            switches; counted when grasps carry object ids, i.e. with the instance mask).
    """

    success: bool
    reason: str
    time_to_catch: float
    frames: int
    resets: int
    object_id: int
    track_seconds: float
    seconds: float
    grasp: tuple[float, ...] = ()
    switches: int = 0

    def to_record(self, name: str, episode: int, num_objects: int, mu: float = 1.0) -> AttemptRecord:
        """The episode as a row of the per-attempt log (phase ``"catch"``)."""
        return AttemptRecord(name, episode, mu, "catch", 0, self.success, self.reason,
                             self.object_id, num_objects - int(self.success), num_objects,
                             self.seconds, self.grasp)


def predict_momentum(times: Sequence[float] | np.ndarray, poses: Sequence[np.ndarray],
                     horizon: float) -> np.ndarray:
    """Extrapolate the last pose ``horizon`` seconds ahead with the buffer's mean velocity.

    Linear and angular velocity are those from the first to the last buffered pose (the
    momentum); a single pose is returned as it is.

    Args:
        times: (B,) increasing time stamps (s).
        poses: B (4, 4) poses.
        horizon: seconds ahead, >= 0.

    Returns:
        (4, 4) predicted pose.
    """
    if len(times) != len(poses) or not poses:
        raise ValueError(f"need as many times as poses (>= 1), got {len(times)} and {len(poses)}")
    last = np.asarray(poses[-1], dtype=np.float64)
    span = float(times[-1]) - float(times[0])
    if len(poses) < 2 or span <= 0:
        return last.copy()
    first = np.asarray(poses[0], dtype=np.float64)
    velocity = (last[:3, 3] - first[:3, 3]) / span
    omega = Rotation.from_matrix(last[:3, :3] @ first[:3, :3].T).as_rotvec() / span
    turn = Rotation.from_rotvec(omega * horizon).as_matrix()
    return make_transform(turn @ last[:3, :3], last[:3, 3] + velocity * horizon)


def pregrasp_pose(T_tip: np.ndarray, distance: float) -> np.ndarray:
    """(4, 4) the tip pose moved ``distance`` back along its approach (x) axis."""
    out = np.array(T_tip, dtype=np.float64)
    out[:3, 3] -= distance * out[:3, 0]
    return out


def align_jaws(T: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``T`` or ``T`` turned by π about its approach axis, whichever is nearer ``reference``."""
    flipped = T @ _FLIP
    plain = pairwise_rotation_angles(T[None, :3, :3], reference[None, :3, :3], False)[0, 0]
    other = pairwise_rotation_angles(flipped[None, :3, :3], reference[None, :3, :3], False)[0, 0]
    return flipped if other < plain else np.array(T, dtype=np.float64)


def step_toward(current: np.ndarray, goal: np.ndarray, max_move: float, max_turn: float) -> np.ndarray:
    """(4, 4) one servo step from ``current`` toward ``goal``, at most ``max_move`` m / ``max_turn`` rad."""
    delta = goal[:3, 3] - current[:3, 3]
    dist = float(np.linalg.norm(delta))
    move = delta if dist <= max_move else delta * (max_move / dist)
    rel = Rotation.from_matrix(goal[:3, :3] @ current[:3, :3].T).as_rotvec()
    angle = float(np.linalg.norm(rel))
    if angle > max_turn:
        rel = rel * (max_turn / angle)
    return make_transform(Rotation.from_rotvec(rel).as_matrix() @ current[:3, :3],
                          current[:3, 3] + move)


def ready_pose(height: float) -> np.ndarray:
    """(4, 4) the ready pose: above the origin, approach pointing down."""
    R = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    return make_transform(R, np.array([0.0, 0.0, height]))


def _tip_pose(grasp: GraspGroup) -> np.ndarray:
    R, t = grasp.rotations[0], grasp.translations[0]
    return make_transform(R, t + float(grasp.depths[0]) * R[:, 0])


def _close_enough(T_hand: np.ndarray, T_goal: np.ndarray, cfg: DynamicConfig) -> bool:
    delta = T_goal[:3, 3] - T_hand[:3, 3]
    angle = pairwise_rotation_angles(T_hand[None, :3, :3], T_goal[None, :3, :3])[0, 0]
    return bool(np.linalg.norm(delta) < cfg.grasp_distance
                and np.linalg.norm(delta[:2]) < cfg.grasp_horizontal and angle < cfg.grasp_angle)


class _Loop:
    """The simulation side of one episode: time, the driven objects and the servoed hand."""

    def __init__(self, scene: MovingScene, hand: SimGripper, cfg: DynamicConfig) -> None:
        self.scene, self.hand, self.cfg = scene, hand, cfg
        self.world = scene.world
        self.t = 0.0
        self.command = ready_pose(cfg.ready_height)
        hand.teleport(self.command, hand.gripper.max_width)
        self.static = {b for b in range(self.world.p.getNumBodies(physicsClientId=self.world.client))
                       if b not in {self.world.body_id(o) for o in scene.object_ids}
                       and b != hand.body}

    def step(self, goal: np.ndarray | None = None, speed: float | None = None) -> None:
        dt = self.world.timestep
        if goal is not None:
            move = (self.cfg.max_speed if speed is None else speed) * dt
            self.command = step_toward(self.command, goal, move, self.cfg.max_angular_speed * dt)
            self.hand.command_pose(self.command)
        self.t += dt
        self.scene.drive(self.t)
        self.world.step()

    def observe_hidden(self) -> Observation:
        """Render with the hand moved out of view for the frame, then put back."""
        p, client, body = self.world.p, self.world.client, self.hand.body
        pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=client)
        lin, ang = p.getBaseVelocity(body, physicsClientId=client)
        p.resetBasePositionAndOrientation(body, [0.0, 0.0, 10.0], orn, physicsClientId=client)
        try:
            return self.scene.observe()
        finally:
            p.resetBasePositionAndOrientation(body, pos, orn, physicsClientId=client)
            p.resetBaseVelocity(body, lin, ang, physicsClientId=client)

    def touches_static(self) -> bool:
        palm, left, right = self.hand.contact_bodies()
        return bool((palm | left | right) & self.static)

    def held(self) -> int | None:
        _, left, right = self.hand.contact_bodies()
        bodies = {self.world.body_id(o): o for o in self.world.object_ids}
        both = sorted((left & right) & set(bodies))
        return bodies[both[0]] if both else None

    def catch(self, T_grasp_tip: np.ndarray) -> tuple[str, int]:
        """Move onto the predicted grasp, close, release, lift: (reason, object id or -1)."""
        dt, cfg = self.world.timestep, self.cfg
        for _ in range(int(np.ceil(2 * cfg.grasp_distance / (cfg.max_speed * dt)))):
            self.step(T_grasp_tip)
            if self.touches_static():
                return "collision", -1
            if np.linalg.norm(self.command[:3, 3] - T_grasp_tip[:3, 3]) < 1e-4:
                break
        self.hand.command_opening(0.0)
        for _ in range(int(np.ceil(cfg.close_time / dt))):
            self.step()
        oid = self.held()
        if oid is None:
            return "empty", -1
        self.scene.release(oid)
        start_z = float(self.world.object_pose(oid)[2, 3])
        lift = self.command.copy()
        lift[2, 3] += cfg.lift_height
        for _ in range(int(np.ceil((cfg.lift_height / cfg.max_speed + cfg.hold_time) / dt))):
            self.step(lift)
        rose = float(self.world.object_pose(oid)[2, 3]) - start_z
        return ("success" if self.held() == oid and rose >= cfg.success_rise else "slipped"), oid


def run_dynamic_episode(scene: MovingScene, hand: SimGripper, tracker: GraspTracker,
                        config: DynamicConfig | None = None) -> DynamicEpisode:
    """Run Alg. 1 on a moving scene until a catch or ``duration`` (module docstring).

    Args:
        scene: the moving scene (objects at their t = 0 poses); its objects keep moving.
        hand: the floating gripper of ``scene.world``.
        tracker: a grasp tracker; an :class:`OracleTracker` is bound before each frame.
        config: loop constants.

    Returns:
        :class:`DynamicEpisode`.
    """
    cfg = config or DynamicConfig()
    if hand.world is not scene.world:
        raise ValueError("hand: the SimGripper belongs to another World")
    start_wall = time.perf_counter()
    loop = _Loop(scene, hand, cfg)
    tracker.reset()
    steps_per_frame = max(1, round(1.0 / (scene.config.frame_rate * scene.world.timestep)))
    buffer: deque[tuple[float, np.ndarray]] = deque(maxlen=cfg.buffer_length)
    count = _Counts()
    while loop.t < cfg.duration:
        observation = loop.observe_hidden()
        if isinstance(tracker, OracleTracker):
            tracker.bind(scene.state())
        tic = time.perf_counter()
        result = tracker.update(observation, time=loop.t)
        count.track_seconds += time.perf_counter() - tic
        count.frames += 1
        goal = ready_pose(cfg.ready_height)
        if len(result.targets) == 0:
            count.resets += int(bool(buffer))
            if buffer:
                tracker.reset()
            buffer.clear()
        else:
            count.see(int(result.targets.object_ids[0]), new_track=not buffer)
            target = _tip_pose(result.targets[:1].transform(scene.T_world_cam))
            target = align_jaws(target, buffer[-1][1] if buffer else loop.command)
            buffer.append((loop.t, target))
            predicted = align_jaws(predict_momentum([b[0] for b in buffer], [b[1] for b in buffer],
                                                    cfg.horizon), loop.command)
            if _close_enough(loop.command, predicted, cfg):
                caught_at = loop.t
                reason, oid = loop.catch(predicted)
                grasp = result.targets[:1].transform(scene.T_world_cam).array[0]
                return count.episode(reason, caught_at, oid, time.perf_counter() - start_wall,
                                     tuple(grasp.tolist()))
            goal = pregrasp_pose(predicted, cfg.pregrasp_distance)
        for _ in range(steps_per_frame):
            loop.step(goal)
    return count.episode("timeout", float("nan"), -1, time.perf_counter() - start_wall, ())


@dataclass
class _Counts:
    """What an episode counts while it runs."""

    frames: int = 0
    resets: int = 0
    switches: int = 0
    track_seconds: float = 0.0
    last_object: int = -1

    def see(self, object_id: int, new_track: bool) -> None:
        """Count a switch when a continuing target moves to another known object."""
        if not new_track and min(object_id, self.last_object) >= 0 and object_id != self.last_object:
            self.switches += 1
        self.last_object = object_id

    def episode(self, reason: str, caught_at: float, object_id: int, seconds: float,
                grasp: tuple[float, ...]) -> DynamicEpisode:
        return DynamicEpisode(reason == "success", reason, caught_at, self.frames, self.resets,
                              object_id, self.track_seconds, seconds, grasp, self.switches)
