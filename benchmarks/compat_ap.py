"""The AP section of ``compat_graspnetapi.py``: graspnetAPI's ``eval_scene`` against ``eval ap``.

Three stages, like the rest of the comparison (each imports only its own side):

1. ``ap-prepare`` (grasplab venv): writes random primitive table-top scenes (box, cylinder,
   sphere, capsule, bar; random poses and camera views) in the GraspNet layout with
   ``textured.sdf`` for every model (``grasplab.scenes.reference_files``), a dump of
   ``GRASPS_PER_FRAME`` grasps per frame (near-antipodal grasps of the objects, perturbed),
   and evaluates it with ``APEvaluator`` (``reference`` and ``exact`` backends), timing the
   whole evaluation as one process. ``ap-ours`` repeats only this evaluation (scores and times)
   on the datasets and dumps already written, e.g. after a change of grasplab's evaluator.
2. ``ap-reference`` (reference venv): runs graspnetAPI's own ``GraspNetEval.eval_scene`` (code
   unmodified; its hard-coded ``range(256)`` frame loop is shortened to the frames on disk by
   rebinding ``range`` in that module) with ``return_list=True``, timing it as one process.
3. ``ap-finish`` (grasplab venv): matches the scored grasps of both sides and writes the share
   with the same mu, per-frame and mean AP differences and the timings to
   ``benchmarks/results/compat_graspnetapi_ap.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

NUM_SCENES = 10
FRAMES_PER_SCENE = 3
GRASPS_PER_FRAME = 120
CAMERA = "realsense"
MU = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2)
#: Evaluations with the models loaded whose median time gives grasplab's per-grasp cost.
WARM_RUNS = 5
AP_RESULTS = Path(__file__).resolve().parent / "results" / "compat_graspnetapi_ap.json"


# ------------------------------------------------------------------------------ stage 1
def _primitives() -> list[Any]:
    import trimesh

    return [
        trimesh.creation.box((0.05, 0.035, 0.06)),
        trimesh.creation.cylinder(0.022, 0.08, sections=48),
        trimesh.creation.icosphere(3, 0.028),
        trimesh.creation.capsule(0.05, 0.018, count=(24, 24)),
        trimesh.creation.box((0.14, 0.025, 0.025)),
    ]


def _look_at(eye: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """T_table_cam of an OpenCV camera at ``eye`` looking at ``target``."""
    z = (target - eye) / np.linalg.norm(target - eye)
    up = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.05, 3)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    pose[:3, 3] = eye
    return pose


def _scene_layout(rng: np.random.Generator, meshes: list[Any]) -> tuple[list[int], np.ndarray]:
    """Object ids and T_table_obj of one table-top (objects resting on z = 0, apart)."""
    import trimesh

    ids = sorted(rng.choice(len(meshes), size=int(rng.integers(3, 6)), replace=False).tolist())
    poses, spots = [], []
    for obj in ids:
        while True:
            spot = rng.uniform(-0.15, 0.15, 2)
            if all(np.linalg.norm(spot - s) > 0.11 for s in spots):
                break
        spots.append(spot)
        tilt = trimesh.transformations.rotation_matrix(
            float(rng.choice([0.0, np.pi / 2])), [1, 0, 0])
        yaw = trimesh.transformations.rotation_matrix(rng.uniform(0, 2 * np.pi), [0, 0, 1])
        pose = yaw @ tilt
        lowest = (meshes[obj].vertices @ pose[:3, :3].T)[:, 2].min()
        pose[:3, 3] = [spot[0], spot[1], -lowest]
        poses.append(pose)
    return ids, np.stack(poses)


def _frame_grasps(
    rng: np.random.Generator, meshes: list[Any], ids: list[int], T_cam_obj: np.ndarray  # noqa: N803
) -> np.ndarray:
    """(GRASPS_PER_FRAME, 17) near-antipodal grasps on the frame's objects, camera frame."""
    rows = []
    while len(rows) < GRASPS_PER_FRAME:
        k = int(rng.integers(len(ids)))
        mesh, pose = meshes[ids[k]], T_cam_obj[k]
        point, face = mesh.sample(1, return_index=True, seed=int(rng.integers(1 << 31)))
        normal = mesh.face_normals[face[0]]
        axis = -normal + rng.normal(0, 0.15, 3)
        axis /= np.linalg.norm(axis)
        hits, _, _ = mesh.ray.intersects_location(point + axis * 1e-4, axis[None])
        if len(hits) == 0:
            continue
        far = hits[np.argmax(np.linalg.norm(hits - point, axis=1))]
        center = (point[0] + far) / 2
        width = min(float(np.linalg.norm(far - point[0])) + rng.uniform(0.0, 0.03), 0.1)
        axis_cam = pose[:3, :3] @ axis
        down = pose[:3, :3].T @ np.array([0.0, 0.0, 1.0])  # camera +z in the model frame
        approach = down - axis * (down @ axis)
        approach /= np.linalg.norm(approach)
        spin = rng.uniform(-1.0, 1.0)
        approach = np.cos(spin) * approach + np.sin(spin) * np.cross(axis, approach)
        approach_cam = pose[:3, :3] @ approach
        rot = np.stack([approach_cam, axis_cam, np.cross(approach_cam, axis_cam)], axis=1)
        depth = float(rng.choice([0.01, 0.02, 0.03]))
        tip = pose[:3, :3] @ center + pose[:3, 3] + rng.normal(0, 0.002, 3)
        row = np.zeros(17)
        row[:4] = rng.random(), width, 0.02, depth
        row[4:13] = rot.ravel()
        row[13:16] = tip - depth * approach_cam
        rows.append(row)
    return np.stack(rows)


