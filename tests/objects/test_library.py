from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.objects import (
    GraspObject,
    ObjectLibrary,
    ProcessingConfig,
    load_mesh_object,
    object_id_by_name,
)
from grasplab.objects.processing import (
    MAX_LARGEST_EXTENT,
    MAX_SMALLEST_EXTENT,
    MIN_LARGEST_EXTENT,
    oriented_extents,
)
from grasplab.objects.sources import read_obj_parts
from grasplab.objects.urdf import obj_text

# a handful: seen, similar (127 convex parts), named meshes (plain, convex parts, hull fallback)
SAMPLE_IDS = (0, 37, 782, 1000, 1001, 1003)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> ObjectLibrary:
    return ObjectLibrary(tmp_path_factory.mktemp("objects_cache"))


@pytest.fixture(scope="module")
def loaded(library: ObjectLibrary) -> dict[int, GraspObject]:
    return {oid: library.load(oid) for oid in SAMPLE_IDS}


def _fits_gripper(obj: GraspObject) -> bool:
    e = oriented_extents(obj.mesh)
    return bool(
        e[0] <= MAX_SMALLEST_EXTENT + 1e-6
        and MIN_LARGEST_EXTENT - 1e-6 <= e[2] <= MAX_LARGEST_EXTENT + 1e-6
    )


@pytest.mark.parametrize("oid", SAMPLE_IDS)
def test_sample_objects_are_valid(loaded: dict[int, GraspObject], oid: int) -> None:
    obj = loaded[oid]
    assert obj.object_id == oid and obj.name == ObjectLibrary().spec(oid).name
    assert obj.mesh.is_watertight and obj.mesh.volume > 0
    assert _fits_gripper(obj)
    assert obj.mass > 0 and obj.density == 500.0
    assert obj.mass == pytest.approx(obj.mesh.volume * obj.density)
    lo, hi = obj.mesh.bounds
    assert np.all(obj.center_of_mass >= lo) and np.all(obj.center_of_mass <= hi)
    assert not obj.center_of_mass.flags.writeable
    np.testing.assert_allclose(obj.inertia, obj.inertia.T, atol=1e-15)
    assert np.all(np.linalg.eigvalsh(obj.inertia) > 0)
    assert obj.urdf_path.is_file()
    parts = read_obj_parts(obj.urdf_path.parent / "collision.obj")
    assert len(parts) == obj.num_collision_parts >= 1


def test_splits_and_sources_of_samples(loaded: dict[int, GraspObject]) -> None:
    assert [loaded[i].split for i in (0, 782, 1000)] == ["seen", "similar", "novel"]
    assert loaded[782].num_collision_parts == 127  # the source's own convex parts
    assert loaded[1001].source == "named_mesh" and loaded[1001].num_collision_parts == 15
    assert loaded[1003].hull_fallback  # the mug file is an open surface
    assert not loaded[1000].hull_fallback


def test_random_urdf_keeps_the_urdf_scale_when_it_fits(loaded: dict[int, GraspObject]) -> None:
    # random_urdfs/000 at pybullet_data's own scale 0.015 is 3.1 x 8.5 x 11.7 cm: it fits as is.
    assert loaded[0].scale == 1.0
    np.testing.assert_allclose(oriented_extents(loaded[0].mesh), [0.031, 0.085, 0.117], atol=3e-3)


@pytest.mark.parametrize(
    ("name", "size", "mass"),
    [
        ("plate_thin", (0.12, 0.08, 0.005), 500.0 * 0.12 * 0.08 * 0.005),
        ("box_block", (0.06, 0.04, 0.03), 500.0 * 0.06 * 0.04 * 0.03),
        ("cube_small", (0.02, 0.02, 0.02), 500.0 * 0.02**3),
    ],
)
def test_primitive_boxes_known_answers(
    library: ObjectLibrary, name: str, size: tuple[float, float, float], mass: float
) -> None:
    obj = library.load(object_id_by_name(name))
    assert obj.scale == 1.0 and obj.split == "novel" and obj.source == "primitive"
    assert obj.mass == pytest.approx(mass)
    np.testing.assert_allclose(obj.center_of_mass, 0.0, atol=1e-12)
    np.testing.assert_allclose(obj.mesh.extents, size, atol=1e-12)
    assert obj.num_collision_parts == 1
    a, b, c = size
    np.testing.assert_allclose(
        np.diag(obj.inertia), mass / 12 * np.array([b * b + c * c, a * a + c * c, a * a + b * b])
    )


def test_ring_is_decomposed_and_fits(library: ObjectLibrary) -> None:
    ring = library.load(object_id_by_name("ring_torus"))
    assert ring.num_collision_parts > 1 and _fits_gripper(ring)
    r, a = 0.035, 0.008
    # Pappus with the mesh's 16-gon cross-section (the 48-gon sweep costs another 0.3 %)
    section = 16 / 2 * np.sin(2 * np.pi / 16) * a * a
    assert ring.mass == pytest.approx(500.0 * 2 * np.pi * r * section, rel=0.01)


