"""The association head, its supervised contrastive loss (known answers) and a short training run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from grasplab.core import GraspGroup, make_transform
from grasplab.core.rotations import rotation_z
from grasplab.data.association_pairs import (
    AssociationPairs,
    CachedFrame,
    load_cache_index,
    load_cached_frame,
    save_cache_index,
    save_cached_frame,
)
from grasplab.models.grasp_association import AssociationSpec, GraspAssociationNet, cosine_similarity
from grasplab.models.registry import build_model
from grasplab.training.association_task import (
    AssociationTask,
    AssociationTrainConfig,
    load_association_config,
    supervised_contrastive_loss,
)
from grasplab.training.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "tracking"


def test_loss_known_answers() -> None:
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    eye = torch.eye(2, dtype=torch.bool)
    expected = -(1.0 - math.log(math.e + 1.0))  # -log softmax([1, 0])[0] at tau 1
    assert float(supervised_contrastive_loss(s, eye, 1.0)) == pytest.approx(expected, rel=1e-6)
    # two positives of one anchor: the mean of their -log p; the anchor without a positive is left out
    s2 = torch.tensor([[0.5, 0.5, -1.0], [0.3, 0.2, 0.1]])
    pos = torch.tensor([[True, True, False], [False, False, False]])
    p = torch.softmax(s2[0] / 0.1, dim=0)
    loss = float(supervised_contrastive_loss(s2, pos, 0.1))
    assert loss == pytest.approx(float(-(torch.log(p[0]) + torch.log(p[1])) / 2), rel=1e-5)
    none = supervised_contrastive_loss(s.requires_grad_(), torch.zeros(2, 2, dtype=torch.bool))
    assert float(none.detach()) == 0.0 and none.requires_grad
    with pytest.raises(ValueError, match="differ"):
        supervised_contrastive_loss(s, torch.ones(2, 3, dtype=torch.bool))


def test_loss_falls_as_positives_separate() -> None:
    pos = torch.eye(3, dtype=torch.bool)
    vague = supervised_contrastive_loss(torch.full((3, 3), 0.5), pos, 0.1)
    sharp = supervised_contrastive_loss(torch.eye(3), pos, 0.1)
    assert float(vague) == pytest.approx(math.log(3), rel=1e-6)
    assert float(sharp) < 1e-3 < float(vague)


def test_head_shapes_unit_norm_and_bad_inputs() -> None:
    spec = AssociationSpec(seed_dim=8, grasp_dim=4, colour_samples=5, colour_dim=6, hidden_dim=16, out_dim=10)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model("association", spec)
    assert isinstance(model, GraspAssociationNet)
    m = 7
    out = model(torch.randn(m, 8), torch.randn(m, 4), torch.rand(m, 5, 3), torch.randn(m, 12))
    assert out.shape == (m, 10)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(m))
    batched = model(torch.randn(2, m, 8), torch.randn(2, m, 4), torch.rand(2, m, 5, 3), torch.randn(2, m, 12))
    assert batched.shape == (2, m, 10)
    sim = cosine_similarity(out, out)
    torch.testing.assert_close(torch.diagonal(sim), torch.ones(m))
    with pytest.raises(ValueError, match="seed_features"):
        model(torch.randn(m, 7), torch.randn(m, 4), torch.rand(m, 5, 3), torch.randn(m, 12))
    with pytest.raises(ValueError, match="K = 5"):
        model(torch.randn(m, 8), torch.randn(m, 4), torch.rand(m, 4, 3), torch.randn(m, 12))
    with pytest.raises(ValueError, match="poses"):
        model(torch.randn(m, 8), torch.randn(m, 4), torch.rand(m, 5, 3), torch.randn(m, 9))
    with pytest.raises(ValueError):
        AssociationSpec(seed_dim=0, grasp_dim=0, colour_dim=0, use_pose=False)


def _grasps(num: int, rng: np.random.Generator) -> GraspGroup:
    t = rng.uniform(-0.1, 0.1, size=(num, 3)) + np.array([0.0, 0.0, 0.5])
    R = np.stack([rotation_z(a) for a in rng.uniform(0, np.pi, num)])
    return GraspGroup.from_components(t, R, np.full(num, 0.05), np.full(num, 0.02), rng.uniform(0.1, 1, num))


def _frame(grasps: GraspGroup, seed: np.ndarray, T_world_obj: np.ndarray, objects: np.ndarray) -> CachedFrame:
    num = len(grasps)
    return CachedFrame(np.asarray(grasps), seed.astype(np.float32), np.zeros((num, 2), np.float32),
                       np.full((num, 16, 3), 100, np.uint8), objects, np.eye(4), np.array([3]),
                       T_world_obj[None])


def _synthetic_cache(folder: Path, rng: np.random.Generator, num_pairs: int = 6) -> Path:
    """Pairs: an object's grasps in frame a, the same grasps moved with the object in frame b."""
    pairs = []
    for k in range(num_pairs):
        g = _grasps(12, rng)
        seed = rng.normal(size=(12, 8))
        objects = np.where(np.arange(12) < 10, 3, -1)  # two grasps on no object
        T0 = np.eye(4)
        T1 = make_transform(rotation_z(rng.uniform(-1, 1)), rng.uniform(-0.05, 0.05, 3))
        perm = rng.permutation(12)
        save_cached_frame(folder / "frames" / f"a{k}.npz", _frame(g, seed, T0, objects))
        save_cached_frame(folder / "frames" / f"b{k}.npz",
                          _frame(g.transform(T1)[perm], seed[perm] + 0.01 * rng.normal(size=(12, 8)), T1,
                                 objects[perm]))
        pairs.append((f"a{k}", f"b{k}", "val" if k == 0 else "train"))
    save_cache_index(folder, [], pairs, {"seed_dim": 8, "grasp_dim": 2, "colour_samples": 16})
    return folder


