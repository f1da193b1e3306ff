"""Smoothing of a tracked target pose over time: none, One-Euro or a constant-velocity Kalman.

A pose ``(4, 4)`` is filtered as seven numbers: the translation (m) and the unit quaternion
``(w, x, y, z)``, its sign kept continuous with the previous one and renormalised after
filtering. Every filter takes samples with their time stamps (seconds, increasing) and returns
the filtered pose; :meth:`reset` forgets the history. AnyGrasp's SDK offers the same three
choices (One-Euro by default).

- :class:`OneEuroFilter` (Casiez et al., CHI 2012): a low-pass filter whose cut-off frequency
  grows with the signal's speed, ``f_c = min_cutoff + beta |dx/dt|``: little lag when moving,
  little jitter when still.
- :class:`KalmanFilter`: per number, a constant-velocity model with white-acceleration process
  noise ``process_noise`` ((units/s²)²·s) and measurement noise ``measurement_noise`` (units²).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from grasplab.core import check_transform, make_transform
from grasplab.core.rotations import matrix_to_quaternion, quaternion_to_matrix

__all__ = [
    "SMOOTHING_KINDS",
    "KalmanFilter",
    "NoFilter",
    "OneEuroFilter",
    "PoseFilter",
    "SmoothingConfig",
    "make_pose_filter",
    "pose_to_vector",
    "vector_to_pose",
]

#: Names accepted by :func:`make_pose_filter`.
SMOOTHING_KINDS = ("none", "one_euro", "kalman")


class PoseFilter(Protocol):
    """Anything that filters a stream of poses."""

    def __call__(self, time: float, pose: np.ndarray) -> np.ndarray:
        """Add a sample at ``time`` (s); returns the (4, 4) filtered pose."""
        ...

    def reset(self) -> None:
        """Forget the history."""
        ...


def pose_to_vector(pose: ArrayLike, previous: np.ndarray | None = None) -> np.ndarray:
    """(7,) translation + quaternion (wxyz) of a pose, the quaternion's sign nearest ``previous``."""
    T = check_transform(pose, "pose")
    q = matrix_to_quaternion(T[:3, :3][None])[0]
    if previous is not None and float(np.dot(q, previous[3:])) < 0:
        q = -q
    return np.concatenate([T[:3, 3], q])


def vector_to_pose(vector: np.ndarray) -> np.ndarray:
    """(4, 4) pose of a (7,) translation + quaternion (renormalised)."""
    q = vector[3:] / max(float(np.linalg.norm(vector[3:])), 1e-12)
    return make_transform(quaternion_to_matrix(q[None])[0], vector[:3])


class _VectorPoseFilter:
    """Shared pose <-> vector handling; subclasses filter the (7,) vectors."""

    def __init__(self) -> None:
        self._last_time: float | None = None
        self._last_raw: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the history."""
        self._last_time, self._last_raw = None, None
        self._reset_state()

    def _reset_state(self) -> None:  # pragma: no cover - overridden
        pass

    def __call__(self, time: float, pose: np.ndarray) -> np.ndarray:
        """Add a sample at ``time`` (s); returns the (4, 4) filtered pose.

        Raises:
            ValueError: a time that does not increase, or a non-rigid pose.
        """
        t = float(time)
        if not np.isfinite(t) or (self._last_time is not None and t <= self._last_time):
            raise ValueError(f"time: expected finite, increasing stamps, got {t} after "
                             f"{self._last_time}")
        x = pose_to_vector(pose, self._last_raw)
        dt = None if self._last_time is None else t - self._last_time
        self._last_time, self._last_raw = t, x
        return vector_to_pose(self._filter(x, dt))

    def _filter(self, x: np.ndarray, dt: float | None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class NoFilter(_VectorPoseFilter):
    """The identity: returns each pose as given (after the same rigid-pose check)."""

    def __call__(self, time: float, pose: np.ndarray) -> np.ndarray:
        """Return ``pose`` (a copy) after checking the time stamp and the pose."""
        super().__call__(time, pose)
        return check_transform(pose, "pose").copy()

    def _filter(self, x: np.ndarray, dt: float | None) -> np.ndarray:
        return x


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / dt))


class OneEuroFilter(_VectorPoseFilter):
    """The One-Euro filter on the 7 pose numbers (module docstring).

    Args:
        min_cutoff: cut-off frequency at rest (Hz), > 0; lower smooths more.
        beta: speed coefficient (s/unit), >= 0; higher follows fast motion with less lag.
        d_cutoff: cut-off frequency of the derivative estimate (Hz), > 0.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0) -> None:
        super().__init__()
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"OneEuroFilter: need min_cutoff > 0, d_cutoff > 0, beta >= 0; got "
                             f"{min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self._x: np.ndarray | None = None
        self._dx = np.zeros(7)

    def _reset_state(self) -> None:
        self._x, self._dx = None, np.zeros(7)

    def _filter(self, x: np.ndarray, dt: float | None) -> np.ndarray:
        if self._x is None or dt is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x
        a_d = _alpha(self.d_cutoff, dt)
        self._dx = a_d * (x - self._x) / dt + (1 - a_d) * self._dx
        a = _alpha(self.min_cutoff + self.beta * np.abs(self._dx), dt)
        self._x = a * x + (1 - a) * self._x
        return self._x.copy()


