from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from grasplab.core.grasp_group import (
    GRASP_ARRAY_LEN,
    GraspGroup,
    summarize_grasps,
)
from grasplab.core.nms import pose_nms_indices

# ----------------------------------------------------------------------------- helpers


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def random_group(rng: np.random.Generator, n: int) -> GraspGroup:
    rots = Rotation.random(n, random_state=rng.integers(1 << 31)).as_matrix()
    return GraspGroup.from_components(
        rng.uniform(-0.2, 0.2, (n, 3)),
        rots,
        widths=rng.uniform(0.01, 0.1, n),
        depths=rng.choice([0.01, 0.02, 0.03, 0.04], n),
        scores=rng.uniform(0, 1, n),
        heights=0.02,
        object_ids=rng.integers(0, 88, n),
    )


def reference_nms(group: GraspGroup, dist_thresh: float, angle_thresh: float) -> np.ndarray:
    """Brute-force greedy pose NMS, written straight from the protocol (§4 step 1)."""
    t, r, s = group.translations, group.rotations, group.scores
    kept: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        suppressed = False
        for k in kept:
            dist = np.sqrt(np.sum((t[i] - t[k]) ** 2))
            trace = np.clip(np.sum(r[i] * r[k]), -1.0, 3.0)
            angle = np.arccos((trace - 1.0) / 2.0)
            if dist < dist_thresh and angle < angle_thresh:
                suppressed = True
                break
        if not suppressed:
            kept.append(int(i))
    return np.array(kept, dtype=np.int64)


def clustered_group(rng: np.random.Generator, num_clusters: int, per_cluster: int) -> GraspGroup:
    """Detections bunched around a few centres and orientations, thresholds straddled."""
    n = num_clusters * per_cluster
    centres = rng.uniform(-0.1, 0.1, (num_clusters, 3))
    base = Rotation.random(num_clusters, random_state=rng.integers(1 << 31))
    t = np.repeat(centres, per_cluster, axis=0) + rng.normal(0, 0.015, (n, 3))
    noise = Rotation.from_rotvec(
        rng.normal(size=(n, 3)) * rng.uniform(0.0, 0.5, (n, 1))
    )
    rots = (base[np.repeat(np.arange(num_clusters), per_cluster)] * noise).as_matrix()
    return GraspGroup.from_components(
        t, rots, widths=0.05, depths=0.02, scores=rng.permutation(n) / n + 0.001
    )


# ----------------------------------------------------------------------------- layout


def test_from_components_puts_values_in_graspnet_columns() -> None:
    rot = rot_z(0.3)
    g = GraspGroup.from_components(
        [[1.0, 2.0, 3.0]], rot[None], widths=0.05, depths=0.03, scores=0.7, heights=0.02,
        object_ids=5,
    )
    row = np.asarray(g)[0]
    assert row.shape == (GRASP_ARRAY_LEN,)
    np.testing.assert_array_equal(row[:4], [0.7, 0.05, 0.02, 0.03])
    np.testing.assert_array_equal(row[4:13], rot.reshape(-1))  # row-major
    np.testing.assert_array_equal(row[13:16], [1.0, 2.0, 3.0])
    assert row[16] == 5
    np.testing.assert_array_equal(g.rotations[0], rot)
    np.testing.assert_array_equal(g.translations, [[1.0, 2.0, 3.0]])
    assert g.scores.tolist() == [0.7] and g.widths.tolist() == [0.05]
    assert g.heights.tolist() == [0.02] and g.depths.tolist() == [0.03]
    assert g.object_ids.tolist() == [5.0]


def test_defaults_of_from_components() -> None:
    g = GraspGroup.from_components(np.zeros((3, 3)), np.stack([np.eye(3)] * 3), 0.04, 0.02)
    assert g.scores.tolist() == [1.0] * 3
    assert g.heights.tolist() == [0.02] * 3
    assert g.object_ids.tolist() == [-1.0] * 3


