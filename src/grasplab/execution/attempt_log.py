"""The per-attempt log of grasping episodes: one row per executed (or missing) grasp.

Like the per-attempt CSV of vgn's clutter-removal experiments, every grasp attempt of an episode
is one :class:`AttemptRecord`: which detector on which scene at which friction, the attempt's
index, the grasp (17 numbers, graspnetAPI row, world frame), the outcome, the objects left
and the time it took. Figures (success rate, percent cleared, AP) are computed from the log
(``grasplab.evaluation.binpick.summarize``), and the log is written beside every benchmark
result with :func:`write_attempts_csv` (read back with :func:`read_attempts_csv`, exactly).

Phases: ``"clearance"`` (render, detect, execute the best grasp, remove the lifted object,
repeat) and ``"top_k"`` (each of the best k grasps of the first frame executed from the reset
scene). A frame without any grasp is a row with an empty grasp and reason ``"no_grasp"``.
With a pre-lift check (:mod:`grasplab.execution.grasp_check`), a clearance grasp the check
rejected is a ``"rejected"`` row (re-opened, not lifted; ``rejected_outcome`` is what lifting
would have given), and every checked row carries the check's ``prediction``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "ATTEMPT_COLUMNS",
    "CHECK_COLUMNS",
    "GRASP_COLUMNS",
    "NO_GRASP",
    "PHASES",
    "REJECTED",
    "AttemptRecord",
    "read_attempts_csv",
    "write_attempts_csv",
]

#: The episode phases a row can belong to.
PHASES = ("clearance", "top_k", "catch", "rejected")  # catch: one dynamic episode (execution.dynamic)
#: Reason of a row whose frame gave no grasp.
NO_GRASP = "no_grasp"
#: Reason (and phase) of a grasp a pre-lift check rejected: re-opened, not lifted.
REJECTED = "rejected"
#: CSV names of the 17 grasp numbers (graspnetAPI row order, world frame).
GRASP_COLUMNS = ("score", "width", "height", "depth",
                 "r00", "r01", "r02", "r10", "r11", "r12", "r20", "r21", "r22",
                 "x", "y", "z", "grasp_object_id")
_HEAD = ("detector", "scene", "mu", "phase", "attempt", "success", "reason", "object_id",
         "objects_left", "num_objects", "seconds")
#: Columns of a pre-lift check (:mod:`grasplab.execution.grasp_check`), after the grasp.
CHECK_COLUMNS = ("prediction", "rejected_outcome")
#: All CSV columns, in order.
ATTEMPT_COLUMNS = _HEAD + GRASP_COLUMNS + CHECK_COLUMNS


@dataclass(frozen=True)
class AttemptRecord:
    """One grasp attempt of an episode.

    Attributes:
        detector: detector name.
        scene: scene index in the benchmark.
        mu: friction coefficient of the trial.
        phase: ``"clearance"`` or ``"top_k"``.
        attempt: 0-based index of the attempt in its (scene, μ, phase) run; for ``top_k`` the
            grasp's rank.
        success: an object was lifted and held.
        reason: the ``GraspOutcome.reason``, or ``"no_grasp"``.
        object_id: the object lifted (or last held), -1 for none.
        objects_left: objects in the world after the attempt (after the lifted one was
            removed and the scene settled).
        num_objects: objects in the scene when the run started.
        seconds: wall time of the attempt (clearance: render, detect and execute; top_k: the
            execution alone).
        grasp: the executed grasp, 17 numbers (graspnetAPI row, world frame); empty without one.
        prediction: the pre-lift check's predicted success probability (None: not checked).
        rejected_outcome: for a ``"rejected"`` row, the reason lifting would have ended with
            (replayed from the saved state); else empty.
    """

    detector: str
    scene: int
    mu: float
    phase: str
    attempt: int
    success: bool
    reason: str
    object_id: int
    objects_left: int
    num_objects: int
    seconds: float
    grasp: tuple[float, ...] = ()
    prediction: float | None = None
    rejected_outcome: str = ""

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"AttemptRecord.phase: expected one of {PHASES}, got {self.phase!r}")
        grasp = tuple(float(v) for v in self.grasp)
        if len(grasp) not in (0, 17):
            raise ValueError(f"AttemptRecord.grasp: expected 0 or 17 numbers, got {len(grasp)}")
        if not grasp and self.success:
            raise ValueError("AttemptRecord: a success needs the executed grasp")
        object.__setattr__(self, "grasp", grasp)

    @property
    def executed(self) -> bool:
        """Whether a grasp was executed (False for a frame without grasps)."""
        return len(self.grasp) == 17

    def grasp_array(self) -> np.ndarray:
        """(17,) float64 grasp row (ValueError without a grasp)."""
        if not self.executed:
            raise ValueError("this attempt has no grasp (no_grasp)")
        return np.array(self.grasp, dtype=np.float64)

    def to_row(self) -> dict[str, str]:
        """The CSV row: floats in ``repr`` form (they read back exactly)."""
        row = {"detector": self.detector, "scene": str(self.scene), "mu": repr(float(self.mu)),
               "phase": self.phase, "attempt": str(self.attempt), "success": str(int(self.success)),
               "reason": self.reason, "object_id": str(self.object_id),
               "objects_left": str(self.objects_left), "num_objects": str(self.num_objects),
               "seconds": repr(float(self.seconds))}
        values = [repr(v) for v in self.grasp] if self.executed else [""] * 17
        row.update(zip(GRASP_COLUMNS, values, strict=True))
        row["prediction"] = "" if self.prediction is None else repr(float(self.prediction))
        row["rejected_outcome"] = self.rejected_outcome
        return row

    @classmethod
    def from_row(cls, row: dict[str, str]) -> AttemptRecord:
        """Parse a CSV row written by :meth:`to_row` (ValueError on a malformed row)."""
        try:
            values = [row[c] for c in GRASP_COLUMNS]
            grasp = () if all(v == "" for v in values) else tuple(float(v) for v in values)
            text = row.get("prediction") or ""  # logs written before the check lack it
            return cls(row["detector"], int(row["scene"]), float(row["mu"]), row["phase"],
                       int(row["attempt"]), row["success"] == "1", row["reason"],
                       int(row["object_id"]), int(row["objects_left"]), int(row["num_objects"]),
                       float(row["seconds"]), grasp, float(text) if text else None,
                       row.get("rejected_outcome") or "")
        except (KeyError, TypeError) as exc:
            raise ValueError(f"attempt row: missing column {exc}") from exc


def write_attempts_csv(path: str | Path, records: Iterable[AttemptRecord]) -> Path:
    """Write records as CSV with a header of :data:`ATTEMPT_COLUMNS`; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ATTEMPT_COLUMNS))
        writer.writeheader()
        for record in records:
            writer.writerow(record.to_row())
    return out


def read_attempts_csv(path: str | Path) -> tuple[AttemptRecord, ...]:
    """Read a log written by :func:`write_attempts_csv`.

    Raises:
        ValueError: a header other than :data:`ATTEMPT_COLUMNS` (or those of logs written
            before :data:`CHECK_COLUMNS`) or a malformed row.
    """
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        header: Sequence[str] = reader.fieldnames or ()
        if tuple(header) not in (ATTEMPT_COLUMNS, _HEAD + GRASP_COLUMNS):
            raise ValueError(f"{path}: not an attempt log (columns {list(header)[:5]}...)")
        return tuple(AttemptRecord.from_row(row) for row in reader)
