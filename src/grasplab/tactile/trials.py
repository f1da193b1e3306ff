"""Grasp-outcome trials on single objects with Ta / Tb / Tc of both pads (the dataset's physics).

One object rests alone in the tray at a random yaw. Its grasps come from grasplab's own analytic
labels computed on the fly at a coarse setting (:func:`grasplab.labels.label_object`): every
non-colliding candidate whose approach points down (from above the table) is a candidate, drawn
*stratified by score level* (the label's minimal force-closure μ, or "not force-closure") so that
good and bad grasps are both common; a share of them are perturbed (Gaussian translation and a
random rotation). Each trial draws the physics: finger-object friction μ (uniform), the object's
mass (log-uniform; the inertia scales with it) and the gripper's finger force (uniform). The
outcome is the physics outcome of :func:`grasplab.execution.grasp_execution.execute_grasp`:
still held after lifting and the hold.

A trial whose grasp collides on the approach, closes on nothing, or closes with its contacts
outside both pads (``require_imprint``) is redrawn, with the same physics, up to
``max_attempts`` times (Calandra's grasps all touched the sensors), so that the images show a
contact; the last attempt is kept whatever it gave. The world state is restored before every attempt.

Frames: world (z up), metres, kilograms, newtons. Images uint8, pad 0 = left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from grasplab.core import GraspGroup, make_transform
from grasplab.core.rotations import approach_views, rotation_from_view, rotation_z
from grasplab.core.validation import RngLike, as_rng
from grasplab.execution.grasp_execution import (
    OUTCOME_REASONS,
    ExecutionConfig,
    set_grasp_friction,
)
from grasplab.execution.sim_gripper import SimGripper
from grasplab.labels.object_labels import ObjectLabelConfig, label_object
from grasplab.scenes import World
from grasplab.tactile.capture import PHASES, capture_grasp
from grasplab.tactile.config import GelSightConfig
from grasplab.tactile.optics import to_uint8
from grasplab.tactile.pads import GelSightSensor

__all__ = [
    "GENERATOR_VERSIONS",
    "PARAM_NAMES",
    "PARAM_NAMES_V2",
    "TrialParams",
    "TrialRecord",
    "TrialSettings",
    "coarse_label_config",
    "draw_grasp",
    "draw_params",
    "grasp_pool",
    "object_trials",
    "place_object",
    "run_trial",
    "set_object_mass",
]

#: Names of the per-trial parameters stored as ``param_<name>`` (dataset module docstring).
PARAM_NAMES = ("mu", "mass", "force", "label_mu", "perturbed", "attempts", "object_rotation",
               "pads_touched")
#: Parameters a generator of version 2 records as well: the object's centre of mass at rest in
#: the grasp frame (m) and each pad's normal force at Tb (N).
PARAM_NAMES_V2 = (*PARAM_NAMES, "com_x", "com_y", "com_z", "force_left", "force_right")
#: Generator versions (``TrialSettings.version``); docs/tactile_dataset.md says what changed.
GENERATOR_VERSIONS = (1, 2)
#: Fields added after version 1, with the default that reproduces version 1: left out of
#: :meth:`TrialSettings.to_dict` at that default so that version 1's fingerprint stays.
_ADDED_AFTER_V1 = {"version": 1, "require_both_pads": False}


def coarse_label_config() -> ObjectLabelConfig:
    """The coarse label setting used to draw grasps (about a second per object on one core)."""
    return ObjectLabelConfig(spacing=0.012, collision_spacing=0.005, num_views=60, num_angles=6,
                             depths=(0.01, 0.015, 0.02), max_points=80)


def _check_range(value: tuple[float, float], name: str, low: float = 0.0) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not (np.isfinite(lo) and np.isfinite(hi) and low < lo <= hi):
        raise ValueError(f"TrialSettings.{name}: expected ({low} <) low <= high, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class TrialSettings:
    """How trials are drawn (module docstring).

    Attributes:
        image_size: (W, H) of the stored pad images (px); the pad keeps its 16 × 12 mm.
        mu_range: finger-object friction coefficient, uniform.
        mass_range: object mass (kg), log-uniform.
        force_range: finger force limit (N), uniform.
        perturb_fraction: share of grasps perturbed.
        perturb_translation: standard deviation of the perturbation's offset per axis (m).
        perturb_rotation: standard deviation of the perturbation's rotation angle (rad).
        max_down_angle: a candidate's approach must lie within this angle (rad) of straight down.
        max_attempts: draws per trial while the grasp collides on approach, closes on nothing
            or (``require_imprint``) closes with neither pad pressed.
        require_imprint: redraw grasps whose contacts at closing lie outside both pads.
        min_object_height: objects lower than this at rest (m; plates, washers) are refused:
            a grasp from above would put the fingertips into the tray floor.
        labels: the coarse label setting of the grasp pool.
        execution: the grasp trial (lift height, hold time ...).
        version: generator version (:data:`GENERATOR_VERSIONS`); 2 also records
            :data:`PARAM_NAMES_V2`.
        require_both_pads: redraw (as ``require_imprint``) until both pads are pressed at Tb.
    """

    image_size: tuple[int, int] = (80, 60)
    mu_range: tuple[float, float] = (0.2, 1.0)
    mass_range: tuple[float, float] = (0.03, 0.8)
    force_range: tuple[float, float] = (3.0, 15.0)
    perturb_fraction: float = 0.5
    perturb_translation: float = 0.006
    perturb_rotation: float = 0.25
    max_down_angle: float = 0.8
    max_attempts: int = 8
    require_imprint: bool = True
    min_object_height: float = 0.015
    labels: ObjectLabelConfig = field(default_factory=coarse_label_config)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    version: int = 1
    require_both_pads: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or self.version not in GENERATOR_VERSIONS:
            raise ValueError(f"TrialSettings.version: expected one of {GENERATOR_VERSIONS}, got "
                             f"{self.version!r}")
        width, height = (int(v) for v in self.image_size)
        if width < 8 or height < 6:
            raise ValueError(f"TrialSettings.image_size: expected (W >= 8, H >= 6), got "
                             f"{self.image_size!r}")
        object.__setattr__(self, "image_size", (width, height))
        for name in ("mu_range", "mass_range", "force_range"):
            object.__setattr__(self, name, _check_range(getattr(self, name), name))
        if not 0.0 <= float(self.perturb_fraction) <= 1.0:
            raise ValueError(f"TrialSettings.perturb_fraction: expected [0, 1], got "
                             f"{self.perturb_fraction!r}")
        for name in ("perturb_translation", "perturb_rotation"):
            if not float(getattr(self, name)) >= 0.0:
                raise ValueError(f"TrialSettings.{name}: expected >= 0, got {getattr(self, name)!r}")
        if not 0.0 < float(self.max_down_angle) <= np.pi:
            raise ValueError(f"TrialSettings.max_down_angle: expected (0, pi], got "
                             f"{self.max_down_angle!r}")
        if not float(self.min_object_height) >= 0.0:
            raise ValueError(f"TrialSettings.min_object_height: expected >= 0 m, got "
                             f"{self.min_object_height!r}")
        if isinstance(self.max_attempts, bool) or int(self.max_attempts) < 1:
            raise ValueError(f"TrialSettings.max_attempts: expected >= 1, got {self.max_attempts!r}")

    def sensor_config(self) -> GelSightConfig:
        """The pad at the stored image size."""
        return GelSightConfig().with_resolution(*self.image_size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings (the dataset's fingerprint)."""
        out = asdict(self)
        out["labels"] = self.labels.to_dict()
        for name, default in _ADDED_AFTER_V1.items():
            if out[name] == default:
                del out[name]
        return out


