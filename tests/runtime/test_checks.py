"""Output paths, device names and weights files are checked with one clear error (issue 13)."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from grasplab.runtime.checks import (
    DATASET_KIND,
    check_output_dir,
    check_output_file,
    check_weights_file,
    folder_kind,
    parse_device,
)
from grasplab.runtime.runfiles import write_run_files


# ------------------------------------------------------------------------------ output paths
@dataclass(frozen=True)
class _Config:
    lr: float = 0.1


def test_output_file_in_new_folders_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "grasps.npy"
    assert check_output_file(target, "--out") == target
    assert not (tmp_path / "a").exists()  # nothing is created
    existing = tmp_path / "old.npy"
    existing.write_bytes(b"x")
    assert check_output_file(str(existing), "--out") == existing


def test_output_file_refuses_folders_and_paths_under_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--out .* is a folder; expected a file name"):
        check_output_file(tmp_path, "--out")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is a file, so nothing can be created under it"):
        check_output_file(blocker / "sub" / "g.npy", "--out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_paths_must_be_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            check_output_file(locked / "g.npy", "--out")
        with pytest.raises(ValueError, match="not writable"):
            check_output_dir(locked / "run", "--out")
    finally:
        locked.chmod(0o700)


def test_output_dir_refuses_files_and_paths_under_files(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is a file; expected a folder"):
        check_output_dir(blocker, "--out")
    with pytest.raises(ValueError, match="is a file, so nothing can be created"):
        check_output_dir(blocker / "run", "--out")


def test_output_dir_kind_from_meta_json(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_run_files(run, _Config(), seed=0, kind="train-pixel", argv=["grasplab"])
    assert folder_kind(run) == "train-pixel"
    assert check_output_dir(run, "--out", kind="train-pixel") == run  # resume the same kind
    assert check_output_dir(run, "--out") == run  # no kind asked: not checked
    with pytest.raises(ValueError, match=r"already holds a 'train-pixel' run folder, not 'bench'"):
        check_output_dir(run, "--out", kind="bench")
    with pytest.raises(ValueError, match="already holds a 'train-pixel' run folder"):
        check_output_dir(run, "--out", kind=DATASET_KIND)


def test_output_dir_recognises_datasets(tmp_path: Path) -> None:
    manifest = tmp_path / "d1"
    manifest.mkdir()
    (manifest / "grasplab_dataset.json").write_text("{}")
    graspnet = tmp_path / "d2"
    (graspnet / "scenes").mkdir(parents=True)
    (graspnet / "models").mkdir()
    for root in (manifest, graspnet):
        assert folder_kind(root) == DATASET_KIND
        assert check_output_dir(root, "--root", kind=DATASET_KIND) == root
        with pytest.raises(ValueError, match="already holds a dataset, not 'train-pixel'"):
            check_output_dir(root, "--out", kind="train-pixel")


def test_folder_kind_of_plain_missing_and_broken_folders(tmp_path: Path) -> None:
    assert folder_kind(tmp_path / "missing") is None
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine")
    assert folder_kind(plain) is None
    assert check_output_dir(plain, "--out", kind="train-pixel") == plain
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    assert folder_kind(broken) == "unknown"
    with pytest.raises(ValueError, match="'unknown' run folder"):
        check_output_dir(broken, "--out", kind="train-pixel")
    (broken / "meta.json").write_text(json.dumps(["a", "list"]))
    assert folder_kind(broken) == "unknown"


# ------------------------------------------------------------------------------ devices
@pytest.mark.parametrize(
    ("text", "expected"),
    [("cpu", "cpu"), ("CPU", "cpu"), ("cuda", "cuda"), (" cuda:0 ", "cuda:0"), ("cuda:07", "cuda:7")],
)
def test_parse_device_known_answers(text: str, expected: str) -> None:
    assert parse_device(text) == expected


@pytest.mark.parametrize("text", ["tpu9", "", "cuda:", "cuda:-1", "cuda:a", "cuda0", "mps", "cpu:1"])
def test_parse_device_bad_names(text: str) -> None:
    with pytest.raises(ValueError, match="device"):
        parse_device(text)


def test_parse_device_hints_gpu_and_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="'gpu' is spelled 'cuda'"):
        parse_device("gpu")
    with pytest.raises(ValueError, match="expected a string"):
        parse_device(0)  # type: ignore[arg-type]


def test_checks_do_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, grasplab.runtime.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------ weights
def _onnx_bytes() -> bytes:
    """A minimal ModelProto by hand: ir_version 8, producer name, graph, opset import."""
    graph = b"\x12\x01g"  # GraphProto.name = "g"
    opset = b"\x10\x11"  # OperatorSetIdProto.version = 17
    return (b"\x08\x08" + b"\x12\x04test" + b"\x3a" + bytes([len(graph)]) + graph
            + b"\x42" + bytes([len(opset)]) + opset)


def test_safetensors_and_onnx_are_recognised(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    st = tmp_path / "w.safetensors"
    save_file({"w": np.ones((2, 3), dtype=np.float32)}, str(st))
    assert check_weights_file(st) == "safetensors"
    onnx_file = tmp_path / "model.bin"  # recognised by content, not by name
    onnx_file.write_bytes(_onnx_bytes())
    assert check_weights_file(onnx_file) == "onnx"


def test_a_real_onnx_export_is_recognised(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert check_weights_file(path) == "onnx"


def test_pickles_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="is a pickle .* safetensors or ONNX"):
        check_weights_file(plain)
    torch = pytest.importorskip("torch")
    pt = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, pt)
    with pytest.raises(ValueError, match="is a pickle"):
        check_weights_file(pt)


def test_empty_missing_folder_and_garbage_weights(tmp_path: Path) -> None:
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"is empty \(0 bytes\)"):
        check_weights_file(empty)
    with pytest.raises(ValueError, match="does not exist"):
        check_weights_file(tmp_path / "none.safetensors")
    with pytest.raises(ValueError, match="is a folder"):
        check_weights_file(tmp_path)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"hello world, not weights at all")
    with pytest.raises(ValueError, match="neither safetensors nor ONNX"):
        check_weights_file(garbage)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(_onnx_bytes()[:-3])  # truncated inside the opset import
    with pytest.raises(ValueError, match="neither safetensors nor ONNX"):
        check_weights_file(cut)
    bad_header = tmp_path / "bad.safetensors"
    bad_header.write_bytes((20).to_bytes(8, "little") + b"{not json at all!!!}" + b"\0" * 8)
    with pytest.raises(ValueError, match="neither safetensors nor ONNX"):
        check_weights_file(bad_header)
