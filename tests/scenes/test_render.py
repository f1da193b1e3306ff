from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
from trimesh.ray.ray_pyembree import RayMeshIntersector

from grasplab.core.camera import CameraIntrinsics, depth_to_points, parallel_project
from grasplab.core.rotations import invert_transform, make_transform, rotation_x, rotation_z
from grasplab.objects import ObjectLibrary
from grasplab.scenes import (
    TRAY_FLOOR_Z,
    PosedMesh,
    World,
    look_at,
    opengl_projection,
    plgp_initial_pose,
    render_frame,
    render_parallel_depth,
    table_mesh,
)

pytest.importorskip("pybullet")

K = CameraIntrinsics(190.0, 185.0, 83.2, 57.9, 160, 120)  # off-centre principal point


@dataclass(frozen=True)
class _Obj:
    """A GraspObject-like primitive (the fields World uses), with a real URDF."""

    object_id: int
    mesh: trimesh.Trimesh
    urdf_path: Path


def make_object(object_id: int, mesh: trimesh.Trimesh, folder: Path) -> _Obj:
    """Write ``mesh`` as OBJ + URDF (1 kg, inertia of the mesh at unit mass)."""
    folder.mkdir(parents=True, exist_ok=True)
    mesh.export(folder / f"obj_{object_id}.obj")
    com, inertia = mesh.center_mass, mesh.moment_inertia / mesh.volume
    urdf = f"""<robot name="o{object_id}"><link name="base">
<inertial><origin xyz="{com[0]} {com[1]} {com[2]}"/><mass value="1.0"/>
<inertia ixx="{inertia[0, 0]}" ixy="0" ixz="0" iyy="{inertia[1, 1]}" iyz="0" izz="{inertia[2, 2]}"/>
</inertial><visual><geometry><mesh filename="obj_{object_id}.obj"/></geometry></visual>
<collision><geometry><mesh filename="obj_{object_id}.obj"/></geometry></collision></link></robot>"""
    path = folder / f"obj_{object_id}.urdf"
    path.write_text(urdf)
    return _Obj(object_id, mesh, path)


def _on_floor(mesh: trimesh.Trimesh, R: np.ndarray, xy: tuple[float, float]) -> np.ndarray:
    """Pose that puts the rotated mesh's lowest point on the tray floor at (x, y)."""
    low = (mesh.vertices @ R.T)[:, 2].min()
    return make_transform(R, (xy[0], xy[1], TRAY_FLOOR_Z - low))


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("render_objects")
    world = World()
    world.add_table_and_tray()
    box = trimesh.creation.box((0.05, 0.04, 0.06))
    cyl = trimesh.creation.cylinder(radius=0.025, height=0.08, sections=48)
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.03)
    for oid, mesh, R, xy in [
        (7, box, rotation_z(0.4), (0.03, 0.02)),
        (12, cyl, rotation_x(np.pi / 2) @ rotation_z(0.3), (-0.06, -0.04)),
        (0, ball, np.eye(3), (0.02, -0.1)),
    ]:
        world.add_object(make_object(oid, mesh, folder), _on_floor(mesh, R, xy))
    yield world
    world.close()


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return look_at((0.3, -0.2, 0.45), (0.0, -0.03, 0.02))


