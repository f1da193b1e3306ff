"""The sections of ``bench_grasp.py``: methods, AP on dataset frames, bin-picking, latency, training.

Every method is built from the detector registry (``grasplab.detection.build_detector``):

- ``gsnet <name>``: ``build_detector("gsnet", weights=CKPT)`` (AnyGrasp post-processing, 50
  grasps), no mask: the frame as a user runs it;
- ``analytic (no mask)``: ``build_detector("analytic", max_grasps=50)`` on the frame alone;
- ``analytic (true mask)``: the same with the ground-truth object mask;
- ``oracle``: the ground-truth label grasps of the scene (``build_detector("oracle")``, bound to
  the frame's objects; stored ``grasp_label`` files of the dataset when it has them), collision
  checked against the other objects, the table and the tray: an upper reference.

In bin-picking the learned and the no-mask analytic detectors grasp above the tray floor
(``tray_workspace``), the true-mask row gets the simulator's instance mask
(``BinpickConfig.provide_mask``) and the oracle is bound to the scene before each detection.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from grasplab.core import CameraIntrinsics, invert_transform
from grasplab.detection import Detector, Observation, build_detector
from grasplab.detection.scene_state import SceneState
from grasplab.evaluation.binpick import BinpickConfig, binpick_work_units, run_binpick
from grasplab.evaluation.frame import APConfig
from grasplab.evaluation.frame_set import FrameSetEvaluator
from grasplab.scenes.reader import Frame

MAX_GRASPS = 50
NO_MASK, TRUE_MASK, ORACLE = "analytic (no mask)", "analytic (true mask)", "oracle"
LATENCY_INTRINSICS = CameraIntrinsics.from_fov(45.0, 640, 480)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Method:
    """One compared row: how to build its detector and what it sees.

    Attributes:
        name: row name.
        kind: ``"gsnet"``, ``"analytic"`` or ``"oracle"``.
        weights: checkpoint of a gsnet row.
        mask: the detector gets the true object mask.
    """

    name: str
    kind: str
    weights: str | None = None
    mask: bool = False

    def build(self, seed: int, tray: bool = False, label_root: str | None = None,
              library: Any = None) -> Detector:
        """The detector (in the tray's workspace for bin-picking when ``tray``)."""
        if self.kind == "gsnet":
            return build_detector("gsnet", weights=self.weights, seed=seed, num_grasps=MAX_GRASPS,
                                  tray_workspace=tray)
        if self.kind == "analytic":
            return build_detector("analytic", seed=seed, max_grasps=MAX_GRASPS,
                                  tray_workspace=tray and not self.mask)
        options: dict[str, Any] = {"seed": seed, "label_root": label_root}
        if library is not None:
            options["library"] = library
        return build_detector("oracle", options)


def methods_of(gsnet: dict[str, str]) -> list[Method]:
    """The compared rows: each gsnet checkpoint, analytic without and with the mask, the oracle.

    A checkpoint's row is named by its family: ``gsnet NAME``, or ``graspnet-baseline NAME`` for
    the GraspNet-1Billion baseline (run by the same detector and post-processing).
    """
    rows = [Method(f"{_family(path)} {name}", "gsnet", str(path)) for name, path in gsnet.items()]
    return [*rows, Method(NO_MASK, "analytic"), Method(TRUE_MASK, "analytic", mask=True),
            Method(ORACLE, "oracle")]


def _family(path: str | Path) -> str:
    """``graspnet-baseline`` for a baseline checkpoint, else ``gsnet`` (ONNX exports included)."""
    from grasplab.training.checkpoints import read_checkpoint_header

    try:
        family = str(read_checkpoint_header(path)["family"])
    except (OSError, ValueError, KeyError):
        return "gsnet"
    return "graspnet-baseline" if family == "graspnet-baseline" else "gsnet"


# ------------------------------------------------------------------------- arguments and caching
def root_scenes(text: str, flag: str) -> tuple[str, list[int]]:
    """``ROOT:SCENES`` of a command line (e.g. ``data/gsnet/train:100-107``) as (root, scene ids).

    Raises:
        SystemExit: a malformed value, naming ``flag``.
    """
    from grasplab.cli.evaluate import parse_scene_ids

    root, sep, scenes = text.rpartition(":")
    if not sep or not root:
        raise SystemExit(f"{flag}: expected ROOT:SCENES (e.g. data/gsnet/train:100-107), got {text!r}")
    try:
        return root, parse_scene_ids(scenes)
    except ValueError as exc:
        raise SystemExit(f"{flag}: {exc}") from exc


class ResultCache:
    """Finished cases with the fingerprint of their settings, rewritten after each case.

    Args:
        path: the JSON file (``<out>.partial.json``).
        fresh: ignore what the file holds.
        say: called with ``"cached: KEY"`` when a case is reused.
    """

    def __init__(self, path: Path, fresh: bool, say: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.say = say
        self.data: dict[str, Any] = {}
        if path.is_file() and not fresh:
            self.data = json.loads(path.read_text())

    def get(self, key: str, fingerprint: Any, compute: Callable[[], Any]) -> Any:
        """The stored value of ``key`` when its fingerprint matches, else ``compute()`` (stored)."""
        stamp = json.dumps(fingerprint, sort_keys=True, default=str)
        hit = self.data.get(key)
        if hit is not None and hit["fingerprint"] == stamp:
            if self.say is not None:
                self.say(f"cached: {key}")
            return hit["value"]
        value = compute()
        self.data[key] = {"fingerprint": stamp, "value": value}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1) + "\n")
        return value


