"""Generic frozen-dataclass configs: YAML presets plus ``--set key=value`` overrides, strictly checked.

A config is a (nested) frozen dataclass. A YAML preset mirrors its fields (sections are nested
mappings); overrides are ``dotted.key=value`` strings whose value is parsed with
``yaml.safe_load`` (``optim.lr=1e-4``, ``data.val_scenes=[3, 4]``, ``model.channels=null``).
Every key and value is checked against the dataclass fields: unknown keys and values of the
wrong type raise ValueError naming the key, and a YAML syntax error (in a file or an override)
raises ValueError with one line saying where.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Opt:
...     lr: float = 1e-3
...     steps: tuple[int, ...] = ()
>>> config_from_dict(Opt, apply_overrides({}, ["lr=0.5", "steps=[1, 2]"]))
Opt(lr=0.5, steps=(1, 2))
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "config_to_yaml",
    "fill_new_defaults",
    "load_config",
    "parse_yaml",
    "save_config_yaml",
]


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce_union(value: Any, tp: Any, key: str) -> Any:
    options = typing.get_args(tp)
    if value is None and type(None) in options:
        return None
    errors = []
    for option in (o for o in options if o is not type(None)):
        try:
            return _coerce(value, option, key)
        except ValueError as exc:
            errors.append(str(exc))
    raise ValueError(errors[0] if errors else f"{key}: invalid value {value!r}")


def _coerce_scalar(value: Any, tp: Any, key: str) -> Any:
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp in (int, str) and isinstance(value, tp) and not isinstance(value, bool):
        return value
    raise ValueError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (converting lists to tuples, ints to floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, tp, key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[]") for v in value)
        if len(args) != len(value):
            raise ValueError(f"{key}: expected {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ValueError(f"{key}: expected a mapping, got {value!r}")
        key_tp, value_tp = typing.get_args(tp) or (Any, Any)
        return {_coerce(k, key_tp, key): _coerce(v, value_tp, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"{key}: expected a mapping of {sorted(f.name for f in dataclasses.fields(tp))}")
        return _build(typing.cast(type, tp), value, f"{key}.")
    return _coerce_scalar(value, tp, key)


def _build(cls: type[T], values: Mapping[str, Any], prefix: str = "") -> T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {[prefix + k for k in unknown]}; "
            f"valid: {sorted(prefix + n for n in names)}"
        )
    kwargs = {name: _coerce(value, hints[name], prefix + name) for name, value in values.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field without a value
        raise ValueError(f"{prefix.rstrip('.') or cls.__name__}: {exc}") from exc


def config_from_dict(cls: type[T], values: Mapping[str, Any]) -> T:
    """Build the dataclass ``cls`` from nested dicts (strict; missing keys keep their defaults).

    Raises:
        ValueError: an unknown key or a value of the wrong type (the message names the key), or a
            value the dataclass's own checks reject.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if not isinstance(values, Mapping):
        raise ValueError(f"expected a mapping of {cls.__name__} fields, got {type(values).__name__}")
    return _build(cls, values)


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """Nested plain dict (tuples become lists) of a config dataclass, YAML/JSON-ready."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a dataclass instance, got {type(config).__name__}")
    return typing.cast(dict[str, Any], _plain(dataclasses.asdict(config)))


def _is_section(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def fill_new_defaults(stored: Mapping[str, Any], config: Any) -> dict[str, Any]:
    """``stored`` (a saved config dict) plus the fields of ``config``'s dataclasses it lacks, as defaults.

    A run written before a field was added to its config class (e.g. a model family with a default)
    then compares equal to the same run's config today; nested sections are filled the same way.
    """
    out = dict(stored)
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        if spec.name not in out:
            if spec.default is not dataclasses.MISSING:
                out[spec.name] = _plain(spec.default)
            elif spec.default_factory is not dataclasses.MISSING:
                default = spec.default_factory()
                out[spec.name] = config_to_dict(default) if _is_section(default) else _plain(default)
        elif _is_section(value) and isinstance(out[spec.name], Mapping):
            out[spec.name] = fill_new_defaults(out[spec.name], value)
    return out


def parse_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` whose errors are one-line ValueErrors naming ``where`` (and the line)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ValueError(f"{where}: invalid YAML{at}: {problem}") from None


def _copy_nested(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy_nested(v) if isinstance(v, Mapping) else v for k, v in values.items()}


def apply_overrides(values: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of nested ``values`` with ``key.sub=value`` overrides (values via safe_load).

    Raises:
        ValueError: an override without ``=``, a key through a non-section, or a value that is
            not valid YAML (one line naming the override).
    """
    out = _copy_nested(values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r}: expected key=value, e.g. optim.lr=1e-4")
        parts = key.strip().split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = parse_yaml(raw, f"override {item!r}")
    return out


def load_config(cls: type[T], path: Path | str | None, overrides: Sequence[str] = ()) -> T:
    """Read a YAML preset (or the defaults when ``path`` is None) and apply ``--set`` overrides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: invalid YAML, a top level that is not a mapping, an unknown key or a bad value.
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config not found: {path}")
        loaded = parse_yaml(path.read_text(), str(path)) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        values = loaded
    return config_from_dict(cls, apply_overrides(values, overrides))


def config_to_yaml(config: Any) -> str:
    """The resolved config as YAML text (field order kept)."""
    return str(yaml.safe_dump(config_to_dict(config), sort_keys=False))


def save_config_yaml(config: Any, path: Path | str) -> None:
    """Write the resolved config as YAML (atomically: a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(config_to_yaml(config))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