def _write_primitive_dataset(root: Path, seed: int) -> None:
    """Random primitive table-tops, the same layouts seen by both cameras from random views."""
    from grasplab.core.camera import KINECT, REALSENSE
    from grasplab.scenes.layout import DatasetWriter, annotation_xml
    from grasplab.scenes.reference_files import write_model_sdfs

    rng = np.random.default_rng(seed)
    meshes = _primitives()
    layouts = [_scene_layout(rng, meshes) for _ in range(NUM_SCENES)]
    for camera, intrinsics in (("realsense", REALSENSE), ("kinect", KINECT)):
        writer = DatasetWriter(root, camera)
        for obj, mesh in enumerate(meshes):
            writer.write_model(obj, mesh)
        for scene, (ids, T_table_obj) in enumerate(layouts):  # noqa: N806
            views = []
            for _ in range(FRAMES_PER_SCENE):
                angle, tilt = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.7)
                eye = 0.55 * np.array([np.sin(tilt) * np.cos(angle),
                                       np.sin(tilt) * np.sin(angle), np.cos(tilt)])
                views.append(_look_at(eye, rng.normal(0, 0.02, 3) * [1, 1, 0], rng))
            path = writer.scene_path(scene)
            path.mkdir(parents=True, exist_ok=True)
            T_cam0_cam = np.stack([np.linalg.inv(views[0]) @ v for v in views])  # noqa: N806
            writer.write_scene_static(path, ids, intrinsics, T_cam0_cam, views[0])
            annotations = path / camera / "annotations"
            annotations.mkdir(exist_ok=True)
            names = [f"prim{i}" for i in ids]
            for frame, view in enumerate(views):
                poses = np.stack([np.linalg.inv(view) @ p for p in T_table_obj])
                (annotations / f"{frame:04d}.xml").write_text(
                    annotation_xml(ids, poses, names, names))
    write_model_sdfs(root)


def _write_dump(root: Path, camera: str, dump: Path, rng: np.random.Generator) -> list[int]:
    """One dump file per annotated frame of every scene of ``root``; returns the scene ids."""
    from grasplab.scenes.reader import GraspNetDataset

    data = GraspNetDataset(root, camera)
    meshes: dict[int, Any] = {}
    scenes = data.scene_ids()
    for scene in scenes:
        for frame in data.frame_ids(scene):
            ids, poses = data.object_poses(scene, frame)
            for obj in ids:
                if int(obj) not in meshes:
                    meshes[int(obj)] = data.model_mesh(int(obj))
            local = [meshes[int(i)] for i in ids]
            out = dump / f"scene_{scene:04d}" / camera / f"{frame:04d}.npy"
            out.parent.mkdir(parents=True, exist_ok=True)
            np.save(out, _frame_grasps(rng, local, list(range(len(ids))), poses))
    return scenes


def _cases(work: Path, clutter: list[Path]) -> list[dict[str, Any]]:
    cases = [{"name": f"primitives_{cam}", "root": str(work / "ap_ds"), "camera": cam}
             for cam in ("realsense", "kinect")]
    for root in clutter:
        for cam in ("realsense", "kinect"):
            if any((root / "scenes").glob(f"scene_*/{cam}")):
                cases.append({"name": f"clutter_{root.name}_{cam}", "root": str(root),
                              "camera": cam})
    return cases


def ap_prepare(work: Path, clutter: list[Path] | None = None, seed: int = 0) -> dict[str, Any]:
    """Stage 1: datasets, dumps and grasplab's evaluation with both backends, timed."""
    from grasplab.scenes.reference_files import write_model_sdfs

    _write_primitive_dataset(work / "ap_ds", seed)
    for root in clutter or []:
        write_model_sdfs(root)
    rng = np.random.default_rng(seed + 1)
    cases = _cases(work, list(clutter or []))
    for case in cases:
        dump = work / f"ap_dump_{case['name']}"
        case["dump"] = str(dump)
        case["scenes"] = _write_dump(Path(case["root"]), case["camera"], dump, rng)
        _evaluate_case(work, case)
    info = {"cases": cases, "grasps_per_frame": GRASPS_PER_FRAME, "seed": seed}
    (work / "ap_prepare.json").write_text(json.dumps(info, indent=2))
    return info


