"""Versioned settings of the grasp-outcome dataset generator (``grasplab tactile generate --version``).

- **Version 1** (``data/tactile_v1``): friction μ ~ U(0.2, 1.0), mass log-uniform in 0.03-0.8 kg,
  finger force ~ U(3, 15) N, at least one pad pressed. The outcome is decided mostly by μ and
  mass, which no Tb image shows (docs/tactile_diagnosis.md): the best classifier on image
  features reaches 65-68 %, one on μ and mass alone 68 %.
- **Version 2**: μ ~ U(0.6, 0.8) and mass log-uniform in 0.1-0.2 kg (narrow, as one lab's
  objects and finger material), finger force ~ U(0.5, 8) N (wide: the gel's indentation
  shows it), both pads pressed at Tb, and the centre of mass in the grasp frame and each pad's
  normal force recorded (:data:`~grasplab.tactile.trials.PARAM_NAMES_V2`). The outcome is then
  carried by what the pads see (force, contact area and position).
"""

from __future__ import annotations

from dataclasses import replace

from grasplab.tactile.trials import GENERATOR_VERSIONS, TrialSettings

__all__ = ["dataset_settings"]


def dataset_settings(version: int = 1, image_size: tuple[int, int] = (80, 60)) -> TrialSettings:
    """The generator settings of a dataset version (module docstring).

    Args:
        version: one of :data:`~grasplab.tactile.trials.GENERATOR_VERSIONS`.
        image_size: (W, H) of the stored pad images (px).

    Raises:
        ValueError: an unknown version.

    >>> dataset_settings(2).mu_range, dataset_settings(1).mu_range
    ((0.6, 0.8), (0.2, 1.0))
    """
    if isinstance(version, bool) or version not in GENERATOR_VERSIONS:
        raise ValueError(f"version: expected one of {GENERATOR_VERSIONS}, got {version!r}")
    base = TrialSettings(image_size=image_size)
    if version == 1:
        return base
    return replace(base, version=2, mu_range=(0.6, 0.8), mass_range=(0.1, 0.2),
                   force_range=(0.5, 8.0), require_both_pads=True)
