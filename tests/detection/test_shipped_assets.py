"""Shipped weights: finding them, and mapping a recorded asset path to this install's copy."""

from __future__ import annotations

from pathlib import Path

from grasplab.detection.shipped import installed_asset, shipped_association_weights, shipped_gsnet_weights


def test_installed_asset_maps_a_recorded_assets_path_to_this_install() -> None:
    gsnet = shipped_gsnet_weights()
    assert gsnet is not None and gsnet.parent.name == "gsnet"
    recorded = f"/some/other/machine/src/grasplab/assets/gsnet/{gsnet.name}"
    assert installed_asset(recorded) == gsnet
    assert installed_asset(Path("src/grasplab/assets/gsnet") / gsnet.name) == gsnet


def test_installed_asset_is_none_for_other_paths(tmp_path: Path) -> None:
    assert installed_asset(tmp_path / "gsnet_cpu.safetensors") is None
    assert installed_asset("assets/gsnet/not_shipped.safetensors") is None
    assert installed_asset("x.safetensors") is None


def test_shipped_association_head_is_an_association_checkpoint() -> None:
    head = shipped_association_weights()
    if head is None:  # an install without the head: the learned tracker then asks for weights
        return
    from grasplab.training.checkpoints import load_checkpoint

    checkpoint = load_checkpoint(head)
    assert checkpoint.family == "association"
    assert installed_asset(checkpoint.config["features"]["gsnet_weights"]) == shipped_gsnet_weights()