def _evaluate_case(work: Path, case: dict[str, Any]) -> None:
    """grasplab's evaluation of one case's dump with both backends: scores saved, times in case.

    Each backend runs in a fresh ``APEvaluator``: the first run (models and SDFs loaded on
    first use) is the whole-evaluation time; the median of :data:`WARM_RUNS` further runs (models
    loaded) is the per-grasp cost (a 0.2-1 s run on a shared machine varies by tens of percent).
    """
    from grasplab.evaluation.ap import APEvaluator
    from grasplab.evaluation.frame import APConfig

    for backend in ("reference", "exact"):
        start = time.perf_counter()
        evaluator = APEvaluator(case["root"], case["camera"], APConfig(fc_backend=backend))
        result = evaluator.evaluate(case["dump"], case["scenes"])
        case[f"time_{backend}_s"] = time.perf_counter() - start
        warm = []
        for _ in range(WARM_RUNS):  # models loaded: the per-grasp cost, median of a few runs
            start = time.perf_counter()
            evaluator.evaluate(case["dump"], case["scenes"])
            warm.append(time.perf_counter() - start)
        case[f"time_{backend}_warm_s"] = float(np.median(warm))
        arrays = {}
        for r in result.records:
            key = f"{r.scene_id:04d}_{r.frame_id:04d}"
            arrays[f"grasps_{key}"] = r.result.grasps
            arrays[f"scores_{key}"] = r.result.scores
            arrays[f"acc_{key}"] = r.result.accuracy
        np.savez(work / f"ap_ours_{case['name']}_{backend}.npz", **arrays)
    case["frames"] = len(result.records)


def ap_ours(work: Path) -> dict[str, Any]:
    """Stage 1 again on the datasets and dumps ``ap-prepare`` wrote: grasplab's side only.

    Re-scores and re-times every case (after a change of grasplab's evaluator) without
    rewriting datasets or dumps, so the stored reference output stays comparable.
    """
    info: dict[str, Any] = json.loads((work / "ap_prepare.json").read_text())
    for case in info["cases"]:
        _evaluate_case(work, case)
    (work / "ap_prepare.json").write_text(json.dumps(info, indent=2))
    return info