def test_array_roundtrip_and_no_aliasing() -> None:
    rng = np.random.default_rng(0)
    src = random_group(rng, 5).array
    original = src.copy()
    g = GraspGroup(src)
    src[0, 0] = 99.0  # changing the input later must not change the group
    np.testing.assert_array_equal(g.array, original)
    np.testing.assert_array_equal(np.asarray(g), original)
    assert np.asarray(g).dtype == np.float64
    copy = g.array
    copy[:] = 0.0
    np.testing.assert_array_equal(g.array, original)
    with pytest.raises(ValueError):
        g.scores[0] = 1.0  # read-only
    with pytest.raises(ValueError):
        np.asarray(g)[0, 0] = 1.0
    np.testing.assert_array_equal(np.array(g, dtype=np.float32), original.astype(np.float32))
    with pytest.raises(ValueError, match="copy"):
        np.asarray(g, dtype=np.float32, copy=False)
    assert g.object_ids.dtype == np.int64


def test_single_row_and_none() -> None:
    row = random_group(np.random.default_rng(1), 1).array[0]
    assert len(GraspGroup(row)) == 1
    assert len(GraspGroup()) == 0
    e = GraspGroup.empty()
    assert len(e) == 0 and e.array.shape == (0, 17) and e.rotations.shape == (0, 3, 3)


# ----------------------------------------------------------------------------- files


def test_npy_roundtrip_is_plain_float64(tmp_path: Path) -> None:
    g = random_group(np.random.default_rng(2), 20)
    path = tmp_path / "0000.npy"
    g.save_npy(path)
    raw = np.load(path)  # what graspnetAPI does
    assert raw.dtype == np.float64 and raw.shape == (20, 17)
    np.testing.assert_array_equal(raw, g.array)
    np.testing.assert_array_equal(GraspGroup.from_npy(path).array, g.array)


def test_from_npy_accepts_float32_and_single_row(tmp_path: Path) -> None:
    g = random_group(np.random.default_rng(3), 4)
    np.save(tmp_path / "f32.npy", g.array.astype(np.float32))
    loaded = GraspGroup.from_npy(tmp_path / "f32.npy")
    assert loaded.array.dtype == np.float64
    np.testing.assert_allclose(loaded.array, g.array, atol=1e-6)
    np.save(tmp_path / "row.npy", g.array[2])
    np.testing.assert_array_equal(GraspGroup.from_npy(tmp_path / "row.npy").array, g.array[2:3])


def test_from_npy_rejects_an_npz_archive_with_a_clear_error(tmp_path: Path) -> None:
    # np.load returns an open NpzFile for archives: it used to leak and raise AttributeError
    np.savez(tmp_path / "g.npz", grasps=np.zeros((2, 17)))
    with pytest.raises(ValueError, match=r"\.npz archive"):
        GraspGroup.from_npy(tmp_path / "g.npz")


def test_from_npy_rejects_wrong_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "bad.npy", np.zeros((3, 16)))
    with pytest.raises(ValueError, match=r"\(N, 17\)"):
        GraspGroup.from_npy(tmp_path / "bad.npy")


# ----------------------------------------------------------------------------- indexing


def test_indexing_variants() -> None:
    g = random_group(np.random.default_rng(4), 6)
    a = g.array
    np.testing.assert_array_equal(g[2].array, a[2:3])
    np.testing.assert_array_equal(g[-1].array, a[5:6])
    np.testing.assert_array_equal(g[1:4].array, a[1:4])
    mask = np.array([True, False, True, False, False, True])
    np.testing.assert_array_equal(g[mask].array, a[mask])
    np.testing.assert_array_equal(g[np.array([5, 0, 0])].array, a[[5, 0, 0]])
    np.testing.assert_array_equal(g[[3, 1]].array, a[[3, 1]])
    assert len(g[np.array([], dtype=np.int64)]) == 0
    assert len(g[[]]) == 0
    rows = [one.array for one in g]
    np.testing.assert_array_equal(np.vstack(rows), a)
    with pytest.raises(IndexError):
        g[6]
    with pytest.raises(ValueError, match="mask"):
        g[np.array([True, False])]


