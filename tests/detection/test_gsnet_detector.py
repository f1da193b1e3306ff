"""The ``gsnet`` detector: registry entry, rows in the camera frame, post-processing switches,
row-aligned features, shipped-weights lookup and bad inputs (a tiny seeded, untrained GSNet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasplab.core import GripperModel, depth_to_points  # noqa: E402
from grasplab.data.grasp_dataset import frame_inputs  # noqa: E402
from grasplab.detection import Observation, TrayWorkspace, build_detector, center_grasps, nms  # noqa: E402
from grasplab.detection.cloud import voxel_downsample  # noqa: E402
from grasplab.detection.gsnet_detect import TorchStages, gsnet_grasps, run_gsnet_stages  # noqa: E402
from grasplab.detection.gsnet_detector import GSNetDetector  # noqa: E402
from grasplab.detection.gsnet_options import GSNetOptions  # noqa: E402
from grasplab.models import build_model  # noqa: E402
from grasplab.training.checkpoints import save_checkpoint  # noqa: E402

Scene = Any  # tests/detection/conftest.py::Scene (conftest modules are not importable)
TINY = {"feature_dim": 32, "depth2d_channels": [8, 16, 16], "num_seeds": 64, "group_dim": 16}
NUM_POINTS = 1024
#: every post-processing step off: the detector returns one raw grasp per seed
RAW = {"collision": False, "center": False, "nms": False, "collision_top_n": None, "num_grasps": None}


def tiny_gsnet(seed: int = 0, **spec: Any) -> Any:
    """A seeded untrained GSNet whose width output is 8 cm (so that some grasps are collision-free)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net: Any = build_model("gsnet", {**TINY, **spec})
    cells = net.spec.num_angles * len(net.spec.depths)
    with torch.no_grad():
        last = net.operation.mlp[-1]
        last.weight[cells : 2 * cells] = 0.0
        last.bias[cells : 2 * cells] = 0.8 * 10 / 1.2  # width = 1.2 * out / 10 = 0.08 m
    return net.train(False)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gsnet") / "tiny.safetensors"
    return save_checkpoint(path, tiny_gsnet(), config={"data": {"num_points": NUM_POINTS, "downsample": 1}})


@pytest.fixture(scope="module")
def obs(box_scene: Scene) -> Observation:
    return Observation(box_scene.depth, box_scene.intrinsics, T_world_cam=box_scene.T_world_cam)


def _cloud(observation: Observation, stride: int = 2) -> np.ndarray:
    """What post-processing checks against: every ``stride``-th pixel, 3 mm voxels."""
    select = np.zeros(observation.shape, dtype=bool)
    select[::stride, ::stride] = True
    points, _ = depth_to_points(observation.depth, observation.intrinsics, select & observation.valid)
    return voxel_downsample(points, 0.003)[0]


def test_registry_entry_builds_the_detector(weights: Path) -> None:
    detector = build_detector("gsnet", weights=weights)
    assert isinstance(detector, GSNetDetector)
    assert detector.num_points == NUM_POINTS and detector.downsample == 1  # from the training config
    assert build_detector("gsnet", GSNetOptions(weights=weights, num_points=200)).num_points == 200  # type: ignore[attr-defined]
    wrapped = build_detector("gsnet", weights=weights, tray_workspace=True)
    assert isinstance(wrapped, TrayWorkspace) and isinstance(wrapped.detector, GSNetDetector)


def test_stages_equal_the_model_forward() -> None:
    net = tiny_gsnet(num_views=60)
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(1, 500, 3, generator=gen) * 0.2 + torch.tensor([0.0, 0.0, 0.5])
    pixels = torch.rand(1, 500, 2, generator=gen) * torch.tensor([31.0, 23.0])
    image = torch.rand(1, 4, 24, 32, generator=gen)
    with torch.no_grad():
        expected = net(points, pixels, image)
    out = run_gsnet_stages(TorchStages(net), points, pixels, image)
    for name, value in expected.items():
        assert torch.equal(out[name], value), name
    assert out["seed_features"].shape == (1, TINY["num_seeds"], TINY["feature_dim"])
    assert out["grasp_features"].shape == (1, TINY["num_seeds"], TINY["group_dim"])


def test_raw_detection_equals_the_network_decode(weights: Path, obs: Observation) -> None:
    grasps = build_detector("gsnet", weights=weights, **RAW).detect(obs)
    net = tiny_gsnet()
    expected = gsnet_grasps(net, obs.depth, obs.intrinsics, NUM_POINTS, 0, downsample=1)
    assert len(grasps) == TINY["num_seeds"]
    np.testing.assert_allclose(np.sort(grasps.array, axis=0), np.sort(expected.array, axis=0), atol=1e-9)