# ------------------------------------------------------------------------------ stage 2
def _reference_case(case: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    import builtins
    from types import SimpleNamespace

    import graspnetAPI.graspnet_eval as ge
    from graspnetAPI.graspnet_eval import GraspNetEval

    frames = int(case["frames"]) // len(case["scenes"])
    ge.range = lambda n, *rest: (  # type: ignore[attr-defined]
        builtins.range(frames) if n == 256 and not rest else builtins.range(n, *rest))
    np.random.seed(0)  # noqa: NPY002 - Sdf3D draws 1000 random surface voxels at load
    this = SimpleNamespace(root=case["root"], camera=case["camera"])
    this.get_scene_models = lambda s, ann_id: GraspNetEval.get_scene_models(this, s, ann_id)
    this.get_model_poses = lambda s, ann_id: GraspNetEval.get_model_poses(this, s, ann_id)
    arrays = {}
    start = time.perf_counter()
    for scene in case["scenes"]:
        acc, grasps, scores, _ = GraspNetEval.eval_scene(
            this, scene, case["dump"], return_list=True)
        for frame in range(frames):
            key = f"{scene:04d}_{frame:04d}"
            arrays[f"acc_{key}"] = np.asarray(acc[frame])
            arrays[f"grasps_{key}"] = np.asarray(grasps[frame]).reshape(-1, 17)
            arrays[f"scores_{key}"] = np.asarray(scores[frame], dtype=np.float64)
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    for scene in case["scenes"]:
        GraspNetEval.get_scene_models(this, scene, 0)  # the model (SDF) loading part
    loading = time.perf_counter() - start
    ge.range = builtins.range  # type: ignore[attr-defined]
    return arrays, {"time_s": elapsed, "model_loading_s": loading}


def ap_reference(work: Path, names: list[str] | None = None) -> dict[str, Any]:
    """Stage 2 (reference venv): ``GraspNetEval.eval_scene`` on every scene of every case.

    Args:
        work: the work folder of ``ap-prepare``.
        names: only these cases, in this order (their output and timings replaced, the other
            cases' kept); all cases when None.
    """
    info = json.loads((work / "ap_prepare.json").read_text())
    cases = {case["name"]: case for case in info["cases"]}
    unknown = sorted(set(names or []) - set(cases))
    if unknown:
        raise ValueError(f"unknown cases {unknown}; expected some of {sorted(cases)}")
    timings = work / "ap_reference.json"
    out = json.loads(timings.read_text()) if names and timings.is_file() else {}
    for name in names or list(cases):
        arrays, timing = _reference_case(cases[name])
        np.savez(work / f"ap_reference_{name}.npz", **arrays)
        out[name] = timing
        print(name, timing, flush=True)
        timings.write_text(json.dumps(out, indent=2))
    return out


# ------------------------------------------------------------------------------ stage 3
def _compare(ours: Any, ref: Any, keys: list[str]) -> dict[str, Any]:
    same = total = unmatched = 0
    ours_pass_ref_fail = ref_pass_ours_fail = other = 0
    frame_diffs = []
    for key in keys:
        og, os_ = ours[f"grasps_{key}"], ours[f"scores_{key}"]
        rg, rs = ref[f"grasps_{key}"], ref[f"scores_{key}"]
        lookup = {row.tobytes(): s for row, s in zip(og, os_, strict=True)}
        for row, s in zip(rg, rs, strict=True):
            mine = lookup.get(row.tobytes())
            if mine is None:
                unmatched += 1
                continue
            total += 1
            same += int(mine == s)
            ours_pass_ref_fail += int(mine > 0 >= s)
            ref_pass_ours_fail += int(s > 0 >= mine)
            other += int(mine > 0 and s > 0 and mine != s)
        frame_diffs.append(100 * (ours[f"acc_{key}"].mean() - ref[f"acc_{key}"].mean()))
    diffs = np.array(frame_diffs)
    mean_ours = float(np.mean([100 * ours[f"acc_{k}"].mean() for k in keys]))
    mean_ref = float(np.mean([100 * ref[f"acc_{k}"].mean() for k in keys]))
    return {"scored_grasps_matched": total, "unmatched_reference_rows": unmatched,
            "same_mu": same, "share_same_mu": same / max(total, 1),
            "ours_pass_reference_fails": ours_pass_ref_fail,
            "reference_passes_ours_fails": ref_pass_ours_fail, "both_pass_other_mu": other,
            "AP_ours": mean_ours, "AP_reference": mean_ref, "AP_diff": mean_ours - mean_ref,
            "max_abs_frame_AP_diff": float(np.abs(diffs).max()),
            "frame_AP_diffs": [round(float(d), 3) for d in diffs]}


def ap_finish(work: Path, results: Path = AP_RESULTS) -> dict[str, Any]:
    """Stage 3: agreement of both backends with the reference; the results JSON."""
    prep = json.loads((work / "ap_prepare.json").read_text())
    ref_info = json.loads((work / "ap_reference.json").read_text())
    out: dict[str, Any] = {"benchmark": "compat_graspnetapi AP section",
                           "grasps_per_frame_in_dump": prep["grasps_per_frame"],
                           "seed": prep["seed"], "cases": {}}
    totals = {"reference": [], "exact": []}  # type: dict[str, list[dict[str, Any]]]
    for case in prep["cases"]:
        ref = np.load(work / f"ap_reference_{case['name']}.npz")
        keys = sorted(k[4:] for k in ref.files if k.startswith("acc_"))
        timing = ref_info[case["name"]]
        entry: dict[str, Any] = {"root": case["root"], "camera": case["camera"],
                                 "scenes": len(case["scenes"]), "frames": len(keys),
                                 "reference_eval_scene_time_s": timing["time_s"],
                                 "reference_model_loading_s": timing["model_loading_s"]}
        for backend in ("reference", "exact"):
            section = _compare(np.load(work / f"ap_ours_{case['name']}_{backend}.npz"), ref, keys)
            section["grasplab_time_s"] = case[f"time_{backend}_s"]
            section["grasplab_time_models_loaded_s"] = case[f"time_{backend}_warm_s"]
            section["speedup_whole_evaluation"] = timing["time_s"] / case[f"time_{backend}_s"]
            section["reference_ms_per_scored_grasp"] = 1000 * (
                timing["time_s"] - timing["model_loading_s"]) / max(section["scored_grasps_matched"], 1)
            section["grasplab_ms_per_scored_grasp"] = 1000 * case[f"time_{backend}_warm_s"] / max(
                section["scored_grasps_matched"], 1)
            entry[f"backend_{backend}"] = section
            totals[backend].append(section)
        out["cases"][case["name"]] = entry
    for backend, sections in totals.items():
        n = sum(s["scored_grasps_matched"] for s in sections)
        out[f"overall_{backend}"] = {
            "scored_grasps": n, "share_same_mu": sum(s["same_mu"] for s in sections) / max(n, 1),
            "max_abs_mean_AP_diff": max(abs(s["AP_diff"]) for s in sections),
            "max_abs_frame_AP_diff": max(s["max_abs_frame_AP_diff"] for s in sections),
        }
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=2) + "\n")
    return out
