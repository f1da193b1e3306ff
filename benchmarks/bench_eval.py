"""Benchmark of the GraspNet AP evaluator (``grasplab.evaluation``): time per frame and per grasp.

Run: ``python benchmarks/bench_eval.py`` (seeded; one thread). Writes
``benchmarks/results/eval.json`` and prints it.

Setup, built in a temporary folder: a dataset root in the GraspNet-1Billion layout with one
scene of 8 primitive objects (boxes, cylinders, capsules, spheres, 3-10 cm) resting on the table,
seen from 8 camera poses; per frame 96 grasps sampled near the object surfaces (jaw axis along a
surface normal, random widths, depths and confidences), so that pose NMS, the 10-per-object /
top-50 selection, collisions, empty grasps and force closure all occur. After NMS and selection
about 50 grasps per frame are evaluated.

Measured, in the same run: the evaluator as used (``evaluate_frame``, models loaded) and the same
evaluator with the dense collision transcription (``fast_collision=False``: crop the whole scene
per object, ``GripperModel.collision_and_empty``). The reference graspnetAPI evaluation takes
19-49 ms per evaluated grasp (figure from the task brief, not measured here: graspnetAPI does
not install on Python 3.11, protocol §9.1); the speed-up is computed against both ends.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from grasplab.core.camera import REALSENSE  # noqa: E402
from grasplab.evaluation import APConfig, APEvaluator, evaluate_frame  # noqa: E402
from grasplab.scenes.layout import DatasetWriter, annotation_xml  # noqa: E402

SEED = 0
NUM_FRAMES = 8
GRASPS_PER_OBJECT = 12
REPEATS = 5
LARGE_PER_OBJECT = 128  # 1024 input grasps per frame, like graspnet-baseline dumps
REFERENCE_MS_PER_GRASP = (19.0, 49.0)
RESULTS = Path(__file__).resolve().parent / "results" / "eval.json"


def primitives() -> list[trimesh.Trimesh]:
    """Eight watertight objects of graspable size (metres)."""
    return [
        trimesh.creation.box((0.06, 0.04, 0.10)),
        trimesh.creation.cylinder(radius=0.025, height=0.08, sections=48),
        trimesh.creation.capsule(radius=0.02, height=0.06, count=(24, 24)),
        trimesh.creation.icosphere(subdivisions=3, radius=0.035),
        trimesh.creation.box((0.03, 0.08, 0.05)),
        trimesh.creation.cylinder(radius=0.04, height=0.03, sections=48),
        trimesh.creation.box((0.05, 0.05, 0.05)),
        trimesh.creation.cylinder(radius=0.015, height=0.12, sections=32),
    ]


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """T_table_cam of an OpenCV camera at ``eye`` looking at ``target`` (table z up)."""
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], axis=1)
    T[:3, 3] = eye
    return T


def build_root(root: Path, rng: np.random.Generator) -> tuple[list[trimesh.Trimesh], np.ndarray]:
    """Write models and one scene; return the meshes and (F, K, 4, 4) T_cam_obj."""
    writer = DatasetWriter(root, "realsense")
    meshes = primitives()
    T_table_obj = []  # noqa: N806
    for k, mesh in enumerate(meshes):
        writer.write_model(k, mesh)
        yaw = trimesh.transformations.rotation_matrix(rng.uniform(0, 2 * np.pi), [0, 0, 1])
        pose = yaw.copy()
        lowest = (mesh.vertices @ pose[:3, :3].T)[:, 2].min()
        pose[:3, 3] = (-0.15 + 0.1 * (k % 4), -0.06 + 0.12 * (k // 4), -lowest)
        T_table_obj.append(pose)
    angles = np.linspace(0, 2 * np.pi, NUM_FRAMES, endpoint=False)
    T_table_cam = np.stack(  # noqa: N806
        [look_at(np.array([0.35 * np.cos(a), 0.35 * np.sin(a), 0.45]), np.zeros(3)) for a in angles]
    )
    T_cam_obj = np.einsum("fij,kjl->fkil", np.linalg.inv(T_table_cam), np.stack(T_table_obj))  # noqa: N806
    path = writer.scene_path(0)
    path.mkdir(parents=True)
    T_cam0_cam = np.linalg.inv(T_table_cam[0]) @ T_table_cam  # noqa: N806
    writer.write_scene_static(path, list(range(len(meshes))), REALSENSE, T_cam0_cam, T_table_cam[0])
    (path / "realsense" / "annotations").mkdir()
    for f in range(NUM_FRAMES):
        xml = annotation_xml(list(range(len(meshes))), T_cam_obj[f], [f"o{k}" for k in range(8)],
                             [f"m{k}" for k in range(8)])
        (path / "realsense" / "annotations" / f"{f:04d}.xml").write_text(xml)
    return meshes, T_cam_obj


def sample_grasps(
    meshes: list[trimesh.Trimesh],
    T_cam_obj: np.ndarray,  # noqa: N803
    rng: np.random.Generator,
    per_object: int = GRASPS_PER_OBJECT,
) -> np.ndarray:
    """(K * per_object, 17) grasps near the objects' surfaces, camera frame."""
    from grasplab.labels.raycast import MeshRayCaster

    rows = []
    for mesh, pose in zip(meshes, T_cam_obj, strict=True):
        points, faces = trimesh.sample.sample_surface(
            mesh, per_object, seed=int(rng.integers(1 << 31))
        )
        # thickness along the inward normal: the jaw centre goes half-way through the object
        inward = -mesh.face_normals[faces]
        exits = MeshRayCaster(mesh).first_hits(points + 1e-5 * inward, inward)
        thickness = np.where(exits.hit, exits.distances, 0.02)
        normals = mesh.face_normals[faces] @ pose[:3, :3].T
        surface = points @ pose[:3, :3].T + pose[:3, 3]
        approach = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.3, (len(points), 3))
        approach -= np.einsum("ij,ij->i", approach, normals)[:, None] * normals
        approach /= np.linalg.norm(approach, axis=1, keepdims=True)
        height = np.cross(approach, normals)
        rot = np.stack([approach, normals, height], axis=2)
        depth = rng.choice([0.01, 0.02, 0.03, 0.04], len(points))
        centre = surface - normals * (thickness / 2 + rng.normal(0, 0.003, len(points)))[:, None]
        arr = np.zeros((len(points), 17))
        arr[:, 0] = rng.uniform(size=len(points))
        arr[:, 1] = thickness + rng.uniform(0.0, 0.04, len(points))
        arr[:, 2] = 0.02
        arr[:, 3] = depth
        arr[:, 4:13] = rot.reshape(-1, 9)
        arr[:, 13:16] = centre - depth[:, None] * approach
        rows.append(arr)
    return np.concatenate(rows)


