"""``grasplab track``: the frame folder, bad inputs (exit 2) and a short run with each tracker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from grasplab.cli.main import app
from grasplab.detection.frame_sequence import list_frame_files, read_frame_sequence
from grasplab.models.grasp_association import AssociationSpec
from grasplab.models.gsnet import GSNetSpec
from grasplab.models.registry import build_model
from grasplab.scenes.frame_files import FrameInputError
from grasplab.training.checkpoints import save_checkpoint

runner = CliRunner()
K_VALUES = {"fx": 60.0, "fy": 60.0, "cx": 32.0, "cy": 24.0, "width": 64, "height": 48}


def _depth(shape: tuple[int, int] = (48, 64), shift: int = 0) -> np.ndarray:
    depth = np.full(shape, 0.6, np.float32)
    depth[16:32, 20 + shift:36 + shift] = 0.55  # a box on the table
    return depth


def _frames(folder: Path, num: int = 3, sizes: list[tuple[int, int]] | None = None) -> Path:
    (folder / "depth").mkdir(parents=True)
    (folder / "rgb").mkdir()
    for k in range(num):
        shape = sizes[k] if sizes else (48, 64)
        depth_mm = (_depth(shape, 2 * k) * 1000).astype(np.uint16)
        Image.fromarray(depth_mm).save(folder / "depth" / f"{k:04d}.png")
        rgb = np.full((*shape, 3), 90, np.uint8)
        rgb[16:32, 20:36] = (200, 30, 30)
        Image.fromarray(rgb).save(folder / "rgb" / f"{k:04d}.png")
    return folder


def _intrinsics(tmp_path: Path) -> Path:
    path = tmp_path / "K.json"
    path.write_text(json.dumps(K_VALUES))
    return path


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["track", *map(str, args)])
    return result.exit_code, result.output


def test_frame_folder_layout(tmp_path: Path) -> None:
    frames = _frames(tmp_path / "f", 2)
    files = list_frame_files(frames)
    names = [(d.name, r.name if r else None) for d, r in files]
    assert names == [("0000.png", "0000.png"), ("0001.png", "0001.png")]
    observations = read_frame_sequence(frames, str(_intrinsics(tmp_path)))
    assert len(observations) == 2 and observations[0].rgb is not None
    np.testing.assert_allclose(observations[1].depth[20, 24], 0.55, atol=1e-3)  # mm -> m
    np.save(frames / "depth" / "0002.npy", _depth())  # .npy frames are metres by default
    assert len(read_frame_sequence(frames, str(_intrinsics(tmp_path)))) == 3


def test_track_empty_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty" / "depth").mkdir(parents=True)
    code, out = _run("--frames", tmp_path / "empty", "--intrinsics", _intrinsics(tmp_path),
                     "--out", tmp_path / "t.json", "--tracker", "nearest", "--gsnet", tmp_path / "x")
    assert code == 2 and "no .png or .npy frame" in out
    code, out = _run("--frames", tmp_path / "missing", "--intrinsics", _intrinsics(tmp_path),
                     "--out", tmp_path / "t.json")
    assert code == 2 and "no such folder" in out
    with pytest.raises(FrameInputError, match="no depth/ folder"):
        list_frame_files(tmp_path)


def test_track_frames_of_different_sizes_exit_2(tmp_path: Path) -> None:
    frames = _frames(tmp_path / "f", 2, sizes=[(48, 64), (40, 64)])
    code, out = _run("--frames", frames, "--intrinsics", _intrinsics(tmp_path), "--out", tmp_path / "t.json")
    assert code == 2 and "differs from the first frame" in out
    assert not (tmp_path / "t.json").exists()


def test_track_missing_intrinsics_file_exits_2(tmp_path: Path) -> None:
    frames = _frames(tmp_path / "f", 2)
    code, out = _run("--frames", frames, "--intrinsics", tmp_path / "nope.json", "--out", tmp_path / "t.json")
    assert code == 2 and "nope.json" in out


def test_track_bad_options_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("shipped_association_weights", "shipped_gsnet_weights"):  # an install without them
        monkeypatch.setattr(f"grasplab.detection.shipped.{name}", lambda: None)
    frames = _frames(tmp_path / "f", 2)
    k = _intrinsics(tmp_path)
    for extra, message in ((["--tracker", "magic"], "--tracker"), (["--smoothing", "median"], "--smoothing"),
                           (["--viz", str(tmp_path / "a.mp4")], ".gif"), (["--targets", "a,b"], "--targets"),
                           ([], "--weights"), (["--tracker", "nearest"], "--gsnet")):
        code, out = _run("--frames", frames, "--intrinsics", k, "--out", tmp_path / "t.json", *extra)
        assert code == 2 and message in out, (extra, out)


def test_track_runs_both_trackers_on_a_short_sequence(tmp_path: Path) -> None:
    frames = _frames(tmp_path / "f", 3)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        gsnet = build_model("gsnet", GSNetSpec(feature_dim=16, depth2d_channels=(8, 8, 16, 16), num_seeds=16,
                                               group_dim=16, num_views=30))
        spec = AssociationSpec(seed_dim=16, grasp_dim=16, hidden_dim=32, out_dim=32)
        head = build_model("association", spec)
    gsnet_path = save_checkpoint(tmp_path / "gsnet.safetensors", gsnet, config={"data": {"downsample": 1}})
    head_path = save_checkpoint(tmp_path / "assoc.safetensors", head,
                                config={"features": {"gsnet_weights": str(gsnet_path), "num_points": 512,
                                                     "downsample": 1}})
    k = _intrinsics(tmp_path)
    code, out = _run("--frames", frames, "--intrinsics", k, "--out", tmp_path / "learned.json",
                     "--weights", head_path, "--viz", tmp_path / "tracks.gif", "--targets", "0,1", "--raw")
    assert code == 0, out
    body = json.loads((tmp_path / "learned.json").read_text())
    assert len(body["frames"]) == 3
    first = body["frames"][0]
    assert len(first["grasps"]) == len(first["track_ids"]) == 16 and first["target_ids"] == [0, 1]
    assert first["track_ids"] == list(range(16))  # first frame: ids are rows
    with Image.open(tmp_path / "tracks.gif") as gif:
        assert getattr(gif, "n_frames", 1) == 3
    code, out = _run("--frames", frames, "--intrinsics", k, "--out", tmp_path / "nearest.json",
                     "--tracker", "nearest", "--gsnet", gsnet_path, "--smoothing", "kalman")
    assert code == 0, out
    assert len(json.loads((tmp_path / "nearest.json").read_text())["frames"]) == 3
    # by default the trackers follow the detector's post-processed grasps, not all 16 seeds
    code, out = _run("--frames", frames, "--intrinsics", k, "--out", tmp_path / "post.json",
                     "--weights", head_path)
    assert code == 0, out
    post = json.loads((tmp_path / "post.json").read_text())["frames"]
    assert len(post) == 3 and all(1 <= len(f["grasps"]) < 16 for f in post)  # NMS, collision check
