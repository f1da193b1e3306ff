from __future__ import annotations

import logging

import numpy as np
import pytest
import trimesh

from grasplab.objects.collision import convex_decomposition, is_convex, vhacd_decomposition
from grasplab.objects.processing import (
    MAX_LARGEST_EXTENT,
    MAX_SMALLEST_EXTENT,
    MIN_LARGEST_EXTENT,
    fit_scale,
    mass_properties,
    merge_convex_parts,
    oriented_extents,
    repair_mesh,
)
from grasplab.objects.sources import read_obj_parts
from grasplab.objects.urdf import obj_text


def _unmerged(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    tri = mesh.triangles.reshape(-1, 3)
    return trimesh.Trimesh(tri, np.arange(len(tri)).reshape(-1, 3), process=False)


# ---- fit rule -------------------------------------------------------------------------------


def test_fit_scale_known_answers() -> None:
    assert fit_scale(np.array([0.03, 0.05, 0.10])) == 1.0  # already fits
    assert fit_scale(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.07)  # cube -> 7 cm
    assert fit_scale(np.array([0.001, 0.002, 0.5])) == pytest.approx(0.3)  # stick -> 15 cm
    assert fit_scale(np.array([0.0025, 0.005, 0.01])) == pytest.approx(2.0)  # tiny -> 2 cm
    assert fit_scale(np.array([10.0, 5.0, 20.0]), preferred=0.005) == pytest.approx(0.005)


def test_fit_scale_invariants(rng: np.random.Generator) -> None:
    extents = 10.0 ** rng.uniform(-3, 1, size=(300, 3))
    preferred = 10.0 ** rng.uniform(-2, 2, size=300)
    for e, p in zip(extents, preferred, strict=True):
        s = fit_scale(e, float(p))
        scaled = np.sort(e) * s
        assert MIN_LARGEST_EXTENT - 1e-12 <= scaled[2] <= MAX_LARGEST_EXTENT + 1e-12
        assert scaled[0] <= MAX_SMALLEST_EXTENT + 1e-12


@pytest.mark.parametrize("bad", [[0.0, 1.0, 1.0], [1.0, 1.0], [np.nan, 1.0, 1.0], [-1.0, 1, 1]])
def test_fit_scale_bad_extents(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="extents"):
        fit_scale(np.asarray(bad, dtype=float))


# ---- mass -----------------------------------------------------------------------------------


def test_mass_properties_box_by_hand() -> None:
    a, b, c = 0.06, 0.04, 0.03
    box = trimesh.creation.box((a, b, c))
    box.apply_translation([0.01, -0.02, 0.005])
    mass, com, inertia = mass_properties(box, density=500.0)
    assert mass == pytest.approx(500.0 * a * b * c)  # 0.036 kg
    np.testing.assert_allclose(com, [0.01, -0.02, 0.005], atol=1e-12)
    expected = mass / 12.0 * np.diag([b * b + c * c, a * a + c * c, a * a + b * b])
    np.testing.assert_allclose(inertia, expected, atol=1e-12)


# ---- repair ---------------------------------------------------------------------------------


def test_repair_merges_vertices_and_fixes_winding() -> None:
    box = trimesh.creation.box((0.06, 0.04, 0.03))
    soup = _unmerged(box)
    inverted = trimesh.Trimesh(soup.vertices, soup.faces[:, ::-1], process=False)
    assert not soup.is_watertight and inverted.volume < 0
    before = inverted.vertices.copy()
    fixed, used_hull = repair_mesh(inverted, "soup")
    assert fixed.is_watertight and not used_hull
    assert len(fixed.vertices) == 8
    assert fixed.volume == pytest.approx(0.06 * 0.04 * 0.03)
    np.testing.assert_array_equal(inverted.vertices, before)  # input untouched


def test_repair_fills_a_small_hole() -> None:
    box = trimesh.creation.box((0.06, 0.04, 0.03))
    holed = trimesh.Trimesh(box.vertices, box.faces[2:], process=False)
    fixed, used_hull = repair_mesh(holed, "holed_box")
    assert fixed.is_watertight and not used_hull
    assert fixed.volume == pytest.approx(0.06 * 0.04 * 0.03)


def _open_cup() -> trimesh.Trimesh:
    cyl = trimesh.creation.cylinder(radius=0.02, height=0.05, sections=24)
    top = np.abs(cyl.triangles_center[:, 2] - 0.025) < 1e-9
    return trimesh.Trimesh(cyl.vertices, cyl.faces[~top], process=False)


def test_open_mesh_raises_or_falls_back_to_hull(caplog: pytest.LogCaptureFixture) -> None:
    cup = _open_cup()
    with pytest.raises(ValueError, match="'cup'.*not watertight"):
        repair_mesh(cup, "cup", allow_hull_fallback=False)
    with caplog.at_level(logging.WARNING, logger="grasplab.objects.processing"):
        hull, used_hull = repair_mesh(cup, "cup", allow_hull_fallback=True)
    assert used_hull and hull.is_watertight
    assert hull.volume == pytest.approx(np.pi * 0.02**2 * 0.05, rel=0.02)
    assert "convex hull" in caplog.text


def test_flat_and_empty_meshes_raise() -> None:
    corners = np.array([[0, 0, 0], [0.1, 0, 0], [0.1, 0.1, 0], [0, 0.1, 0]], dtype=float)
    square = trimesh.Trimesh(corners, np.array([[0, 1, 2], [0, 2, 3]]), process=False)
    with pytest.raises(ValueError, match="'sheet'.*zero volume"):
        repair_mesh(square, "sheet")
    with pytest.raises(ValueError, match="'nothing'.*empty"):
        repair_mesh(trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), int)), "nothing")


