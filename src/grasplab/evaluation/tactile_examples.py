"""Pictures of a tactile dataset: trials that held beside trials that dropped.

Each row is one trial: the left pad before contact (Ta) and closed (Tb), then the signed
differences the networks read (left and right ``Tb - Ta``) and what lifting changed on the left
pad (``Tc - Tb``: an imprint that fades or moves is a slip). Differences are drawn as
``0.5 + gain * d / 255`` clipped to [0, 1], so mid-grey is "no change". Held trials come first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grasplab.execution import OUTCOME_REASONS
from grasplab.tactile.dataset import TactileDataset

__all__ = ["difference_view", "draw_examples", "pick_examples"]

#: column titles of the figure, in the order :func:`_panels` returns the images
_COLUMNS = ("left Ta", "left Tb", "left Tb - Ta", "right Tb - Ta", "left Tc - Tb")


def pick_examples(success: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` held trials then ``per_class`` dropped ones, drawn without replacement.

    Raises:
        ValueError: ``per_class < 1`` or fewer trials of a class than asked for.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    success = np.asarray(success, dtype=bool)
    picked = []
    for held, name in ((True, "held"), (False, "dropped")):
        pool = np.flatnonzero(success == held)
        if len(pool) < per_class:
            raise ValueError(f"the dataset has {len(pool)} {name} trials; {per_class} asked for")
        picked.append(np.sort(rng.choice(pool, size=per_class, replace=False)))
    return np.concatenate(picked)


def difference_view(after: np.ndarray, before: np.ndarray, gain: float = 2.0) -> np.ndarray:
    """Signed difference of two uint8 images as an RGB float image in [0, 1] (0.5 = unchanged)."""
    if after.shape != before.shape:
        raise ValueError(f"image shapes differ: {after.shape} vs {before.shape}")
    diff = after.astype(np.float32) - before.astype(np.float32)
    return np.clip(0.5 + gain * diff / 255.0, 0.0, 1.0)


def _panels(ds: TactileDataset, i: int, gain: float) -> list[np.ndarray]:
    ta, tb, tc = ds.ta[i], ds.tb[i], ds.tc[i]
    return [ta[0] / 255.0, tb[0] / 255.0, difference_view(tb[0], ta[0], gain),
            difference_view(tb[1], ta[1], gain), difference_view(tc[0], tb[0], gain)]


def _label(ds: TactileDataset, i: int) -> str:
    outcome = "held" if ds.success[i] else f"dropped ({OUTCOME_REASONS[int(ds.reason[i])]})"
    units = {"force": ("force", " N"), "mu": ("μ", ""), "mass": ("mass", " kg")}
    extras = [f"{label} {ds.params[name][i]:.2f}{unit}" for name, (label, unit) in units.items()
              if name in ds.params]
    return f"trial {int(ds.trial[i])}, object {int(ds.object_id[i])}: {outcome}; " + ", ".join(extras)


def draw_examples(ds: TactileDataset, indices: np.ndarray, out: Path | str, gain: float = 2.0) -> Path:
    """Write a PNG with one row per trial of ``indices`` (the module docstring's columns).

    Uses a ``matplotlib.figure.Figure`` with its own Agg canvas (the ``viz`` extra); the global
    backend is left alone.
    """
    from grasplab._optional import require

    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) == 0:
        raise ValueError("no trials to draw")
    if indices.min() < 0 or indices.max() >= len(ds):
        raise ValueError(f"trial indices must lie in [0, {len(ds)}), got {indices.min()}..{indices.max()}")
    fig = Figure(figsize=(2.0 * len(_COLUMNS), 1.9 * len(indices) + 0.5), dpi=100)
    FigureCanvasAgg(fig)
    # no tight_layout: the rows' captions are figure text above each row, kept out of the layout
    axes = fig.subplots(len(indices), len(_COLUMNS), squeeze=False,
                        gridspec_kw={"hspace": 0.5, "wspace": 0.06, "left": 0.04, "right": 0.99,
                                     "top": 1.0 - 0.75 / fig.get_figheight(), "bottom": 0.01})
    for row, i in enumerate(indices):
        for col, panel in enumerate(_panels(ds, int(i), gain)):
            ax = axes[row, col]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(_COLUMNS[col], fontsize=9, pad=16)
        axes[row, 0].set_ylabel("held" if ds.success[i] else "dropped", fontsize=9)
        axes[row, 0].text(0.0, 1.03, _label(ds, int(i)), transform=axes[row, 0].transAxes,
                          fontsize=8, ha="left", va="bottom")
    fig.suptitle(f"GelSight pads of held and dropped grasps (differences x{gain:g} about mid-grey)",
                 fontsize=10)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target)
    return target