# ----------------------------------------------------------------------------------- AP section
class _DatasetModels:
    """An object source over a dataset's own meshes (ids of the dataset), for the oracle."""

    def __init__(self, scorer: FrameSetEvaluator) -> None:
        self.dataset = scorer.evaluator.dataset
        self._cache: dict[int, Any] = {}

    def load(self, object_id: int) -> Any:
        if object_id not in self._cache:
            self._cache[object_id] = SimpleNamespace(mesh=self.dataset.model_mesh(int(object_id)))
        return self._cache[object_id]


def _table_state(scorer: FrameSetEvaluator, frame: Frame) -> SceneState:
    """The frame's scene in its table frame (objects, table; tray from the scene record if any)."""
    dataset = scorer.evaluator.dataset
    ids, T_cam_obj = dataset.object_poses(frame.scene_id, frame.ann_id)  # noqa: N806
    tray = None
    try:
        record = dataset.scene_record(frame.scene_id)["record"]
        tray = invert_transform(np.asarray(record["T_world_table"])) @ np.asarray(record["T_world_tray"])
    except (FileNotFoundError, KeyError):
        pass
    return SceneState(tuple(ids), frame.T_table_cam @ T_cam_obj, np.eye(4), tray)


def _observation(method: Method, frame: Frame) -> Observation:
    mask = frame.mask > 0 if method.mask else None
    return Observation(frame.depth, frame.intrinsics, frame.rgb, mask, frame.T_table_cam)


def ap_rows(scorer: FrameSetEvaluator, method: Method, seed: int, progress: Progress) -> dict[str, Any]:
    """AP (percent) of one method on the scorer's frames and its median detection time."""
    label_root = str(scorer.evaluator.root) if method.kind == "oracle" else None
    library = _DatasetModels(scorer) if method.kind == "oracle" else None
    detector = method.build(seed, label_root=label_root, library=library)
    times: list[float] = []

    def detect(frame: Frame) -> Any:
        if method.kind == "oracle":
            detector.bind(_table_state(scorer, frame))  # type: ignore[attr-defined]
        obs = _observation(method, frame)
        tic = time.perf_counter()
        grasps = detector.detect(obs)
        times.append(time.perf_counter() - tic)
        progress(1)
        return grasps

    score = scorer.score(detect)
    return {"ap": score.summary.as_percent(), "frames": len(scorer.frames),
            "grasps_per_frame": float(np.mean(score.num_grasps)),
            "detect_median_s": statistics.median(times), "eval_seconds": score.eval_seconds}


def ap_scorer(root: str, scenes: Sequence[int], max_frames: int | None, camera: str = "realsense",
              backend: str = "reference") -> FrameSetEvaluator:
    """The frame set of one split (every frame of the scenes, or ``max_frames`` spread over them)."""
    from grasplab.evaluation.frame_set import dataset_frames, spread_frames

    frames = dataset_frames(root, scenes, camera)
    if max_frames is not None:
        frames = spread_frames(frames, max_frames)
    return FrameSetEvaluator(root, frames, camera, APConfig(fc_backend=backend))


