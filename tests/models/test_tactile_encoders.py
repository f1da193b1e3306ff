"""The tactile encoder family: shapes, parts per spec, frozen momentum copy, registry round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from grasplab.models import build_model, model_family, model_spec  # noqa: E402
from grasplab.models.tactile_encoders import TactileNet, TactileNetSpec  # noqa: E402
from grasplab.training import load_checkpoint, save_checkpoint  # noqa: E402

SMALL = {"image_size": 32, "width": 4, "num_stages": 3, "proj_dim": 8, "proj_hidden": 16}


def _net(**extra: object) -> TactileNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_model("tactile", {**SMALL, **extra})
    assert isinstance(net, TactileNet)
    return net


def test_shapes_of_every_part() -> None:
    net = _net(momentum_encoder=True, queue_size=10, decoder=True, num_classes=1)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    assert net.features(x).shape == (5, 16)  # width * 2 ** (stages - 1)
    assert net.spec.feature_dim == 16
    z = net.embed(x)
    assert z.shape == (5, 8) and torch.allclose(z.norm(dim=1), torch.ones(5))
    assert net.embed_key(x).shape == (5, 8) and not net.embed_key(x).requires_grad
    recon = net.reconstruct(x)
    assert recon.shape == x.shape and recon.abs().max() <= 1
    assert net.classify(x).shape == (5, 1)
    assert net.queue.shape == (10, 8) and torch.allclose(net.queue.norm(dim=1), torch.ones(10))
    assert int(net.queue_ptr) == 0


def test_both_pads_take_six_channels() -> None:
    net = _net(in_channels=6)
    assert net.features(torch.zeros(2, 6, 32, 32)).shape == (2, 16)
    with pytest.raises(ValueError, match="expected input"):
        net.features(torch.zeros(2, 3, 32, 32))


def test_momentum_copy_starts_equal_and_is_frozen() -> None:
    net = _net(momentum_encoder=True)
    assert net.key_encoder is not None and net.key_head is not None
    for a, b in zip(net.encoder.parameters(), net.key_encoder.parameters(), strict=True):
        assert torch.equal(a, b) and a.requires_grad and not b.requires_grad
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(net.embed(x), net.embed_key(x))


def test_missing_parts_raise_clear_errors() -> None:
    net = _net(proj_dim=0)
    x = torch.zeros(1, 3, 32, 32)
    for method in (net.embed, net.embed_key, net.reconstruct, net.classify):
        with pytest.raises(ValueError, match="no "):
            method(x)
    assert not hasattr(net, "queue")


@pytest.mark.parametrize(
    "bad",
    [
        {"image_size": 30},  # not divisible by 2 ** stages
        {"width": 0},
        {"queue_size": -1},
        {"proj_dim": 0, "momentum_encoder": True},
        {"proj_dim": 0, "queue_size": 4},
    ],
)
def test_bad_specs(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TactileNetSpec(**{**SMALL, **bad})  # type: ignore[arg-type]


def test_checkpoint_round_trip_keeps_queue_and_key_encoder(tmp_path: Path) -> None:
    net = _net(momentum_encoder=True, queue_size=6)
    net.queue.mul_(-1)
    net.queue_ptr.fill_(4)
    assert model_family(net) == "tactile" and model_spec(net)["queue_size"] == 6
    path = save_checkpoint(tmp_path / "t.safetensors", net, config={"method": "moco"})
    loaded = load_checkpoint(path)
    assert loaded.family == "tactile"
    state = loaded.model.state_dict()
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key
    x = torch.rand(3, 3, 32, 32)
    assert torch.allclose(loaded.model.embed_key(x), net.embed_key(x))


def test_default_encoder_size() -> None:
    net = TactileNet(TactileNetSpec())
    params = sum(p.numel() for p in net.encoder.parameters())
    assert 0.3e6 < params < 0.5e6  # the documented 0.39 M
    assert net.features(torch.zeros(1, 3, 64, 64)).shape == (1, 256)
