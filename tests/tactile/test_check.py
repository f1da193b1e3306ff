"""The tactile pre-lift check: a tiny supervised network's checkpoint accepts or rejects grasps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pybullet")

import torch  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.core import CameraIntrinsics  # noqa: E402
from grasplab.execution.attempt_log import REJECTED  # noqa: E402
from grasplab.execution.episode import BinpickScene, EpisodeConfig, run_clearance  # noqa: E402
from grasplab.execution.grasp_check import PreLiftCheck  # noqa: E402
from grasplab.execution.primitives import PrimitiveLibrary  # noqa: E402
from grasplab.models.registry import build_model  # noqa: E402
from grasplab.runtime.config import config_to_dict  # noqa: E402
from grasplab.scenes import ClutterConfig, generate_clutter, plgp_camera_pose  # noqa: E402
from grasplab.tactile import check as check_module  # noqa: E402
from grasplab.tactile.check import TactileCheck, load_tactile_check, predict_probability  # noqa: E402
from grasplab.training.checkpoints import save_checkpoint  # noqa: E402
from grasplab.training.tactile_config import (  # noqa: E402
    TactileModelConfig,
    TactilePretrainConfig,
    load_tactile_config,
)
from grasplab.training.tactile_tasks import tactile_net_spec  # noqa: E402

CONFIG = EpisodeConfig(CameraIntrinsics.from_fov(50.0, 96, 72), max_attempts_per_object=1)
runner = CliRunner()


def _tiny_config(method: str = "supervised") -> TactilePretrainConfig:
    smoke = load_tactile_config(Path(__file__).parents[2] / "configs/tactile/smoke.yaml")
    return TactilePretrainConfig(method=method, augment=smoke.augment,
                                 model=TactileModelConfig(width=4, num_stages=2, proj_dim=8,
                                                          proj_hidden=8))


def _checkpoint(path: Path, bias: float, method: str = "supervised") -> Path:
    """A tiny network whose classifier always answers ``sigmoid(bias)`` (weights zeroed)."""
    config = _tiny_config(method)
    torch.manual_seed(0)
    net = build_model("tactile", tactile_net_spec(config, 8))
    classifier = net.classifier
    if isinstance(classifier, torch.nn.Module):
        with torch.no_grad():
            for name, param in classifier.named_parameters():
                param.fill_(bias if name.endswith("bias") else 0.0)
    return save_checkpoint(path, net, config=config_to_dict(config))


@pytest.fixture(scope="module")
def scene_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object, np.ndarray]:
    library = PrimitiveLibrary.random(tmp_path_factory.mktemp("tcheck"), 4, rng=3, first_id=300)
    record = generate_clutter(library, library.ids(), 0, rng=5, config=ClutterConfig(num_objects=2))
    center = np.asarray(record.T_world_tray)[:3, 3]
    return library, record, plgp_camera_pose(5, center=center, height=0.7)


def test_probability_follows_the_classifier_and_checks_shapes(tmp_path: Path) -> None:
    check = load_tactile_check(_checkpoint(tmp_path / "yes.safetensors", 3.0))
    assert isinstance(check, PreLiftCheck) and check.threshold == 0.5
    ta = np.full((2, 12, 16, 3), 90, np.uint8)
    tb = ta.copy()
    tb[:, 4:8, 6:10] = 140
    p = predict_probability(check.model, check.config, ta, tb)
    assert p == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-6)
    with pytest.raises(ValueError, match="both pads"):
        predict_probability(check.model, check.config, ta[:1], tb[:1])
    with pytest.raises(RuntimeError, match="Ta and Tb"):
        check.predict()


def test_bad_weights_and_thresholds(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_tactile_check(tmp_path / "missing.safetensors")
    path = _checkpoint(tmp_path / "moco.safetensors", 0.0, method="autoencoder")
    with pytest.raises(ValueError, match="classifier"):
        load_tactile_check(path)
    good = _checkpoint(tmp_path / "good.safetensors", 0.0)
    with pytest.raises(ValueError, match="threshold"):
        load_tactile_check(good, threshold=1.5)


@pytest.mark.slow
def test_check_rejects_or_accepts_in_a_clearance_and_the_log_records_it(
        tmp_path: Path, scene_setup: tuple[object, object, np.ndarray]) -> None:
    from grasplab.detection.registry import build_detector

    library, record, T_world_cam = scene_setup
    runs = {}
    for name, bias in (("reject", -6.0), ("accept", 6.0), ("plain", None)):
        check = None if bias is None else load_tactile_check(
            _checkpoint(tmp_path / f"{name}.safetensors", bias), rng=0)
        oracle = build_detector("oracle", {"library": library, "seed": 0})
        with BinpickScene(library, record, CONFIG, T_world_cam) as scene:  # type: ignore[arg-type]
            runs[name] = run_clearance(scene, oracle, 0.6, detector_name="oracle", scene_index=0,
                                       check=check, max_rejections=2)
    plain, accepted, rejecting = runs["plain"], runs["accept"], runs["reject"]
    assert plain[0].reason == "success"  # the oracle's first grasp closes on an object
    assert not any(r.phase == REJECTED for r in accepted)
    # an always-accepting check changes no outcome; it only adds its predictions to the log
    assert [(r.reason, r.success) for r in accepted] == [(r.reason, r.success) for r in plain]
    assert accepted[0].prediction is not None and accepted[0].prediction > 0.99
    assert all(r.prediction is None for r in plain)
    # an always-rejecting check re-opens on the first two grasps, then lifts the third
    assert [r.phase for r in rejecting[:3]] == [REJECTED, REJECTED, "clearance"]
    assert all(r.prediction is not None and r.prediction < 0.01 for r in rejecting[:3])
    assert rejecting[0].rejected_outcome == "success"  # a false rejection, known from the replay


def test_cli_tactile_check_bad_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["bench", "binpick", "--detector", "random", "--objects", "2", "--scenes", "1",
            "--out", str(tmp_path), "--tactile-check"]
    result = runner.invoke(app, [*args, "--tactile-weights", str(tmp_path / "none.safetensors")])
    assert result.exit_code == 2 and "is not a file" in result.output
    monkeypatch.setattr(check_module, "shipped_tactile_weights", lambda: None)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--tactile-weights PATH" in result.output
    weights = _checkpoint(tmp_path / "w.safetensors", 0.0)
    result = runner.invoke(app, [*args, "--tactile-weights", str(weights),
                                 "--tactile-threshold", "2"])
    assert result.exit_code == 2 and "threshold" in result.output


@pytest.mark.slow
def test_cli_tactile_check_writes_both_runs(tmp_path: Path) -> None:
    import json

    from grasplab.execution.attempt_log import read_attempts_csv

    weights = _checkpoint(tmp_path / "w.safetensors", -6.0)
    result = runner.invoke(app, ["bench", "binpick", "--detector", "random", "--objects", "2",
                                 "--scenes", "1", "--mu", "0.6", "--top-k", "2", "--pool-size", "4",
                                 "--image-width", "64", "--image-height", "48", "--seed", "1",
                                 "--out", str(tmp_path), "--tactile-check",
                                 "--tactile-weights", str(weights)])
    assert result.exit_code == 0, result.output
    body = json.loads((tmp_path / "binpick_random_tactile.json").read_text())
    log = read_attempts_csv(tmp_path / "binpick_random_tactile.attempts.csv")
    assert body["check"]["rejected"] == sum(r.phase == REJECTED for r in log)
    assert body["check"]["threshold"] == 0.5
    assert (tmp_path / "binpick_random.json").is_file()
    table = (tmp_path / "binpick_random_tactile.md").read_text()
    assert "false-reject rate" in table
    assert body["check_by_mu"] == {"0.6": body["check"]}  # one μ: its row is the whole check
    assert "| 0.6 | " in table.split("| μ |")[1]


def test_tactile_check_needs_a_classifier() -> None:
    config = _tiny_config("autoencoder")
    net = build_model("tactile", tactile_net_spec(config, 8))
    with pytest.raises(ValueError, match="classifier"):
        TactileCheck(net, config)


def test_shipped_classifier_loads_and_predicts_a_probability() -> None:
    path = check_module.shipped_tactile_weights()
    if path is None:
        pytest.skip("this install ships no tactile classifier")
    check = load_tactile_check(path)
    assert check.config.data.pads == "both" and check.model.spec.in_channels == 6
    ta = np.full((2, 60, 80, 3), 90, np.uint8)
    p = predict_probability(check.model, check.config, ta, ta)
    assert 0.0 <= p <= 1.0
