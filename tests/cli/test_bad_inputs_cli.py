"""Bad-input battery of the ``grasplab`` commands (issue 13).

Each case runs one command line with a bad or hostile argument and asserts: a non-zero exit, no
traceback (the command ends with ``SystemExit``, never another exception) and one output line
that names the problem. Placeholders: ``{w}`` the session's folder of hostile inputs,
``{d}`` its generated dataset, ``{L}`` the labelled copy, ``{o}`` a fresh path in ``tmp_path``.
Almost every case fails before any heavy work, so the battery stays fast.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from grasplab.cli.main import app

runner = CliRunner()

# (command line, text that a line of the output must contain); ids are the first words.
SCENES = [
    ("scenes generate --out {o} --num-scenes 0", "--num-scenes"),
    ("scenes generate --out {o} --num-scenes -3", "--num-scenes"),
    ("scenes generate --out {o} --views 0", "--views"),
    ("scenes generate --out {o} --views 257", "256"),
    ("scenes generate --out {o} --workers 0", "--workers"),
    ("scenes generate --out {o} --workers -2", "--workers"),
    ("scenes generate --out {o} --objects-per-scene 0", "--objects-per-scene"),
    ("scenes generate --out {o} --first-scene -1", "--first-scene"),
    ("scenes generate --out {o} --split unseen", "split"),
    ("scenes generate --out {o} --camera zed", "zed"),
    ("scenes generate --out {o} --image-scale 0", "image_scale"),
    ("scenes generate --out {o} --image-scale -1", "image_scale"),
    ("scenes generate --out {o} --depth-noise loud", "loud"),
    ("scenes generate --out {o} --engine spark", "spark"),
    ("scenes generate --out {o} --num-scenes abc", "--num-scenes"),
    ("scenes generate --out {w}/a_file", "is a file"),
    ("scenes generate --out {w}/a_file/sub", "is a file"),
    ("scenes generate --out {w}/label_mesh", "label-mesh"),
    ("scenes generate --out {w}/train_run", "train-pixel"),
    ("scenes generate --out {d} --seed 2 --num-scenes 1 --views 2", "seed"),
    ("scenes generate --out {d} --seed 1 --num-scenes 1 --views 3", "views"),
    ("scenes generate", "--out"),
    ("scenes show {w}/nowhere --out {o}.png", "nowhere"),
    ("scenes show {d} --scene 7 --out {o}.png", "7"),
    ("scenes show {d} --frame 9 --out {o}.png", "9"),
    ("scenes show {d} --scene -1 --out {o}.png", "--scene"),
    ("scenes show {d} --camera kinect --out {o}.png", "kinect"),
    ("scenes show {d} --out {w}/a_file/view.png", "is a file"),
    ("scenes show {d} --out {w}", "is a folder"),
    ("scenes show {d} --out {o}.xyz", ".png"),
    ("scenes show {w}/a_file --out {o}.png", "a_file"),
]

LABEL = [
    ("label mesh {w}/nothing.obj --out {o}", "no such file"),
    ("label mesh {w}/truncated.stl --out {o}", "truncated"),
    ("label mesh {w}/truncated_ascii.stl --out {o}", "truncated_ascii"),
    ("label mesh {w}/image.png --out {o}", "image.png"),
    ("label mesh {w}/empty.obj --out {o}", "empty"),
    ("label mesh {w}/text.obj --out {o}", "text"),
    ("label mesh {w}/weights_dir --out {o}", "weights_dir"),
    ("label mesh {w}/box.stl --out {d}", "dataset"),
    ("label mesh {w}/box.stl --out {w}/train_run", "train-pixel"),
    ("label mesh {w}/box.stl --out {w}/a_file", "is a file"),
    ("label mesh {w}/box.stl --out {w}/a_file/x", "is a file"),
    ("label mesh {w}/box.stl --out {o} --object-id -1", "--object-id"),
    ("label mesh {w}/box.stl --out {o} --scale 0", "scale"),
    ("label mesh {w}/box.stl --out {o} --scale -1", "scale"),
    ("label mesh {w}/box.stl --out {o} --scale 1000", "box"),
    ("label mesh {w}/box.stl --out {o} --spacing 0", "spacing"),
    ("label mesh {w}/box.stl --out {o} --spacing -0.01", "spacing"),
    ("label mesh {w}/box.stl --out {o} --views 0", "views"),
    ("label mesh {w}/box.stl --out {o} --angles 0", "angles"),
    ("label mesh {w}/box.stl --out {o} --gripper-max-width 0", "width"),
    ("label mesh {w}/box.stl --out {o} --gripper-max-width -0.1", "width"),
    ("label mesh {w}/box.stl --out {o} --max-points 0", "max_points"),
    ("label mesh {w}/box.stl --out {o} --collision-spacing 0", "spacing"),
    ("label objects --root {w}/nowhere", "nowhere"),
    ("label objects --root {w}/a_file", "a_file"),
    ("label objects --root {d} --ids 999", "999"),
    ("label objects --root {d} --ids=-1", "--ids"),
    ("label objects --root {d} --ids a,b", "--ids"),
    ("label objects --root {d} --ids ,", "--ids"),
    ("label objects --root {d} --workers 0", "--workers"),
    ("label objects --root {d} --workers -1", "--workers"),
    ("label objects --root {d} --engine spark", "spark"),
    ("label objects --root {d} --views 0", "views"),
    ("label objects --root {d} --angles -2", "angles"),
    ("label objects --root {d} --spacing 0", "spacing"),
    ("label objects --root {d} --gripper-max-width 0", "width"),
    ("label objects --root {L}", "num_views"),
    ("label objects --root {L} --views 8 --angles 2 --spacing 0.02 --max-points 20 --seed 3",
     "seed"),
    ("label objects --root {L} --views 8 --angles 3 --spacing 0.02 --max-points 20", "--overwrite"),
    ("label scenes --root {w}/nowhere", "nowhere"),
    ("label scenes --root {d} --camera kinect", "kinect"),
    ("label scenes --root {d} --ids 5", "0005"),
    ("label scenes --root {d} --ids=-1", "--ids"),
    ("label scenes --root {d} --ids x", "--ids"),
    ("label scenes --root {d} --workers 0", "--workers"),
    ("label scenes --root {d} --point-spacing 0", "spacing"),
    ("label scenes --root {d} --gripper-max-width -1", "width"),
    ("label pixels --root {w}/nowhere", "nowhere"),
    ("label pixels --root {d} --camera kinect", "kinect"),
    ("label pixels --root {d} --ids 3", "0003"),
    ("label pixels --root {d} --ids=-4", "--ids"),
    ("label pixels --root {d} --workers 0", "--workers"),
    ("label pixels --root {d} --stride 0", "stride"),
    ("label pixels --root {d} --angles 0", "angles"),
    ("label pixels --root {d} --gripper-max-width 0", "width"),
]

TRAIN = [
    ("train pixel --out {o} --config {w}/broken.yaml", "invalid YAML"),
    ("train pixel --out {o} --config {w}/list.yaml", "list.yaml"),
    ("train pixel --out {o} --config {w}/unknown_key.yaml", "no_such_section"),
    ("train pixel --out {o} --config {w}/nothing.yaml", "nothing.yaml"),
    ("train pixel --out {o} --set x=[1,oops", "x=[1,oops"),
    ("train pixel --out {o} --set optim.lr", "optim.lr"),
    ("train pixel --out {o} --set optim.nope=1", "nope"),
    ("train pixel --out {o} --set optim.lr=fast", "optim.lr"),
    ("train pixel --out {o} --device tpu9", "tpu9"),
    ("train pixel --out {o} --device gpu", "cuda"),
    ("train pixel --out {o} --device cpu:1", "cpu"),
    ("train pixel --out {o} --device cuda:99", "cuda"),
    ("train pixel --out {w}/label_mesh", "label-mesh"),
    ("train pixel --out {d}", "dataset"),
    ("train pixel --out {w}/a_file", "is a file"),
    ("train pixel --out {w}/a_file/run", "is a file"),
    ("train export-onnx --weights {w}/garbage.safetensors --out {o}.onnx", "neither"),
    ("train export-onnx --weights {w}/pickle.pt --out {o}.onnx", "pickle"),
    ("train export-onnx --weights {w}/empty.safetensors --out {o}.onnx", "empty"),
    ("train export-onnx --weights {w}/garbage.onnx --out {o}.onnx", "garbage.onnx"),
    ("train export-onnx --weights {w}/weights_dir --out {o}.onnx", "folder"),
    ("train export-onnx --weights {w}/nothing.safetensors --out {o}.onnx", "does not exist"),
    ("train export-onnx --weights {w}/garbage.safetensors --out {o}.onnx --size 0", "--size"),
    ("train export-onnx --weights {w}/garbage.safetensors --out {o}.onnx --size -5", "--size"),
    ("train export-onnx --weights {w}/garbage.safetensors --out {o}.pt", ".onnx"),
    ("train export-onnx --weights {w}/garbage.safetensors --out {w}/a_file/m.onnx", "is a file"),
]

BENCH = [
    ("bench binpick --out {o} --image-width 1 --image-height 1", "--image-width"),
    ("bench binpick --out {o} --image-height 0", "--image-height"),
    ("bench binpick --out {o} --pool-size -5", "--pool-size"),
    ("bench binpick --out {o} --pool-size 100000", "--pool-size"),
    ("bench binpick --out {o} --scenes 0", "--scenes"),
    ("bench binpick --out {o} --objects 0", "--objects"),
    ("bench binpick --out {o} --top-k 0", "--top-k"),
    ("bench binpick --out {o} --mu abc", "--mu"),
    ("bench binpick --out {o} --mu ,", "--mu"),
    ("bench binpick --out {o} --detector nope", "nope"),
    ("bench binpick --out {o} --split unseen", "unseen"),
    ("bench binpick --out {o} --device tpu9", "tpu9"),
    ("bench binpick --out {o} --detector pixel --weights {w}/pickle.pt", "pickle"),
    ("bench binpick --out {o} --detector pixel --weights {w}/garbage.onnx", "garbage.onnx"),
    ("bench binpick --out {o} --detector pixel --weights {w}/empty.safetensors", "empty"),
    ("bench binpick --out {o} --detector oracle --weights {w}/garbage.safetensors", "--weights"),
    ("bench binpick --out {w}/a_file", "is a file"),
    ("bench binpick --out {w}/a_file/res", "is a file"),
    ("bench labels --out {o} --objects 0", "--objects"),
    ("bench labels --out {o} --objects 100000", "--objects"),
    ("bench labels --out {o} --per-bucket 0", "--per-bucket"),
    ("bench labels --out {o} --mu x", "--mu"),
    ("bench labels --out {w}/a_file", "is a file"),
    ("demo --out {w}/a_file", "is a file"),
    ("demo --out {w}/a_file/sub", "is a file"),
    ("demo --out {d}", "dataset"),
    ("demo --out {w}/train_run", "train-pixel"),
    ("demo --out {o} --num-objects 0", "--num-objects"),
    ("demo --out {o} --num-objects 99", "--num-objects"),
]

_DETECT = "detect --depth {w}/depth.png --intrinsics {w}/K.json --out {o}.npy"
DETECT = [
    (_DETECT + " --json {w}/a_file/g.json", "is a file"),
    (_DETECT + " --viz {w}/a_file/v.png", "is a file"),
    (_DETECT + " --export-3d {w}/a_file/s.ply", "is a file"),
    (_DETECT + " --viz {w}", "--viz"),
    ("detect --depth {w}/depth.png --intrinsics {w}/K.json --out {w}/a_file/g.npy", "is a file"),
    ("detect --depth {w}/depth.png --intrinsics {w}/K.json --out {w}/g.txt", ".npy"),
    (_DETECT + " --device tpu9", "tpu9"),
    (_DETECT + " --method pixel --weights {w}/pickle.pt", "pickle"),
    (_DETECT + " --method pixel --weights {w}/garbage.onnx", "garbage.onnx"),
    (_DETECT + " --method pixel --weights {w}/garbage.safetensors", "neither"),
    (_DETECT + " --method pixel --weights {w}/empty.safetensors", "empty"),
    (_DETECT + " --method pixel --weights {w}/nothing.safetensors", "nothing"),
    (_DETECT + " --method nope", "nope"),
    (_DETECT + " --rgb {w}/depth.png", "--rgb"),
    (_DETECT + " --rgb {w}/rgb_small.png", "rgb"),
    (_DETECT + " --rgb {w}/nothing.png", "nothing"),
    (_DETECT + " --depth-scale 0", "--depth-scale"),
    (_DETECT + " --depth-scale -1000", "--depth-scale"),
    (_DETECT + " --top-k 0", "top-k"),
    ("detect --depth {w}/depth.png --intrinsics {w}/K_huge.json --out {o}.npy", "fx"),
    ("detect --depth {w}/depth.png --intrinsics {w}/K_bad.json --out {o}.npy", "K_bad"),
    ("detect --depth {w}/depth.png --intrinsics 1,2,3 --out {o}.npy", "1,2,3"),
    ("detect --depth {w}/depth.png --intrinsics 0,60,31.5,23.5 --out {o}.npy", "fx"),
    ("detect --depth {w}/depth.png --intrinsics 60,60,500,23.5 --out {o}.npy", "cx"),
    ("detect --depth {w}/depth.png --intrinsics zed --out {o}.npy", "zed"),
    (_DETECT + " --depth-scale 1", "depth"),
    ("detect --depth {w}/depth_mm.npy --intrinsics {w}/K.json --out {o}.npy --depth-scale 1",
     "depth"),
    ("detect --depth {w}/nothing.png --intrinsics {w}/K.json --out {o}.npy", "nothing"),
    ("detect --depth {w}/a_file --intrinsics {w}/K.json --out {o}.npy", "a_file"),
    ("detect --depth {w}/grasps_empty.npy --intrinsics {w}/K.json --out {o}.npy", "grasps_empty"),
    ("detect --depth {w}/rgb.png --intrinsics {w}/K.json --out {o}.npy", "rgb.png"),
]

OTHER = [
    ("info {w}/grasps_empty.npy", "empty"),
    ("info {w}/grasps_text.npy", "grasps_text"),
    ("info {w}/grasps_wrong_shape.npy", "grasps_wrong_shape"),
    ("info {w}/nothing.npy", "nothing"),
    ("eval ap --root {d} --dump {w}/dump_empty --scenes 0 --out {o}.json", "dump"),
    ("eval ap --root {d} --dump {w}/dump_garbage --scenes 0 --out {o}.json", "dump"),
    ("eval ap --root {d} --dump {w}/dump_empty --scenes 0 --split seen --out {o}.json", "--split"),
    ("eval ap --root {d} --dump {w}/dump_empty --scenes x --out {o}.json", "scene"),
    ("eval ap --root {d} --dump {w}/dump_empty --scenes 0 --workers 0 --out {o}.json", "workers"),
    ("eval ap --root {w}/nowhere --dump {w}/dump_empty --scenes 0 --out {o}.json", "nowhere"),
    ("eval ap --root {d} --dump {w}/dump_empty --scenes 0 --out {w}/a_file/ap.json", "is a file"),
    ("eval ap --root {d} --dump {w}/dump_empty --scenes 0 --out {w}", "is a folder"),
    ("nosuchcommand", "nosuchcommand"),
]

SEEDS = [
    ("scenes generate --out {o} --seed -1", "--seed"),
    ("scenes generate --out {d} --seed 1 --num-scenes 1 --views 2 --objects-per-scene 2 "
     "--image-scale 0.3", "config.image_scale"),
    ("label mesh {w}/box.stl --out {o} --seed -1", "--seed"),
    ("label objects --root {d} --seed -1", "--seed"),
    ("label scenes --root {d} --seed -3", "--seed"),
    ("bench binpick --out {o} --seed -1", "--seed"),
    ("bench labels --out {o} --seed -1", "--seed"),
    ("demo --out {o} --seed -1", "--seed"),
    (_DETECT + " --seed -1", "--seed"),
]

CASES = SCENES + LABEL + TRAIN + BENCH + DETECT + OTHER + SEEDS


def _case_id(case: tuple[str, str]) -> str:
    words = [w for w in case[0].split() if not w.startswith("{")][:3]
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(words))[:40]


def run_cli(args: list[str]) -> Result:
    """Invoke ``grasplab`` in this process."""
    return runner.invoke(app, args)


def assert_clear_error(result: Result, names: str) -> None:
    """Non-zero exit, no traceback, and one output line naming the problem (``names``)."""
    text = result.output
    assert result.exit_code != 0, f"exit 0 for a bad input:\n{text}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crashed with {type(result.exception).__name__}: {result.exception}\n{text}")
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if names.lower() in line.lower()]
    assert lines, f"no output line names {names!r}:\n{text}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_is_one_clear_error(case: tuple[str, str], world: Path, labelled: Path,
                                      tmp_path: Path) -> None:
    template, names = case
    line = template.format(w=world, d=world / "data", L=labelled, o=tmp_path / "out")
    assert_clear_error(run_cli(line.split()), names)


def test_the_battery_is_large() -> None:
    assert len(CASES) >= 150


def test_failed_check_writes_nothing(world: Path, tmp_path: Path) -> None:
    """A command refused by a check leaves no output behind (checks run before any work)."""
    out = tmp_path / "run"
    assert_clear_error(run_cli(f"train pixel --out {out} --device tpu9".split()), "tpu9")
    assert not out.exists()
    target = tmp_path / "grasps.npy"
    args = (f"detect --depth {world}/depth.png --intrinsics {world}/K.json --out {target} "
            f"--viz {world}/a_file/v.png").split()
    assert_clear_error(run_cli(args), "is a file")
    assert not target.exists()


def test_refused_rerun_keeps_the_labels(labelled: Path) -> None:
    """A rerun with other settings refuses and leaves the labels of the first run untouched."""
    before = {p.name: p.read_bytes() for p in (labelled / "grasp_label").iterdir()}
    result = run_cli(["label", "objects", "--root", str(labelled), "--views", "30"])
    assert_clear_error(result, "num_views: 8 -> 30")
    after = {p.name: p.read_bytes() for p in (labelled / "grasp_label").iterdir()}
    assert before == after


def test_detect_warns_on_implausible_but_legal_intrinsics(world: Path, tmp_path: Path) -> None:
    """A focal length that is legal but unusual is a warning, the command still succeeds."""
    args = ["detect", "--depth", str(world / "depth.png"), "--intrinsics", "30,30,31.5,23.5",
            "--out", str(tmp_path / "g.npy")]
    result = run_cli(args)
    assert result.exit_code == 0, result.output
    assert any(line.startswith("warning:") and "fx" in line for line in result.output.splitlines())


def test_eval_ap_warns_about_millimetre_and_huge_width_dumps(world: Path, tmp_path: Path) -> None:
    """Legal but implausible dumps are scored, and the output and the report say what is odd."""
    import json

    import numpy as np

    folder = tmp_path / "dump" / "scene_0000" / "realsense"
    folder.mkdir(parents=True)
    grasps = np.zeros((3, 17))
    grasps[:, 0], grasps[:, 1], grasps[:, 2], grasps[:, 3] = 0.5, 0.05, 0.02, 0.02
    grasps[:, 4:13] = np.eye(3).ravel()
    grasps[:, 13:16] = [0.0, 0.0, 500.0]  # millimetres
    np.save(folder / "0000.npy", grasps)
    grasps[:, 13:16], grasps[:, 1] = [0.0, 0.0, 0.5], 5.0  # metres, but 5 m wide
    np.save(folder / "0001.npy", grasps)
    out = tmp_path / "ap.json"
    result = run_cli(["eval", "ap", "--root", str(world / "data"), "--dump", str(tmp_path / "dump"),
                      "--scenes", "0", "--out", str(out), "--backend", "exact"])
    assert result.exit_code == 0, result.output
    assert "implausible" in result.output and "Traceback" not in result.output
    issues = " ".join(json.loads(out.read_text())["issues"])
    assert "millimetres" in issues and "width above" in issues
