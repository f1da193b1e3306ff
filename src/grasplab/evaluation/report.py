"""Write an AP evaluation to disk: JSON tables, NPZ arrays and a Markdown report with a plot.

The NPZ holds per-frame Precision@k matrices and per-grasp outcomes; the Markdown report embeds a
plot of Precision@k against k per friction coefficient.

All AP figures in the JSON and Markdown are percentages (the reference computes fractions; papers
print percent). The NPZ keeps fractions and raw per-grasp outcomes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.evaluation.ap import APResult
from grasplab.evaluation.precision import APSummary

__all__ = ["result_to_dict", "write_json", "write_markdown", "write_npz", "write_report"]


class JsonResult:
    """Mixin of frozen result dataclasses: ``to_dict`` (JSON-able) and ``save_json``."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the dataclass fields."""
        return asdict(self)  # type: ignore[call-overload, no-any-return]

    def save_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as indented JSON (parents created); returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return out


#: What each force-closure backend computes, as reports state it.
_BACKEND_TEXT = {
    "reference": "force closure by graspnetAPI's contact search on each object's SDF "
    "(backend 'reference')",
    "exact": "force closure on exact mesh geometry by ray casting (backend 'exact')",
}


def result_to_dict(result: APResult) -> dict[str, Any]:
    """JSON-ready summary: overall AP figures at the top level, per-split tables, per frame.

    Keys: ``AP``, ``AP_paper``, ``AP_0.8``, ``AP_0.4``, ``AP_mu`` (map ``"0.2"`` … ``"1.2"``),
    ``num_frames`` (all in percent, over every frame), ``tables`` (split → the same keys),
    ``per_frame`` (list of ``{"scene", "frame", "AP", "status"}``), ``issues`` (list of
    messages), ``num_missing``, ``num_dropped_rows``, ``camera``, ``fc_backend``, ``mu_grid``,
    ``protocol``.
    """
    tables = {name: summary.as_percent() for name, summary in result.tables().items()}
    records = result.records
    out: dict[str, Any] = dict(tables["all"])
    out.update(
        camera=result.camera,
        fc_backend=result.config.fc_backend,
        mu_grid=list(result.config.mu_grid),
        tables=tables,
        per_frame=[
            {
                "scene": r.scene_id,
                "frame": r.frame_id,
                "AP": 100.0 * r.result.ap,
                "status": r.status,
            }
            for r in records
        ],
        num_missing=sum(r.status != "ok" for r in records),
        num_dropped_rows=sum(r.result.num_input - r.result.num_valid for r in records),
        issues=result.issues,
        protocol=(
            "GraspNet-1Billion AP (graspnetAPI 1.2.11 rules); AP averages mu 0.2-1.2 as the "
            "reference code, AP_paper mu 0.2-1.0 as the paper; "
            f"{_BACKEND_TEXT[result.config.fc_backend]}; "
            "invalid rows (NaN/inf, non-orthonormal rotation) dropped and reported; "
            "missing or unreadable dumps score 0."
        ),
    )
    return out


def write_json(result: APResult, path: Path | str) -> dict[str, Any]:
    """Write :func:`result_to_dict` as JSON and return the dict."""
    data = result_to_dict(result)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=1) + "\n")
    return data


def write_npz(result: APResult, path: Path | str) -> None:
    """Write per-frame Precision@k matrices and per-grasp outcomes (no pickled objects).

    Arrays: ``scene_ids`` (F,), ``frame_ids`` (F,), ``status`` (F,) str, ``accuracy`` (F, 50, 6)
    fractions, ``mu_grid`` (6,); per evaluated grasp (G rows over all frames, each frame's
    grasps sorted by confidence): ``grasp_frame`` (G,) index into the frame arrays,
    ``grasp_array`` (G, 17) (widths clipped), ``grasp_score`` (G,) min mu or -1,
    ``grasp_collision`` (G,), ``grasp_empty`` (G,), ``grasp_object_id`` (G,).
    """
    records = result.records
    frames = [r.result for r in records]
    counts = np.array([len(f.scores) for f in frames], dtype=np.int64)

    def cat(values: list[np.ndarray], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.concatenate(values).astype(dtype) if values else np.zeros(shape, dtype=dtype)

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        target,
        scene_ids=np.array([r.scene_id for r in records], dtype=np.int64),
        frame_ids=np.array([r.frame_id for r in records], dtype=np.int64),
        status=np.array([r.status for r in records], dtype=str),
        accuracy=result.accuracy,
        mu_grid=np.asarray(result.config.mu_grid, dtype=np.float64),
        grasp_frame=np.repeat(np.arange(len(records), dtype=np.int64), counts),
        grasp_array=cat([f.grasps for f in frames], (0, 17), np.float64),
        grasp_score=cat([f.scores for f in frames], (0,), np.float64),
        grasp_collision=cat([f.collision for f in frames], (0,), bool),
        grasp_empty=cat([f.empty for f in frames], (0,), bool),
        grasp_object_id=cat([f.object_ids for f in frames], (0,), np.int64),
    )