def main() -> dict[str, object]:
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        meshes, T_cam_obj = build_root(root, rng)  # noqa: N806
        frames = [sample_grasps(meshes, T_cam_obj[f], rng) for f in range(NUM_FRAMES)]
        evaluator = APEvaluator(root, "realsense")
        start = time.perf_counter()
        scenes = [evaluator.frame_scene(0, f) for f in range(NUM_FRAMES)]
        load_s = time.perf_counter() - start
        timings: dict[str, list[float]] = {"fast": [], "dense": [], "fast_cpu": [], "dense_cpu": []}
        outcomes = []
        for name, config in (("fast", APConfig()), ("dense", APConfig(fast_collision=False))):
            for _ in range(REPEATS):
                for grasps, scene in zip(frames, scenes, strict=True):
                    t0, c0 = time.perf_counter(), time.process_time()
                    result = evaluate_frame(grasps, scene, config)
                    timings[f"{name}_cpu"].append(time.process_time() - c0)
                    timings[name].append(time.perf_counter() - t0)
                    if name == "fast":
                        outcomes.append(result)
            dense_check = [evaluate_frame(g, s, config).scores for g, s in zip(frames, scenes, strict=True)]
        same = all(
            np.array_equal(a.scores, b) for a, b in zip(outcomes[:NUM_FRAMES], dense_check, strict=True)
        )
        start = time.perf_counter()
        scene_ap = [evaluator.evaluate_grasps(0, f, frames[f]).ap for f in range(NUM_FRAMES)]
        with_io_s = (time.perf_counter() - start) / NUM_FRAMES
        large = [sample_grasps(meshes, T_cam_obj[f], rng, LARGE_PER_OBJECT) for f in range(2)]
        large_cpu = []
        for _ in range(REPEATS):
            for grasps, scene in zip(large, scenes, strict=False):
                c0 = time.process_time()
                evaluate_frame(grasps, scene)
                large_cpu.append(time.process_time() - c0)
    evaluated = [len(r.scores) for r in outcomes[:NUM_FRAMES]]
    scores = np.concatenate([r.scores for r in outcomes[:NUM_FRAMES]])
    per_frame = statistics.median(timings["fast"])
    per_frame_cpu = statistics.median(timings["fast_cpu"])
    per_grasp_ms = 1000.0 * per_frame / statistics.mean(evaluated)
    per_grasp_cpu_ms = 1000.0 * per_frame_cpu / statistics.mean(evaluated)
    dense_frame = statistics.median(timings["dense"])
    results: dict[str, object] = {
        "frames": NUM_FRAMES,
        "objects": len(meshes),
        "input_grasps_per_frame": int(len(frames[0])),
        "evaluated_grasps_per_frame_mean": statistics.mean(evaluated),
        "outcomes": {
            "collision_or_empty": int(np.sum(scores == -1)),
            "force_closure": {f"{mu:.1f}": int(np.sum(scores == mu)) for mu in APConfig().mu_grid},
        },
        "model_load_s": load_s,
        "time_per_frame_s": per_frame,
        "time_per_frame_with_xml_io_s": with_io_s,
        "time_per_grasp_ms": per_grasp_ms,
        "cpu_time_per_frame_s": per_frame_cpu,
        "cpu_time_per_grasp_ms": per_grasp_cpu_ms,
        "dense_collision_time_per_frame_s": dense_frame,
        "dense_collision_cpu_time_per_frame_s": statistics.median(timings["dense_cpu"]),
        "speedup_vs_dense_collision": dense_frame / per_frame,
        "dense_same_scores": same,
        "reference_ms_per_grasp": list(REFERENCE_MS_PER_GRASP),
        "speedup_vs_reference": [ms / per_grasp_ms for ms in REFERENCE_MS_PER_GRASP],
        "speedup_vs_reference_cpu_time": [ms / per_grasp_cpu_ms for ms in REFERENCE_MS_PER_GRASP],
        "timing_note": (
            "medians over frames x repeats; wall time (perf_counter) and process CPU time; "
            "the machine is shared, so wall time includes waiting for a core"
        ),
        "large_input_grasps_per_frame": len(meshes) * LARGE_PER_OBJECT,
        "large_input_cpu_time_per_frame_s": statistics.median(large_cpu),
        "mean_frame_AP_percent": 100.0 * float(np.mean(scene_ap)),
        "machine": platform.processor() or platform.machine(),
        "seed": SEED,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