# ---------------------------------------------------------------------------- bin-picking section
def binpick_case(method: Method, split: str, num_objects: int, episodes: int, mu: Sequence[float],
                 pool: Sequence[int], seed: int, library: Any, progress: Progress) -> dict[str, Any]:
    """SR and PC (fractions) of one method on ``episodes`` clearance runs (PLGP §III-E)."""
    config = BinpickConfig(num_objects=num_objects, split=split, num_scenes=episodes,
                           mu_values=tuple(mu), image_width=640, image_height=480, run_ap=False,
                           provide_mask=method.mask)
    detector = method.build(seed, tray=True, library=library)
    result = run_binpick(detector, config, rng=seed, library=library, object_pool=list(pool),
                         detector_name=method.name, progress=progress)
    return result.summary()


def binpick_units(episodes: int, mu: Sequence[float]) -> int:
    """Progress units of one bin-picking case."""
    return binpick_work_units(BinpickConfig(num_scenes=episodes, mu_values=tuple(mu), run_ap=False))


# -------------------------------------------------------------------------------- latency section
def latency_frame(library: Any, pool: Sequence[int], seed: int) -> Any:
    """A rendered 640×480 frame of 8 objects in the tray (PyBullet TinyRenderer), tilted view."""
    from grasplab.scenes import ClutterConfig, World, generate_clutter, look_at, populate_world, render_frame

    record = generate_clutter(library, list(pool), 0, rng=seed, config=ClutterConfig(num_objects=8))
    centre = np.asarray(record.T_world_tray)[:3, 3]
    T_world_cam = look_at(centre + np.array([0.0, -0.28, 0.62]), centre)  # noqa: N806
    with World() as world:
        populate_world(world, library, record)
        return render_frame(world, LATENCY_INTRINSICS, T_world_cam), record


def _median_ms(run: Callable[[], Any], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        run()
        times.append(time.perf_counter() - tic)
    return 1e3 * statistics.median(times)


def latency_row(method: Method, frame: Any, record: Any, library: Any, seed: int,
                repeats: int) -> dict[str, Any]:
    """Median ms per 640×480 frame on the current thread count; network and post apart (gsnet)."""
    detector = method.build(seed, library=library)
    mask = frame.mask > 0 if method.mask else None
    obs = Observation(frame.depth, frame.intrinsics, frame.rgb, mask, frame.T_world_cam)
    row: dict[str, Any] = {}
    if method.kind == "oracle":
        detector.bind(SceneState.from_record(record))  # type: ignore[attr-defined]
        row["note"] = "grasps precomputed by bind (not timed)"
    row["total_ms"] = _median_ms(lambda: detector.detect(obs), repeats)
    if method.kind == "gsnet":
        from grasplab.detection.postprocess import postprocess

        net = detector
        outputs = net.network_outputs(obs)  # type: ignore[attr-defined]
        row["network_ms"] = _median_ms(lambda: net.network_outputs(obs), repeats)  # type: ignore[attr-defined]
        row["postprocess_ms"] = _median_ms(
            lambda: postprocess(net.raw_grasps(outputs), obs, net.postprocess), repeats)  # type: ignore[attr-defined]
        model = getattr(getattr(net, "stages", None), "model", None)
        if model is not None:
            row["parameters"] = int(sum(p.numel() for p in model.parameters()))
    return row


# ------------------------------------------------------------------------------- training section
def training_summary(run_dir: str | Path) -> dict[str, Any]:
    """Training time and epochs from a ``grasplab train grasp`` run folder (history, meta)."""
    run = Path(run_dir)
    history = json.loads((run / "history.json").read_text())
    meta_path = run / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    out: dict[str, Any] = {"epochs": len(history),
                           "train_seconds": float(sum(float(r["seconds"]) for r in history)),
                           "git_sha": meta.get("git_sha") or meta.get("git")}
    with_ap = [r for r in history if "val_ap" in r]
    if with_ap:
        best = max(with_ap, key=lambda r: float(r["val_ap"]))
        out.update(best_epoch=int(best["epoch"]) + 1, best_val_ap=float(best["val_ap"]),
                   last_val_ap=float(with_ap[-1]["val_ap"]))
    return out
