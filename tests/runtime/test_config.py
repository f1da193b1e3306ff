"""Generic frozen-dataclass configs: YAML + overrides, strict keys and types, one-line errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grasplab.runtime.config import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    fill_new_defaults,
    load_config,
    save_config_yaml,
)


@dataclass(frozen=True)
class Inner:
    lr: float = 1e-3
    milestones: tuple[int, ...] = (70,)
    clip: float | None = None
    flag: bool = True


@dataclass(frozen=True)
class Outer:
    inner: Inner = field(default_factory=Inner)
    name: str = "x"
    seed: int = 0
    pair: tuple[int, float] = (1, 2.0)


def test_defaults_and_round_trip(tmp_path: Path) -> None:
    assert load_config(Outer, None) == Outer()
    cfg = load_config(Outer, None, ["inner.lr=1e-4", "inner.milestones=[3, 5]", "inner.clip=2", "seed=7"])
    assert cfg.inner == Inner(lr=1e-4, milestones=(3, 5), clip=2.0) and cfg.seed == 7
    assert isinstance(cfg.inner.clip, float)
    save_config_yaml(cfg, tmp_path / "c.yaml")
    assert load_config(Outer, tmp_path / "c.yaml") == cfg
    assert config_from_dict(Outer, config_to_dict(cfg)) == cfg
    assert config_to_dict(cfg)["inner"]["milestones"] == [3, 5]


def test_yaml_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  lr: 0.5\nname: y\n")
    cfg = load_config(Outer, path, ["name=z"])
    assert cfg.inner.lr == 0.5 and cfg.name == "z"


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("inner.nope=1", r"inner\.nope"),
        ("bogus=1", "bogus"),
        ("inner.lr=fast", r"inner\.lr"),
        ("inner.flag=1", r"inner\.flag"),
        ("seed=1.5", "seed"),
        ("inner.milestones=3", r"inner\.milestones"),
        ("pair=[1]", "pair"),
        ("name.x=1", "name"),
        ("noequals", "key=value"),
        ("inner=3", "inner"),
    ],
)
def test_bad_keys_and_values_name_the_key(override: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_config(Outer, None, [override])


def test_bad_yaml_override_is_one_line() -> None:
    with pytest.raises(ValueError) as info:
        load_config(Outer, None, ["inner.milestones=[1,oops"])
    message = str(info.value)
    assert "\n" not in message and "inner.milestones" in message and "invalid YAML" in message


def test_bad_yaml_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("inner:\n  lr: [1,\nname: x\n")
    with pytest.raises(ValueError) as info:
        load_config(Outer, path)
    assert "\n" not in str(info.value) and "bad.yaml" in str(info.value) and "line" in str(info.value)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping at the top level"):
        load_config(Outer, path)
    with pytest.raises(FileNotFoundError):
        load_config(Outer, tmp_path / "missing.yaml")


def test_apply_overrides_does_not_mutate() -> None:
    values = {"inner": {"lr": 0.1, "deep": {"a": 1}}}
    out = apply_overrides(values, ["inner.lr=0.2", "inner.deep.a=2"])
    assert values == {"inner": {"lr": 0.1, "deep": {"a": 1}}}
    assert out == {"inner": {"lr": 0.2, "deep": {"a": 2}}}


def test_not_a_dataclass() -> None:
    with pytest.raises(TypeError):
        config_from_dict(dict, {})  # type: ignore[type-var]
    with pytest.raises(TypeError):
        config_to_dict({"a": 1})


def test_override_through_a_value_is_refused() -> None:
    with pytest.raises(ValueError, match="not a section"):
        apply_overrides({"name": "x"}, ["name.x=1"])


def test_fill_new_defaults_adds_only_missing_fields_at_their_defaults() -> None:
    config = Outer(inner=Inner(lr=0.5, milestones=(1, 2)), name="y")
    now = config_to_dict(config)
    old = {"inner": {"lr": 0.5, "milestones": [1, 2]}, "name": "y"}  # written before clip / flag existed
    assert fill_new_defaults(old, config) == now
    assert fill_new_defaults({"name": "y"}, config)["inner"] == config_to_dict(Inner())  # a whole new section
    changed = {"inner": {"lr": 0.1, "milestones": [1, 2]}, "name": "y"}  # a value that differs stays
    assert fill_new_defaults(changed, config)["inner"]["lr"] == 0.1
    assert fill_new_defaults(now, config) == now and "extra" in fill_new_defaults({**now, "extra": 1}, config)
