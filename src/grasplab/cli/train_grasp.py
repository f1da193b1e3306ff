"""``grasplab train grasp``: train the GSNet / AnyGrasp graspness network.

``grasplab train grasp --config configs/grasp/gsnet_cpu.yaml --out runs/X [--device cpu|cuda]
[--init CKPT] [--set key=value ...]`` trains :class:`grasplab.models.gsnet.GSNet` with the generic
:class:`grasplab.training.Trainer` on a :class:`grasplab.training.grasp_task.GraspTask` over the
frames labelled by ``grasplab label graspness``. The run folder gets ``config.yaml``,
``meta.json`` (kind ``train-grasp``), ``history.json`` (every loss term per epoch) and
safetensors checkpoints; rerunning the same command on the same ``--out`` resumes. A preset
with ``family: graspnet-baseline`` trains the GraspNet-1Billion baseline instead
(:class:`grasplab.training.baseline_task.BaselineGraspTask`, ``configs/grasp/baseline_cpu.yaml``). ``--init``
starts from a checkpoint's matching tensors (a GraspContrast backbone of ``grasplab pretrain
contrast``); the command prints which it took and which stay new before training.

AP validation (``validation.*`` in the config): each epoch the network detects on a fixed list of
``validation.ap_frames`` held-out frames (raw decoded seeds, :func:`grasplab.detection.gsnet_detect.
gsnet_grasps`, no post-processing; the evaluator's own pose NMS and top-50 selection apply) scored
by the AP evaluator (:class:`grasplab.evaluation.frame_set.FrameSetEvaluator`); ``val_ap``
(percent) ranks the best checkpoint. Training imports neither, so this command builds the
callable and hands it to the task.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from grasplab.cli.output import console, fail
from grasplab.cli.training_run import is_main_rank, run_with_progress, torch_device

if TYPE_CHECKING:
    from grasplab.training.grasp_config import BaselineTrainConfig, GraspTrainConfig
    from grasplab.training.grasp_task import EpochMetricsFn

__all__ = ["add_grasp_command", "ap_validation", "grasp"]


#: ``meta.json`` kind of a ``grasplab train grasp`` run folder.
TRAIN_GRASP_KIND = "train-grasp"


def grasp(
    out: Path = typer.Option(..., "--out", help="Run folder (created; an existing run is resumed)."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML preset, e.g. configs/grasp/gsnet_cpu.yaml."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    overrides: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--set", help="Override a config value: --set data.root=DS (repeatable)."
    ),
    init: Path | None = typer.Option(
        None, "--init", help="Initialise from a checkpoint's matching tensors (e.g. a pretrained backbone)."
    ),
) -> None:
    """Train (or resume) GSNet / AnyGrasp, or the GraspNet baseline (a preset with its family)."""
    from grasplab.runtime.checks import check_output_dir
    from grasplab.training.grasp_config import load_grasp_train_config
    from grasplab.training.grasp_losses import BASELINE_LOSS_TERMS, GRASP_LOSS_TERMS
    from grasplab.training.trainer import Trainer

    try:
        check_output_dir(out, "--out", TRAIN_GRASP_KIND)
        if init is not None and not init.is_file():
            raise FileNotFoundError(f"--init {init}: no such checkpoint file")
        cfg = load_grasp_train_config(config, [*overrides, *([f"init={init}"] if init else [])])
        device = torch_device(device)
        task_class = _task_class(cfg)
        val_frames = task_class(cfg).frame_split()[1]  # also: a clear error without labelled frames
        task = task_class(cfg, ap_validation(cfg, val_frames))
        if cfg.init is not None and is_main_rank():
            _print_init(cfg)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    result = run_with_progress(
        lambda show: Trainer(task, cfg, out, device, progress=show, argv=sys.argv).fit(), out
    )
    if not is_main_rank():
        return
    table = Table(title=str(out))
    names = GRASP_LOSS_TERMS if cfg.family == "gsnet" else BASELINE_LOSS_TERMS
    with_ap = any("ap" in m.val for m in result.history)
    for column in ("epoch", "lr", "loss", *names, "val loss", "val success", *(["val AP"] * with_ap), "s"):
        table.add_column(column, justify="right")
    for m in result.history:
        ap = [f"{m.val.get('ap', float('nan')):.1f}"] * with_ap
        terms = [f"{m.train.get(n, float('nan')):.4f}" for n in names]
        table.add_row(
            str(m.epoch + 1),
            f"{m.lr:.2g}",
            f"{m.train_loss:.4f}",
            *terms,
            f"{m.val_loss:.4f}",
            f"{m.val_success:.3f}",
            *ap,
            f"{m.seconds:.1f}",
        )
    console.print(table)
    console.print(f"checkpoints: {result.last_checkpoint}, {result.best_checkpoint}")


def _task_class(cfg: GraspTrainConfig | BaselineTrainConfig) -> Any:
    """The task of the config's family: GSNet's or the GraspNet-1Billion baseline's."""
    if cfg.family == "graspnet-baseline":
        from grasplab.training.baseline_task import BaselineGraspTask

        return BaselineGraspTask
    from grasplab.training.grasp_task import GraspTask

    return GraspTask


