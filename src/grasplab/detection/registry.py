"""One registry of detectors: build any detector by name with its options.

Every detector is registered once with a builder, a frozen dataclass of options and a one-line
description; the CLI (``grasplab detect --method``, ``grasplab bench binpick --detector``), the
demo and the benchmarks build detectors only through :func:`build_detector`::

    detector = build_detector("analytic", seed=0, max_grasps=50)
    detector = build_detector("pixel", PixelOptions(device="cpu", tray_workspace=True))

Built in: ``analytic`` (:class:`~grasplab.detection.AnalyticDetector`), ``pixel`` (the PLGP
pixel network, shipped weights by default), ``random`` (a lower reference), ``oracle`` (the
analytic labels of the bound scene, an upper reference), ``pixel-oracle`` (the pixel labels
of the bound scene decoded like network output) and ``gsnet`` (the learned 6-DoF graspness
network with AnyGrasp's post-processing, ``GSNetOptions``). Later stages add theirs with
:func:`register_detector`. Builders import their detector lazily, so importing this module needs
neither torch nor a simulator. ``tray_workspace=True`` wraps a detector in
:class:`~grasplab.detection.TrayWorkspace` (grasp only above the tray floor, as a user who knows
where the bin is would).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasplab.detection.gsnet_options import GSNetOptions, build_gsnet_detector
from grasplab.detection.protocol import Detector

__all__ = [
    "AnalyticOptions",
    "DetectorEntry",
    "GSNetOptions",
    "OracleOptions",
    "PixelOptions",
    "PixelOracleOptions",
    "RandomOptions",
    "available_detectors",
    "build_detector",
    "check_registration",
    "detector_entry",
    "register_detector",
    "resolve_options",
]


@dataclass(frozen=True)
class DetectorEntry:
    """One registered detector.

    Attributes:
        name: registry name (``--method`` / ``--detector`` value).
        builder: makes the detector from an instance of ``options_type``.
        options_type: frozen dataclass of the detector's options (all fields with defaults).
        doc: one line saying what the detector is.
        scene_aware: the detector needs ``bind(state)`` of a simulated scene (an oracle), so it
            cannot run on a real frame.
    """

    name: str
    builder: Callable[[Any], Detector]
    options_type: type
    doc: str
    scene_aware: bool = False


_REGISTRY: dict[str, DetectorEntry] = {}


def register_detector(name: str, builder: Callable[[Any], Detector], options_type: type,
                      doc: str, *, scene_aware: bool = False, replace: bool = False) -> None:
    """Register a detector under ``name``.

    Args:
        name: registry name (non-empty, no whitespace).
        builder: ``builder(options) -> Detector``.
        options_type: a dataclass whose fields all have defaults; ``build_detector(name)``
            builds with ``options_type()``.
        doc: one line describing the detector.
        scene_aware: it needs a simulated scene bound before each detection.
        replace: allow replacing an existing entry (else a ValueError).

    Raises:
        ValueError: a bad name, an options type that is not a dataclass, or a name taken.
    """
    check_registration("detector", name, options_type, taken=name in _REGISTRY and not replace)
    _REGISTRY[name] = DetectorEntry(name, builder, options_type, doc, scene_aware)


def check_registration(kind: str, name: str, options_type: type, *, taken: bool) -> None:
    """Check a registry entry of any kind (detector, tracker): a word, a dataclass, a free name.

    Raises:
        ValueError: naming the kind and what is wrong.
    """
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"{kind} name: expected a non-empty word, got {name!r}")
    if not (isinstance(options_type, type) and dataclasses.is_dataclass(options_type)):
        raise ValueError(f"{kind} {name!r}: options_type must be a dataclass, got {options_type!r}")
    if taken:
        raise ValueError(f"{kind} {name!r} is already registered")


def resolve_options(kind: str, name: str, options_type: type, options: Any,
                    overrides: Mapping[str, Any]) -> Any:
    """An ``options_type`` instance from an instance, a mapping or None, plus overrides.

    Raises:
        ValueError: options of another type or unknown option names (listing the known ones).
    """
    fields = [f.name for f in dataclasses.fields(options_type)]
    if options is None:
        values: dict[str, Any] = {}
    elif isinstance(options, options_type):
        values = {f: getattr(options, f) for f in fields}
    elif isinstance(options, Mapping):
        values = dict(options)
    else:
        raise ValueError(f"{kind} {name!r}: options must be {options_type.__name__}, a "
                         f"mapping or None, got {type(options).__name__}")
    values.update(overrides)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{kind} {name!r}: unknown option(s) {', '.join(unknown)}; "
                         f"expected some of {', '.join(fields)}")
    return options_type(**values)


def available_detectors(scene_aware: bool | None = None) -> tuple[str, ...]:
    """Registered detector names, sorted.

    Args:
        scene_aware: None for all; False for those that run on a real frame; True for those
            that need a simulated scene.
    """
    return tuple(sorted(n for n, e in _REGISTRY.items()
                        if scene_aware is None or e.scene_aware == scene_aware))


def detector_entry(name: str) -> DetectorEntry:
    """The registry entry of ``name`` (ValueError naming the known ones if unknown)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown detector {name!r}; expected one of {', '.join(available_detectors())}")
    return _REGISTRY[name]