def test_cache_round_trip_and_same_grasp_positives(tmp_path: Path, rng: np.random.Generator) -> None:
    cache = _synthetic_cache(tmp_path / "cache", rng, 2)
    frame = load_cached_frame(cache / "frames" / "a0.npz")
    assert frame.grasps.shape == (12, 17) and frame.colours.dtype == np.uint8
    assert len(load_cache_index(cache)["pairs"]) == 2
    pairs = AssociationPairs(cache, [("a0", "b0")], w_max=0.1, train=False)
    item = pairs[0]
    b_objects = load_cached_frame(cache / "frames" / "b0.npz").grasp_objects
    positives = item["positives"].numpy()
    assert positives.shape == (12, 12)
    # every grasp on the object matches exactly its moved copy; grasps on no object match nothing
    perm_rows = [int(np.flatnonzero((item["seed_b"] - item["seed_a"][i]).abs().max(dim=1).values < 0.1)[0])
                 for i in range(12)]
    for i in range(12):
        expected = np.zeros(12, bool)
        if i < 10:
            expected[perm_rows[i]] = True
        assert (positives[i] == expected).all(), i
    assert (b_objects[positives.any(axis=0)] == 3).all()
    dropped = AssociationPairs(cache, [("a0", "b0")], drop_object=0.999, train=True)[0]
    assert dropped["positives"].shape[0] == 12 and dropped["positives"].shape[1] <= 12
    with pytest.raises(ValueError, match="no pairs"):
        AssociationPairs(cache, [])


def test_association_training_learns_the_synthetic_pairs(tmp_path: Path, rng: np.random.Generator) -> None:
    cache = _synthetic_cache(tmp_path / "cache", rng)
    cfg = load_association_config(CONFIGS / "association.yaml",
                                  [f"data.cache={cache}", "optim.epochs=6", "optim.batch_size=2",
                                   "optim.lr=0.003", "model.hidden_dim=64", "model.out_dim=32",
                                   "model.colour_dim=0"])
    assert isinstance(cfg, AssociationTrainConfig) and cfg.temperature == 0.1
    result = Trainer(AssociationTask(cfg), cfg, tmp_path / "run").fit()
    first, last = result.history[0], result.history[-1]
    assert last.train_loss < first.train_loss
    assert last.val["top1"] >= 0.9  # the moved copy is found among 12 grasps
    assert (tmp_path / "run" / "checkpoints" / "best.safetensors").is_file()
    with pytest.raises(ValueError, match="training and validation pairs"):
        save_cache_index(tmp_path / "c2", [], [("a0", "b0", "train")], {})
        AssociationTask(load_association_config(None, [f"data.cache={tmp_path / 'c2'}"]))
