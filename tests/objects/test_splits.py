from __future__ import annotations

import numpy as np
import pytest

from grasplab.objects import (
    SPLITS,
    SPLITS_VERSION,
    num_objects,
    object_id_by_name,
    object_spec,
    split_object_ids,
)
from grasplab.objects.sources import pybullet_data_dir
from grasplab.objects.splits import EXCLUDED_RANDOM_URDFS, NAMED_MESHES, PRIMITIVES, catalogue_digest

# The catalogue tables are pinned to the splits version: editing them without bumping
# SPLITS_VERSION (and adding the new digest here) fails this table.
PINNED_DIGESTS = {"1.0": "61ff8c564b0bfb02", "1.1": "27b843de28d0ae39"}


def test_splits_cover_the_promised_ranges() -> None:
    # random_urdfs/168 is degenerate (flat convex parts) and excluded from every split
    assert split_object_ids("seen") == [i for i in range(700) if i != 168]
    assert split_object_ids("similar") == list(range(700, 1000))
    novel = split_object_ids("novel")
    assert novel[0] == 1000
    assert novel == list(range(1000, num_objects()))
    assert len(novel) == len(NAMED_MESHES) + len(PRIMITIVES)


def test_splits_are_disjoint_and_cover_all_ids_but_the_excluded() -> None:
    sets = [set(split_object_ids(s)) for s in SPLITS]
    assert sum(len(s) for s in sets) == len(set.union(*sets)) == num_objects() - len(EXCLUDED_RANDOM_URDFS)
    assert set.union(*sets) == set(range(num_objects())) - EXCLUDED_RANDOM_URDFS


def test_specs_known_answers() -> None:
    assert (object_spec(0).name, object_spec(0).split, object_spec(0).source) == (
        "random_000",
        "seen",
        "random_urdf",
    )
    assert object_spec(699).split == "seen"
    assert (object_spec(700).name, object_spec(700).split) == ("random_700", "similar")
    assert object_spec(999).split == "similar"
    assert (object_spec(1000).name, object_spec(1000).source) == ("duck", "named_mesh")
    last = object_spec(num_objects() - 1)
    assert (last.name, last.source, last.split) == (PRIMITIVES[-1].name, "primitive", "novel")
    assert object_spec(np.int64(5)).object_id == 5


def test_split_of_every_spec_matches_split_ids() -> None:
    for split in SPLITS:
        for oid in split_object_ids(split)[::37]:
            assert object_spec(oid).split == split


def test_names_unique_and_round_trip() -> None:
    names = [object_spec(i).name for i in range(num_objects())]
    assert len(set(names)) == len(names)
    for oid in (0, 42, 999, 1000, num_objects() - 1):
        assert object_id_by_name(object_spec(oid).name) == oid
    with pytest.raises(ValueError, match="no_such_object"):
        object_id_by_name("no_such_object")


@pytest.mark.parametrize("bad", [-1, 10**6, 1.5, True, "3", None])
def test_unknown_ids_raise_naming_them(bad: object) -> None:
    with pytest.raises(ValueError, match=str(bad) if bad != 10**6 else "1000000"):
        object_spec(bad)  # type: ignore[arg-type]


def test_unknown_split_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="unseen"):
        split_object_ids("unseen")


def test_catalogue_is_pinned_to_its_version() -> None:
    assert isinstance(SPLITS_VERSION, str)
    assert PINNED_DIGESTS.get(SPLITS_VERSION) == catalogue_digest()


def test_sources_exist_in_pybullet_data() -> None:
    root = pybullet_data_dir()
    for entry in NAMED_MESHES:
        assert (root / entry.path).is_file(), entry.path
    for oid in (0, 699, 700, 999):
        assert (root / "random_urdfs" / f"{oid:03d}" / f"{oid:03d}.obj").is_file()
    assert len(list((root / "random_urdfs").glob("[0-9][0-9][0-9]"))) == 1000
