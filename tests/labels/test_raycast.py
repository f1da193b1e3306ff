"""MeshRayCaster: first hits, distances, normals, front/back faces, limits and errors."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from grasplab._optional import MissingExtraError
from grasplab.labels import MeshRayCaster


@pytest.fixture
def box_caster() -> MeshRayCaster:
    return MeshRayCaster(trimesh.creation.box((0.04, 0.06, 0.08)))


def test_hit_from_outside_known_answer(box_caster: MeshRayCaster) -> None:
    hits = box_caster.first_hits([[0.0, -0.1, 0.01]], [[0.0, 1.0, 0.0]])
    assert hits.hit.tolist() == [True]
    np.testing.assert_allclose(hits.distances, [0.07], atol=1e-9)
    np.testing.assert_allclose(hits.locations, [[0.0, -0.03, 0.01]], atol=1e-9)
    np.testing.assert_allclose(hits.normals, [[0.0, -1.0, 0.0]], atol=1e-12)
    assert hits.front.tolist() == [True]


def test_ray_from_inside_hits_a_back_face(box_caster: MeshRayCaster) -> None:
    hits = box_caster.first_hits([[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]])
    assert hits.hit.tolist() == [True]
    np.testing.assert_allclose(hits.distances, [0.02], atol=1e-9)
    assert hits.front.tolist() == [False]


def test_max_distance_and_misses(box_caster: MeshRayCaster) -> None:
    origins = [[0.0, -0.1, 0.0], [0.0, -0.1, 0.0], [0.5, 0.5, 0.5]]
    directions = [[0.0, 2.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    hits = box_caster.first_hits(origins, directions, max_distance=[0.069, 0.071, 1.0])
    assert hits.hit.tolist() == [False, True, False]
    assert np.isinf(hits.distances[[0, 2]]).all()
    assert np.isnan(hits.locations[0]).all() and np.isnan(hits.normals[2]).all()
    assert hits.faces[0] == -1 and hits.faces[1] >= 0


def test_batch_equals_single_rays(box_caster: MeshRayCaster, rng: np.random.Generator) -> None:
    origins = rng.normal(scale=0.1, size=(50, 3))
    directions = -origins + rng.normal(scale=0.02, size=(50, 3))
    batch = box_caster.first_hits(origins, directions)
    for i in range(0, 50, 7):
        one = box_caster.first_hits(origins[i:i + 1], directions[i:i + 1])
        assert one.hit[0] == batch.hit[i]
        np.testing.assert_allclose(one.distances[0], batch.distances[i])


def test_empty_batch(box_caster: MeshRayCaster) -> None:
    hits = box_caster.first_hits(np.zeros((0, 3)), np.zeros((0, 3)))
    assert hits.hit.shape == (0,) and hits.locations.shape == (0, 3)


def test_bad_inputs(box_caster: MeshRayCaster) -> None:
    with pytest.raises(ValueError, match="directions: zero vector"):
        box_caster.first_hits([[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="directions"):
        box_caster.first_hits([[0.0, 0.0, 0.0]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="origins"):
        box_caster.first_hits([[np.nan, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match="mesh"):
        MeshRayCaster(np.zeros((3, 3)))


def test_missing_embreex_is_an_error_not_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    import trimesh.ray

    monkeypatch.setattr(trimesh.ray, "has_embree", False)
    with pytest.raises(MissingExtraError, match="embreex"):
        MeshRayCaster(trimesh.creation.box((0.04, 0.04, 0.04)))
