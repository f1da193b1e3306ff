from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.core.rotations import make_transform, rotation_x, rotation_z
from grasplab.scenes import TRAY_FLOOR_Z, World

pytest.importorskip("pybullet")


@dataclass(frozen=True)
class _Obj:
    """A GraspObject-like primitive (the fields World uses), with a real URDF."""

    object_id: int
    mesh: trimesh.Trimesh
    urdf_path: Path
    mass: float
    center_of_mass: np.ndarray


def make_object(object_id: int, mesh: trimesh.Trimesh, folder: Path, density: float = 500.0) -> _Obj:
    """Write ``mesh`` (model frame) as OBJ + URDF with its true mass, COM and inertia."""
    folder.mkdir(parents=True, exist_ok=True)
    obj_path = folder / f"obj_{object_id}.obj"
    mesh.export(obj_path)
    mass = float(mesh.volume * density)
    com = np.asarray(mesh.center_mass)
    inertia = np.asarray(mesh.moment_inertia) * density
    ixx, iyy, izz = inertia[0, 0], inertia[1, 1], inertia[2, 2]
    ixy, ixz, iyz = inertia[0, 1], inertia[0, 2], inertia[1, 2]
    urdf = f"""<robot name="obj_{object_id}"><link name="base">
<inertial><origin xyz="{com[0]} {com[1]} {com[2]}" rpy="0 0 0"/><mass value="{mass}"/>
<inertia ixx="{ixx}" ixy="{ixy}" ixz="{ixz}" iyy="{iyy}" iyz="{iyz}" izz="{izz}"/></inertial>
<visual><geometry><mesh filename="{obj_path.name}"/></geometry></visual>
<collision><geometry><mesh filename="{obj_path.name}"/></geometry></collision>
</link></robot>"""
    urdf_path = folder / f"obj_{object_id}.urdf"
    urdf_path.write_text(urdf)
    return _Obj(object_id, mesh, urdf_path, mass, com)


@pytest.fixture
def offset_box(tmp_path: Path) -> _Obj:
    """A 4x6x8 cm box whose centre (and COM) is offset from its model-frame origin."""
    mesh = trimesh.creation.box((0.04, 0.06, 0.08))
    mesh.apply_translation((0.01, -0.02, 0.03))
    return make_object(3, mesh, tmp_path)


def test_object_pose_round_trip_with_offset_com(offset_box: _Obj) -> None:
    T = make_transform(rotation_z(0.7) @ rotation_x(0.3), (0.1, -0.05, 0.4))
    with World() as world:
        body = world.add_object(offset_box, T)
        assert body == world.body_id(3)
        np.testing.assert_allclose(world.object_pose(3), T, atol=1e-9)
        assert list(world.object_poses()) == [3]
        world.set_object_pose(3, np.eye(4))
        np.testing.assert_allclose(world.object_pose(3), np.eye(4), atol=1e-9)


def test_box_settles_on_tray_floor(offset_box: _Obj) -> None:
    # dropped flat from 5 cm above the floor, the box rests with its bottom on the tray floor
    T = make_transform(np.eye(3), (0.0, 0.0, TRAY_FLOOR_Z + 0.05 + 0.01))
    with World() as world:
        world.add_table_and_tray()
        world.add_object(offset_box, T)
        steps = world.settle(max_steps=2400)
        assert 0 < steps < 2400
        pose = world.object_pose(3)
        bottom = (pose[:3, :3] @ (offset_box.mesh.vertices.T) + pose[:3, 3:]).min(axis=1)[2]
        assert bottom == pytest.approx(TRAY_FLOOR_Z, abs=1.5e-3)
        assert np.all(world.object_velocities() < 5e-2)


def test_settle_cap_is_respected(offset_box: _Obj) -> None:
    with World() as world:
        world.add_object(offset_box, make_transform(np.eye(3), (0, 0, 5.0)))  # free fall, no table
        assert world.settle(max_steps=50, check_every=20) == 50
        assert world.object_pose(3)[2, 3] < 5.0


def test_several_worlds_coexist(offset_box: _Obj) -> None:
    T = make_transform(np.eye(3), (0.0, 0.0, 0.3))
    a, b = World(), World()
    try:
        assert a.client != b.client
        a.add_table_and_tray()
        b.add_object(offset_box, T)
        a.add_object(offset_box, T)
        a.step(120)  # only a's box falls
        assert a.object_pose(3)[2, 3] < 0.25
        np.testing.assert_allclose(b.object_pose(3), T, atol=1e-9)
        a.close()
        b.step(10)
        assert b.object_pose(3)[2, 3] < 0.3
    finally:
        a.close()
        b.close()


def test_closed_world_raises(offset_box: _Obj) -> None:
    with World() as world:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        world.add_object(offset_box, np.eye(4))


