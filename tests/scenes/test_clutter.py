from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.core.rotations import make_transform
from grasplab.objects import ObjectLibrary
from grasplab.scenes import (
    DEFAULT_NUM_OBJECTS,
    TRAY_FLOOR_Z,
    TRAY_RIM_HALF_EXTENT,
    ClutterConfig,
    SceneRecord,
    World,
    generate_clutter,
    populate_world,
)

pytest.importorskip("pybullet")


@dataclass(frozen=True)
class _Obj:
    """A GraspObject-like primitive (the fields World uses), with a real URDF."""

    object_id: int
    mesh: trimesh.Trimesh
    urdf_path: Path


class _PrimitiveLibrary:
    """Boxes and cylinders of a few centimetres, written to URDFs once (a local ObjectLibrary)."""

    def __init__(self, folder: Path, num: int = 8, size: float = 1.0) -> None:
        gen = np.random.default_rng(0)
        self.objects: dict[int, _Obj] = {}
        self.loads = 0
        for oid in range(num):
            dims = gen.uniform(0.03, 0.07, size=3) * size
            if oid % 2:
                mesh = trimesh.creation.cylinder(radius=dims[0] / 2, height=dims[2], sections=24)
            else:
                mesh = trimesh.creation.box(dims)
            self.objects[100 + oid] = self._write(100 + oid, mesh, folder)

    @staticmethod
    def _write(oid: int, mesh: trimesh.Trimesh, folder: Path) -> _Obj:
        mesh.export(folder / f"o{oid}.obj")
        mass = mesh.volume * 400.0
        com, inertia = mesh.center_mass, mesh.moment_inertia * 400.0
        (folder / f"o{oid}.urdf").write_text(
            f"""<robot name="o{oid}"><link name="base"><inertial><origin xyz="{com[0]} {com[1]} {com[2]}"/>
<mass value="{mass}"/><inertia ixx="{inertia[0, 0]}" ixy="0" ixz="0" iyy="{inertia[1, 1]}" iyz="0"
izz="{inertia[2, 2]}"/></inertial><visual><geometry><mesh filename="o{oid}.obj"/></geometry></visual>
<collision><geometry><mesh filename="o{oid}.obj"/></geometry></collision></link></robot>"""
        )
        return _Obj(oid, mesh, folder / f"o{oid}.urdf")

    def load(self, object_id: int) -> _Obj:
        if object_id not in self.objects:
            raise ValueError(f"unknown object id {object_id}")
        self.loads += 1
        return self.objects[object_id]


#: three "seen" random meshes, a "similar" one and the duck ("novel")
SCENE_IDS = [0, 1, 2, 700, 1000]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> _PrimitiveLibrary:
    return _PrimitiveLibrary(tmp_path_factory.mktemp("clutter_objects"))


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> ObjectLibrary:
    return ObjectLibrary(cache_dir=tmp_path_factory.mktemp("object_cache"))


@pytest.fixture(scope="module")
def record(objects: ObjectLibrary) -> SceneRecord:
    return generate_clutter(objects, SCENE_IDS, scene_id=3, rng=42)


def test_five_objects_settle_inside_the_tray(objects: ObjectLibrary, record: SceneRecord) -> None:
    assert record.scene_id == 3 and record.seed == 42
    assert record.object_ids == tuple(SCENE_IDS)  # none lost, in drop order
    assert record.T_world_obj.shape == (5, 4, 4)
    np.testing.assert_array_equal(record.T_world_table, np.eye(4))
    for oid, T in zip(record.object_ids, record.T_world_obj, strict=True):
        verts = objects.load(oid).mesh.vertices @ T[:3, :3].T + T[:3, 3]
        center = verts.mean(axis=0)
        assert np.abs(center[:2]).max() < TRAY_RIM_HALF_EXTENT
        assert verts[:, 2].min() > TRAY_FLOOR_Z - 2e-3  # nothing sinks through the floor
        assert verts[:, 2].min() < 0.25  # fell down, did not stay in the air
    # at rest: restoring the scene and simulating a little barely moves anything
    with World() as world:
        populate_world(world, objects, record)
        world.step(60)
        for oid, T in world.object_poses().items():
            assert np.linalg.norm(T[:3, 3] - record.pose(oid)[:3, 3]) < 5e-3


def test_same_seed_same_scene(objects: ObjectLibrary, record: SceneRecord) -> None:
    again = generate_clutter(objects, SCENE_IDS, scene_id=3, rng=record.seed)
    assert again.object_ids == record.object_ids
    np.testing.assert_array_equal(again.T_world_obj, record.T_world_obj)