@dataclass(frozen=True)
class TrialParams:
    """The physics of one trial: friction μ, object mass (kg), finger force (N)."""

    mu: float
    mass: float
    force: float


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial.

    Attributes:
        images: (3, 2, H, W, 3) uint8 Ta, Tb, Tc of the left and right pads.
        success: the object was still held after lifting and the hold.
        reason: index into :data:`~grasplab.execution.grasp_execution.OUTCOME_REASONS`.
        grasp: (17,) the executed grasp (world frame).
        object_rotation: how far the object turned while the jaws closed (rad).
        pads_touched: pads (0-2) with an imprint when the jaws had closed (Tb).
        pad_forces: (left, right) normal force on the pads at Tb (N).
    """

    images: np.ndarray
    success: bool
    reason: int
    grasp: np.ndarray
    object_rotation: float
    pads_touched: int = 0
    pad_forces: tuple[float, float] = (0.0, 0.0)


def draw_params(settings: TrialSettings, rng: RngLike = None) -> TrialParams:
    """Draw μ (uniform), mass (log-uniform) and finger force (uniform) of one trial."""
    gen = as_rng(rng)
    mu = float(gen.uniform(*settings.mu_range))
    log_mass = gen.uniform(np.log(settings.mass_range[0]), np.log(settings.mass_range[1]))
    return TrialParams(mu, float(np.exp(log_mass)), float(gen.uniform(*settings.force_range)))


def grasp_pool(obj: Any, T_world_obj: np.ndarray, settings: TrialSettings,
               rng: RngLike = None) -> tuple[GraspGroup, np.ndarray]:
    """Candidate grasps on one resting object from its coarse labels, world frame.

    Args:
        obj: a :class:`grasplab.objects.GraspObject` (``mesh``, ``center_of_mass``, ``object_id``).
        T_world_obj: (4, 4) the object's resting pose.
        settings: label setting and the approach cone.
        rng: draws the label's surface points.

    Returns:
        ``(grasps, label_mu)``: every non-colliding candidate approaching from above as a
        :class:`GraspGroup` (score column = the label μ, -1 if not force-closure) and its (M,)
        label μ.

    Raises:
        ValueError: no candidate approaches from above.
    """
    labels = label_object(obj.mesh, config=settings.labels, rng=rng,
                          center_of_mass=obj.center_of_mass)
    keep = ~labels.collision
    i, v, _, _ = np.nonzero(keep)
    offsets = labels.offsets[keep].astype(np.float64)
    views = approach_views(labels.grid_shape[1])
    R_obj = rotation_from_view(-views[v], offsets[:, 0])
    R = np.matmul(T_world_obj[:3, :3], R_obj)
    down = R[:, 2, 0] <= -np.cos(settings.max_down_angle)
    if not np.any(down):
        raise ValueError(f"object {obj.object_id}: no label candidate approaches from above")
    t = labels.points[i].astype(np.float64) @ T_world_obj[:3, :3].T + T_world_obj[:3, 3]
    mu = labels.scores[keep].astype(np.float64)
    rows = np.zeros((int(down.sum()), 17))
    rows[:, 0] = mu[down]
    rows[:, 1] = offsets[down, 2]
    rows[:, 2] = 0.02
    rows[:, 3] = offsets[down, 1]
    rows[:, 4:13] = R[down].reshape(-1, 9)
    rows[:, 13:16] = t[down]
    rows[:, 16] = obj.object_id
    return GraspGroup(rows), mu[down]


def _random_rotation(angle_std: float, gen: np.random.Generator) -> np.ndarray:
    axis = gen.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = gen.normal() * angle_std
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)


def draw_grasp(pool: GraspGroup, label_mu: np.ndarray, settings: TrialSettings,
               rng: RngLike = None) -> tuple[np.ndarray, bool]:
    """Draw one grasp: a score level uniformly, a candidate of it, then maybe a perturbation.

    Args:
        pool: candidates (:func:`grasp_pool`).
        label_mu: (M,) their label μ (-1 = not force-closure).
        settings: perturbation settings.
        rng: the draws.

    Returns:
        ``(row, perturbed)``: the (17,) grasp row and whether it was perturbed.
    """
    gen = as_rng(rng)
    levels = np.unique(label_mu)
    level = levels[gen.integers(len(levels))]
    choices = np.flatnonzero(label_mu == level)
    row = pool.array[choices[gen.integers(len(choices))]].astype(np.float64).copy()
    perturbed = bool(gen.random() < settings.perturb_fraction)
    if perturbed:
        R = row[4:13].reshape(3, 3)
        row[4:13] = (_random_rotation(settings.perturb_rotation, gen) @ R).ravel()
        row[13:16] += gen.normal(size=3) * settings.perturb_translation
    return row, perturbed


def set_object_mass(world: World, object_id: int, mass: float, nominal_mass: float,
                    nominal_inertia: np.ndarray) -> None:
    """Give an object ``mass`` kg, scaling its inertia by ``mass / nominal_mass``."""
    body = world.body_id(object_id)
    diag = np.linalg.eigvalsh(np.asarray(nominal_inertia, dtype=np.float64)) * (mass / nominal_mass)
    world.p.changeDynamics(body, -1, mass=float(mass), localInertiaDiagonal=diag.tolist(),
                           physicsClientId=world.client)


def run_trial(world: World, hand: SimGripper, grasp: np.ndarray, params: TrialParams,
              sensor: GelSightSensor, config: ExecutionConfig | None = None,
              rng: RngLike = None) -> TrialRecord:
    """Execute one grasp with the given friction and finger force; Ta / Tb / Tc of both pads.

    Set the object's mass first (:func:`set_object_mass`). Phases the trial did not reach
    (an approach collision: all; empty jaws: Tc) are read from the pads where the trial ended.

    Args:
        world: the world with one object and ``hand``.
        hand: its gripper; its finger force is set to ``params.force``.
        grasp: (17,) grasp row, world frame.
        params: μ and finger force of the trial (mass is the caller's).
        sensor: the pads (their config sets the image size).
        config: trial settings.
        rng: pixel noise.

    Returns:
        :class:`TrialRecord` whose ``success`` is the physics outcome.
    """
    gen = as_rng(rng)
    hand.config = replace(hand.config, finger_force=float(params.force))
    set_grasp_friction(world, hand, params.mu)
    trial = capture_grasp(world, hand, np.asarray(grasp, dtype=np.float64), sensor, config, gen)
    images = dict(trial.images)
    last = None
    for phase in PHASES:
        if phase not in images:
            last = sensor.render(world, hand, gen) if last is None else last
            images[phase] = last
    stacked = np.stack([np.stack([to_uint8(img) for img in images[phase]]) for phase in PHASES])
    outcome = trial.outcome
    closed = trial.readings.get("closed", ())
    touched = sum(r.depth > 0 for r in closed)
    forces = (float(closed[0].normal_force), float(closed[1].normal_force)) if closed else (0.0, 0.0)
    return TrialRecord(stacked, bool(outcome.success), OUTCOME_REASONS.index(outcome.reason),
                       np.asarray(grasp, dtype=np.float64), float(outcome.object_rotation),
                       int(touched), forces)


def place_object(world: World, obj: Any, yaw: float, floor_z: float) -> np.ndarray:
    """Drop ``obj`` upright at ``yaw`` onto the floor at ``floor_z``, settle; its rest pose."""
    R = rotation_z(float(yaw))
    low = float((np.asarray(obj.mesh.vertices) @ R.T)[:, 2].min())
    world.add_object(obj, make_transform(R, np.array([0.0, 0.0, floor_z + 0.003 - low])))
    world.settle(max_steps=1200)
    return world.object_pose(obj.object_id)



def _attempt(world: World, hand: SimGripper, saved: Any, pool: tuple[GraspGroup, np.ndarray],
             sensor: GelSightSensor, settings: TrialSettings, params: TrialParams,
             gen: np.random.Generator) -> tuple[TrialRecord, TrialParams, float, bool, int]:
    """One trial with redraws (module docstring), each from the saved world state."""
    record, label_mu, perturbed, attempts = None, -1.0, False, 0
    for attempts in range(1, settings.max_attempts + 1):  # noqa: B007
        saved.restore()
        row, perturbed = draw_grasp(pool[0], pool[1], settings, gen)
        label_mu = float(row[0])
        record = run_trial(world, hand, row, params, sensor, settings.execution, gen)
        missed = OUTCOME_REASONS[record.reason] in ("collision_on_approach", "empty")
        needed = 2 if settings.require_both_pads else 1 if settings.require_imprint else 0
        if not missed and record.pads_touched >= needed:
            break
    assert record is not None
    return record, params, label_mu, perturbed, attempts


def object_trials(obj: Any, seeds: list[int], settings: TrialSettings,
                  object_seed: int) -> dict[str, np.ndarray]:
    """Run ``len(seeds)`` trials on one object in its own world; the shard arrays.

    The object is placed at a yaw drawn from ``object_seed`` (which also draws the label
    points), settled once, and every attempt starts from that saved state. Trial ``k`` draws
    everything from ``default_rng(seeds[k])``.

    Args:
        obj: a :class:`grasplab.objects.GraspObject`.
        seeds: one seed per trial.
        settings: how trials are drawn.
        object_seed: seed of the object's yaw and its label points.

    Returns:
        The arrays of the dataset's shard format (without ``trial``), ``n = len(seeds)``.

    Raises:
        ValueError: the object is lower than ``settings.min_object_height`` at rest, or no
            label candidate approaches it from above.
    """
    from grasplab.scenes import TRAY_FLOOR_Z

    obj_gen = np.random.default_rng(object_seed)
    sensor = GelSightSensor(settings.sensor_config())
    rows: list[tuple[TrialRecord, TrialParams, float, bool, int]] = []
    with World() as world:
        world.add_table_and_tray()
        T_rest = place_object(world, obj, obj_gen.uniform(-np.pi, np.pi), TRAY_FLOOR_Z)
        height = float(np.ptp(np.asarray(obj.mesh.vertices) @ T_rest[2, :3]))
        if height < settings.min_object_height:
            raise ValueError(f"object {obj.object_id} is {1000 * height:.0f} mm high at rest, "
                             f"below min_object_height {1000 * settings.min_object_height:.0f} mm")
        pool = grasp_pool(obj, T_rest, settings, obj_gen)
        hand = SimGripper(world)
        with world.saved_state() as saved:
            for seed in seeds:
                gen = np.random.default_rng(seed)
                params = draw_params(settings, gen)
                set_object_mass(world, obj.object_id, params.mass, obj.mass, obj.inertia)
                rows.append(_attempt(world, hand, saved, pool, sensor, settings, params, gen))
    com = T_rest[:3, :3] @ np.asarray(obj.center_of_mass, dtype=np.float64) + T_rest[:3, 3]
    names = PARAM_NAMES_V2 if settings.version >= 2 else PARAM_NAMES
    return _stack(rows, obj.object_id, seeds, names, com)


def _stack(rows: list[tuple[TrialRecord, TrialParams, float, bool, int]], object_id: int,
           seeds: list[int], names: tuple[str, ...] = PARAM_NAMES,
           com_world: np.ndarray | None = None) -> dict[str, np.ndarray]:
    images = np.stack([r[0].images for r in rows]) if rows else np.zeros((0, 3, 2, 1, 1, 3), np.uint8)
    out = {key: np.ascontiguousarray(images[:, k]) for k, key in enumerate(("ta", "tb", "tc"))}
    out["success"] = np.array([r[0].success for r in rows], dtype=bool)
    out["reason"] = np.array([r[0].reason for r in rows], dtype=np.uint8)
    out["object_id"] = np.full(len(rows), int(object_id), dtype=np.int64)
    out["grasp"] = np.array([r[0].grasp for r in rows], dtype=np.float64).reshape(-1, 17)
    out["seed"] = np.array(seeds, dtype=np.int64)
    values = {"mu": [r[1].mu for r in rows], "mass": [r[1].mass for r in rows],
              "force": [r[1].force for r in rows], "label_mu": [r[2] for r in rows],
              "perturbed": [float(r[3]) for r in rows], "attempts": [float(r[4]) for r in rows],
              "object_rotation": [r[0].object_rotation for r in rows],
              "pads_touched": [float(r[0].pads_touched) for r in rows],
              "force_left": [r[0].pad_forces[0] for r in rows],
              "force_right": [r[0].pad_forces[1] for r in rows]}
    com = np.zeros((len(rows), 3))
    if com_world is not None and rows:
        R = out["grasp"][:, 4:13].reshape(-1, 3, 3)
        com = np.einsum("nji,nj->ni", R, np.asarray(com_world)[None] - out["grasp"][:, 13:16])
    values.update({f"com_{axis}": com[:, k].tolist() for k, axis in enumerate("xyz")})
    for name in names:
        out[f"param_{name}"] = np.array(values[name], dtype=np.float64)
    return out