def _ray_cast_depth(
    world: World, intr: CameraIntrinsics, T_world_cam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact pinhole depth and labels by casting rays through the pixel centres."""
    posed = world.posed_meshes()
    meshes = [m.world_mesh() for m in posed]
    labels = np.concatenate([np.full(len(m.faces), p.label) for m, p in zip(meshes, posed, strict=True)])
    caster = RayMeshIntersector(trimesh.util.concatenate(meshes))
    v, u = np.mgrid[0 : intr.height, 0 : intr.width]
    rays = np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones(u.shape)], -1).reshape(-1, 3)
    dirs = rays @ T_world_cam[:3, :3].T
    origins = np.broadcast_to(T_world_cam[:3, 3], dirs.shape)
    locs, ray_idx, tri = caster.intersects_location(origins, dirs, multiple_hits=False)
    depth = np.zeros(u.size)
    mask = np.zeros(u.size, dtype=np.int32)
    depth[ray_idx] = ((locs - T_world_cam[:3, 3]) @ T_world_cam[:3, :3])[:, 2]
    mask[ray_idx] = labels[tri]
    return depth.reshape(u.shape), mask.reshape(u.shape)


def _assert_depth_on_meshes(
    frame_depth: np.ndarray,
    mask: np.ndarray,
    intr: CameraIntrinsics,
    T_world_cam: np.ndarray,
    posed: list[PosedMesh],
) -> None:
    """Unprojected mask pixels of each object lie on its posed mesh (median < 1 mm)."""
    for item in posed:
        points, _ = depth_to_points(frame_depth, intr, mask=mask == item.label)
        assert len(points) > 50, item.label
        in_world = points @ T_world_cam[:3, :3].T + T_world_cam[:3, 3]
        in_obj = (in_world - item.T_world_mesh[:3, 3]) @ item.T_world_mesh[:3, :3]
        _, dist, _ = trimesh.proximity.closest_point(item.mesh, in_obj)
        assert np.median(dist) < 1e-3, item.label
        assert np.mean(dist < 3e-3) > 0.95, item.label


def test_frame_fields(scene: World, camera: np.ndarray) -> None:
    frame = render_frame(scene, K, camera)
    assert frame.rgb.shape == (120, 160, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (120, 160) and frame.depth.dtype == np.float32
    assert frame.mask.dtype == np.int32
    assert set(np.unique(frame.mask).tolist()) == {0, 1, 8, 13}  # object_id + 1
    assert frame.rgb.std() > 5  # not a blank image
    assert np.all(frame.depth > 0)  # the table fills the view
    np.testing.assert_array_equal(frame.T_world_cam, camera)
    assert frame.intrinsics == K


def test_depth_unprojects_onto_the_posed_meshes(scene: World, camera: np.ndarray) -> None:
    frame = render_frame(scene, K, camera)
    _assert_depth_on_meshes(frame.depth, frame.mask, K, camera, scene.posed_meshes(include_static=False))


def test_library_objects_render_onto_their_meshes(tmp_path: Path) -> None:
    library = ObjectLibrary(cache_dir=tmp_path)
    duck, rand = library.load(1000), library.load(0)  # a named mesh and a random_urdfs mesh
    with World() as world:
        world.add_table_and_tray()
        world.add_object(duck, _on_floor(duck.mesh, rotation_z(1.0), (0.05, 0.03)))
        world.add_object(rand, _on_floor(rand.mesh, rotation_x(0.5), (-0.06, -0.05)))
        T_cam = look_at((-0.25, 0.3, 0.45), (0.0, 0.0, 0.03))
        frame = render_frame(world, K, T_cam)
        assert set(np.unique(frame.mask).tolist()) == {0, 1, 1001}
        _assert_depth_on_meshes(frame.depth, frame.mask, K, T_cam, world.posed_meshes(include_static=False))


def test_depth_and_mask_match_exact_ray_casting(scene: World, camera: np.ndarray) -> None:
    frame = render_frame(scene, K, camera)
    depth, mask = _ray_cast_depth(scene, K, camera)
    err = np.abs(frame.depth - depth)
    assert np.median(err) < 1e-4
    assert np.mean(err < 2e-3) > 0.97  # silhouettes may differ by a pixel
    assert np.mean(frame.mask == mask) > 0.98


def test_principal_point_shifts_the_image(scene: World, camera: np.ndarray) -> None:
    base = render_frame(scene, K, camera)
    shifted_K = CameraIntrinsics(K.fx, K.fy, K.cx + 8.0, K.cy - 5.0, K.width, K.height)
    shifted = render_frame(scene, shifted_K, camera)
    np.testing.assert_allclose(shifted.depth[:-5, 8:], base.depth[5:, :-8], atol=2e-4)


def test_background_beyond_far_is_zero(scene: World) -> None:
    sky = look_at((0.0, 0.0, 0.5), (0.0, 0.3, 2.0))  # looking up, away from everything
    frame = render_frame(scene, K, sky)
    assert np.all(frame.depth == 0) and np.all(frame.mask == 0)
    table_far = render_frame(scene, K, look_at((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)), far=0.5)
    assert np.all(table_far.depth == 0)  # everything lies beyond the far plane


def test_render_bad_input(scene: World, camera: np.ndarray) -> None:
    with pytest.raises(ValueError, match="CameraIntrinsics"):
        render_frame(scene, K.matrix, camera)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="near"):
        render_frame(scene, K, camera, near=1.0, far=0.5)
    with pytest.raises(ValueError, match="T_world_cam"):
        render_frame(scene, K, np.eye(3))
    with pytest.raises(ValueError, match="eta"):
        render_parallel_depth(scene, camera, eta=0.0)


def test_projection_matrix_centre_pixel() -> None:
    # a point on the optical axis lands on the principal point: x_ndc = 2 cx / W - 1 (TinyRenderer)
    P = opengl_projection(K, 0.1, 2.0)
    clip = P @ np.array([0.0, 0.0, -1.0, 1.0])  # 1 m in front (OpenGL looks down -z)
    ndc = clip[:3] / clip[3]
    assert (ndc[0] + 1) * K.width / 2 == pytest.approx(K.cx)
    assert K.height - 1 - (ndc[1] + 1) * K.height / 2 == pytest.approx(K.cy)
    assert ndc[2] == pytest.approx((1 / 1.0 - 1 / 0.1) / (1 / 2.0 - 1 / 0.1) * 2 - 1)


def test_parallel_depth_known_answer() -> None:
    box = trimesh.creation.box((0.04, 0.06, 0.05))
    T_box = make_transform(np.eye(3), (0.01, -0.02, 0.025))  # on the table, top at z = 0.05
    meshes = [PosedMesh(box, T_box, 5), PosedMesh(table_mesh(), np.eye(4), 0)]
    T_cam = plgp_initial_pose((0.0, 0.0, 0.0), 0.5)  # x = world x, y = world -y
    par = render_parallel_depth(meshes, T_cam, eta=1000.0, width=160, height=120)
    assert par.depth.shape == (120, 160) and par.depth.dtype == np.float32 and par.eta == 1000.0
    expected = np.full((120, 160), 0.5, dtype=np.float32)
    labels = np.zeros((120, 160), dtype=np.int32)
    # eq. 11: c = eta x + (W-1)/2 over x in [-0.01, 0.03]; r = eta y + (H-1)/2, y in [-0.01, 0.05]
    expected[50:110, 70:110] = 0.45
    labels[50:110, 70:110] = 5
    np.testing.assert_allclose(par.depth, expected, atol=1e-6)
    np.testing.assert_array_equal(par.mask, labels)
    corners = parallel_project([[-0.0095, -0.0095, 0.45], [0.0295, 0.0495, 0.45]], 1000.0, 160, 120)
    np.testing.assert_array_equal(np.rint(corners), [[70, 50], [109, 109]])


def test_parallel_depth_keeps_the_gap_a_pinhole_camera_loses(tmp_path: Path) -> None:
    """PLGP Fig. 5: a narrow gap between two tall boxes, seen from the side of a camera."""
    tall = trimesh.creation.box((0.04, 0.1, 0.2))
    far_tray = make_transform(np.eye(3), (5.0, 5.0, -2.0))  # keep the tray out of the picture
    with World() as world:
        world.add_table_and_tray(T_world_tray=far_tray)
        world.add_object(make_object(1, tall, tmp_path), make_transform(np.eye(3), (-0.03, 0, 0.1)))
        world.add_object(make_object(2, tall, tmp_path), make_transform(np.eye(3), (0.03, 0, 0.1)))
        T_cam = plgp_initial_pose((0.25, 0.0, 0.0), 0.5)  # straight down, 25 cm to the side
        par = render_parallel_depth(world, T_cam, eta=500.0, width=320, height=120)
        intr = CameraIntrinsics(200.0, 200.0, 159.5, 59.5, 320, 120)
        pin = render_frame(world, intr, T_cam)
    row = 60  # world y = 0
    # parallel: gap x in [-0.01, 0.01] -> camera x in [-0.26, -0.24] -> columns 30..39 see the table
    np.testing.assert_allclose(par.depth[row, 30:40], 0.5, atol=1e-6)
    np.testing.assert_array_equal(par.mask[row, 30:40], 0)
    np.testing.assert_allclose(par.depth[row, 10:30], 0.3, atol=1e-6)  # box tops
    np.testing.assert_allclose(par.depth[row, 40:60], 0.3, atol=1e-6)
    np.testing.assert_array_equal(par.mask[row, 10:30], 2)
    np.testing.assert_array_equal(par.mask[row, 40:60], 3)
    # pinhole: the table points of the gap project behind box 2, which hides them
    gap = np.stack([np.linspace(-0.009, 0.009, 10), np.zeros(10), np.zeros(10)], 1)
    cam = gap @ invert_transform(T_cam)[:3, :3].T + invert_transform(T_cam)[:3, 3]
    u = np.rint(intr.fx * cam[:, 0] / cam[:, 2] + intr.cx).astype(int)
    assert np.all(pin.depth[row, u] < cam[:, 2] - 0.05)
    assert np.all(pin.mask[row, u] == 3)


def test_parallel_depth_world_equals_meshes(scene: World, camera: np.ndarray) -> None:
    a = render_parallel_depth(scene, camera, eta=400.0, width=80, height=60)
    b = render_parallel_depth(scene.posed_meshes(), camera, eta=400.0, width=80, height=60)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert {1, 8, 13} <= set(np.unique(a.mask).tolist())
    empty = render_parallel_depth([], camera, eta=400.0, width=8, height=6)
    assert np.all(empty.depth == 0)


def test_rendered_tray_floor_is_the_collision_floor(scene: World) -> None:
    """Objects rest on the floor the camera sees (pybullet_data's tray draws it 1 cm too low)."""
    intr = CameraIntrinsics(200.0, 200.0, 79.5, 59.5, 160, 120)
    T_world_cam = look_at((0.12, 0.12, 0.5), (0.12, 0.12, 0.0))  # looks straight down at empty floor
    frame = render_frame(scene, intr, T_world_cam)
    floor = frame.depth[40:80, 60:100]
    assert np.all(floor > 0)
    floor_z = T_world_cam[2, 3] - floor  # the camera looks along world -z
    np.testing.assert_allclose(floor_z, TRAY_FLOOR_Z, atol=1e-3)
    # the physics side (objects settle onto TRAY_FLOOR_Z) is checked in test_world.py