def _print_init(cfg: GraspTrainConfig | BaselineTrainConfig) -> None:
    """Load ``cfg.init`` into a throwaway model and say what it takes (errors before training)."""
    probe = _task_class(cfg)(cfg)
    probe.build_model()
    report = probe.init_report
    assert report is not None
    groups = sorted({key.split(".")[0] for key in report.loaded})
    console.print(
        f"--init {cfg.init}: took {len(report.loaded)} tensors ({', '.join(groups)}), "
        f"{len(report.new)} stay new, {len(report.unexpected)} checkpoint tensors unused"
    )


def _ap_candidates(
    cfg: GraspTrainConfig | BaselineTrainConfig, val_frames: list[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """Root and candidate frames of AP validation (see ``GraspValidationConfig``)."""
    from grasplab.evaluation.frame_set import dataset_frames
    from grasplab.scenes.reader import GraspNetDataset

    val, data = cfg.validation, cfg.data
    root = val.ap_root or data.root
    if val.ap_scenes is not None:
        return root, dataset_frames(root, val.ap_scenes, data.camera)
    first_test = data.test_scenes_from
    scenes = GraspNetDataset(root, data.camera).scene_ids()
    test = [s for s in scenes if first_test is not None and s >= first_test]
    if test:
        return root, dataset_frames(root, test, data.camera)
    if val.ap_root is not None:
        raise ValueError(f"validation.ap_root {root} has no test scenes: set validation.ap_scenes")
    return root, val_frames


def ap_validation(
    cfg: GraspTrainConfig | BaselineTrainConfig, val_frames: list[tuple[int, int]]
) -> EpochMetricsFn | None:
    """The per-epoch AP validation of a run (None when ``validation.ap_frames`` is 0).

    Args:
        cfg: the run config (``validation``, ``data``).
        val_frames: the run's validation frames (the candidates when the root has no test scenes).

    Returns:
        ``model -> {"ap", "ap_0.8", "ap_0.4" (percent), "ap_seconds"}`` over a fixed frame list.
    """
    from grasplab.detection.gsnet_detect import gsnet_grasps
    from grasplab.evaluation.frame import APConfig
    from grasplab.evaluation.frame_set import FrameSetEvaluator, spread_frames

    val, data = cfg.validation, cfg.data
    if val.ap_frames == 0:
        return None
    root, candidates = _ap_candidates(cfg, val_frames)
    frames = spread_frames(candidates, val.ap_frames)
    scorer = FrameSetEvaluator(root, frames, data.camera, APConfig(fc_backend=val.ap_backend))
    num_points = val.ap_num_points or data.num_points

    def metrics(model: Any) -> dict[str, float]:
        score = scorer.score(
            lambda f: gsnet_grasps(model, f.depth, f.intrinsics, num_points, 0, f.rgb, data.downsample)
        )
        table = score.summary.as_percent()
        keys = ("AP", "AP_0.8", "AP_0.4")
        out = {k.lower(): float(table[k]) for k in keys}  # type: ignore[arg-type]
        return {**out, "ap_seconds": score.detect_seconds + score.eval_seconds}

    return metrics


def add_grasp_command(app: typer.Typer) -> None:
    """Add ``grasp`` to the ``train`` command group."""
    app.command("grasp")(grasp)
