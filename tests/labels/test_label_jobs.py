"""Label jobs on the job runner: recorded failures retried on rerun, leftovers, byte-identical files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import trimesh

import grasplab.labels.dataset_labels as dataset_labels
from grasplab.labels import ObjectLabelConfig, object_labels_complete
from grasplab.labels.dataset_labels import ObjectLabelOutcome, label_dataset_objects
from grasplab.labels.label_io import atomic_savez
from grasplab.runtime.jobs import read_job_manifest

TINY = ObjectLabelConfig(spacing=0.01, num_views=12, num_angles=4, max_points=4)


def _write_boxes(root: Path, ids: tuple[int, ...] = (0, 4)) -> None:
    for object_id in ids:
        folder = root / "models" / f"{object_id:03d}"
        folder.mkdir(parents=True)
        trimesh.creation.box((0.03, 0.04, 0.05)).export(folder / "textured.obj")


def test_a_failing_object_is_recorded_and_retried_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_boxes(tmp_path)
    real = dataset_labels._label_one

    def flaky(root: Path, object_id: int, *args: object) -> ObjectLabelOutcome:
        if object_id == 4:
            raise MemoryError("out of memory in object 4")
        return real(root, object_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(dataset_labels, "_label_one", flaky)
    leftover = tmp_path / "grasp_label" / ".004_labels.npz.abc123.tmp"
    leftover.parent.mkdir()
    leftover.write_bytes(b"half a file of a killed run")
    seen: list[ObjectLabelOutcome] = []
    outcomes = label_dataset_objects(tmp_path, config=TINY, progress=seen.append)
    assert [o.status for o in outcomes] == ["labelled", "failed"] and len(seen) == 2
    assert outcomes[1].message == "MemoryError: out of memory in object 4"
    assert not leftover.exists()
    manifest = read_job_manifest(tmp_path, "object-labels")
    assert manifest is not None and manifest["failed"] == {"4": "MemoryError: out of memory in object 4"}
    assert manifest["fingerprint"]["config"] == TINY.to_dict()
    monkeypatch.setattr(dataset_labels, "_label_one", real)
    again = label_dataset_objects(tmp_path, config=TINY)
    assert [o.status for o in again] == ["skipped", "labelled"]
    assert object_labels_complete(tmp_path, 4)
    manifest = read_job_manifest(tmp_path, "object-labels")
    assert manifest is not None and manifest["failed"] == {} and manifest["state"] == "complete"


def test_atomic_savez_gives_the_same_bytes_at_another_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = {"b": np.arange(6.0).reshape(2, 3), "a": np.ones(4, dtype=bool)}
    first = atomic_savez(tmp_path / "first.npz", arrays).read_bytes()
    later = time.time() + 3 * 3600.0
    monkeypatch.setattr(time, "time", lambda: later)  # equal arrays, equal bytes at any time
    second = atomic_savez(tmp_path / "second.npz", arrays).read_bytes()
    assert first == second
    with np.load(tmp_path / "second.npz") as data:
        assert list(data.files) == ["b", "a"]
        np.testing.assert_array_equal(data["b"], arrays["b"])
        assert data["a"].dtype == bool and data["a"].all()
