"""Checkpoints with family + spec: round trips, the legacy (v1) pixel format, partial loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from grasplab.models import build_pixel_model  # noqa: E402
from grasplab.training.checkpoints import (  # noqa: E402
    CHECKPOINT_FORMAT,
    CHECKPOINT_FORMAT_VERSION,
    LEGACY_PIXEL_FORMAT,
    load_checkpoint,
    load_model,
    load_weights_into,
    read_checkpoint_header,
    save_checkpoint,
)

ASSETS = Path(__file__).resolve().parents[2] / "src" / "grasplab" / "assets" / "pixel"


def test_header_has_family_spec_and_version(tmp_path: Path) -> None:
    model = build_pixel_model("ggcnn2", 1, 6, channels=4)
    path = save_checkpoint(tmp_path / "m.safetensors", model, config={"a": 1}, state={"epoch": 0})
    header = read_checkpoint_header(path)
    assert (
        header["format"] == CHECKPOINT_FORMAT and header["format_version"] == CHECKPOINT_FORMAT_VERSION == 2
    )
    assert header["family"] == "pixel" and header["model"] == model.spec
    assert json.loads(path.with_suffix(".json").read_text())["family"] == "pixel"
    loaded = load_model(path)
    assert not loaded.training
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


def test_shipped_legacy_checkpoint_loads_bit_identically() -> None:
    path = next(ASSETS.glob("ggcnn2_cpu_depth_plgp*.safetensors"))
    with safe_open(str(path), framework="pt") as handle:
        assert json.loads(handle.metadata()["format"]) == LEGACY_PIXEL_FORMAT
        raw = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    ckpt = load_checkpoint(path)
    assert ckpt.family == "pixel" and ckpt.model.spec["name"] == "ggcnn2"
    state = ckpt.model.state_dict()
    assert set(state) == set(raw) and all(torch.equal(state[k], raw[k]) for k in raw)


def test_legacy_header_of_a_v1_file(tmp_path: Path) -> None:
    model = build_pixel_model("ggcnn2", 1, 4, channels=4)
    meta = {"format": json.dumps(LEGACY_PIXEL_FORMAT), "format_version": "1", "model": json.dumps(model.spec)}
    path = tmp_path / "old.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), meta)
    header = read_checkpoint_header(path)
    assert header["family"] == "pixel" and header["config"] == {} and header["state"] == {}
    assert load_checkpoint(path).model.num_angles == 4


def test_bad_files(tmp_path: Path) -> None:
    model = build_pixel_model("ggcnn2", 1, 4, channels=4)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "none.safetensors")
    save_file({"x": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"), {"format": '"other"'})
    with pytest.raises(ValueError, match="not a grasplab model checkpoint"):
        load_model(tmp_path / "foreign.safetensors")
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    newer = {
        "format": json.dumps(CHECKPOINT_FORMAT),
        "format_version": "99",
        "family": '"pixel"',
        "model": json.dumps(model.spec),
    }
    save_file(tensors, str(tmp_path / "newer.safetensors"), newer)
    with pytest.raises(ValueError, match="newer"):
        load_model(tmp_path / "newer.safetensors")
    wrong = dict(newer, format_version="2", model=json.dumps({**model.spec, "channels": 8}))
    save_file(tensors, str(tmp_path / "wrong.safetensors"), wrong)
    with pytest.raises(ValueError, match="do not fit"):
        load_model(tmp_path / "wrong.safetensors")


class _Bigger(torch.nn.Module):
    """A pixel network as the backbone of a larger model with an extra head."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = build_pixel_model("ggcnn2", 1, 4, channels=4)
        self.extra = torch.nn.Linear(3, 2)


def test_partial_load_of_a_backbone(tmp_path: Path) -> None:
    small = build_pixel_model("ggcnn2", 1, 4, channels=4)
    path = save_checkpoint(tmp_path / "small.safetensors", small)
    big = _Bigger()
    extra_before = big.extra.weight.detach().clone()
    report = load_weights_into(big, path, prefix="encoder.")
    assert set(report.loaded) == {f"encoder.{k}" for k in small.state_dict()}
    assert set(report.new) == {"extra.weight", "extra.bias"} and report.unexpected == ()
    assert torch.equal(big.encoder.point_head.weight, small.point_head.weight)
    assert torch.equal(big.extra.weight, extra_before)
    with pytest.raises(ValueError, match="strict"):
        load_weights_into(_Bigger(), path, prefix="encoder.", strict=True)
    with pytest.raises(ValueError, match="no checkpoint key"):
        load_weights_into(_Bigger(), path, prefix="nothing.")


def test_partial_load_reports_unexpected_and_refuses_shape_mismatch(tmp_path: Path) -> None:
    small = build_pixel_model("ggcnn2", 1, 4, channels=4)
    path = save_checkpoint(tmp_path / "small.safetensors", small)
    fewer = build_pixel_model("ggcnn2", 1, 4, channels=4)
    del fewer.width_head
    report = load_weights_into(fewer, path)
    assert set(report.unexpected) == {"width_head.weight", "width_head.bias"} and report.new == ()
    assert load_model(path, strict=False).spec == small.spec
    with pytest.raises(ValueError, match="shape"):
        load_weights_into(build_pixel_model("ggcnn2", 1, 6, channels=4), path)
