"""The simulated GelSight pad: known-answer contact patches, background, determinism, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.core import make_transform
from grasplab.tactile import (
    GelSightConfig,
    background_image,
    deform_gel,
    mesh_distance,
    pad_caster,
    pad_pose,
    phong_shading,
    press,
    pressing_depth,
    render_tactile,
    shade,
)

CFG = GelSightConfig(noise_std=0.0)


def _gap(mesh: trimesh.Trimesh, centre_z: float, cfg: GelSightConfig = CFG) -> np.ndarray:
    """Object distance from its closest point, mesh centred at (0, 0, centre_z) of the pad."""
    T_mesh_pad = make_transform(np.eye(3), np.array([0.0, 0.0, -centre_z]))
    distance = mesh_distance(pad_caster(mesh), T_mesh_pad, cfg)
    return distance - distance.min()


def test_box_face_gives_uniform_patch_of_its_area() -> None:
    box = trimesh.creation.box(extents=(0.008, 0.006, 0.01))
    gap = _gap(box, 0.005)
    depth = 3e-4
    raw = press(gap, depth, CFG.gel_thickness)
    pitch = CFG.pixel_pitch
    area = float((raw > 0).sum()) * pitch**2
    assert area == pytest.approx(0.008 * 0.006, abs=2 * (0.008 + 0.006) * pitch)
    assert np.allclose(raw[raw > 0], depth, atol=1e-9)  # uniform
    image = render_tactile(raw, CFG)
    x, y = CFG.pixel_coordinates()
    inner = (np.abs(y)[:, None] < 0.002) & (np.abs(x)[None, :] < 0.003)
    assert np.abs(image[inner] - background_image(CFG)[inner]).max() < 1e-5  # flat inside
    assert np.abs(image - background_image(CFG)).max() > 0.05  # edges show


def test_pressing_depth_balances_force_on_a_flat_face() -> None:
    gap = _gap(trimesh.creation.box(extents=(0.008, 0.006, 0.01)), 0.005)
    area = 0.008 * 0.006
    force = 2.0
    expected = force * CFG.gel_thickness / (CFG.gel_modulus * area)  # Winkler: F = E/t · A · δ
    got = pressing_depth(gap, force, CFG.pixel_pitch**2, CFG)
    assert got == pytest.approx(expected, rel=0.03)
    assert pressing_depth(gap, 0.0, CFG.pixel_pitch**2, CFG) == 0.0
    assert pressing_depth(gap, 1e6, CFG.pixel_pitch**2, CFG) == CFG.gel_thickness


def test_pressing_depth_on_a_sphere_follows_the_winkler_closed_form() -> None:
    radius, force = 0.01, 3.0
    gap = _gap(trimesh.creation.icosphere(subdivisions=5, radius=radius), radius)
    # Winkler foundation under a paraboloid: F = (E / t) * pi * R * depth^2
    expected = np.sqrt(force * CFG.gel_thickness / (CFG.gel_modulus * np.pi * radius))
    got = pressing_depth(gap, force, CFG.pixel_pitch**2, CFG)
    assert got == pytest.approx(expected, rel=0.05)


def test_slope_table_matches_direct_phong_shading() -> None:
    x, y = CFG.pixel_coordinates()
    tilt = 0.3  # a plane of slope 0.3 along x, 0.1 along y
    height = (tilt * x[None, :] + 0.1 * y[:, None] + 0.01).astype(np.float64)
    normal = np.array([-tilt, -0.1, 1.0]) / np.linalg.norm([-tilt, -0.1, 1.0])
    expected = phong_shading(normal, CFG) - phong_shading(np.array([0.0, 0.0, 1.0]), CFG)
    got = shade(height, CFG)[10:-10, 10:-10]
    assert np.allclose(got, expected, atol=5e-3)
    assert np.allclose(shade(np.zeros((8, 8)), CFG), 0.0)


@pytest.mark.parametrize("depth", [2e-4, 5e-4, 1e-3])
def test_sphere_patch_is_round_with_hertz_radius(depth: float) -> None:
    radius = 0.01
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=radius)
    raw = press(_gap(sphere, radius), depth, CFG.gel_thickness)
    contact = raw > 0
    pitch = CFG.pixel_pitch
    r_area = np.sqrt(contact.sum() * pitch**2 / np.pi)
    expected = np.sqrt(2 * radius * depth - depth**2)
    assert r_area == pytest.approx(expected, rel=0.05)
    rows, cols = np.nonzero(contact)
    width, height = (np.ptp(cols) + 1) * pitch, (np.ptp(rows) + 1) * pitch
    assert width == pytest.approx(height, abs=3 * pitch)  # round
    assert raw.max() == pytest.approx(depth, rel=0.02)


def test_no_contact_gives_background_exactly() -> None:
    empty = np.zeros(CFG.image_shape)
    assert np.array_equal(render_tactile(empty, CFG), background_image(CFG))
    assert np.array_equal(render_tactile(empty, CFG, shear=(5e-4, 0.0)), background_image(CFG))
    assert not deform_gel(empty, CFG).any()


def test_deformation_is_smooth_and_bounded() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=0.01)
    raw = press(_gap(sphere, 0.01), 5e-4, CFG.gel_thickness)
    gel = deform_gel(raw, CFG)
    assert np.all(gel >= raw - 1e-9) and gel.max() <= CFG.gel_thickness
    assert (gel > 1e-6).sum() > (raw > 0).sum()  # a skirt around the contact


def test_determinism_per_seed() -> None:
    cfg = GelSightConfig()
    raw = press(_gap(trimesh.creation.icosphere(radius=0.01), 0.01), 5e-4, cfg.gel_thickness)
    a = render_tactile(raw, cfg, rng=3, shear=(3e-4, 0.0))
    b = render_tactile(raw, cfg, rng=3, shear=(3e-4, 0.0))
    c = render_tactile(raw, cfg, rng=4, shear=(3e-4, 0.0))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (480, 640, 3) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1


def test_training_size_keeps_the_pad() -> None:
    small = CFG.with_resolution(160)
    assert small.resolution == (160, 120) and small.pad_size == CFG.pad_size
    raw = press(_gap(trimesh.creation.box(extents=(0.008, 0.006, 0.01)), 0.005, small), 3e-4,
                small.gel_thickness)
    assert (raw > 0).sum() * small.pixel_pitch**2 == pytest.approx(4.8e-5, rel=0.1)
    assert render_tactile(raw, small).shape == (120, 160, 3)


def test_pads_face_each_other() -> None:
    T = make_transform(np.eye(3), np.array([0.1, 0.2, 0.3]))
    left, right = pad_pose(T, 0.02, "left", CFG), pad_pose(T, 0.02, "right", CFG)
    assert np.allclose(left[:3, 2], -right[:3, 2])
    assert np.linalg.norm(left[:3, 3] - right[:3, 3]) == pytest.approx(0.04)
    for pose in (left, right):
        assert np.linalg.det(pose[:3, :3]) == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs", [
    {"gel_thickness": -0.001}, {"gel_thickness": 0.0}, {"resolution": (0, 0)},
    {"resolution": (640, 0)}, {"pad_size": (0.016, -0.012)}, {"resolution": (640, 100)},
    {"noise_std": -1.0}, {"light_colors": ((1.0, 0.0, 0.0),)}, {"raycast_stride": 0},
])
def test_bad_config_raises(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GelSightConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError):
        render_tactile(np.zeros((10, 10)), CFG)
    with pytest.raises(ValueError):
        render_tactile(-np.ones(CFG.image_shape), CFG)
    with pytest.raises(ValueError):
        press(np.zeros((4, 4)), -1e-3, CFG.gel_thickness)
    with pytest.raises(ValueError):
        pressing_depth(np.zeros((4, 4)), -1.0, 1e-8, CFG)
    with pytest.raises(ValueError):
        pad_pose(np.eye(4), 0.01, "middle", CFG)


def test_grasp_capture_ta_tb_tc_on_a_box(tmp_path: object) -> None:
    from grasplab.execution import PrimitiveLibrary, SimGripper, set_grasp_friction
    from grasplab.scenes import TRAY_FLOOR_Z, World
    from grasplab.tactile import GelSightSensor, capture_grasp, top_down_grasp

    box = trimesh.creation.box(extents=(0.05, 0.04, 0.03))
    library = PrimitiveLibrary(tmp_path, {7: box})  # type: ignore[arg-type]
    cfg = GelSightConfig(noise_std=0.0).with_resolution(160)
    with World() as world:
        world.add_table_and_tray()
        world.add_object(library.load(7), make_transform(np.eye(3), np.array(
            [0.0, 0.0, TRAY_FLOOR_Z + 0.016])))
        world.settle(max_steps=600)
        hand = SimGripper(world)
        set_grasp_friction(world, hand, 0.8)
        posed = world.posed_meshes(include_static=False)[0]
        points = posed.mesh.vertices @ posed.T_world_mesh[:3, :3].T + posed.T_world_mesh[:3, 3]
        trial = capture_grasp(world, hand, top_down_grasp(points), GelSightSensor(cfg), rng=0)
    assert trial.outcome.success
    assert list(trial.images) == ["before_contact", "closed", "lifted"]
    assert np.array_equal(trial.images["before_contact"][0], background_image(cfg))
    for phase in ("closed", "lifted"):
        for reading in trial.readings[phase]:
            assert reading.normal_force > 0 and reading.height.max() > 0
    assert np.abs(trial.difference("closed", 0)).max() > 0.02


def test_markers_in_the_contact_move_with_the_shear() -> None:
    raw = press(_gap(trimesh.creation.box(extents=(0.008, 0.006, 0.01)), 0.005), 3e-4,
                CFG.gel_thickness)
    shear = np.array([3e-4, -1e-4])  # m along the pad's x (columns) and y (rows)
    still = render_tactile(raw, CFG).sum(axis=2)
    moved = render_tactile(raw, CFG, shear=shear).sum(axis=2)

    def dark_centroid(image: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        patch = image[rows, cols]
        r, c = np.nonzero(patch < patch.max() - 0.3)
        return np.array([r.mean() + rows.start, c.mean() + cols.start])

    # the marker nearest the pad centre (inside the contact) and one in a corner (outside)
    centre = (slice(190, 240), slice(275, 325))  # one dot at rest at (215.5, 295.5)
    corner = (slice(0, 40), slice(0, 40))
    shift = dark_centroid(moved, *centre) - dark_centroid(still, *centre)
    assert shift == pytest.approx(shear[::-1] / CFG.pixel_pitch, abs=0.5)
    assert np.array_equal(moved[corner], still[corner])


def test_smoothing_makes_a_coarse_sphere_round_and_keeps_a_box_flat() -> None:
    radius = 0.01
    coarse = trimesh.creation.icosphere(subdivisions=2, radius=radius)  # facets ~2.5 mm
    x, y = CFG.pixel_coordinates()
    r2 = x[None, :] ** 2 + y[:, None] ** 2
    near = r2 < (0.004) ** 2
    exact = radius - np.sqrt(radius**2 - r2[near])  # true sphere, apex at the face
    errors = []
    for smooth in (False, True):
        cfg = GelSightConfig(noise_std=0.0, smooth_surface=smooth)
        gap = _gap(coarse, radius, cfg)
        errors.append(np.abs((gap[near] - gap[near].min()) - (exact - exact.min())).max())
    assert errors[1] < 0.5 * errors[0]
    box = _gap(trimesh.creation.box(extents=(0.008, 0.006, 0.01)), 0.005)
    assert np.abs(box[np.isfinite(box)]).max() < 1e-9  # flat face stays flat