def test_rows_are_valid_camera_frame_grasps(weights: Path, obs: Observation) -> None:
    grasps = build_detector("gsnet", weights=weights, collision=False, center=False).detect(obs)
    assert 0 < len(grasps) <= 50
    assert np.all(np.diff(grasps.scores) <= 0)
    assert np.all(grasps.object_ids == -1)
    rot = grasps.rotations
    np.testing.assert_allclose(rot @ np.swapaxes(rot, 1, 2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-9)
    assert np.all((grasps.widths >= 0) & (grasps.widths <= 0.1))
    # grasp points are observed points (the seeds), in the camera frame
    points = frame_inputs(obs.depth, obs.intrinsics, NUM_POINTS, 0, downsample=1)["points"].numpy()
    gaps = np.linalg.norm(grasps.translations[:, None] - points[None], axis=-1).min(axis=1)
    assert gaps.max() < 1e-6


def test_detection_is_deterministic_for_a_seed(weights: Path, obs: Observation) -> None:
    a = build_detector("gsnet", weights=weights, seed=3, collision=False).detect(obs)
    b = build_detector("gsnet", weights=weights, seed=3, collision=False).detect(obs)
    c = build_detector("gsnet", weights=weights, seed=4, collision=False).detect(obs)
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.array_equal(a.array, c.array)


def test_collision_check_drops_exactly_the_colliding_grasps(weights: Path, obs: Observation) -> None:
    free = build_detector("gsnet", weights=weights, collision=False, num_grasps=None).detect(obs)
    collide, _ = GripperModel().collision_and_empty(free, _cloud(obs))
    assert collide.any() and not collide.all()
    checked = build_detector("gsnet", weights=weights, num_grasps=None).detect(obs)
    np.testing.assert_allclose(checked.array, free[~collide].array)
    assert not GripperModel().collision_and_empty(checked, _cloud(obs))[0].any()


def test_centring_and_nms_switches(weights: Path, obs: Observation) -> None:
    raw = build_detector("gsnet", weights=weights, **RAW).detect(obs)
    nmsed = build_detector("gsnet", weights=weights, **{**RAW, "nms": True}).detect(obs)
    np.testing.assert_array_equal(nmsed.array, nms(raw).array)
    centred = build_detector("gsnet", weights=weights, **{**RAW, "center": True}).detect(obs)
    np.testing.assert_allclose(centred.array, center_grasps(raw, _cloud(obs)).array)
    moved = np.linalg.norm(centred.translations - raw.translations, axis=1)
    assert moved.max() > 1e-4  # centring moved some grasp, along its jaw axis only
    along = np.einsum("nij,nj->ni", np.swapaxes(raw.rotations, 1, 2), centred.translations - raw.translations)
    np.testing.assert_allclose(along[:, [0, 2]], 0.0, atol=1e-9)


def test_top_k_min_score_and_workspace(weights: Path, obs: Observation) -> None:
    raw = build_detector("gsnet", weights=weights, **RAW).detect(obs)
    assert len(build_detector("gsnet", weights=weights, **{**RAW, "num_grasps": 5}).detect(obs)) == 5
    cut = float(np.median(raw.scores))
    kept = build_detector("gsnet", weights=weights, **{**RAW, "min_score": cut}).detect(obs)
    assert len(kept) == int((raw.scores > cut).sum()) and np.all(kept.scores > cut)
    # a world-frame box above the table plane z = 0 keeps the grasps on the box (its top at 4 cm)
    box = build_detector("gsnet", weights=weights, **{**RAW, "workspace_min": (-1.0, -1.0, 0.01),
                                                       "workspace_max": (1.0, 1.0, 1.0)}).detect(obs)
    assert obs.T_world_cam is not None
    world_z = (raw.translations @ obs.T_world_cam[:3, :3].T + obs.T_world_cam[:3, 3])[:, 2]
    assert 0 < len(box) == int((world_z >= 0.01).sum()) < len(raw)


def test_features_stay_aligned_with_rows(weights: Path, obs: Observation) -> None:
    detector = build_detector("gsnet", weights=weights, collision=False, center=False)
    assert isinstance(detector, GSNetDetector)
    found = detector.detect_with_features(obs)
    num = len(found.grasps)
    assert num > 0
    assert found.seed_features.shape == (num, TINY["feature_dim"])
    assert found.grasp_features.shape == (num, TINY["group_dim"])
    assert found.seed_slot.shape == found.point_index.shape == (num,)
    np.testing.assert_array_equal(found.grasps.array, detector.detect(obs).array)
    x = frame_inputs(obs.depth, obs.intrinsics, NUM_POINTS, 0, downsample=1)
    np.testing.assert_allclose(found.grasps.translations, x["points"].numpy()[found.point_index], atol=1e-6)
    with torch.no_grad():
        features = detector.stages.encode(x["points"][None], x["pixels"][None], x["image"][None])[0]
    np.testing.assert_allclose(found.seed_features, features[0].T.numpy()[found.point_index], atol=1e-6)
    outputs = detector.network_outputs(obs)
    assert outputs is not None
    np.testing.assert_array_equal(outputs["seed_index"][0].numpy()[found.seed_slot], found.point_index)


def test_mask_restricts_the_grasp_points(weights: Path, box_scene: Scene) -> None:
    on_box = box_scene.labels == 1
    masked = Observation(box_scene.depth, box_scene.intrinsics, mask=on_box)
    grasps = build_detector("gsnet", weights=weights, **RAW).detect(masked)
    points = masked.points(masked=True)
    gaps = np.linalg.norm(grasps.translations[:, None] - points[None], axis=-1).min(axis=1)
    assert len(grasps) and gaps.max() < 1e-6
    nothing = Observation(box_scene.depth, box_scene.intrinsics, mask=np.zeros_like(on_box))
    found = build_detector("gsnet", weights=weights).detect_with_features(nothing)  # type: ignore[attr-defined]
    assert len(found.grasps) == 0 and found.seed_features.shape == (0, TINY["feature_dim"])


def test_bad_weights_are_clear_errors(weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        build_detector("gsnet", weights=tmp_path / "none.safetensors")
    from grasplab.models import build_pixel_model

    pixel = save_checkpoint(tmp_path / "pixel.safetensors", build_pixel_model("ggcnn2", 1, 4, channels=4))
    with pytest.raises(ValueError, match=r"'pixel' network, not a GSNet.*grasplab train grasp"):
        build_detector("gsnet", weights=pixel)
    (tmp_path / "model.pt").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match="pickle"):
        build_detector("gsnet", weights=tmp_path / "model.pt")
    import grasplab.detection.shipped as shipped

    monkeypatch.setattr(shipped, "shipped_gsnet_weights", lambda: None)
    with pytest.raises(ValueError, match=r"no GSNet model is shipped.*grasplab train grasp --config"):
        build_detector("gsnet")


def test_bad_options_and_inputs(weights: Path, box_scene: Scene) -> None:
    for bad in ({"num_points": 0}, {"num_grasps": 0}, {"device": "gpu"}, {"width_scale": 0.0},
                {"workspace_min": (0.0, 1.0)}, {"collision_top_n": -1}, {"cloud_stride": 0}):
        with pytest.raises(ValueError):
            GSNetOptions(**bad)  # type: ignore[arg-type]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            build_detector("gsnet", weights=weights, device="cuda")
    rgb_net = GSNetDetector(tiny_gsnet(use_rgb=True))
    with pytest.raises(ValueError, match="takes RGB"):
        rgb_net.detect(Observation(box_scene.depth, box_scene.intrinsics))
    with pytest.raises(ValueError, match="expected a GSNet"):
        GSNetDetector(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="expected weights, a GSNet or GSNet stages"):
        GSNetDetector(42)  # type: ignore[arg-type]


def test_shipped_gsnet_weights_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import grasplab.detection.shipped as shipped

    monkeypatch.setattr(shipped.resources, "files", lambda _: tmp_path)
    assert shipped.shipped_gsnet_weights() is None
    (tmp_path / "assets" / "gsnet").mkdir(parents=True)
    for name in ("b.safetensors", "a.safetensors", "notes.txt"):
        (tmp_path / "assets" / "gsnet" / name).write_bytes(b"x")
    assert shipped.shipped_gsnet_weights() == tmp_path / "assets" / "gsnet" / "a.safetensors"
    assert shipped.shipped_pixel_weights() is None



def test_the_point_backbone_runs_the_same_pipeline(box_scene: Scene) -> None:
    net = tiny_gsnet(backbone="pointnet2", pointnet_points=[64, 16], pointnet_radii=[0.05, 0.1],
                     pointnet_neighbors=[8, 8], pointnet_width=8)
    detector = GSNetDetector(net, GSNetOptions(num_points=512, **RAW))
    grasps = detector.detect(Observation(box_scene.depth, box_scene.intrinsics))
    expected = gsnet_grasps(net, box_scene.depth, box_scene.intrinsics, 512, 0, downsample=2)
    assert len(grasps) == TINY["num_seeds"]
    np.testing.assert_allclose(np.sort(grasps.array, axis=0), np.sort(expected.array, axis=0), atol=1e-9)