def test_second_load_does_no_processing(library: ObjectLibrary, loaded: dict) -> None:
    files = sorted(p for oid in SAMPLE_IDS for p in library.entry_dir(oid).iterdir())
    mtimes = [p.stat().st_mtime_ns for p in files]
    fresh = ObjectLibrary(library.cache_dir)
    again = {oid: fresh.load(oid) for oid in SAMPLE_IDS}
    assert fresh.num_processed == 0
    assert [p.stat().st_mtime_ns for p in files] == mtimes
    for oid in SAMPLE_IDS:
        np.testing.assert_array_equal(again[oid].mesh.vertices, loaded[oid].mesh.vertices)
        assert again[oid].mass == loaded[oid].mass
    assert fresh.load(0) is again[0]  # memory cache
    before = library.num_processed
    assert all(library.load(oid) is loaded[oid] for oid in SAMPLE_IDS)
    assert library.num_processed == before >= len(SAMPLE_IDS)


def test_corrupt_entries_are_rebuilt(tmp_path: Path) -> None:
    lib = ObjectLibrary(tmp_path)
    oid = object_id_by_name("cube_small")
    first = lib.load(oid)
    entry = lib.entry_dir(oid)
    damage = {
        "mesh.npz": b"\x00garbage",
        "meta.json": b"{not json",
        "collision.obj": b"o part_000\n",
    }
    for name, data in damage.items():
        (entry / name).write_bytes(data)
        fresh = ObjectLibrary(tmp_path)
        rebuilt = fresh.load(oid)
        assert fresh.num_processed == 1, name
        np.testing.assert_array_equal(rebuilt.mesh.vertices, first.mesh.vertices)
    (entry / "object.urdf").unlink()
    fresh = ObjectLibrary(tmp_path)
    assert fresh.load(oid).urdf_path.is_file() and fresh.num_processed == 1


def test_interrupted_write_leaves_no_entry(tmp_path: Path) -> None:
    lib = ObjectLibrary(tmp_path)
    oid = object_id_by_name("cube_small")
    entry = lib.entry_dir(oid)
    # what a process killed mid-write leaves: a temporary folder beside the entry
    partial = entry.parent / f".{entry.name}.abc123"
    partial.mkdir(parents=True)
    (partial / "mesh.npz").write_bytes(b"half")
    assert not entry.exists()
    obj = lib.load(oid)
    assert lib.num_processed == 1 and obj.mesh.is_watertight
    assert sorted(p.name for p in entry.iterdir()) == [
        "collision.obj", "mesh.npz", "meta.json", "object.urdf", "visual.obj",
    ]


def test_processing_is_deterministic(tmp_path: Path, loaded: dict[int, GraspObject]) -> None:
    for oid in (0, 1000):
        other = ObjectLibrary(tmp_path).load(oid)
        np.testing.assert_array_equal(other.mesh.vertices, loaded[oid].mesh.vertices)
        np.testing.assert_array_equal(other.mesh.faces, loaded[oid].mesh.faces)
        assert other.mass == loaded[oid].mass
        ours = (loaded[oid].urdf_path.parent / "collision.obj").read_bytes()
        assert (other.urdf_path.parent / "collision.obj").read_bytes() == ours


def test_config_changes_the_cache_key(tmp_path: Path) -> None:
    heavy = ObjectLibrary(tmp_path, ProcessingConfig(density=1000.0))
    light = ObjectLibrary(tmp_path)
    oid = object_id_by_name("box_block")
    assert heavy.load(oid).mass == pytest.approx(2 * light.load(oid).mass)
    assert heavy.entries_dir != light.entries_dir


def test_bad_ids_and_splits(library: ObjectLibrary) -> None:
    with pytest.raises(ValueError, match="-1"):
        library.load(-1)
    with pytest.raises(ValueError, match="5000"):
        library.load(5000)
    with pytest.raises(ValueError, match="train"):
        library.ids("train")
    assert library.ids("seen") == [i for i in range(700) if i != 168]
    with pytest.raises(ValueError, match="density"):
        ProcessingConfig(density=0.0)


def test_default_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRASPLAB_CACHE", str(tmp_path / "c"))
    assert ObjectLibrary().cache_dir == tmp_path / "c"
    monkeypatch.delenv("GRASPLAB_CACHE")
    assert ObjectLibrary().cache_dir == Path.home() / ".cache" / "grasplab"


def test_urdf_loads_in_pybullet(loaded: dict[int, GraspObject], library: ObjectLibrary) -> None:
    p = pytest.importorskip("pybullet")
    ring = library.load(object_id_by_name("ring_torus"))
    client = p.connect(p.DIRECT)
    try:
        for obj in (loaded[782], ring):
            body = p.loadURDF(str(obj.urdf_path), physicsClientId=client)
            info = p.getDynamicsInfo(body, -1, physicsClientId=client)
            assert info[0] == pytest.approx(obj.mass, rel=1e-6)
            np.testing.assert_allclose(info[3], obj.center_of_mass, atol=1e-6)
            if obj is not ring:
                p.removeBody(body, physicsClientId=client)
        # the ring's collision parts leave its hole open: a ray down its axis hits nothing
        hit = p.rayTest([0, 0, 1], [0, 0, -1], physicsClientId=client)[0]
        assert hit[0] == -1
        hit = p.rayTest([0.035, 0, 1], [0.035, 0, -1], physicsClientId=client)[0]
        assert hit[0] == body and hit[3][2] == pytest.approx(0.008, abs=2e-3)  # + contact margin
    finally:
        p.disconnect(client)