def build_detector(name: str, options: Any = None, /, **overrides: Any) -> Detector:
    """Build the detector registered as ``name``.

    Args:
        name: a name from :func:`available_detectors`.
        options: an instance of the entry's options type, a mapping of its fields, or None
            (the defaults).
        **overrides: fields set on top of ``options``.

    Returns:
        The detector.

    Raises:
        ValueError: unknown name, options of another type, or unknown option names (the
            message lists the known ones).
    """
    entry = detector_entry(name)
    return entry.builder(resolve_options("detector", name, entry.options_type, options, overrides))


# --------------------------------------------------------------------------- built-in detectors
@dataclass(frozen=True)
class AnalyticOptions:
    """Options of ``analytic``.

    Attributes:
        seed: seed of the detector (an int seeds every call afresh: repeatable grasps).
        max_grasps: grasps returned (None: the config's).
        config: an ``AnalyticDetectorConfig`` (None: the default).
        tray_workspace: detect only above the tray floor (needs ``T_world_cam``).
    """

    seed: int = 0
    max_grasps: int | None = None
    config: Any = None
    tray_workspace: bool = False


@dataclass(frozen=True)
class PixelOptions:
    """Options of ``pixel``.

    Attributes:
        weights: checkpoint (``.safetensors``) or ``.onnx``; None: the shipped model.
        device: torch device ("cpu", "cuda").
        num_grasps: grasps returned (None: the config's).
        config: a ``PixelDetectorConfig`` (None: the default).
        model: a ``PixelGraspNet`` to run instead of loading weights (e.g. randomly initialised
            for latency measurements).
        tray_workspace: detect only above the tray floor (needs ``T_world_cam``).
    """

    weights: str | Path | None = None
    device: str = "cpu"
    num_grasps: int | None = None
    config: Any = None
    model: Any = None
    tray_workspace: bool = False


@dataclass(frozen=True)
class RandomOptions:
    """Options of ``random``.

    Attributes:
        seed: seed of the generator (consumed across calls).
        num_grasps: grasps per frame.
        tray_workspace: detect only above the tray floor (needs ``T_world_cam``).
    """

    seed: int = 0
    num_grasps: int = 50
    tray_workspace: bool = False


@dataclass(frozen=True)
class OracleOptions:
    """Options of ``oracle`` (a :class:`~grasplab.detection.SceneAwareDetector`).

    Attributes:
        library: loads objects by id (None: ``grasplab.objects.ObjectLibrary()``).
        seed: seed of label sampling and tie order.
        config: an ``OracleConfig`` (None: the default).
        label_root: dataset root with stored ``grasp_label`` files, or None.
    """

    library: Any = None
    seed: int = 0
    config: Any = None
    label_root: str | Path | None = None


