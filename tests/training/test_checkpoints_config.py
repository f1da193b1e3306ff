"""Checkpoints (safetensors + JSON header) and training configs (YAML, --set overrides)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import save_file  # noqa: E402

from grasplab.models import build_pixel_model  # noqa: E402
from grasplab.training import (  # noqa: E402
    CHECKPOINT_FORMAT_VERSION,
    PixelTrainConfig,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_checkpoint,
    load_optimizer_state,
    load_train_config,
    read_checkpoint_header,
    save_checkpoint,
    save_config_yaml,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pixel"


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_pixel_model("grconvnet", 4, num_angles=6, channels=8, num_residual=1)
    model.train()
    model(torch.randn(2, 4, 16, 16))  # move the batch-norm running statistics
    model.eval()
    path = save_checkpoint(tmp_path / "m.safetensors", model, config={"a": 1}, state={"epoch": 3})
    loaded = load_checkpoint(path)
    x = torch.randn(1, 4, 24, 32)
    with torch.no_grad():
        for a, b in zip(model(x), loaded.model(x), strict=True):
            assert torch.equal(a, b)
    assert loaded.config == {"a": 1} and loaded.state == {"epoch": 3}
    header = json.loads((tmp_path / "m.json").read_text())
    assert header["format_version"] == CHECKPOINT_FORMAT_VERSION
    assert header["model"] == {
        "name": "grconvnet",
        "in_channels": 4,
        "num_angles": 6,
        "channels": 8,
        "num_residual": 1,
    }
    assert read_checkpoint_header(path)["model"] == header["model"]


def test_optimizer_state_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_pixel_model("ggcnn2", 1, num_angles=4, channels=4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sum(o.sum() for o in model(torch.randn(1, 1, 16, 16))).backward()
    opt.step()
    save_checkpoint(tmp_path / "m.safetensors", model, state={"epoch": 0}, optimizer=opt)
    fresh = torch.optim.Adam(build_pixel_model("ggcnn2", 1, num_angles=4, channels=4).parameters(), lr=0.5)
    assert load_optimizer_state(fresh, tmp_path / "m.safetensors") == {"epoch": 0}
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"] == 0.01
    for index, values in a["state"].items():
        for name, value in values.items():
            torch.testing.assert_close(b["state"][index][name], value, rtol=0, atol=0)


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.safetensors")
    with pytest.raises(ValueError, match=".safetensors"):
        save_checkpoint(tmp_path / "m.pt", build_pixel_model("ggcnn2", 1))
    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"), {"format": '"something"'})
    with pytest.raises(ValueError, match="not a grasplab"):
        load_checkpoint(tmp_path / "other.safetensors")
    meta = {"format": '"grasplab-pixel-net"', "format_version": "99", "model": "{}"}
    save_file({"x": torch.zeros(1)}, str(tmp_path / "new.safetensors"), meta)
    with pytest.raises(ValueError, match="newer"):
        load_checkpoint(tmp_path / "new.safetensors")


def test_config_overrides_and_round_trip(tmp_path: Path) -> None:
    cfg = load_train_config(
        None,
        [
            "optim.lr=1e-4",
            "data.val_scenes=[3, 4]",
            "model.channels=8",
            "seed=5",
            "loss.kind=bce",
            "optim.lr_milestones=[]",
        ],
    )
    assert cfg.optim.lr == 1e-4 and cfg.data.val_scenes == (3, 4) and cfg.model.channels == 8
    assert cfg.seed == 5 and cfg.loss.kind == "bce" and cfg.optim.lr_milestones == ()
    save_config_yaml(cfg, tmp_path / "c.yaml")
    assert load_train_config(tmp_path / "c.yaml") == cfg
    assert config_from_dict(config_to_dict(cfg)) == cfg
    assert PixelTrainConfig().optim.lr_at(69) == pytest.approx(1e-3)
    assert PixelTrainConfig().optim.lr_at(70) == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lrr=1", "unknown config key"),
        ("nothing=1", "unknown config key"),
        ("optim.lr=abc", "optim.lr"),
        ("data.flip=3", "true or false"),
        ("optim.epochs=1.5", "optim.epochs"),
        ("optim.lr", "key=value"),
        ("data.input_mode=ir", "input_mode"),
        ("seed.x=1", "seed: expected int"),
    ],
)
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_train_config(None, [override])


def test_apply_overrides_does_not_mutate() -> None:
    values = {"optim": {"lr": 0.1}}
    out = apply_overrides(values, ["optim.lr=0.2"])
    assert values == {"optim": {"lr": 0.1}} and out == {"optim": {"lr": 0.2}}


def test_presets_load() -> None:
    presets = sorted(CONFIGS.glob("*.yaml"))
    names = {p.stem for p in presets}
    for model in ("ggcnn2", "grconvnet", "affga"):
        assert {f"{model}_depth", f"{model}_rgbd"} <= names
    assert {"affga_depth_no_focal", "affga_depth_no_enhance", "affga_depth_baseline"} <= names
    for path in presets:
        cfg = load_train_config(path)
        assert cfg.model.name in path.stem
    assert load_train_config(CONFIGS / "affga_depth_no_focal.yaml").loss.kind == "bce"
    assert not load_train_config(CONFIGS / "affga_depth_no_enhance.yaml").data.enhance