# ---- user meshes ----------------------------------------------------------------------------


def _unmerged_soup(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    tri = mesh.triangles.reshape(-1, 3)
    return trimesh.Trimesh(tri, np.arange(len(tri)).reshape(-1, 3), process=False)


def _write(path: Path, mesh: trimesh.Trimesh) -> Path:
    path.write_text(obj_text([mesh]))
    return path


def test_user_mesh_in_millimetres(tmp_path: Path) -> None:
    box_mm = trimesh.creation.box((60.0, 40.0, 30.0))
    box_mm.apply_translation([10.0, 0.0, 0.0])
    path = _write(tmp_path / "part.obj", box_mm)
    obj = load_mesh_object(path, object_id=7, scale=0.001, cache_dir=tmp_path / "cache")
    assert (obj.object_id, obj.name, obj.split, obj.source) == (7, "part", "user", "user_mesh")
    assert obj.mass == pytest.approx(500.0 * 0.06 * 0.04 * 0.03)
    np.testing.assert_allclose(obj.center_of_mass, [0.01, 0.0, 0.0], atol=1e-12)
    again = load_mesh_object(path, object_id=7, scale=0.001, cache_dir=tmp_path / "cache")
    assert again.urdf_path == obj.urdf_path


@pytest.mark.parametrize("suffix", [".obj", ".stl", ".ply"])
def test_user_mesh_in_metres_is_kept(tmp_path: Path, suffix: str) -> None:
    box = trimesh.creation.box((0.05, 0.03, 0.02))
    path = tmp_path / f"block{suffix}"
    if suffix == ".obj":
        _write(path, box)
    else:
        _unmerged_soup(box).export(path)
    obj = load_mesh_object(path, cache_dir=tmp_path / "cache")
    assert obj.name == "block" and obj.mesh.is_watertight
    assert obj.scale == 1.0
    np.testing.assert_allclose(obj.mesh.extents, [0.05, 0.03, 0.02], atol=1e-12)


def test_user_mesh_fit_gripper(tmp_path: Path) -> None:
    path = _write(tmp_path / "slab.obj", trimesh.creation.box((0.4, 0.3, 0.2)))
    kept = load_mesh_object(path, cache_dir=tmp_path / "cache")
    assert kept.scale == 1.0  # a user's part keeps its size unless asked
    fitted = load_mesh_object(path, fit_gripper=True, cache_dir=tmp_path / "cache")
    # largest clipped to 15 cm (s = 0.375), then smallest to 7 cm (s = 0.35)
    assert fitted.scale == pytest.approx(0.35)
    np.testing.assert_allclose(fitted.mesh.extents, [0.14, 0.105, 0.07], atol=1e-12)


def test_degenerate_user_meshes_raise(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    big = _write(tmp_path / "big.obj", trimesh.creation.box((60.0, 40.0, 30.0)))
    with pytest.raises(ValueError, match="'big' is far too big: 60 m"):
        load_mesh_object(big, cache_dir=cache)
    with pytest.raises(ValueError, match="'big' is far too big: 60 m"):
        load_mesh_object(big, fit_gripper=True, cache_dir=cache)
    with pytest.raises(ValueError, match="'big' is far too small"):
        load_mesh_object(big, scale=1e-6, cache_dir=cache)
    flat = tmp_path / "flat.obj"
    flat.write_text("v 0 0 0\nv 0.1 0 0\nv 0.1 0.1 0\nv 0 0.1 0\nf 1 2 3\nf 1 3 4\n")
    with pytest.raises(ValueError, match="'flat'.*(zero volume|empty)"):
        load_mesh_object(flat, cache_dir=cache)
    cyl = trimesh.creation.cylinder(radius=0.02, height=0.05, sections=24)
    top = np.abs(cyl.triangles_center[:, 2] - 0.025) < 1e-9
    cup = _write(tmp_path / "cup.obj", trimesh.Trimesh(cyl.vertices, cyl.faces[~top]))
    with pytest.raises(ValueError, match="'cup'.*not watertight"):
        load_mesh_object(cup, cache_dir=cache)
    with pytest.raises(ValueError, match="does not exist"):
        load_mesh_object(tmp_path / "missing.obj", cache_dir=cache)
    with pytest.raises(ValueError, match="scale"):
        load_mesh_object(big, scale=-1.0, cache_dir=cache)
    assert not any(cache.rglob("meta.json"))  # nothing cached for rejected meshes
    assert os.listdir(tmp_path)  # inputs untouched


def test_the_excluded_degenerate_object_gives_a_clear_error(tmp_path: Path) -> None:
    # random_urdfs/168 is flat; it is in no split, and loading it names the problem
    with pytest.raises(ValueError, match="random_168"):
        ObjectLibrary(cache_dir=tmp_path).load(168)