def _plot_precision(result: APResult, path: Path) -> None:
    """Mean Precision@k against k, one line per mu.

    Draws on a ``matplotlib.figure.Figure`` with its own Agg canvas: no pyplot state and no
    switch of the global backend, so a caller's interactive session is left alone.
    """
    from grasplab._optional import require

    require("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    acc = result.accuracy
    mean = acc.mean(axis=0) if len(acc) else np.zeros((result.config.top_k, 1))
    ks = np.arange(1, mean.shape[0] + 1)
    fig = Figure(figsize=(6.0, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for j, mu in enumerate(result.config.mu_grid[: mean.shape[1]]):
        ax.plot(ks, 100.0 * mean[:, j], label=f"mu = {mu:.1f}")
    ax.set_xlabel("k (top-k grasps)")
    ax.set_ylabel("Precision@k (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"GraspNet AP protocol, {len(acc)} frames ({result.camera})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def _table_rows(tables: dict[str, APSummary]) -> list[str]:
    mus = list(next(iter(tables.values())).ap_mu)
    per_mu_header = " | ".join(f"AP_{mu:.1f}" for mu in mus)
    rows = [f"| split | frames | AP | AP_paper | {per_mu_header} |", "|" + "---|" * (4 + len(mus))]
    for name, summary in tables.items():
        per_mu = " | ".join(f"{100.0 * summary.ap_mu[mu]:.2f}" for mu in mus)
        rows.append(
            f"| {name} | {summary.num_frames} | {100.0 * summary.ap:.2f} | "
            f"{100.0 * summary.ap_paper:.2f} | {per_mu} |"
        )
    return rows


def write_markdown(result: APResult, path: Path | str, max_issues: int = 50) -> Path:
    """Write a Markdown report and its plot (``<stem>_precision.png`` beside it).

    Returns:
        The path of the plot.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    plot = target.with_name(f"{target.stem}_precision.png")
    _plot_precision(result, plot)
    records = result.records
    scored = [r.result for r in records if r.status == "ok"]
    lines = [
        "# GraspNet AP evaluation",
        "",
        f"Camera `{result.camera}`, {len(records)} frames of "
        f"{len({r.scene_id for r in records})} scenes; {len(records) - len(scored)} frames "
        "without a readable dump scored 0.",
        f"Evaluated grasps: {sum(len(f.scores) for f in scored)} "
        f"(of {sum(f.num_input for f in scored)} input rows, "
        f"{sum(f.num_input - f.num_valid for f in scored)} invalid rows dropped).",
        "",
        f"Force-closure backend `{result.config.fc_backend}`: "
        f"{_BACKEND_TEXT[result.config.fc_backend]}.",
        "",
        "All figures in percent. AP averages mu 0.2-1.2 (reference code); AP_paper mu 0.2-1.0.",
        "",
        *_table_rows(result.tables()),
        "",
        f"![Precision@k]({plot.name})",
        "",
    ]
    issues = result.issues
    if issues:
        lines += [f"## Problems ({len(issues)})", ""]
        lines += [f"- {msg}" for msg in issues[:max_issues]]
        if len(issues) > max_issues:
            lines.append(f"- ... and {len(issues) - max_issues} more (see the JSON)")
        lines.append("")
    target.write_text("\n".join(lines))
    return plot


def write_report(result: APResult, json_path: Path | str) -> dict[str, Any]:
    """Write ``<out>.json``, ``<out>.npz``, ``<out>.md`` and ``<out>_precision.png``.

    Args:
        result: the evaluation.
        json_path: path of the JSON; the other files take its stem.

    Returns:
        The JSON dict.
    """
    target = Path(json_path)
    data = write_json(result, target)
    write_npz(result, target.with_suffix(".npz"))
    write_markdown(result, target.with_suffix(".md"))
    return data