def test_sort_by_score_is_stable() -> None:
    g = GraspGroup.from_components(
        np.arange(12, dtype=float).reshape(4, 3) * 0.01,
        np.stack([np.eye(3)] * 4),
        0.05,
        0.02,
        scores=[0.5, 0.9, 0.5, 0.1],
    )
    desc = g.sort_by_score()
    assert desc.scores.tolist() == [0.9, 0.5, 0.5, 0.1]
    np.testing.assert_array_equal(desc.translations[1:3, 0], [0.0, 0.06])  # tie keeps order
    asc = g.sort_by_score(descending=False)
    assert asc.scores.tolist() == [0.1, 0.5, 0.5, 0.9]


def test_concatenate() -> None:
    rng = np.random.default_rng(5)
    a, b = random_group(rng, 3), random_group(rng, 4)
    c = GraspGroup.concatenate([a, GraspGroup.empty(), b])
    np.testing.assert_array_equal(c.array, np.vstack([a.array, b.array]))
    assert len(GraspGroup.concatenate([])) == 0


# ----------------------------------------------------------------------------- transform


def test_transform_known_answer_and_no_mutation() -> None:
    g = GraspGroup.from_components([[1.0, 0.0, 0.0]], np.eye(3)[None], 0.05, 0.02)
    before = g.array
    T = np.eye(4)
    T[:3, :3] = rot_z(np.pi / 2)
    T[:3, 3] = [0.0, 0.0, 1.0]
    moved = g.transform(T)
    np.testing.assert_allclose(moved.translations, [[0.0, 1.0, 1.0]], atol=1e-12)
    np.testing.assert_allclose(moved.rotations[0], rot_z(np.pi / 2), atol=1e-12)
    np.testing.assert_array_equal(g.array, before)  # input untouched
    np.testing.assert_array_equal(moved.array[:, :4], before[:, :4])


def test_transform_preserves_gripper_frame_coordinates() -> None:
    rng = np.random.default_rng(6)
    g = random_group(rng, 10)
    T = np.eye(4)
    T[:3, :3] = Rotation.random(random_state=7).as_matrix()
    T[:3, 3] = rng.normal(size=3)
    p = rng.normal(size=3)
    p_new = T[:3, :3] @ p + T[:3, 3]
    moved = g.transform(T)
    q_old = np.einsum("nij,ni->nj", g.rotations, p - g.translations)
    q_new = np.einsum("nij,ni->nj", moved.rotations, p_new - moved.translations)
    np.testing.assert_allclose(q_new, q_old, atol=1e-12)
    T_inv = np.linalg.inv(T)
    np.testing.assert_allclose(moved.transform(T_inv).array, g.array, atol=1e-12)


def test_transform_rejects_non_rigid() -> None:
    g = random_group(np.random.default_rng(8), 2)
    with pytest.raises(ValueError):
        g.transform(np.diag([2.0, 1.0, 1.0, 1.0]))


# ----------------------------------------------------------------------------- columns


def test_with_columns() -> None:
    g = random_group(np.random.default_rng(9), 5)
    h = g.with_columns(scores=np.arange(5.0), widths=0.08, object_ids=3)
    assert h.scores.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert h.widths.tolist() == [0.08] * 5 and h.object_ids.tolist() == [3.0] * 5
    np.testing.assert_array_equal(h.rotations, g.rotations)
    np.testing.assert_array_equal(h.depths, g.depths)
    moved = g.with_columns(translations=np.zeros((5, 3)), rotations=np.stack([np.eye(3)] * 5))
    np.testing.assert_array_equal(moved.translations, 0.0)
    assert g.scores.tolist() != h.scores.tolist()  # original untouched
    with pytest.raises(ValueError, match="scores"):
        g.with_columns(scores=np.zeros(4))
    with pytest.raises(ValueError, match="negative width"):
        g.with_columns(widths=-0.01)


# ----------------------------------------------------------------------------- validation


