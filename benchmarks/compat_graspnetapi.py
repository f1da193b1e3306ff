"""Measure grasplab's agreement with the reference implementation, graspnetAPI 1.2.11.

graspnetAPI needs numpy < 1.24 (its dexnet code uses ``np.int``) and grasplab needs numpy >= 1.24,
so they cannot share an interpreter. This script therefore runs in three stages that exchange
files through a work folder; each stage imports only its own side:

1. ``prepare`` (grasplab venv): builds seeded inputs, runs grasplab on them, writes both to WORK.
2. ``reference`` (the throwaway reference venv, built as docs/reference_compat.md says): runs
   graspnetAPI / grasp_nms / Open3D on the same inputs, compares, writes ``WORK/reference.json``
   and a few ``.npy`` files written by graspnetAPI.
3. ``finish`` (grasplab venv): reads the graspnetAPI-written files back with grasplab and writes
   ``benchmarks/results/compat_graspnetapi.json``.

Commands (from the repository root; the dataset is made by the commands in the docs)::

    .venv/bin/python benchmarks/compat_graspnetapi.py prepare --work /tmp/compat_work \
        --data /tmp/compat_ds
    /tmp/gapi/bin/python benchmarks/compat_graspnetapi.py reference --work /tmp/compat_work
    .venv/bin/python benchmarks/compat_graspnetapi.py finish --work /tmp/compat_work

AP section (``benchmarks/compat_ap.py``; stages ``ap-prepare [--clutter DS ...]``,
``ap-ours`` (grasplab's side again on the same dumps), ``ap-reference``, ``ap-finish``):
graspnetAPI's ``GraspNetEval.eval_scene`` against ``grasplab eval ap`` on primitive
table-tops and grasplab clutter, both cameras.

Checks: (1) GraspGroup ``.npy`` round trip, (2) pose NMS, (3) approach views and view rotations,
(4) collision / empty flags, (5) dataset loading (point clouds, model points, XML poses,
``loadGrasp``), (6) 6-DoF <-> rectangle conversion, (7) the evaluation's point sets (Open3D voxel
downsampling of the models, the table grid). Everything is seeded (``SEED``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

SEED = 0
RESULTS = Path(__file__).resolve().parent / "results" / "compat_graspnetapi.json"
NMS_CASES = ((0, 2000), (1, 5000), (2, 5000), (3, 10000), (4, 10000))
NMS_T, NMS_R = 0.03, np.pi / 6
CAMERAS = ("realsense", "kinect")


# ------------------------------------------------------------------------------ shared helpers
def _versions(names: tuple[str, ...]) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference of two equally shaped arrays (0 for empty ones)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    return float(np.abs(a - b).max()) if a.size else 0.0


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3, 3) uniform random rotations (QR of Gaussian matrices, det +1)."""
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0, :, 2] *= -1
    return q


