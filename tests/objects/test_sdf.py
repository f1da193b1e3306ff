"""Tests of grasplab.objects.sdf: SDFGen sizing, known distances, the text format round trip."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab.objects.sdf import (
    SignedDistanceField,
    cache_path,
    compute_sdf,
    load_sdf,
    read_sdf,
    write_sdf,
    write_sdf_cache,
)


@pytest.fixture(scope="module")
def box_sdf() -> SignedDistanceField:
    return compute_sdf(trimesh.creation.box((0.04, 0.02, 0.03)), dim=40, padding=5, rng=0)


def test_sizing_follows_sdfgen_rules(box_sdf):
    res = 0.04 / 40
    assert box_sdf.resolution == pytest.approx(res)
    assert box_sdf.dims == (50, 30, 40)  # extent / res + 2 * padding
    assert np.allclose(box_sdf.origin, [-0.02 - 5 * res, -0.01 - 5 * res, -0.015 - 5 * res])
    assert box_sdf.surface_thresh == pytest.approx(res * np.sqrt(2) / 2)


def test_box_known_distances(box_sdf):
    grid = box_sdf.grid_points()
    center = np.unravel_index(np.argmin(np.linalg.norm(grid, axis=-1)), box_sdf.dims)
    assert box_sdf.values[center] == pytest.approx(-0.01, abs=1e-9)  # half the thinnest side
    # every node within two cells of the surface carries the exact signed distance
    points = grid.reshape(-1, 3)
    q = np.abs(points) - np.array([0.02, 0.01, 0.015])
    exact = np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)
    near = np.abs(exact) < 2 * box_sdf.resolution
    assert near.sum() > 1000
    assert np.abs(box_sdf.values.reshape(-1)[near] - exact[near]).max() < 1e-9
    assert (np.sign(box_sdf.values.reshape(-1)) == np.sign(exact))[np.abs(exact) > 1e-6].all()


def test_sphere_band_matches_the_mesh_distance():
    mesh = trimesh.creation.icosphere(3, 0.02)
    field = compute_sdf(mesh, dim=30, rng=1)
    points = field.grid_points().reshape(-1, 3)
    values = field.values.reshape(-1)
    near = np.abs(values) < 1.5 * field.resolution
    expected = -trimesh.proximity.signed_distance(mesh, points[near][:300])
    assert np.abs(values[near][:300] - expected).max() < 0.02 * field.resolution


def test_text_round_trip_and_layout(tmp_path, box_sdf):
    path = write_sdf(box_sdf, tmp_path / "m" / "textured.sdf")
    lines = path.read_text().splitlines()
    assert lines[0] == "50 30 40"
    assert len(lines) == 3 + 50 * 30 * 40
    assert float(lines[3]) == pytest.approx(box_sdf.values[0, 0, 0], rel=1e-5)
    assert float(lines[4]) == pytest.approx(box_sdf.values[1, 0, 0], rel=1e-5)  # i fastest
    assert float(lines[3 + 50]) == pytest.approx(box_sdf.values[0, 1, 0], rel=1e-5)
    back = read_sdf(path)
    assert back.dims == box_sdf.dims
    assert np.abs(back.values - box_sdf.values).max() < 1e-7  # 6 significant digits
    again = read_sdf(write_sdf(back, tmp_path / "again.sdf"))
    assert np.array_equal(again.values, back.values)  # written values read back bit-identically


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_sdf(tmp_path / "none.sdf")
    (tmp_path / "short.sdf").write_text("2 2 2\n0 0 0\n0.01\n1\n2\n")
    with pytest.raises(ValueError, match="expected 8"):
        read_sdf(tmp_path / "short.sdf")
    (tmp_path / "header.sdf").write_text("2 2\n0 0 0\n0.01\n")
    with pytest.raises(ValueError, match="header"):
        read_sdf(tmp_path / "header.sdf")
    (tmp_path / "nan.sdf").write_text("1 1 2\n0 0 0\n0.01\n1\nabc\n")
    with pytest.raises(ValueError, match="not a number"):
        read_sdf(tmp_path / "nan.sdf")
    with pytest.raises(ValueError, match="header"):
        read_sdf(tmp_path / "header.sdf")
    with pytest.raises(ValueError):
        SignedDistanceField(np.zeros((2, 2, 2)), np.zeros(3), 0.0)
    with pytest.raises(ValueError):
        SignedDistanceField(np.zeros((2, 2)), np.zeros(3), 0.01)
    with pytest.raises(ValueError):
        compute_sdf(trimesh.Trimesh())


def test_deterministic(box_sdf):
    again = compute_sdf(trimesh.creation.box((0.04, 0.02, 0.03)), dim=40, padding=5, rng=0)
    assert np.array_equal(again.values, box_sdf.values)


def test_binary_copy_holds_the_values_read_from_the_text(tmp_path, box_sdf):
    import os

    text = write_sdf(box_sdf, tmp_path / "textured.sdf")
    cache = write_sdf_cache(text)
    assert cache == cache_path(text) == tmp_path / "textured.sdf.npz"
    cached, parsed = load_sdf(text), read_sdf(text)
    assert np.array_equal(cached.values, parsed.values)
    assert np.array_equal(cached.origin, parsed.origin)
    assert cached.resolution == parsed.resolution
    # a cache older than the text is ignored
    stamp = text.stat().st_mtime_ns
    os.utime(cache, ns=(stamp - 10**9, stamp - 10**9))
    write_sdf(SignedDistanceField(box_sdf.values + 1.0, box_sdf.origin, box_sdf.resolution), text)
    assert load_sdf(text).values.min() == pytest.approx(parsed.values.min() + 1.0, abs=1e-6)