class KalmanFilter(_VectorPoseFilter):
    """A constant-velocity Kalman filter per pose number (module docstring).

    Args:
        process_noise: white-acceleration spectral density q, > 0.
        measurement_noise: variance r of a measured number, > 0.
    """

    def __init__(self, process_noise: float = 1.0, measurement_noise: float = 1e-4) -> None:
        super().__init__()
        if process_noise <= 0 or measurement_noise <= 0:
            raise ValueError(f"KalmanFilter: need positive noises, got {process_noise}, "
                             f"{measurement_noise}")
        self.q, self.r = float(process_noise), float(measurement_noise)
        self._state: np.ndarray | None = None  # (7, 2) value, velocity
        self._cov = np.zeros((7, 2, 2))

    def _reset_state(self) -> None:
        self._state, self._cov = None, np.zeros((7, 2, 2))

    def _filter(self, x: np.ndarray, dt: float | None) -> np.ndarray:
        if self._state is None or dt is None:
            self._state = np.stack([x, np.zeros_like(x)], axis=1)
            self._cov = np.tile(np.diag([self.r, 1.0]), (7, 1, 1))
            return x
        F = np.array([[1.0, dt], [0.0, 1.0]])
        Q = self.q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
        state = self._state @ F.T
        cov = F @ self._cov @ F.T + Q
        gain = cov[:, :, 0] / (cov[:, 0, 0] + self.r)[:, None]  # (7, 2)
        state = state + gain * (x - state[:, 0])[:, None]
        cov = cov - gain[:, :, None] * cov[:, None, 0, :]
        self._state, self._cov = state, cov
        return np.asarray(state[:, 0].copy())


@dataclass(frozen=True)
class SmoothingConfig:
    """Which target-pose filter a tracker uses, and its settings.

    Attributes:
        kind: one of :data:`SMOOTHING_KINDS`.
        min_cutoff, beta, d_cutoff: One-Euro settings.
        process_noise, measurement_noise: Kalman settings.
    """

    kind: str = "one_euro"
    min_cutoff: float = 1.0
    beta: float = 0.5
    d_cutoff: float = 1.0
    process_noise: float = 1.0
    measurement_noise: float = 1e-4

    def __post_init__(self) -> None:
        if self.kind not in SMOOTHING_KINDS:
            raise ValueError(f"SmoothingConfig.kind: expected one of {SMOOTHING_KINDS}, "
                             f"got {self.kind!r}")


def make_pose_filter(config: SmoothingConfig | str = "one_euro") -> PoseFilter:
    """A new pose filter from a config or a kind name (defaults for the rest)."""
    cfg = SmoothingConfig(config) if isinstance(config, str) else config
    if cfg.kind == "none":
        return NoFilter()
    if cfg.kind == "one_euro":
        return OneEuroFilter(cfg.min_cutoff, cfg.beta, cfg.d_cutoff)
    return KalmanFilter(cfg.process_noise, cfg.measurement_noise)