def test_record_round_trip_and_read_only(record: SceneRecord) -> None:
    data = json.loads(json.dumps(record.to_dict()))
    back = SceneRecord.from_dict(data)
    assert back.object_ids == record.object_ids and back.seed == record.seed
    np.testing.assert_array_equal(back.T_world_obj, record.T_world_obj)  # exact
    np.testing.assert_array_equal(back.T_world_tray, record.T_world_tray)
    with pytest.raises(ValueError):
        record.T_world_obj[0, 0, 0] = 2.0
    with pytest.raises(ValueError, match="missing"):
        SceneRecord.from_dict({"scene_id": 1})
    with pytest.raises(ValueError, match="unique"):
        SceneRecord(0, (1, 1), np.stack([np.eye(4)] * 2), np.eye(4), np.eye(4), 0)
    with pytest.raises(ValueError, match="T_world_obj"):
        SceneRecord(0, (1,), np.ones((1, 4, 4)), np.eye(4), np.eye(4), 0)
    with pytest.raises(ValueError, match="not in scene"):
        record.pose(999)


def test_populate_world_restores_exact_poses(objects: ObjectLibrary, record: SceneRecord) -> None:
    with World() as world:
        bodies = populate_world(world, objects, record, static=True)
        assert list(bodies) == list(record.object_ids)
        np.testing.assert_array_equal(world.T_world_tray, record.T_world_tray)
        for oid, T in zip(record.object_ids, record.T_world_obj, strict=True):
            np.testing.assert_allclose(world.object_pose(oid), T, atol=1e-9)
        world.step(30)  # static objects do not move
        for oid, T in zip(record.object_ids, record.T_world_obj, strict=True):
            np.testing.assert_allclose(world.object_pose(oid), T, atol=1e-9)
    with World() as other:
        other.add_table_and_tray(T_world_table=make_transform(np.eye(3), (0, 0, 0.1)))
        with pytest.raises(ValueError, match="table/tray"):
            populate_world(other, objects, record)


def test_drawing_counts_from_a_pool(library: _PrimitiveLibrary) -> None:
    pool = list(library.objects)
    drawn = generate_clutter(library, pool, 0, rng=5, config=ClutterConfig(num_objects=(2, 3)))
    assert len(drawn.object_ids) in (2, 3) and set(drawn.object_ids) <= set(pool)
    assert drawn.object_ids != tuple(pool[: len(drawn.object_ids)])  # a random draw, not the head
    with pytest.raises(ValueError, match="cannot draw"):
        generate_clutter(library, pool, 0, rng=1, config=ClutterConfig(num_objects=DEFAULT_NUM_OBJECTS[1]))
    with pytest.raises(ValueError, match="unique"):
        generate_clutter(library, [100, 100], 0, rng=1)
    with pytest.raises(ValueError, match="unknown object id"):
        generate_clutter(library, [5], 0, rng=1)


def test_tray_capacity_is_checked(tmp_path: Path) -> None:
    big = _PrimitiveLibrary(tmp_path, num=6, size=4.0)  # 12-28 cm objects
    with pytest.raises(ValueError, match="do not fit the tray"):
        generate_clutter(big, list(big.objects), 0, rng=0)
    assert big.loads == 6  # refused before any simulation


def test_objects_outside_the_tray_are_redropped_then_removed(
    library: _PrimitiveLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    # dropping over a region twice as wide as the tray's rim puts many drops on the table (or
    # off it); for this seed two of five objects miss the tray at first
    ids = [100, 101, 102, 103, 104]
    with caplog.at_level("WARNING", logger="grasplab.scenes.clutter"):
        removed = generate_clutter(
            library, ids, 1, rng=3, config=ClutterConfig(drop_half_extent=0.6, max_redrops=0)
        )
    assert removed.object_ids == (101, 102, 103)
    assert "removing objects [100, 104]" in caplog.text
    redropped = generate_clutter(
        library, ids, 1, rng=3, config=ClutterConfig(drop_half_extent=0.6, max_redrops=1)
    )
    assert redropped.object_ids == tuple(ids)  # the second drop of both landed in the tray
    for rec in (removed, redropped):
        for oid in rec.object_ids:
            assert np.abs(rec.pose(oid)[:2, 3]).max() < TRAY_RIM_HALF_EXTENT