def test_validation_names_problem_and_row() -> None:
    a = random_group(np.random.default_rng(10), 6).array
    bad = a.copy()
    bad[3, 14] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*rows 3"):
        GraspGroup(bad)
    bad = a.copy()
    bad[4, 4:13] = (2.0 * np.eye(3)).reshape(-1)
    with pytest.raises(ValueError, match=r"not orthonormal.*rows 4"):
        GraspGroup(bad)
    bad = a.copy()
    bad[1, 4:13] = np.diag([1.0, 1.0, -1.0]).reshape(-1)  # reflection, det -1
    with pytest.raises(ValueError, match=r"det \+1.*rows 1"):
        GraspGroup(bad)
    bad = a.copy()
    bad[2, 1] = -0.01
    with pytest.raises(ValueError, match=r"negative width.*rows 2"):
        GraspGroup(bad)
    with pytest.raises(ValueError, match=r"\(N, 17\)"):
        GraspGroup(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="rotations"):
        GraspGroup.from_components(np.zeros((2, 3)), np.zeros((3, 3, 3)), 0.05, 0.02)


def test_invalid_rows_lists_every_problem() -> None:
    a = random_group(np.random.default_rng(11), 5).array
    a[0, 0] = np.inf
    a[2, 4:13] = np.ones(9)
    a[4, 1] = -1.0
    a[4, 2] = -1.0
    g = GraspGroup(a, validate=False)
    rows = g.invalid_rows()
    assert [r for r, _ in rows] == [0, 2, 4]
    assert "non-finite" in rows[0][1]
    assert "orthonormal" in rows[1][1]
    assert "negative width" in rows[2][1] and "negative height" in rows[2][1]
    assert random_group(np.random.default_rng(12), 5).invalid_rows() == []


def test_float32_rotations_are_accepted() -> None:
    a = random_group(np.random.default_rng(13), 50).array.astype(np.float32)
    assert GraspGroup(a).invalid_rows() == []


# ----------------------------------------------------------------------------- NMS


def test_nms_translation_boundary() -> None:
    rot = np.stack([np.eye(3)] * 2)
    near = GraspGroup.from_components(
        [[0.0, 0.0, 0.5], [0.029, 0.0, 0.5]], rot, 0.05, 0.02, scores=[0.9, 0.8]
    )
    far = GraspGroup.from_components(
        [[0.0, 0.0, 0.5], [0.031, 0.0, 0.5]], rot, 0.05, 0.02, scores=[0.9, 0.8]
    )
    assert near.nms().scores.tolist() == [0.9]
    assert far.nms().scores.tolist() == [0.9, 0.8]


def test_nms_rotation_boundary() -> None:
    axis = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    for deg, expected in ((29.9, [0.9]), (30.1, [0.9, 0.8])):
        second = Rotation.from_rotvec(axis * np.deg2rad(deg)).as_matrix()
        g = GraspGroup.from_components(
            [[0.0, 0.0, 0.5], [0.0, 0.01, 0.5]], np.stack([np.eye(3), second]), 0.05, 0.02,
            scores=[0.9, 0.8],
        )
        assert g.nms().scores.tolist() == expected
        # the lower-ranked grasp is the one removed, whatever its row
        assert g[::-1].nms().scores.tolist() == expected


def test_nms_rejects_bad_thresholds_and_values() -> None:
    g = random_group(np.random.default_rng(16), 3)
    with pytest.raises(ValueError, match="translation_thresh"):
        g.nms(translation_thresh=-0.01)
    with pytest.raises(ValueError, match="rotation_thresh"):
        g.nms(rotation_thresh=float("nan"))
    a = g.array
    a[1, 13] = np.nan
    with pytest.raises(ValueError, match="translations"):
        GraspGroup(a, validate=False).nms()


def test_nms_chain_is_not_transitive() -> None:
    # A suppresses B, B would suppress C, but B is gone, so C survives (A-C are 4 cm apart)
    t = [[0.0, 0.0, 0.0], [0.02, 0.0, 0.0], [0.04, 0.0, 0.0]]
    g = GraspGroup.from_components(t, np.stack([np.eye(3)] * 3), 0.05, 0.02,
                                   scores=[0.9, 0.8, 0.7])
    assert g.nms().scores.tolist() == [0.9, 0.7]