def test_remove_and_bad_input(offset_box: _Obj, tmp_path: Path) -> None:
    with World() as world:
        world.add_object(offset_box, np.eye(4))
        with pytest.raises(ValueError, match="already"):
            world.add_object(offset_box, np.eye(4))
        with pytest.raises(ValueError, match="T_world_obj"):
            world.add_object(make_object(4, trimesh.creation.box((0.02,) * 3), tmp_path), np.ones((4, 4)))
        world.remove_object(3)
        assert world.object_ids == []
        with pytest.raises(ValueError, match="not in this world"):
            world.remove_object(3)
        with pytest.raises(ValueError, match="num_steps"):
            world.step(-1)
        world.add_table_and_tray()
        with pytest.raises(ValueError, match="already has a table"):
            world.add_table_and_tray()


def test_set_friction_applies_to_present_and_future_bodies(offset_box: _Obj, tmp_path: Path) -> None:
    import pybullet as p

    with World() as world:
        world.add_table_and_tray()
        world.add_object(offset_box, np.eye(4))
        world.set_friction(0.3)
        other = make_object(5, trimesh.creation.cylinder(0.02, 0.05), tmp_path)
        world.add_object(other, make_transform(np.eye(3), (0.3, 0, 0.2)))
        bodies = list(range(p.getNumBodies(physicsClientId=world.client)))
        assert len(bodies) == 4
        for body in bodies:
            assert p.getDynamicsInfo(body, -1, physicsClientId=world.client)[1] == pytest.approx(0.3)
        with pytest.raises(ValueError, match="mu"):
            world.set_friction(-0.1)


def test_friction_decides_sliding_on_a_slope(tmp_path: Path) -> None:
    # a box on a tilted table slides iff tan(slope) > mu_box * mu_table (PyBullet multiplies them)
    box = make_object(0, trimesh.creation.box((0.05, 0.05, 0.02)), tmp_path)
    slope = 0.3  # tan = 0.309
    T_table = make_transform(rotation_x(slope), (0, 0, 0))
    T_box = T_table @ make_transform(np.eye(3), (0, 0, 0.0101))
    moved = {}
    for mu in (0.4, 0.8):  # products 0.16 (slides) and 0.64 (sticks)
        with World() as world:
            world.add_table_and_tray(
                T_world_table=T_table, T_world_tray=make_transform(np.eye(3), (5, 5, -2))
            )
            world.add_object(box, T_box)
            world.set_friction(mu)
            world.step(120)
            moved[mu] = float(np.linalg.norm(world.object_pose(0)[:3, 3] - T_box[:3, 3]))
    assert moved[0.4] > 0.05
    assert moved[0.8] < 0.005


def test_posed_meshes_and_mask_mapping(offset_box: _Obj) -> None:
    with World() as world:
        assert world.posed_meshes() == []
        world.add_table_and_tray()
        body = world.add_object(offset_box, np.eye(4))
        meshes = world.posed_meshes()
        assert [m.label for m in meshes] == [4, 0, 0]
        world_box = meshes[0].world_mesh()
        np.testing.assert_allclose(world_box.vertices, offset_box.mesh.vertices, atol=1e-9)
        seg = np.array([[-1, 0, 1, body]])  # background, table, tray, the box
        np.testing.assert_array_equal(world.segmentation_to_mask(seg), [[0, 0, 0, 4]])
        assert world.segmentation_to_mask(seg).dtype == np.int32


def test_pose_pq_round_trip_and_pybullet_quaternion_order() -> None:
    from grasplab.scenes.world import pose_to_pq, pq_to_pose

    T = make_transform(rotation_z(np.pi / 2), [0.1, -0.2, 0.3])
    pos, xyzw = pose_to_pq(T)
    assert pos == pytest.approx([0.1, -0.2, 0.3])
    # 90 deg about z: PyBullet's [x, y, z, w] = [0, 0, sin 45, cos 45]
    assert xyzw == pytest.approx([0.0, 0.0, np.sqrt(0.5), np.sqrt(0.5)])
    np.testing.assert_allclose(pq_to_pose(pos, xyzw), T, atol=1e-12)


def test_saved_state_restores_on_exit_and_inside(offset_box: _Obj) -> None:
    # a box dropped from 10 cm: restoring puts it back in the air, at rest
    T = make_transform(np.eye(3), (0.0, 0.0, TRAY_FLOOR_Z + 0.1))
    with World() as world:
        world.add_table_and_tray()
        world.add_object(offset_box, T)
        with world.saved_state() as saved:
            world.step(60)
            assert world.object_pose(3)[2, 3] < T[2, 3] - 0.01
            saved.restore()
            np.testing.assert_allclose(world.object_pose(3), T, atol=1e-9)
            world.step(60)
        np.testing.assert_allclose(world.object_pose(3), T, atol=1e-9)
        assert np.all(world.object_velocities() == 0.0)
        with pytest.raises(RuntimeError, match="released"):
            saved.restore()
        with pytest.raises(RuntimeError, match="boom"), world.saved_state():  # restored on error too
            world.step(30)
            raise RuntimeError("boom")
        np.testing.assert_allclose(world.object_pose(3), T, atol=1e-9)
