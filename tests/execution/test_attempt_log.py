"""The per-attempt log: row checks and an exact CSV round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grasplab.execution.attempt_log import (
    ATTEMPT_COLUMNS,
    AttemptRecord,
    read_attempts_csv,
    write_attempts_csv,
)

GRASP = tuple(np.random.default_rng(0).random(17).tolist())


def _row(**kw: object) -> AttemptRecord:
    base: dict[str, object] = dict(detector="oracle", scene=0, mu=0.2, phase="clearance", attempt=0,
                                   success=True, reason="success", object_id=3, objects_left=4,
                                   num_objects=5, seconds=0.125, grasp=GRASP)
    base.update(kw)
    return AttemptRecord(**base)  # type: ignore[arg-type]


def test_csv_round_trip_is_exact(tmp_path: Path) -> None:
    rows = (_row(), _row(attempt=1, success=False, reason="no_grasp", object_id=-1, grasp=()),
            _row(phase="top_k", mu=1 / 3, seconds=1e-7, success=False, reason="slipped"))
    path = write_attempts_csv(tmp_path / "a" / "log.attempts.csv", rows)
    assert path.read_text().splitlines()[0] == ",".join(ATTEMPT_COLUMNS)
    assert read_attempts_csv(path) == rows
    assert rows[0].executed and not rows[1].executed
    np.testing.assert_array_equal(rows[0].grasp_array(), np.array(GRASP))


def test_bad_rows_and_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="phase"):
        _row(phase="dynamic")
    with pytest.raises(ValueError, match="17"):
        _row(grasp=(1.0, 2.0))
    with pytest.raises(ValueError, match="needs the executed grasp"):
        _row(grasp=())
    with pytest.raises(ValueError, match="no grasp"):
        _row(grasp=(), success=False).grasp_array()
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an attempt log"):
        read_attempts_csv(tmp_path / "x.csv")
