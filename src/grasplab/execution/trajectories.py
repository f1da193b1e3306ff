"""Smooth planar object trajectories on the table: conveyor, turntable, random ("fish"), crossing.

A :class:`PlanarTrajectory` gives an object's planar pose ``(x, y, yaw)`` at time ``t``::

    q(t) = start + velocity t + Σ_k a_k (sin(ω_k t + φ_k) - sin φ_k)

then, for a turntable, the whole pose turned about ``spin_center`` by ``spin_rate t``. Its
``T_world_obj(t)`` puts the object's resting pose (``T_rest``, on the table) at that planar pose.
:func:`make_trajectories` draws one trajectory per object for a motion kind (seeded ``rng``):

- ``conveyor``: a row of objects moving along +x at ``speed``;
- ``turntable``: objects on a circle of ``radius`` turning at ``speed / radius`` rad/s;
- ``random``: smooth sums of sinusoids (mean speed about ``speed``) inside ``area``;
- ``crossing``: two objects (meant to be identical) on straight lines crossing at the centre,
  the second ``gap`` metres behind the first (AnyGrasp's two similar fish).

World frame: table top at z = 0, +z up; metres, radians, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grasplab.core import as_rng, make_transform
from grasplab.core.rotations import rotation_z
from grasplab.core.validation import RngLike

__all__ = ["MOTION_KINDS", "PlanarTrajectory", "make_trajectories"]

#: Motion kinds of :func:`make_trajectories`.
MOTION_KINDS = ("conveyor", "turntable", "random", "crossing")


@dataclass(frozen=True, eq=False)
class PlanarTrajectory:
    """A smooth planar trajectory (module docstring).

    Attributes:
        start: (3,) x (m), y (m), yaw (rad) at t = 0 (before the spin).
        velocity: (3,) constant rates (m/s, m/s, rad/s).
        amplitudes: (K, 3) sinusoid amplitudes.
        frequencies: (K,) angular frequencies (rad/s).
        phases: (K, 3) phases (rad).
        spin_center: (2,) centre of the turntable spin (m).
        spin_rate: turntable rate (rad/s), 0 for none.
    """

    start: np.ndarray
    velocity: np.ndarray
    amplitudes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    frequencies: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phases: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    spin_center: np.ndarray = field(default_factory=lambda: np.zeros(2))
    spin_rate: float = 0.0

    def __post_init__(self) -> None:
        for name, shape in (("start", (3,)), ("velocity", (3,)), ("spin_center", (2,))):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != shape or not np.all(np.isfinite(value)):
                raise ValueError(f"PlanarTrajectory.{name}: expected finite {shape}, got {value}")
            object.__setattr__(self, name, value)
        amp = np.asarray(self.amplitudes, dtype=np.float64).reshape(-1, 3)
        freq = np.asarray(self.frequencies, dtype=np.float64).reshape(-1)
        ph = np.asarray(self.phases, dtype=np.float64).reshape(-1, 3)
        if not len(amp) == len(freq) == len(ph):
            raise ValueError("PlanarTrajectory: amplitudes, frequencies and phases disagree")
        for name, value in (("amplitudes", amp), ("frequencies", freq), ("phases", ph)):
            object.__setattr__(self, name, value)

    def planar(self, t: float) -> np.ndarray:
        """(3,) ``(x, y, yaw)`` at time ``t`` (s)."""
        q = self.start + self.velocity * t
        if len(self.frequencies):
            waves = np.sin(self.frequencies[:, None] * t + self.phases) - np.sin(self.phases)
            q = q + (self.amplitudes * waves).sum(axis=0)
        if self.spin_rate:
            angle = self.spin_rate * t
            xy = rotation_z(angle)[:2, :2] @ (q[:2] - self.spin_center) + self.spin_center
            q = np.array([xy[0], xy[1], q[2] + angle])
        return np.asarray(q)

    def pose(self, t: float, T_rest: np.ndarray) -> np.ndarray:
        """(4, 4) ``T_world_obj`` at ``t``: ``T_rest`` (resting at the origin) moved there."""
        x, y, yaw = self.planar(t)
        return make_transform(rotation_z(yaw), np.array([x, y, 0.0])) @ T_rest

    def speed(self, t: float, dt: float = 1e-3) -> float:
        """Linear speed (m/s) at ``t`` (central difference)."""
        return float(np.linalg.norm(self.planar(t + dt)[:2] - self.planar(t - dt)[:2]) / (2 * dt))


def _conveyor(num: int, speed: float, gen: np.random.Generator) -> list[PlanarTrajectory]:
    spacing = 0.14
    return [PlanarTrajectory(np.array([-0.12 - k * spacing, gen.uniform(-0.04, 0.04),
                                       gen.uniform(-np.pi, np.pi)]),
                             np.array([speed, 0.0, 0.0])) for k in range(num)]


def _turntable(num: int, speed: float, radius: float,
               gen: np.random.Generator) -> list[PlanarTrajectory]:
    offset = gen.uniform(0, 2 * np.pi)
    out = []
    for k in range(num):
        angle = offset + 2 * np.pi * k / num
        start = np.array([radius * np.cos(angle), radius * np.sin(angle), gen.uniform(-np.pi, np.pi)])
        out.append(PlanarTrajectory(start, np.zeros(3), spin_rate=speed / radius))
    return out


def _random(num: int, speed: float, area: float, gen: np.random.Generator) -> list[PlanarTrajectory]:
    out = []
    for _ in range(num):
        freqs = gen.uniform(0.4, 1.2, size=3)
        directions = gen.normal(size=(3, 2))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        amp_xy = directions * (speed / (freqs * np.sqrt(3)))[:, None]
        amp_xy *= min(1.0, area / (2 * max(float(np.abs(amp_xy).sum(axis=0).max()), 1e-9)))
        amps = np.concatenate([amp_xy, gen.uniform(-0.4, 0.4, size=(3, 1))], axis=1)
        start = np.array([*gen.uniform(-area / 2, area / 2, size=2), gen.uniform(-np.pi, np.pi)])
        out.append(PlanarTrajectory(start, np.zeros(3), amps, freqs,
                                    gen.uniform(0, 2 * np.pi, size=(3, 3))))
    return out


def _crossing(speed: float, gap: float, gen: np.random.Generator) -> list[PlanarTrajectory]:
    heading = gen.uniform(0, 2 * np.pi)
    out = []
    lead = 1.5  # seconds before the first object reaches the centre
    for k, turn in enumerate((np.pi / 4, -np.pi / 4)):
        direction = np.array([np.cos(heading + turn), np.sin(heading + turn)])
        start_xy = -direction * (speed * lead + k * gap)
        out.append(PlanarTrajectory(np.array([*start_xy, heading + turn]),
                                    np.array([*(direction * speed), 0.0])))
    return out


def make_trajectories(kind: str, num_objects: int, speed: float, rng: RngLike = None, *,
                      radius: float = 0.12, area: float = 0.2,
                      gap: float = 0.09) -> list[PlanarTrajectory]:
    """One trajectory per object for a motion kind (module docstring).

    Args:
        kind: one of :data:`MOTION_KINDS`.
        num_objects: objects (``crossing`` needs exactly 2).
        speed: linear speed (m/s), > 0.
        rng: seed or generator.
        radius: turntable radius (m).
        area: side of the square the random trajectories stay near (m).
        gap: how far (m) the second crossing object trails the first.

    Raises:
        ValueError: an unknown kind, a bad count or a non-positive speed / size.
    """
    if kind not in MOTION_KINDS:
        raise ValueError(f"motion kind: expected one of {MOTION_KINDS}, got {kind!r}")
    if num_objects < 1 or (kind == "crossing" and num_objects != 2):
        raise ValueError(f"num_objects: expected >= 1 (exactly 2 for crossing), got {num_objects}")
    for name, value in (("speed", speed), ("radius", radius), ("area", area), ("gap", gap)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name}: expected > 0, got {value}")
    gen = as_rng(rng)
    if kind == "conveyor":
        return _conveyor(num_objects, speed, gen)
    if kind == "turntable":
        return _turntable(num_objects, speed, radius, gen)
    if kind == "random":
        return _random(num_objects, speed, area, gen)
    return _crossing(speed, gap, gen)
