"""Meshes must stay watertight once written and read back (issue 13: random_urdfs 343, 378, teddy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from grasplab.objects import ObjectLibrary, object_id_by_name
from grasplab.objects.processing import (
    is_weld_watertight,
    separate_coincident_vertices,
    weld_safe,
    welded,
)
from grasplab.objects.sources import concatenate


def _two_cubes_sharing_an_edge() -> trimesh.Trimesh:
    a = trimesh.creation.box()
    b = trimesh.creation.box().apply_translation([1.0, 1.0, 0.0])
    return concatenate([a, b])


def _reload(mesh: trimesh.Trimesh, tmp_path: Path) -> trimesh.Trimesh:
    """Write ``textured.obj`` as ``scenes generate`` does and read it as ``label objects`` does."""
    path = tmp_path / "textured.obj"
    mesh.export(path, file_type="obj", include_texture=False)
    loaded = trimesh.load(str(path), force="mesh", process=True)
    assert isinstance(loaded, trimesh.Trimesh)
    return loaded


def test_edge_contact_is_watertight_only_unwelded() -> None:
    mesh = _two_cubes_sharing_an_edge()
    assert mesh.is_watertight
    assert not is_weld_watertight(mesh)
    assert is_weld_watertight(trimesh.creation.box())


def test_separation_keeps_faces_and_moves_only_the_shared_edge() -> None:
    mesh = _two_cubes_sharing_an_edge()
    before = mesh.vertices.copy()
    out = separate_coincident_vertices(mesh, separation=1e-5)
    np.testing.assert_array_equal(mesh.vertices, before)  # input not modified
    np.testing.assert_array_equal(out.faces, mesh.faces)
    moved = np.linalg.norm(out.vertices - mesh.vertices, axis=1)
    # the shared edge (x = y = 0.5, z = ±0.5) has two copies of each end: 4 vertices move
    assert np.count_nonzero(moved) == 4
    np.testing.assert_allclose(moved[moved > 0], 1e-5 * 2.0)  # relative to the 2 m extent
    assert is_weld_watertight(out)
    assert out.volume == pytest.approx(2.0, rel=1e-4)


def test_weld_safe_repairs_edge_contact_and_keeps_good_meshes(tmp_path: Path) -> None:
    box = trimesh.creation.box()
    assert weld_safe(box, "box") is box
    fixed = weld_safe(_two_cubes_sharing_an_edge(), "cubes")
    assert len(fixed.vertices) == 16 and fixed.is_winding_consistent
    assert _reload(fixed, tmp_path).is_watertight


def test_welded_collapses_a_zero_length_edge() -> None:
    box = trimesh.creation.box()
    # split vertex 0 into two copies joined by a zero-length edge: a fan of two sliver faces
    vertices = np.vstack([box.vertices, box.vertices[:1]])
    faces = box.faces.copy()
    first = np.flatnonzero((faces == 0).any(axis=1))[0]
    faces[first][faces[first] == 0] = len(vertices) - 1
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    assert not mesh.is_watertight
    out = welded(mesh)
    assert out.is_watertight and len(out.vertices) == 8
    assert len(mesh.vertices) == 9  # input not modified


def test_weld_safe_raises_when_it_cannot_repair() -> None:
    open_box = trimesh.Trimesh(trimesh.creation.box().vertices,
                               trimesh.creation.box().faces[:-1], process=False)
    with pytest.raises(ValueError, match="not watertight once vertices"):
        weld_safe(open_box, "open_box")


@pytest.mark.parametrize("object_id", [343, 378, object_id_by_name("teddy")])
def test_library_objects_survive_a_file_round_trip(tmp_path: Path, object_id: int) -> None:
    obj = ObjectLibrary(tmp_path / "cache").load(object_id)
    assert obj.mesh.is_watertight and is_weld_watertight(obj.mesh)
    reloaded = _reload(obj.mesh, tmp_path)
    assert reloaded.is_watertight and reloaded.is_winding_consistent
    assert reloaded.volume == pytest.approx(obj.mesh.volume, rel=1e-6)
