"""GraspNet-1Billion baseline training: losses, targets, one Trainer step, the CLI by family,
decoding (angle class, graspable filter, tolerance ranking) and the detector on its checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("embreex")
from typer.testing import CliRunner  # noqa: E402

from grasplab.cli.main import app  # noqa: E402
from grasplab.detection.gsnet_decode import baseline_decodable, decode_config_for, decode_gsnet  # noqa: E402
from grasplab.detection.gsnet_detect import gsnet_grasps  # noqa: E402
from grasplab.detection.gsnet_detector import GSNetDetector  # noqa: E402
from grasplab.detection.gsnet_options import GSNetOptions  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.models.graspnet_baseline import GraspNetBaseline  # noqa: E402
from grasplab.scenes.reader import GraspNetDataset  # noqa: E402
from grasplab.training.baseline_task import BaselineGraspTask  # noqa: E402
from grasplab.training.checkpoints import load_model  # noqa: E402
from grasplab.training.grasp_config import BaselineTrainConfig, load_grasp_train_config  # noqa: E402
from grasplab.training.grasp_losses import BASELINE_LOSS_TERMS, BaselineLossWeights, baseline_losses  # noqa: E402

TINY = [
    "family=graspnet-baseline",
    "model.backbone=depth2d",
    "model.feature_dim=16",
    "model.depth2d_channels=[8, 8, 16]",
    "model.num_seeds=24",
    "model.group_dim=16",
    "model.cylinder_samples=8",
    "model.num_views=60",
    "model.num_angles=6",
    "model.depths=[0.01, 0.02, 0.03, 0.04]",
]


@pytest.fixture(scope="module")
def box_root(graspness_box_root: Path) -> Path:
    """The shared labelled box dataset (tests/conftest.py)."""
    return graspness_box_root


def _sets(root: Path) -> list[str]:
    return [f"data.root={root}", "data.num_points=256", "data.max_objects=4", "data.train_seeds=label",
            "optim.epochs=1", "optim.batch_size=2", "optim.lr_milestones=[]", *TINY]


def test_config_family_picks_the_class_and_rejects_unknown() -> None:
    assert isinstance(load_grasp_train_config(None, ["family=graspnet-baseline"]), BaselineTrainConfig)
    assert load_grasp_train_config(None).family == "gsnet"
    with pytest.raises(ValueError, match="family"):
        load_grasp_train_config(None, ["family=resnet"])
    with pytest.raises(ValueError, match="unknown"):
        load_grasp_train_config(None, ["family=graspnet-baseline", "loss.stable=1"])  # a GSNet weight


def test_baseline_losses_known_answers() -> None:
    b, m, v, a, d = 1, 3, 4, 2, 2
    score = torch.tensor([[0.5, 0.0], [0.0, 0.0]]).expand(b, m, a, d).clone()
    targets = {
        "graspable": torch.tensor([[1, 0, -100]]),
        "seed_valid": torch.tensor([[True, False, True]]),
        "view_score": torch.rand(b, m, v),
        "score": score,
        "width": torch.full((b, m, a, d), 0.05),
        "tolerance": torch.full((b, m, a, d), 0.02),
    }
    perfect = {
        "graspable": torch.tensor([[[-50.0, 50.0, 0.0], [50.0, -50.0, 0.0]]]),
        "view_scores": targets["view_score"].clone(),
        "angle_logits": (score > 0).float() * 100 - 50,
        "score": score.clone(),
        "width": targets["width"] * 10,
        "tolerance": targets["tolerance"] * 100,
    }
    terms = baseline_losses(perfect, targets, BaselineLossWeights())
    assert float(terms.total) == pytest.approx(0.0, abs=1e-6)
    assert tuple(terms.as_floats()) == BASELINE_LOSS_TERMS
    wrong = {**perfect, "width": perfect["width"] + 0.5, "tolerance": perfect["tolerance"] + 0.5}
    terms = baseline_losses(wrong, targets, BaselineLossWeights())
    # seed 0 is the only counted graspable seed with a label; its one free cell: smooth-L1(0.5) × D
    assert float(terms.width) == pytest.approx(0.125 * d)
    assert float(terms.tolerance) == pytest.approx(0.125 * d)
    assert float(terms.total) == pytest.approx(0.5 * 0.2 * 0.25 + 0.1 * 0.25, rel=1e-5)


def test_targets_of_a_step_and_label_seeds(box_root: Path) -> None:
    cfg = load_grasp_train_config(None, _sets(box_root))
    task = BaselineGraspTask(cfg)
    torch.manual_seed(0)
    net = task.build_model()
    assert isinstance(net, GraspNetBaseline)
    train, _ = task.datasets()
    batch = {k: torch.stack([train[0][k], train[1][k]]) for k in train[0]}
    outputs, targets = task._forward(net, batch, "sample")
    assert targets["score"].shape == (2, 24, 6, 4) and targets["tolerance"].shape == (2, 24, 6, 4)
    assert outputs["tolerance"].shape == (2, 24, 6, 4) and outputs["graspable"].shape == (2, 2, 24)
    label = targets["graspable"]
    assert set(label.unique().tolist()) <= {-100, 0, 1}
    assert (label[:, 12:] == 1).all()  # the label half: every seed on a graspable point
    free = targets["score"] > 0
    assert (targets["tolerance"][~free] == 0).all() and (targets["tolerance"] <= 0.05 + 1e-6).all()
    assert (targets["tolerance"][free] > 0).float().mean() > 0.5
    best = targets["score"].flatten(2).amax(-1)
    chosen = targets["view_score"].gather(2, targets["view_index"][..., None])[..., 0]
    assert torch.allclose(chosen * (label == 1), best * (label == 1), atol=1e-6)


def test_one_step_cli_checkpoint_and_detector(box_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["train", "grasp", "--out", str(tmp_path / "run")]
    for item in _sets(box_root):
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "graspable_acc" in result.output
    ckpt = tmp_path / "run" / "checkpoints" / "last.safetensors"
    model = load_model(ckpt)
    assert isinstance(model, GraspNetBaseline)
    frame = GraspNetDataset(box_root).frame(0, 0)
    raw = gsnet_grasps(model, frame.depth, frame.intrinsics, 256, 0, downsample=2)
    assert len(raw) <= 24 and np.isfinite(raw.array).all()
    options = GSNetOptions(collision=False, center=False, nms=False, collision_top_n=None, num_grasps=None)
    detector = GSNetDetector(ckpt, options)
    found = detector.detect_with_features(Observation(frame.depth, frame.intrinsics))
    assert len(found.grasps) == len(found.seed_features) == len(found.grasp_features) == len(found.seed_slot)
    assert found.seed_features.shape[1] == 16 and found.grasp_features.shape[1] == 16
    if len(found.grasps):
        assert (np.diff(found.grasps.scores) <= 1e-9).all() and (found.grasps.scores < 1).all()
    history = (tmp_path / "run" / "history.json").read_text()
    assert "train_tolerance" in history and "val_graspable_acc" in history


def test_decode_takes_the_angle_class_drops_ungraspable_and_ranks_by_tolerance() -> None:
    m, a, d = 3, 4, 2
    score = np.zeros((m, a, d))
    logits = np.full((m, a, d), -5.0)
    tolerance = np.zeros((m, a, d))
    score[0, 1, 0], score[0, 2, 0] = 0.85, 0.99  # angle 2 scores higher but is not the class
    logits[0, 1, 0] = 5.0
    tolerance[0, 1, 0] = 4.0
    score[1, 3, 1], logits[1, 3, 1], tolerance[1, 3, 1] = 0.82, 5.0, 1.0  # same bin (0.8), less tolerant
    outputs = {
        "score": score, "angle_logits": logits, "tolerance": tolerance, "width": np.full((m, a, d), 0.5),
        "graspable": np.array([[0.0, 0.0, 9.0], [1.0, 1.0, 0.0]]), "seed_xyz": np.zeros((m, 3)),
        "view_index": np.arange(m),
    }
    out = baseline_decodable(outputs)
    assert out["keep"].tolist() == [0, 1]  # seed 2 is not graspable
    grasps = decode_gsnet(out, decode_config_for([0.01, 0.02], a, 300))
    assert grasps.scores.tolist() == pytest.approx([0.8 + 0.099 * 0.8, 0.8 + 0.099 * 0.2])
    assert grasps.depths.tolist() == pytest.approx([0.01, 0.02])
    every = baseline_decodable(outputs, graspable_only=False)
    assert every["keep"].tolist() == [0, 1, 2]
