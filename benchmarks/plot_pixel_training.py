"""Figures of docs/pixel_training.md: training curves and what the networks see and predict.

Run: ``python benchmarks/plot_pixel_training.py [--runs DIR] [--data ROOT] [--model NAME=CKPT ...]``
after training (``runs/plgp/*``) on the dataset of ``docs/pixel_training.md`` (``data/plgp``).
Writes ``docs/pixel_training_curves.png`` (per-epoch train / validation loss and the validation
success proxy of every run with a ``history.json``) and ``docs/pixel_qmaps.png`` (for three
validation frames: the depth image, the PLGP label quality ``Q_p*`` and each model's predicted
``Q_p``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from grasplab.data.pixel_dataset import load_label_maps  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.detection.pixel_detector import PixelDetector  # noqa: E402
from grasplab.labels.pixel_label_jobs import pixel_label_path  # noqa: E402
from grasplab.scenes.reader import GraspNetDataset  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: validation frames shown (scene, frame): the last scenes are the validation set (val_fraction 0.1)
FRAMES = ((55, 0), (57, 3), (59, 6))


def plot_curves(runs: Path, out: Path, main: str) -> None:
    """Train / validation loss and validation success proxy per epoch of every run."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    for path in sorted(runs.glob("*/history.json")):
        rows = json.loads(path.read_text())
        name = path.parent.name
        epochs = [r["epoch"] + 1 for r in rows]
        style = "-o" if name == main else "--."
        for ax, key in zip(axes, ("train_loss", "val_loss", "val_success"), strict=True):
            ax.plot(epochs, [r[key] for r in rows], style, label=name, markersize=3)
    for ax, title in zip(axes, ("train loss (eq. 16)", "validation loss", "validation success proxy"),
                         strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[2].legend(fontsize=8)
    fig.suptitle("PLGP pixel networks, one CPU thread; BCE runs have another loss scale")
    fig.savefig(out, dpi=80)


def plot_qmaps(data: Path, models: dict[str, Path], out: Path) -> None:
    """Depth, label quality and each model's Q_p on a few validation frames."""
    dataset = GraspNetDataset(data, "realsense")
    detectors = {name: PixelDetector(path) for name, path in models.items()}
    cols = 2 + len(detectors)
    fig, axes = plt.subplots(len(FRAMES), cols, figsize=(3.6 * cols, 2.2 * len(FRAMES)),
                             constrained_layout=True, squeeze=False)
    for row, (scene, ann) in enumerate(FRAMES):
        frame = dataset.frame(scene, ann)
        labels = load_label_maps(pixel_label_path(data, scene, ann, "realsense"), 18)
        axes[row, 0].imshow(frame.depth, cmap="viridis")
        axes[row, 1].imshow(labels.quality, cmap="gray")
        for col, (name, detector) in enumerate(detectors.items(), start=2):
            q_p = detector.predict_maps(Observation(frame.depth, frame.intrinsics))[0].numpy()
            axes[row, col].imshow(q_p, cmap="magma", vmin=0.0, vmax=1.0)
            if row == 0:
                axes[row, col].set_title(f"Q_p, {name}", fontsize=9)
        axes[row, 0].set_ylabel(f"scene {scene} / {ann}", fontsize=8)
    axes[0, 0].set_title("depth", fontsize=9)
    axes[0, 1].set_title("label Q_p* (PLGP labels)", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(out, dpi=70)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "plgp")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "plgp")
    parser.add_argument("--main", default="ggcnn2_cpu_depth", help="run drawn with a solid line")
    parser.add_argument("--model", action="append", help="NAME=CKPT shown in the Q_p figure (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    docs = ROOT / "docs"
    plot_curves(args.runs, docs / "pixel_training_curves.png", args.main)
    models = dict(item.split("=", 1) for item in args.model or [])
    if not models:
        models = {"epoch 10": str(args.runs / args.main / "checkpoints" / "epoch_010.safetensors"),
                  "last epoch": str(args.runs / args.main / "checkpoints" / "last.safetensors")}
    plot_qmaps(args.data, {k: Path(v) for k, v in models.items() if Path(v).is_file()},
               docs / "pixel_qmaps.png")
    print(f"wrote {docs / 'pixel_training_curves.png'} and {docs / 'pixel_qmaps.png'}")


if __name__ == "__main__":
    main()