def test_nms_needs_both_conditions_and_ignores_other_columns() -> None:
    flip = np.diag([1.0, -1.0, -1.0])  # 180 deg jaw flip is NOT the same grasp
    g = GraspGroup.from_components(
        np.zeros((3, 3)),
        np.stack([np.eye(3), flip, np.eye(3)]),
        widths=[0.01, 0.05, 0.09],
        depths=[0.01, 0.02, 0.04],
        scores=[0.5, 0.4, 0.9],
        object_ids=[1, 2, 3],
    )
    kept = g.nms()
    assert kept.scores.tolist() == [0.9, 0.4]  # 0.5 removed despite other width/depth/id


def test_nms_is_sorted_and_leaves_input_alone() -> None:
    g = clustered_group(np.random.default_rng(14), 5, 30)
    before = g.array
    kept = g.nms()
    assert np.all(np.diff(kept.scores) <= 0)
    np.testing.assert_array_equal(g.array, before)
    assert len(GraspGroup.empty().nms()) == 0


@pytest.mark.parametrize("seed", range(25))
def test_nms_matches_brute_force_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = clustered_group(rng, num_clusters=int(rng.integers(1, 8)), per_cluster=40)
    thresh = (0.03, np.pi / 6) if seed % 2 == 0 else (0.02, np.deg2rad(45.0))
    expected = reference_nms(g, *thresh)
    np.testing.assert_array_equal(g.nms(*thresh).array, g.array[expected])
    # the memory-light fallback path must agree too
    fallback = pose_nms_indices(
        g.translations, g.rotations, g.scores, *thresh, max_pairs=0
    )
    np.testing.assert_array_equal(fallback, expected)


def test_nms_on_uniform_random_grasps_matches_reference() -> None:
    g = random_group(np.random.default_rng(99), 400)
    g = g.with_columns(translations=g.translations * 0.2)  # dense: many close pairs
    np.testing.assert_array_equal(g.nms().array, g.array[reference_nms(g, 0.03, np.pi / 6)])


# ----------------------------------------------------------------------------- summary


def test_summarize_known_values() -> None:
    tilt = [Rotation.from_rotvec([0.0, np.deg2rad(a), 0.0]).as_matrix() for a in (7.0, 9.0)]
    # approach = R[:, 0]; put it near camera +z: R_y(-90 deg) maps x to +z
    down = Rotation.from_rotvec([0.0, -np.pi / 2, 0.0]).as_matrix()
    rots = np.stack([t @ down for t in tilt] + [np.eye(3), np.eye(3)])
    g = GraspGroup.from_components(
        np.zeros((4, 3)), rots, widths=[0.01, 0.02, 0.03, 0.08], depths=[0.01, 0.02, 0.03, 0.04],
        scores=[0.1, 0.5, 0.2, 0.9],
    )
    s = summarize_grasps(g)
    assert s["count"] == 4
    assert s["score_min"] == 0.1 and s["score_max"] == 0.9
    assert s["width_min"] == 0.01 and s["width_max"] == 0.08
    assert s["depth_min"] == 0.01 and s["depth_max"] == 0.04
    assert s["top_down_fraction"] == pytest.approx(0.25)
    assert s["problems"] == "none"


def test_summarize_reports_problems() -> None:
    a = random_group(np.random.default_rng(15), 4).array
    a[1, 13] = np.nan
    a[3, 1] = -0.02
    s = summarize_grasps(GraspGroup(a, validate=False))
    assert isinstance(s["problems"], str)
    assert "non-finite" in s["problems"] and "negative width" in s["problems"]
    assert "rows 1" in s["problems"] and "rows 3" in s["problems"]
    assert s["width_min"] == -0.02
    empty = summarize_grasps(GraspGroup.empty())
    assert empty["count"] == 0 and np.isnan(empty["score_min"]) and empty["problems"] == "none"