def _rows(scores: np.ndarray, widths: np.ndarray, heights: np.ndarray, depths: np.ndarray,
          rot: np.ndarray, trans: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(N, 17) graspnetAPI rows from columns."""
    return np.column_stack([scores, widths, heights, depths, rot.reshape(-1, 9), trans, ids])


# ------------------------------------------------------------------------------ input builders
def _roundtrip_input(rng: np.random.Generator, n: int = 1000) -> np.ndarray:
    return _rows(rng.random(n), rng.uniform(0, 0.1, n), np.full(n, 0.02),
                 rng.choice([0.01, 0.02, 0.03, 0.04], n), _random_rotations(rng, n),
                 rng.uniform(-0.5, 0.5, (n, 3)), rng.integers(0, 88, n).astype(float))


def _nms_input(seed: int, n: int, ties: bool = False) -> np.ndarray:
    """Grasps clustered like detections: both NMS thresholds bind; unique scores unless ties."""
    rng = np.random.default_rng(seed)
    num_centres = max(n // 50, 1)
    centres = rng.uniform(-0.15, 0.15, (num_centres, 3))
    base = _random_rotations(rng, num_centres)
    k = rng.integers(0, num_centres, n)
    trans = centres[k] + rng.normal(0, 0.015, (n, 3))
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = rng.uniform(0, np.deg2rad(60), n)
    skew = np.zeros((n, 3, 3))
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    skew = skew - skew.transpose(0, 2, 1)
    s, c = np.sin(angle)[:, None, None], (1 - np.cos(angle))[:, None, None]
    delta = np.eye(3) + s * skew + c * skew @ skew
    rot = base[k] @ delta
    scores = np.round(rng.random(n), 1) if ties else rng.permutation(n) / n + 0.001
    return _rows(scores, rng.uniform(0, 0.1, n), np.full(n, 0.02), np.full(n, 0.02), rot, trans,
                 np.arange(n, dtype=float))


def _cloud(rng: np.random.Generator) -> np.ndarray:
    """A table patch (z = 0) and five boxes' surface samples, about 16k points, metres."""
    xy = np.stack(np.meshgrid(np.arange(-0.2, 0.2, 0.004), np.arange(-0.2, 0.2, 0.004)), -1)
    parts = [np.column_stack([xy.reshape(-1, 2), np.zeros(xy.size // 2)])]
    for _ in range(5):
        ext = rng.uniform(0.03, 0.1, 3)
        face = rng.integers(0, 3, 1200)
        p = rng.uniform(-0.5, 0.5, (1200, 3)) * ext
        p[np.arange(1200), face] = np.sign(rng.normal(size=1200)) * ext[face] / 2
        p = p @ _random_rotations(rng, 1)[0].T
        parts.append(p + [*rng.uniform(-0.12, 0.12, 2), ext.max() / 2])
    return np.concatenate(parts)


def _collision_random(rng: np.random.Generator, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    points = _cloud(rng)
    trans = points[rng.integers(0, len(points), n)] + rng.normal(0, 0.01, (n, 3))
    depths = np.where(rng.random(n) < 0.5, rng.choice([0.01, 0.02, 0.03, 0.04], n),
                      rng.uniform(-0.01, 0.05, n))
    grasps = _rows(rng.random(n), rng.uniform(-0.01, 0.12, n), np.full(n, 0.02), depths,
                   _random_rotations(rng, n), trans, np.zeros(n))
    return grasps, points


def _collision_objects(rng: np.random.Generator, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Small floating boxes and wide grasps around their centres: a mix of all outcomes."""
    centres = rng.uniform(-0.3, 0.3, (40, 3))
    parts = []
    for c in centres:
        ext = rng.uniform(0.02, 0.05, 3)
        face = rng.integers(0, 3, 400)
        p = rng.uniform(-0.5, 0.5, (400, 3)) * ext
        p[np.arange(400), face] = np.sign(rng.normal(size=400)) * ext[face] / 2
        parts.append(p @ _random_rotations(rng, 1)[0].T + c)
    trans = centres[rng.integers(0, 40, n)] + rng.normal(0, 0.006, (n, 3))
    widths = np.where(rng.random(n) < 0.8, rng.uniform(0.07, 0.1, n), rng.uniform(0, 0.07, n))
    grasps = _rows(rng.random(n), widths, np.full(n, 0.02), rng.uniform(0.0, 0.04, n),
                   _random_rotations(rng, n), trans, np.zeros(n))
    return grasps, np.concatenate(parts)


def _signed_permutations() -> np.ndarray:
    """The 24 proper rotations that permute and negate the axes, (24, 3, 3)."""
    import itertools

    mats = [np.eye(3)[list(p)] * np.array(s)[:, None]
            for p in itertools.permutations(range(3))
            for s in itertools.product((1.0, -1.0), repeat=3)]
    return np.array([m for m in mats if np.linalg.det(m) > 0])


def _collision_boundary(width: float) -> tuple[np.ndarray, np.ndarray]:
    """Grasps at the origin (24 axis rotations x 4 depths) and points on region faces.

    With t = 0 and axis rotations, gripper coordinates are exact copies of the point
    coordinates, so many points lie exactly on the strict faces x = -0.03, -0.02, depth,
    y = +-w/2, +-(w/2 + 0.01), z = +-0.01, and on the closed inner faces y = +-w/2.
    """
    w = min(width, 0.1)
    xs = [-0.03, -0.025, -0.02, 0.0, 0.01, 0.02, 0.03, 0.04]
    ys = [0.0, 0.005, -0.005, w / 2, -w / 2, w / 2 + 0.01, -(w / 2 + 0.01)]
    zs = [-0.01, -0.005, 0.0, 0.005, 0.01]
    points = np.stack(np.meshgrid(xs, ys, zs, indexing="ij"), -1).reshape(-1, 3)
    rot = np.repeat(_signed_permutations(), 4, axis=0)
    n = len(rot)
    depths = np.tile([0.0, 0.01, 0.02, 0.04], n // 4)
    grasps = _rows(np.linspace(1, 0, n), np.full(n, width), np.full(n, 0.02), depths, rot,
                   np.zeros((n, 3)), np.zeros(n))
    return grasps, points


def _collision_scenarios(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {"random": _collision_random(rng), "objects": _collision_objects(rng)}
    for w in (0.0, 0.01, 0.02, 0.04, 0.1, 0.12):
        out[f"boundary_w{w:g}"] = _collision_boundary(w)
    return out


def _rect_6d_input(rng: np.random.Generator, n: int = 2000) -> np.ndarray:
    """Camera-frame grasps tilted up to 12 deg from +z; column 16 holds the row index."""
    tilt = np.deg2rad(rng.uniform(0, 12, n))
    az = rng.uniform(-np.pi, np.pi, n)
    a = np.column_stack([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
    helper = np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    b = np.cross(a, helper)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    phi = rng.uniform(-np.pi, np.pi, n)[:, None]
    b = np.cos(phi) * b + np.sin(phi) * np.cross(a, b)
    rot = np.stack([a, b, np.cross(a, b)], axis=2)
    trans = np.column_stack([rng.uniform(-0.2, 0.2, (n, 2)), rng.uniform(0.4, 0.8, n)])
    return _rows(rng.random(n), rng.uniform(0.01, 0.1, n), np.full(n, 0.02), np.full(n, 0.02),
                 rot, trans, rng.integers(0, 88, n).astype(float))


def _rect_input(rng: np.random.Generator, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Rectangles (pixels; column 6 = row index) and a uint16 mm depth image with a hole."""
    v, u = np.mgrid[0:720, 0:1280]
    depth_mm = (600 + 0.05 * u + 0.1 * v + 8 * np.sin(u / 37.0)).astype(np.uint16)
    depth_mm[300:360, 600:700] = 0
    centres = np.column_stack([rng.uniform(60, 1220, n), rng.uniform(60, 660, n)])
    ang = rng.uniform(-np.pi, np.pi, n)
    half = rng.uniform(5, 50, n)
    opens = centres + half[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
    rects = np.column_stack([centres, opens, rng.uniform(5, 40, n), rng.random(n),
                             np.arange(n)])
    return rects, depth_mm


# ------------------------------------------------------------------------------ stage 1: grasplab
def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _nms_margins(arr: np.ndarray) -> dict[str, float]:
    """Closest approach of any close pair to the NMS thresholds (no boundary cases wanted)."""
    from scipy.spatial import cKDTree

    t, rot = arr[:, 13:16], arr[:, 4:13].reshape(-1, 3, 3)
    pairs = cKDTree(t).query_pairs(NMS_T * 1.1, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    dist = np.linalg.norm(t[i] - t[j], axis=1)
    trace = np.einsum("pkl,pkl->p", rot[i], rot[j])
    ang = np.arccos((np.clip(trace, -1, 3) - 1) / 2)
    return {"close_pairs": int(len(pairs)),
            "min_abs_dist_minus_thresh_m": float(np.abs(dist - NMS_T).min()),
            "min_abs_angle_minus_thresh_rad": float(np.abs(ang[dist < NMS_T] - NMS_R).min())}


def _nonstrict_flips(grasps: np.ndarray, points: np.ndarray, combined: np.ndarray) -> int:
    """How many grasps' ``collision | empty`` would change with ``<=`` for every strict ``<``.

    Shows that a boundary scenario really exercises the strict faces (0 would mean it does not).
    """
    rot, t = grasps[:, 4:13].reshape(-1, 3, 3), grasps[:, 13:16]
    w, d = np.clip(grasps[:, 1], 0, 0.1)[:, None], grasps[:, 3][:, None]
    q = np.matmul(points[None] - t[:, None], rot)
    x, y, z = q[..., 0], q[..., 1], q[..., 2]
    slab = (z >= -0.01) & (z <= 0.01)
    along = (x >= -0.02) & (x <= d)
    finger = along & (((y >= -(w / 2 + 0.01)) & (y <= -w / 2)) | ((y >= w / 2) & (y <= w / 2 + 0.01)))
    palm = (x >= -0.03) & (x <= -0.02) & (np.abs(y) <= w / 2 + 0.01)
    inner = slab & along & (np.abs(y) <= w / 2)
    loose = (slab & (finger | palm)).any(axis=1) | (inner.sum(axis=1) < 10)
    return int((loose != combined).sum())


def _prepare_core(work: Path, rng: np.random.Generator) -> dict[str, Any]:
    from grasplab.core import GraspGroup, approach_views, rotation_from_view

    info: dict[str, Any] = {}
    arr = _roundtrip_input(rng)
    np.save(work / "rt_input.npy", arr)
    GraspGroup(arr).save_npy(work / "rt_grasplab.npy")
    for seed, n in (*NMS_CASES, (10, 3000)):
        a = _nms_input(seed, n, ties=seed == 10)
        kept, sec = _timed(GraspGroup(a).nms, NMS_T, NMS_R)
        np.savez(work / f"nms_{seed}.npz", grasps=a, kept=kept.object_ids.astype(np.int64))
        info[f"nms_{seed}"] = {"num_grasps": n, "grasplab_s": sec, "ties": seed == 10,
                               "num_kept": len(kept), **_nms_margins(a)}
    views: dict[str, Any] = {f"views_{n}": approach_views(n) for n in (1, 2, 60, 300, 1000)}
    v32 = approach_views(300).astype(np.float32)
    vi, ai = (x.ravel() for x in np.meshgrid(np.arange(300), np.arange(12), indexing="ij"))
    label_towards, label_angles = -v32[vi], (ai * np.pi / 12).astype(np.float32)
    towards = rng.normal(size=(100000, 3))
    towards[:6] = np.array([[0, 0, 1], [0, 0, -1], [0, 0, 2.5], [1e-9, 0, 1], [0, -1e-12, -1],
                            [3, 4, 0]])
    angles = rng.uniform(-np.pi, np.pi, 100000)
    np.savez(work / "views.npz", **views, label_towards=label_towards,
             label_angles=label_angles,
             label_rot=rotation_from_view(label_towards, label_angles),
             towards=towards, angles=angles, rot=rotation_from_view(towards, angles))
    return info


def _prepare_geometry(work: Path, rng: np.random.Generator) -> dict[str, Any]:
    from grasplab.core import (
        KINECT,
        REALSENSE,
        GraspGroup,
        GripperModel,
        RectGraspGroup,
        grasps_to_rects,
        rects_to_grasps,
    )

    info: dict[str, Any] = {}
    scenarios = _collision_scenarios(rng)
    info["collision_scenarios"] = list(scenarios)
    for name, (grasps, points) in scenarios.items():
        (coll, empty), sec = _timed(GripperModel().collision_and_empty,
                                    GraspGroup(grasps, validate=False), points)
        np.savez(work / f"collision_{name}.npz", grasps=grasps, points=points,
                 collision=coll, empty=empty)
        info[f"collision_{name}"] = {"grasplab_s": sec, "grasplab_collision": int(coll.sum()),
                                     "grasplab_empty": int(empty.sum())}
        if name.startswith("boundary"):
            info[f"collision_{name}"]["flags_changed_if_non_strict"] = _nonstrict_flips(
                grasps, points, coll | empty)
    six = _rect_6d_input(rng)
    rects, depth_mm = _rect_input(rng)
    depth_m = depth_mm.astype(np.float32) / np.float32(1000.0)
    out: dict[str, Any] = {"six": six, "rects": rects, "depth_mm": depth_mm}
    for cam, intr in zip(CAMERAS, (REALSENSE, KINECT), strict=True):
        out[f"to_rect_{cam}"] = grasps_to_rects(GraspGroup(six), intr).array
        out[f"to_6d_{cam}"] = rects_to_grasps(RectGraspGroup(rects), depth_m, intr).array
    np.savez(work / "rect.npz", **out)
    return info


def _prepare_dataset(work: Path, root: Path) -> dict[str, Any]:
    from grasplab.evaluation.voxel import create_table_points, voxel_down_sample
    from grasplab.labels import labels_to_grasps, load_collision_labels, load_object_labels
    from grasplab.scenes import GraspNetDataset

    ds = GraspNetDataset(root, camera="realsense")
    scene = ds.scene_ids()[0]
    scene_ids = ds.object_ids(scene)
    labels = {oid: load_object_labels(root, oid) for oid in scene_ids}
    masks = load_collision_labels(root, scene)
    for ann in ds.frame_ids(scene):
        frame = ds.frame(scene, ann)
        ids, poses = ds.object_poses(scene, ann)
        groups = [labels_to_grasps(labels[oid], poses[i], oid, 0.4,
                                   collision=masks[scene_ids.index(oid)])
                  for i, oid in enumerate(ids)]
        grasps = np.concatenate([g.array for g in groups])
        np.savez(work / f"dataset_{ann:04d}.npz", cloud=frame.point_cloud()[0],
                 cloud_table=frame.point_cloud(in_table_frame=True)[0], ids=np.array(ids),
                 poses=poses, grasps=grasps)
    models: dict[str, Any] = {}
    for oid in scene_ids:
        models[f"points_{oid}"] = ds.model_points(oid)
        models[f"voxel_{oid}"] = voxel_down_sample(models[f"points_{oid}"], 0.008)
    np.savez(work / "dataset_models.npz", table=create_table_points(), **models)
    return {"root": str(root), "scene": scene, "frames": ds.frame_ids(scene),
            "object_ids": scene_ids}


def _perturbed(rng: np.random.Generator, grasps: np.ndarray, n: int) -> np.ndarray:
    """Half label grasps as they are, half moved by ~1 cm / up to 30 deg and re-widened."""
    rows = grasps[rng.choice(len(grasps), n, replace=len(grasps) < n)].astype(np.float64)
    moved = rng.random(n) < 0.5
    k = int(moved.sum())
    rows[moved, 13:16] += rng.normal(0, 0.01, (k, 3))
    axis = rng.normal(size=(k, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = rng.uniform(0, np.pi / 6, k)[:, None, None]
    skew = np.zeros((k, 3, 3))
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    skew = skew - skew.transpose(0, 2, 1)
    delta = np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew
    rows[moved, 4:13] = (delta @ rows[moved, 4:13].reshape(-1, 3, 3)).reshape(-1, 9)
    rows[moved, 1] = np.clip(rows[moved, 1] * rng.uniform(0.5, 1.5, k), 0.0, 0.1)
    return rows


def _prepare_eval_frames(work: Path, root: Path, rng: np.random.Generator) -> None:
    """grasplab's AP-evaluation collision path (object crop + table grid) on dataset frames."""
    from grasplab.core import GripperModel
    from grasplab.evaluation.assign import assign_to_objects
    from grasplab.evaluation.collision import collision_and_empty
    from grasplab.evaluation.geometry import FrameScene, SceneObjects, build_object_model
    from grasplab.scenes import GraspNetDataset

    ds = GraspNetDataset(root, camera="realsense")
    scene_id = ds.scene_ids()[0]
    for ann in ds.frame_ids(scene_id):
        ids, poses = ds.object_poses(scene_id, ann)
        objects = SceneObjects.build([build_object_model(o, ds.model_points(o), ds.model_mesh(o))
                                      for o in ids])
        T_table_cam = ds.T_table_cam0(scene_id) @ ds.camera_poses(scene_id)[ann]  # noqa: N806
        scene = FrameScene(objects, poses, np.linalg.inv(T_table_cam))
        grasps = _perturbed(rng, np.load(work / f"dataset_{ann:04d}.npz")["grasps"], 3000)
        owner = assign_to_objects(grasps[:, 13:16], [m.tree for m in objects.models], poses)
        coll, empty = collision_and_empty(grasps, owner, scene, GripperModel())
        np.savez(work / f"evalframe_{ann:04d}.npz", grasps=grasps, owner=owner,
                 collision=coll, empty=empty)


def prepare(work: Path, data: Path | None) -> None:
    """Stage 1 (grasplab venv): inputs and grasplab outputs into ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    info: dict[str, Any] = {"versions": _versions(("grasplab", "numpy", "scipy"))}
    info.update(_prepare_core(work, rng))
    info.update(_prepare_geometry(work, rng))
    if data is not None:
        info["dataset"] = _prepare_dataset(work, data)
        _prepare_eval_frames(work, data, rng)
    (work / "prepare.json").write_text(json.dumps(info, indent=2))
    print(f"prepared {work}")


# ------------------------------------------------------------------------------ stage 2: reference
def _ref_roundtrip(work: Path) -> dict[str, Any]:
    from graspnetAPI import GraspGroup as RefGroup

    arr = np.load(work / "rt_input.npy")
    by_array = RefGroup(np.load(work / "rt_grasplab.npy"))
    by_path = RefGroup(str(work / "rt_grasplab.npy"))
    accessors = {"scores": (by_array.scores, arr[:, 0]), "widths": (by_array.widths, arr[:, 1]),
                 "heights": (by_array.heights, arr[:, 2]), "depths": (by_array.depths, arr[:, 3]),
                 "rotation_matrices": (by_array.rotation_matrices, arr[:, 4:13].reshape(-1, 3, 3)),
                 "translations": (by_array.translations, arr[:, 13:16]),
                 "object_ids": (by_array.object_ids, arr[:, 16])}
    by_array.save_npy(str(work / "rt_reference.npy"))
    RefGroup(arr.astype(np.float32)).save_npy(str(work / "rt_reference_f32.npy"))
    return {"num_grasps": len(arr),
            "grasplab_npy_read_by_reference_identical": bool(
                np.array_equal(by_array.grasp_group_array, arr)
                and np.array_equal(by_path.grasp_group_array, arr)
                and by_array.grasp_group_array.dtype == np.float64),
            "reference_accessors_identical": {k: bool(np.array_equal(a, b))
                                              for k, (a, b) in accessors.items()}}


def _ref_nms(work: Path) -> dict[str, Any]:
    from graspnetAPI import GraspGroup as RefGroup

    out: dict[str, Any] = {}
    for seed in (*(s for s, _ in NMS_CASES), 10):
        data = np.load(work / f"nms_{seed}.npz")
        kept_ref, sec = _timed(RefGroup(data["grasps"]).nms, NMS_T, NMS_R)
        ref = np.round(kept_ref.grasp_group_array[:, 16]).astype(np.int64)
        ours = data["kept"]
        out[f"nms_{seed}"] = {
            "num_grasps": len(data["grasps"]), "reference_s": sec,
            "unique_scores": bool(len(np.unique(data["grasps"][:, 0])) == len(data["grasps"])),
            "num_kept_reference": len(ref), "num_kept_grasplab": len(ours),
            "identical_selection_and_order": bool(np.array_equal(ref, ours)),
            "identical_set": bool(set(ref.tolist()) == set(ours.tolist())),
            "num_differing": len(set(ref.tolist()) ^ set(ours.tolist()))}
    return out


def _ref_views(work: Path) -> dict[str, Any]:
    from graspnetAPI.utils.rotation import batch_viewpoint_params_to_matrix
    from graspnetAPI.utils.utils import generate_views

    data = np.load(work / "views.npz")
    out: dict[str, Any] = {}
    for n in (1, 2, 60, 300, 1000):
        ref = generate_views(n)
        out[f"views_{n}"] = {"reference_dtype": str(ref.dtype),
                             "identical": bool(np.array_equal(ref.astype(np.float64),
                                                              data[f"views_{n}"])),
                             "max_abs_diff": _max_abs(ref, data[f"views_{n}"])}
    for key, towards, angles in (("label_rotations", "label_towards", "label_angles"),
                                 ("random_rotations", "towards", "angles")):
        ref = batch_viewpoint_params_to_matrix(data[towards], data[angles])
        ours = data["label_rot" if key == "label_rotations" else "rot"]
        same32 = np.all(ref == ours.astype(np.float32), axis=(1, 2))
        out[key] = {"num": len(ref), "input_dtype": str(data[towards].dtype),
                    "max_abs_diff": _max_abs(ref, ours),
                    "fraction_identical_after_float32_cast": float(same32.mean())}
    return out


def _ref_collision(work: Path, names: list[str]) -> dict[str, Any]:
    from graspnetAPI.utils.eval_utils import collision_detection

    out: dict[str, Any] = {}
    for name in names:
        data = np.load(work / f"collision_{name}.npz")
        grasps, points = data["grasps"].copy(), data["points"]
        grasps[:, 1] = np.clip(grasps[:, 1], 0.0, 0.1)  # eval_scene clips before eval_grasp
        combined, empty = [], []
        t0 = time.perf_counter()
        for a in range(0, len(grasps), 200):
            c, e = collision_detection([grasps[a:a + 200]], [points], [None], [np.eye(4)],
                                       points, outlier=0.05, empty_thresh=10)
            combined.append(c[0])
            empty.append(e[0])
        sec = time.perf_counter() - t0
        ref_c, ref_e = np.concatenate(combined), np.concatenate(empty)
        ours_c = data["collision"] | data["empty"]
        out[f"collision_{name}"] = {
            "num_grasps": len(grasps), "num_points": len(points), "reference_s": sec,
            "reference_collision_or_empty": int(ref_c.sum()), "reference_empty": int(ref_e.sum()),
            "reference_collision_not_empty": int((ref_c & ~ref_e).sum()),
            "agree_collision_or_empty": int((ref_c == ours_c).sum()),
            "agree_empty": int((ref_e == data["empty"]).sum()),
            "disagreeing_rows": np.flatnonzero((ref_c != ours_c) | (ref_e != data["empty"]))
            .tolist()[:20]}
    return out


def _ref_rect(work: Path) -> dict[str, Any]:
    from graspnetAPI import GraspGroup as RefGroup
    from graspnetAPI import RectGraspGroup as RefRects

    data = np.load(work / "rect.npz")
    out: dict[str, Any] = {}
    for cam in CAMERAS:
        ref = RefGroup(data["six"]).to_rect_grasp_group(cam).rect_grasp_group_array
        ours = data[f"to_rect_{cam}"]
        same_rows = len(ref) == len(ours) and np.array_equal(ref[:, 6], ours[:, 6])
        out[f"to_rect_{cam}"] = {
            "num_input": len(data["six"]), "num_reference": len(ref), "num_grasplab": len(ours),
            "same_rows_kept": bool(same_rows), "reference_dtype": str(ref.dtype),
            "max_abs_diff_px": _max_abs(ref[:, :5], ours[:, :5]) if same_rows else None,
            "fraction_rows_identical_after_float32_cast": float(np.mean(np.all(
                ref == ours.astype(np.float32), axis=1))) if same_rows else None}
        back = RefRects(data["rects"]).to_grasp_group(cam, data["depth_mm"]).grasp_group_array
        ours6 = data[f"to_6d_{cam}"]
        same6 = len(back) == len(ours6) and np.array_equal(back[:, 16], ours6[:, 16])
        out[f"to_6d_{cam}"] = {
            "num_input": len(data["rects"]), "num_reference": len(back),
            "num_grasplab": len(ours6), "same_rows_kept": bool(same6),
            "max_abs_diff": _max_abs(back, ours6) if same6 else None,
            "max_abs_diff_rotation": _max_abs(back[:, 4:13], ours6[:, 4:13]) if same6 else None,
            "max_abs_diff_translation_m": _max_abs(back[:, 13:16], ours6[:, 13:16])
            if same6 else None}
    return out


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def _ref_frame(work: Path, net: Any, eval_self: Any, scene: int, ann: int,
               labels: tuple[Any, Any]) -> dict[str, Any]:
    from graspnetAPI.graspnet_eval import GraspNetEval

    data = np.load(work / f"dataset_{ann:04d}.npz")
    cloud, _ = net.loadScenePointCloud(scene, "realsense", ann, format="numpy")
    aligned, _ = net.loadScenePointCloud(scene, "realsense", ann, align=True, format="numpy")
    obj_ids, poses, _, _ = GraspNetEval.get_model_poses(eval_self, scene, ann)
    grasps = net.loadGrasp(scene, ann, "6d", "realsense", grasp_labels=labels[0],
                           collision_labels=labels[1], fric_coef_thresh=0.4)
    ref_g = grasps.grasp_group_array
    if ann == 0:
        grasps.save_npy(str(work / "ref_loadgrasp_0000.npy"))
    same_shape = ref_g.shape == data["grasps"].shape
    return {
        "cloud_points": len(cloud), "cloud_same_shape": cloud.shape == data["cloud"].shape,
        "cloud_max_abs_diff_m": _max_abs(cloud, data["cloud"]),
        "aligned_cloud_max_abs_diff_m": _max_abs(aligned, data["cloud_table"]),
        "object_ids_equal": list(obj_ids) == data["ids"].tolist(),
        "pose_dtype_reference": str(poses[0].dtype),
        "pose_max_abs_diff": _max_abs(np.stack(poses), data["poses"]),
        "poses_identical": bool(np.array_equal(np.stack(poses).astype(np.float64),
                                               data["poses"])),
        "num_grasps_reference": len(ref_g), "num_grasps_grasplab": len(data["grasps"]),
        "grasp_dtype_reference": str(ref_g.dtype),
        "grasps_max_abs_diff": _max_abs(ref_g, data["grasps"]) if same_shape else None,
        "grasps_fraction_rows_identical": float(np.mean(np.all(
            ref_g == data["grasps"].astype(np.float32), axis=1))) if same_shape else None,
        "grasps_max_abs_diff_rotation": _max_abs(ref_g[:, 4:13], data["grasps"][:, 4:13])
        if same_shape else None,
        "grasps_max_abs_diff_translation_m": _max_abs(ref_g[:, 13:16], data["grasps"][:, 13:16])
        if same_shape else None,
        "grasps_other_columns_identical": bool(same_shape and np.array_equal(
            ref_g[:, [0, 1, 2, 3, 16]], data["grasps"][:, [0, 1, 2, 3, 16]].astype(np.float32)))}


def _ref_models(work: Path, net: Any, ids: list[int]) -> dict[str, Any]:
    from graspnetAPI.utils.eval_utils import create_table_points, voxel_sample_points

    data = np.load(work / "dataset_models.npz")
    out: dict[str, Any] = {}
    for oid, cloud in zip(ids, net.loadObjModels(ids), strict=True):
        pts = np.asarray(cloud.points)
        ours = data[f"points_{oid}"]
        vox = _sorted_rows(voxel_sample_points(ours, 0.008))
        ours_vox = _sorted_rows(data[f"voxel_{oid}"])
        same = vox.shape == ours_vox.shape
        out[f"object_{oid}"] = {
            "model_points": len(pts), "model_points_max_abs_diff":
            _max_abs(pts, ours) if pts.shape == ours.shape else None,
            "voxel_points_reference": len(vox), "voxel_points_grasplab": len(ours_vox),
            "voxel_max_abs_diff_sorted": _max_abs(vox, ours_vox) if same else None}
    ref_table = create_table_points(1.0, 1.0, 0.05, dx=-0.5, dy=-0.5, dz=-0.05,
                                    grid_size=0.008)
    out["table_points"] = {"num_reference": len(ref_table), "num_grasplab": len(data["table"]),
                           "same_order": bool(np.array_equal(ref_table, data["table"])),
                           "max_abs_diff_as_sorted_sets": _max_abs(
                               _sorted_rows(ref_table), _sorted_rows(data["table"]))}
    return out


def _ref_eval_probe(work: Path, root: str, scene: int, frames: list[int]) -> dict[str, str]:
    """Try the reference evaluator on the small dataset and record where it stops."""
    from graspnetAPI import GraspNetEval

    dump = work / "dump" / f"scene_{scene:04d}" / "realsense"
    dump.mkdir(parents=True, exist_ok=True)
    for ann in frames:
        np.save(dump / f"{ann:04d}.npy", np.load(work / f"dataset_{ann:04d}.npz")["grasps"][:50])
    try:
        GraspNetEval(root, "realsense", split="custom").eval_scene(scene, str(work / "dump"))
        return {"eval_scene": "ran"}
    except Exception as exc:  # noqa: BLE001 - the probe records whatever the reference raises
        return {"eval_scene": f"{type(exc).__name__}: {str(exc)[:200]}"}


def _ref_eval_frame(work: Path, eval_self: Any, net: Any, scene: int, ann: int) -> dict[str, Any]:
    """The reference eval_scene/eval_grasp steps: table, model points, assignment, flags."""
    from graspnetAPI.graspnet_eval import GraspNetEval
    from graspnetAPI.utils.eval_utils import (
        collision_detection,
        compute_closest_points,
        create_table_points,
        transform_points,
        voxel_sample_points,
    )

    data = np.load(work / f"evalframe_{ann:04d}.npz")
    grasps = data["grasps"]
    ids, poses, camera_pose, align_mat = GraspNetEval.get_model_poses(eval_self, scene, ann)
    table = create_table_points(1.0, 1.0, 0.05, dx=-0.5, dy=-0.5, dz=-0.05, grid_size=0.008)
    table_trans = transform_points(table, np.linalg.inv(np.matmul(align_mat, camera_pose)))
    models = [transform_points(voxel_sample_points(np.asarray(m.points), 0.008), p)
              for m, p in zip(net.loadObjModels(ids), poses, strict=True)]
    seg = np.concatenate([np.full(len(m), k) for k, m in enumerate(models)])
    owner = seg[compute_closest_points(grasps[:, 13:16], np.concatenate(models))]
    everything = np.concatenate([*models, table_trans])
    ref_c, ref_e = np.zeros(len(grasps), bool), np.zeros(len(grasps), bool)
    for k in range(len(models)):
        rows = np.flatnonzero(owner == k)
        for a in range(0, len(rows), 200):
            r = rows[a:a + 200]
            lists = [grasps[r] if j == k else np.zeros((0, 17)) for j in range(len(models))]
            c, e = collision_detection(lists, models, [None] * len(models), poses, everything)
            ref_c[r], ref_e[r] = c[k], e[k]
    ours_c = data["collision"] | data["empty"]
    return {"num_grasps": len(grasps), "assignment_agree": int((owner == data["owner"]).sum()),
            "reference_collision_or_empty": int(ref_c.sum()), "reference_empty": int(ref_e.sum()),
            "agree_collision_or_empty": int((ref_c == ours_c).sum()),
            "agree_empty": int((ref_e == data["empty"]).sum()),
            "disagreeing_rows": np.flatnonzero((ref_c != ours_c) | (ref_e != data["empty"]))
            .tolist()[:20]}


def _ref_layout_probes(net: Any, scene: int) -> dict[str, Any]:
    """Reference calls that assume the full GraspNet-1Billion layout; record what they say."""
    import contextlib
    import io
    from collections import Counter

    out: dict[str, Any] = {}
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        out["checkDataCompleteness"] = bool(net.checkDataCompleteness())
    missing = Counter(" ".join(line.split()[:3]) for line in buffer.getvalue().splitlines()
                      if line.startswith("No "))
    out["checkDataCompleteness_missing"] = dict(missing)
    try:
        out["loadGrasp_rect"] = f"{len(net.loadGrasp(scene, 0, 'rect', 'realsense'))} rects"
    except Exception as exc:  # noqa: BLE001 - the probe records whatever the reference raises
        out["loadGrasp_rect"] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return out


def _ref_dataset(work: Path, info: dict[str, Any]) -> dict[str, Any]:
    from types import SimpleNamespace

    from graspnetAPI import GraspNet

    root, scene, frames = info["root"], int(info["scene"]), list(info["frames"])
    net = GraspNet(root, camera="realsense", split="custom", sceneIds=[scene])
    ids = [int(i) for i in net.objIds]
    labels = (net.loadGraspLabels(ids), net.loadCollisionLabels(scene))
    eval_self = SimpleNamespace(root=root, camera="realsense")
    out: dict[str, Any] = {"reference_len_dataset": len(net), "frames_on_disk": len(frames)}
    for ann in frames:
        out[f"frame_{ann:04d}"] = _ref_frame(work, net, eval_self, scene, ann, labels)
    out["models"] = _ref_models(work, net, ids)
    out["eval_collision"] = {f"frame_{ann:04d}": _ref_eval_frame(work, eval_self, net, scene, ann)
                             for ann in frames}
    out["eval_probe"] = _ref_eval_probe(work, root, scene, frames)
    out["layout_probes"] = _ref_layout_probes(net, scene)
    return out


def reference(work: Path) -> None:
    """Stage 2 (reference venv): graspnetAPI on the same inputs; ``work/reference.json``."""
    info = json.loads((work / "prepare.json").read_text())
    res: dict[str, Any] = {"versions": _versions((
        "graspnetAPI", "grasp_nms", "numpy", "scipy", "open3d", "transforms3d", "autolab_core",
        "opencv-python", "trimesh", "cvxopt", "scikit-image", "scikit-learn", "matplotlib"))}
    checks = (("roundtrip", _ref_roundtrip), ("nms", _ref_nms), ("views", _ref_views),
              ("rect", _ref_rect))
    for name, fn in checks:
        res[name] = fn(work)
        print(name, "done", file=sys.stderr)
    res["collision"] = _ref_collision(work, info["collision_scenarios"])
    if "dataset" in info:
        res["dataset"] = _ref_dataset(work, info["dataset"])
    (work / "reference.json").write_text(json.dumps(res, indent=2))
    print(f"reference results in {work / 'reference.json'}")


# ------------------------------------------------------------------------------ stage 3: grasplab
def _roundtrip_back(work: Path) -> dict[str, Any]:
    from grasplab.core import GraspGroup

    arr = np.load(work / "rt_input.npy")
    back = GraspGroup.from_npy(work / "rt_reference.npy").array
    back32 = GraspGroup.from_npy(work / "rt_reference_f32.npy").array
    out: dict[str, Any] = {
        "reference_npy_read_by_grasplab_identical": bool(np.array_equal(back, arr)),
        "reference_float32_npy_read_by_grasplab_identical": bool(
            np.array_equal(back32, arr.astype(np.float32).astype(np.float64)))}
    path = work / "ref_loadgrasp_0000.npy"
    if path.is_file():
        raw = np.load(path)
        out["reference_loadgrasp_npy_read_by_grasplab_identical"] = bool(np.array_equal(
            GraspGroup.from_npy(path).array, raw.astype(np.float64)))
        out["reference_loadgrasp_npy_dtype"] = str(raw.dtype)
    return out


def finish(work: Path, results: Path = RESULTS) -> None:
    """Stage 3 (grasplab venv): read the reference's files back; write the results JSON."""
    prep = json.loads((work / "prepare.json").read_text())
    ref = json.loads((work / "reference.json").read_text())
    ref["roundtrip"].update(_roundtrip_back(work))
    for key, value in prep.items():
        if key.startswith("nms_") or (key.startswith("collision_") and key in ref["collision"]):
            group = "nms" if key.startswith("nms_") else "collision"
            ref[group][key].update(value)
    out = {"benchmark": "compat_graspnetapi", "seed": SEED,
           "versions": {"grasplab_side": prep["versions"], "reference_side": ref.pop("versions")},
           **ref}
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``prepare | reference | finish`` (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("prepare", "reference", "finish", "ap-prepare",
                                          "ap-ours", "ap-reference", "ap-finish"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/compat_work"))
    parser.add_argument("--data", type=Path, default=None,
                        help="grasplab dataset root for check 5 (prepare only)")
    parser.add_argument("--out", type=Path, default=None, help="results JSON (finish stages)")
    parser.add_argument("--clutter", type=Path, nargs="*", default=[],
                        help="grasplab datasets (scenes generate) for the AP section (ap-prepare)")
    parser.add_argument("--cases", nargs="*", default=[],
                        help="ap-reference: only these cases (names in ap_prepare.json)")
    args = parser.parse_args(argv)
    if args.stage.startswith("ap-"):
        import compat_ap  # the AP section, beside this script

        if args.stage == "ap-prepare":
            compat_ap.ap_prepare(args.work, args.clutter)
        elif args.stage == "ap-ours":
            compat_ap.ap_ours(args.work)
        elif args.stage == "ap-reference":
            compat_ap.ap_reference(args.work, args.cases or None)
        else:
            print(json.dumps(compat_ap.ap_finish(args.work, args.out or compat_ap.AP_RESULTS),
                             indent=2))
    elif args.stage == "prepare":
        prepare(args.work, args.data)
    elif args.stage == "reference":
        reference(args.work)
    else:
        finish(args.work, args.out or RESULTS)


if __name__ == "__main__":
    main()
