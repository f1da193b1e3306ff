"""``grasplab bench binpick --tactile-check``: bin-picking with touch that saves grasps.

Called by :mod:`grasplab.cli.bench` when ``--tactile-check`` is given: the same scenes are
cleared without and with a tactile pre-lift check (:mod:`grasplab.evaluation.tactile_check`);
writes ``DIR/binpick_<detector>.json`` / ``.md`` / ``.attempts.csv`` (the plain run, as without
the flag), ``DIR/binpick_<detector>_tactile.json`` (both runs and the check's scores),
``DIR/binpick_<detector>_tactile.md`` and ``DIR/binpick_<detector>_tactile.attempts.csv`` (the
checked run's log, with each row's prediction and the rejected grasps).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["TACTILE_SUFFIXES", "load_check", "resolve_tactile_weights", "run_binpick_with_check",
           "work_units"]

#: Files ``--tactile-check`` writes besides the plain run's (stem ``binpick_<detector>``).
TACTILE_SUFFIXES = ("_tactile.json", "_tactile.md", "_tactile.attempts.csv")


def resolve_tactile_weights(weights: Path | None) -> Path:
    """``--tactile-weights``, or the shipped tactile classifier.

    Raises:
        ValueError: no such file, or none given and none shipped.
    """
    from grasplab.tactile.check import shipped_tactile_weights

    if weights is None:
        shipped = shipped_tactile_weights()
        if shipped is None:
            raise ValueError("--tactile-check needs --tactile-weights PATH (a checkpoint of "
                             "grasplab tactile pretrain --method supervised): this install "
                             "ships none")
        return shipped
    if not Path(weights).is_file():
        raise ValueError(f"--tactile-weights: {weights} is not a file")
    return Path(weights)


def load_check(weights: Path | None, threshold: float, device: str, seed: int) -> Any:
    """The :class:`~grasplab.tactile.check.TactileCheck` of ``--tactile-weights`` (or shipped).

    Raises:
        ValueError: no weights, not a tactile classifier, or a bad threshold.
    """
    from grasplab._optional import MissingExtraError
    from grasplab.tactile.check import load_tactile_check

    path = resolve_tactile_weights(weights)
    try:
        return load_tactile_check(path, threshold, device, rng=seed)
    except (FileNotFoundError, MissingExtraError) as exc:
        raise ValueError(f"--tactile-weights: {exc}") from exc


def work_units(config: Any) -> int:
    """Progress units of both runs (the checked run has no AP phase)."""
    from grasplab.evaluation.binpick import binpick_work_units

    return binpick_work_units(config) + config.num_scenes * len(config.mu_values)


def run_binpick_with_check(detector: Any, detector_name: str, config: Any, seed: int,
                           library: Any, pool: Sequence[int], out: Path, check: Any,
                           progress: Callable[[int], None] | None = None) -> str:
    """Run both benchmarks and write the files (module docstring).

    Args:
        detector, detector_name, config, seed, library, pool: as ``grasplab bench binpick``.
        out: output folder.
        check: the pre-lift check (:func:`load_check`).
        progress: called with 1 per (scene, μ, phase) unit.

    Returns:
        The report to print (Markdown and where the files went).
    """
    from grasplab.evaluation.tactile_check import compare_with_check

    result = compare_with_check(detector, check, config, seed, library=library, object_pool=pool,
                                detector_name=detector_name, progress=progress)
    stem = f"binpick_{detector_name}"
    out.mkdir(parents=True, exist_ok=True)
    result.without.save_json(out / f"{stem}.json")
    result.without.save_attempts_csv(out / f"{stem}.attempts.csv")
    (out / f"{stem}.md").write_text(result.without.to_markdown())
    body = result.save_json(out / f"{stem}_tactile.json")
    result.with_check.save_attempts_csv(out / f"{stem}_tactile.attempts.csv")
    markdown = result.to_markdown()
    (out / f"{stem}_tactile.md").write_text(markdown)
    seconds = result.without.seconds + result.with_check.seconds
    return f"{result.without.to_markdown()}\n{markdown}\n{seconds:.1f} s → {body}"