def test_merge_convex_parts_of_two_boxes() -> None:
    a = trimesh.creation.box((0.02, 0.02, 0.02))
    b = trimesh.creation.box((0.02, 0.02, 0.02))
    b.apply_translation([0.02, 0.0, 0.0])  # touching face to face
    merged, hulls = merge_convex_parts((a, b), "two_boxes")
    assert merged.is_watertight and len(hulls) == 2
    assert merged.volume == pytest.approx(2 * 0.02**3)


def test_oriented_extents_of_rotated_box() -> None:
    box = trimesh.creation.box((0.1, 0.03, 0.05))
    angle = 0.7
    box.apply_transform(trimesh.transformations.rotation_matrix(angle, [1, 1, 0]))
    np.testing.assert_allclose(oriented_extents(box), [0.03, 0.05, 0.1], atol=1e-6)


# ---- collision ------------------------------------------------------------------------------


def test_convex_mesh_gets_its_hull() -> None:
    box = trimesh.creation.box((0.06, 0.04, 0.03))
    assert is_convex(box)
    parts = convex_decomposition(box)
    assert len(parts) == 1 and parts[0].volume == pytest.approx(box.volume)


def test_torus_decomposition_keeps_the_hole_and_is_deterministic() -> None:
    torus = trimesh.creation.torus(major_radius=0.035, minor_radius=0.008)
    assert not is_convex(torus)
    parts = convex_decomposition(torus, seed=3)
    assert 2 <= len(parts) <= 32
    assert all(p.is_watertight and p.is_convex for p in parts)
    total = sum(p.volume for p in parts)
    assert 0.9 * torus.volume <= total <= 1.1 * torus.volume
    centre = np.zeros((1, 3))
    assert not any(p.contains(centre)[0] for p in parts)  # the hole stays open
    again = convex_decomposition(torus, seed=3)
    assert len(again) == len(parts)
    for p, q in zip(parts, again, strict=True):
        np.testing.assert_array_equal(p.vertices, q.vertices)


def test_unknown_collision_method() -> None:
    with pytest.raises(ValueError, match="'bogus'"):
        convex_decomposition(trimesh.creation.box((0.1, 0.1, 0.1)), method="bogus")


@pytest.mark.slow
def test_vhacd_square_frame() -> None:
    frame = trimesh.creation.annulus(r_min=0.02, r_max=0.04, height=0.02, sections=4)
    parts = vhacd_decomposition(frame, resolution=10_000)
    assert len(parts) >= 2 and all(p.is_convex for p in parts)
    assert sum(p.volume for p in parts) == pytest.approx(frame.volume, rel=0.15)


# ---- OBJ round trip -------------------------------------------------------------------------


def test_obj_parts_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    a = trimesh.creation.box((0.02, 0.02, 0.02))
    b = trimesh.creation.icosphere(subdivisions=1, radius=0.01)
    path = Path(str(tmp_path)) / "parts.obj"
    path.write_text(obj_text([a, b]))
    parts = read_obj_parts(path)
    assert len(parts) == 2
    np.testing.assert_allclose(parts[0].vertices, a.vertices, atol=1e-9)
    np.testing.assert_array_equal(parts[1].faces, b.faces)