@dataclass(frozen=True)
class PixelOracleOptions:
    """Options of ``pixel-oracle`` (a :class:`~grasplab.detection.SceneAwareDetector`).

    Attributes:
        library: loads objects by id (None: ``grasplab.objects.ObjectLibrary()``).
        config: a ``PixelOracleConfig`` (None: the default).
    """

    library: Any = None
    config: Any = None


def _in_tray(detector: Detector, tray_workspace: bool) -> Detector:
    if not tray_workspace:
        return detector
    from grasplab.detection.workspace import TrayWorkspace

    return TrayWorkspace(detector)


def _library(library: Any) -> Any:
    if library is not None:
        return library
    from grasplab.objects import ObjectLibrary

    return ObjectLibrary()


def _build_analytic(options: AnalyticOptions) -> Detector:
    from grasplab.detection.analytic import AnalyticDetector, AnalyticDetectorConfig

    config = options.config if options.config is not None else AnalyticDetectorConfig()
    if options.max_grasps is not None:
        config = dataclasses.replace(config, max_grasps=max(int(options.max_grasps), 1))
    return _in_tray(AnalyticDetector(config, rng=options.seed), options.tray_workspace)


def _build_pixel(options: PixelOptions) -> Detector:
    from grasplab.detection.pixel_detector import PixelDetector, PixelDetectorConfig

    config = options.config if options.config is not None else PixelDetectorConfig()
    if options.num_grasps is not None:
        config = dataclasses.replace(config, num_grasps=max(int(options.num_grasps), 1))
    if options.model is not None:
        detector = PixelDetector(device=options.device, config=config, model=options.model)
    else:
        from grasplab.detection.shipped import shipped_pixel_weights

        weights = options.weights if options.weights is not None else shipped_pixel_weights()
        if weights is None:
            raise ValueError("detector 'pixel' needs weights: no pixel model is shipped with "
                             "this install")
        if not Path(weights).is_file():
            raise ValueError(f"detector 'pixel': weights {weights}: no such file")
        detector = PixelDetector(weights, device=options.device, config=config)
    return _in_tray(detector, options.tray_workspace)


def _build_random(options: RandomOptions) -> Detector:
    from grasplab.detection.baselines import RandomDetector

    return _in_tray(RandomDetector(rng=options.seed, num_grasps=max(int(options.num_grasps), 1)),
                    options.tray_workspace)


def _build_oracle(options: OracleOptions) -> Detector:
    from grasplab.detection.baselines import OracleDetector

    return OracleDetector(_library(options.library), config=options.config, rng=options.seed,
                          label_root=options.label_root)


def _build_pixel_oracle(options: PixelOracleOptions) -> Detector:
    from grasplab.detection.pixel_oracle import PixelLabelOracle

    return PixelLabelOracle(_library(options.library), options.config)


register_detector("analytic", _build_analytic, AnalyticOptions,
                  "GPD-style sample-and-evaluate 6-DoF detector on the depth image (numpy only)")
register_detector("pixel", _build_pixel, PixelOptions,
                  "PLGP pixel-level network (shipped GG-CNN2 CPU variant unless weights are given)")
register_detector("gsnet", build_gsnet_detector, GSNetOptions,
                  "GSNet / AnyGrasp 6-DoF graspness network with AnyGrasp post-processing "
                  "(shipped weights unless weights are given)")
register_detector("random", _build_random, RandomOptions,
                  "random grasps at observed points, top-down-ish (a lower reference)")
register_detector("oracle", _build_oracle, OracleOptions,
                  "analytic label grasps of the bound simulated scene (an upper reference)",
                  scene_aware=True)
register_detector("pixel-oracle", _build_pixel_oracle, PixelOracleOptions,
                  "pixel labels of the bound simulated scene decoded like network output",
                  scene_aware=True)
