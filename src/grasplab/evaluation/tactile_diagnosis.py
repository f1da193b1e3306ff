"""What decides the outcomes of a tactile dataset: what the pads show, or what they hide.

Simple classifiers (logistic regression and gradient boosting, scikit-learn) predict the recorded
outcome of each trial from groups of recorded quantities:

- ``physics``: every recorded trial parameter (friction μ, mass, finger force, the load ratio
  ``m g / (2 μ F)``, the label's μ, perturbation, draws, object rotation, pads touched, grasp
  width / depth / tilt and, where known, the centre of mass in the grasp frame);
- ``observable``: only what the pad images at Tb can show, measured from ``Tb - Ta`` of both
  pads (:func:`image_features`: contact area, centroid, spread, mean and peak intensity, both
  pads in contact);
- ``observable_left``: the same for the left pad only (the paper's input);
- ``unobservable``: friction μ and mass alone (nothing in a Tb image shows them);
- ``observable+unobservable``: both together.

If ``unobservable`` predicts the outcome about as well as ``physics`` while ``observable`` stays
near the tactile networks' accuracy, the ceiling is the dataset (the outcome is decided by what
no image shows), not the sensor or the learning. Accuracies are on a split by sample.

Images: (N, 2, H, W, 3) uint8, pad 0 = left; grasp rows in the GraspGroup layout (world frame);
metres, kilograms, newtons.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from grasplab._optional import require
from grasplab.core.validation import RngLike, as_rng

__all__ = [
    "CLASSIFIERS",
    "DIAGNOSIS_GROUPS",
    "IMAGE_FEATURES",
    "GroupScore",
    "diagnose",
    "feature_groups",
    "com_in_grasp_frame",
    "fit_outcome_classifiers",
    "image_features",
    "load_trial_table",
    "reconstruct_rest_com",
]

#: Per-pad image features, in column order (:func:`image_features`).
IMAGE_FEATURES = ("area", "cx", "cy", "sx", "sy", "mean", "peak", "total")
#: The classifiers fitted per group.
CLASSIFIERS = ("logistic", "boosting")
#: Feature groups of the diagnosis, in report order.
DIAGNOSIS_GROUPS = ("physics", "observable", "observable_left", "unobservable",
                    "observable+unobservable")
_GRAVITY = 9.81
#: Per-pixel contact threshold on the 3×3-smoothed channel-mean |Tb - Ta| (grey levels; the
#: noise floor of an untouched pad is about 2.2).
CONTACT_THRESHOLD = 6.0


def image_features(ta: np.ndarray, tb: np.ndarray,
                   threshold: float = CONTACT_THRESHOLD) -> np.ndarray:
    """Contact features of each pad measured from ``Tb - Ta``.

    Per pad, in :data:`IMAGE_FEATURES` order: contact ``area`` (share of the pad's pixels whose
    smoothed channel-mean |Tb - Ta| exceeds ``threshold``), centroid ``cx`` / ``cy`` and spread
    ``sx`` / ``sy`` of the contact pixels (fractions of the image width / height, centred on the
    image centre; 0 without contact), ``mean`` and ``peak`` |Tb - Ta| inside the contact (grey
    levels) and the ``total`` |Tb - Ta| above the threshold over the image (grey levels × share).

    Args:
        ta: (N, P, H, W, 3) uint8 images before contact (P pads).
        tb: (N, P, H, W, 3) uint8 images with the jaws closed.
        threshold: per-pixel contact threshold (grey levels).

    Returns:
        (N, P * 8) float64, pad-major.

    Raises:
        ValueError: shapes that differ or are not (N, P, H, W, 3).

    >>> ta = np.zeros((1, 1, 6, 8, 3), np.uint8); tb = ta.copy(); tb[0, 0, :, 4:] = 60
    >>> f = image_features(ta, tb); float(f[0, 0]), float(f[0, 1]) > 0
    (0.5, True)
    """
    a, b = np.asarray(ta), np.asarray(tb)
    if a.shape != b.shape or a.ndim != 5 or a.shape[-1] != 3:
        raise ValueError(f"ta, tb: expected equal (N, P, H, W, 3) shapes, got {a.shape}, {b.shape}")
    n, pads, h, w, _ = a.shape
    diff = np.abs(b.astype(np.float32) - a.astype(np.float32)).mean(axis=-1)
    diff = ndimage.uniform_filter(diff, size=(1, 1, 3, 3), mode="nearest")
    mask = diff > threshold
    ys = (np.arange(h, dtype=np.float64) + 0.5) / h - 0.5
    xs = (np.arange(w, dtype=np.float64) + 0.5) / w - 0.5
    count = mask.sum(axis=(2, 3)).astype(np.float64)
    safe = np.maximum(count, 1.0)
    cx = (mask * xs[None, None, None, :]).sum(axis=(2, 3)) / safe
    cy = (mask * ys[None, None, :, None]).sum(axis=(2, 3)) / safe
    sx = np.sqrt(np.maximum((mask * xs[None, None, None, :] ** 2).sum(axis=(2, 3)) / safe - cx**2, 0))
    sy = np.sqrt(np.maximum((mask * ys[None, None, :, None] ** 2).sum(axis=(2, 3)) / safe - cy**2, 0))
    inside = np.where(mask, diff, 0.0)
    mean = inside.sum(axis=(2, 3)) / safe
    peak = inside.max(axis=(2, 3))
    total = inside.sum(axis=(2, 3)) / (h * w)
    feats = np.stack([count / (h * w), cx, cy, sx, sy, mean, peak, total], axis=-1)
    return feats.reshape(n, pads * len(IMAGE_FEATURES)).astype(np.float64)


def _grasp_columns(grasp: np.ndarray) -> dict[str, np.ndarray]:
    R = grasp[:, 4:13].reshape(-1, 3, 3)
    return {"width": grasp[:, 1], "depth": grasp[:, 3], "tilt": np.arccos(np.clip(-R[:, 2, 0], -1, 1))}


def load_trial_table(root: str | Path, *, shards: Sequence[int] | None = None,
                     threshold: float = CONTACT_THRESHOLD) -> dict[str, np.ndarray]:
    """Every per-trial number of a tactile dataset plus its image features, without the images.

    Reads one shard at a time (the images are decompressed, measured and dropped).

    Args:
        root: a dataset folder (:mod:`grasplab.tactile.dataset`).
        shards: shard positions to read (default all written shards).
        threshold: contact threshold of :func:`image_features`.

    Returns:
        ``{name: (N,) array}``: ``success``, ``object_id``, ``trial``, ``param_<name>`` of the
        shards, ``grasp`` (N, 17), grasp ``width`` / ``depth`` / ``tilt`` (rad from straight down), and
        ``img_<pad>_<feature>`` (pad ``left`` / ``right``, :data:`IMAGE_FEATURES`).

    Raises:
        FileNotFoundError: not a dataset folder.
        ValueError: a malformed shard.
    """
    from grasplab.tactile.dataset import read_manifest

    root = Path(root)
    manifest = read_manifest(root)
    names = manifest.get("shards") or sorted(str(p.relative_to(root))
                                             for p in (root / "trials").glob("shard_*.npz"))
    paths = [root / str(names[int(i)]) for i in shards] if shards is not None else \
        [root / str(n) for n in names]
    parts = [_read_shard_table(p, threshold) for p in paths if p.is_file()]
    if not parts:
        raise ValueError(f"{root}: no shard written yet")
    keys = set.intersection(*(set(part) for part in parts))
    return {key: np.concatenate([part[key] for part in parts]) for key in sorted(keys)}


def _read_shard_table(path: Path, threshold: float) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            table = {key: data[key] for key in data.files
                     if key in ("success", "object_id", "trial", "reason") or key.startswith("param_")}
            feats = image_features(data["ta"], data["tb"], threshold)
            grasp = np.asarray(data["grasp"], dtype=np.float64)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a tactile shard ({exc})") from exc
    table.update(_grasp_columns(grasp))
    table["grasp"] = grasp
    for p, pad in enumerate(("left", "right")):
        for f, name in enumerate(IMAGE_FEATURES):
            table[f"img_{pad}_{name}"] = feats[:, p * len(IMAGE_FEATURES) + f]
    return table


_PHYSICS = ("mu", "mass", "force", "label_mu", "perturbed", "attempts", "object_rotation",
            "pads_touched")


def feature_groups(table: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, list[str]]]:
    """The diagnosis's feature matrices (module docstring) from a :func:`load_trial_table` table.

    ``param_com_*`` columns (the centre of mass in the grasp frame, where recorded or
    reconstructed) join the ``physics`` group.

    Returns:
        ``{group: (X (N, F) float64, column names)}`` for :data:`DIAGNOSIS_GROUPS`.
    """
    cols: dict[str, np.ndarray] = {}
    for name in _PHYSICS:
        if f"param_{name}" in table:
            cols[name] = np.asarray(table[f"param_{name}"], dtype=np.float64)
    cols["load_ratio"] = cols["mass"] * _GRAVITY / (2.0 * cols["mu"] * cols["force"])
    for name in ("width", "depth", "tilt"):
        cols[name] = np.asarray(table[name], dtype=np.float64)
    for key in sorted(k for k in table if k.startswith("param_com_")):
        cols[key[len("param_"):]] = np.asarray(table[key], dtype=np.float64)
    image = {k[len("img_"):]: np.asarray(v, dtype=np.float64) for k, v in table.items()
             if k.startswith("img_")}
    image["both_pads"] = ((image["left_area"] > 0) & (image["right_area"] > 0)).astype(np.float64)
    left = {k: v for k, v in image.items() if k.startswith("left_")}
    unobs = {"mu": cols["mu"], "mass": cols["mass"]}

    def matrix(parts: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
        names = list(parts)
        return np.column_stack([parts[n] for n in names]), names

    return {"physics": matrix(cols), "observable": matrix(image),
            "observable_left": matrix(left), "unobservable": matrix(unobs),
            "observable+unobservable": matrix({**image, **unobs})}


def _classifier(name: str, seed: int) -> Any:
    require("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if name == "boosting":
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)
    raise ValueError(f"unknown classifier {name!r}, expected one of {CLASSIFIERS}")


def fit_outcome_classifiers(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                            y_test: np.ndarray, *, rng: RngLike = None,
                            classifiers: Sequence[str] = CLASSIFIERS) -> dict[str, float]:
    """Test accuracy of each classifier fitted on the training rows.

    Args:
        x_train: (n, F) features; y_train: (n,) outcomes (both classes present).
        x_test: (m, F) features; y_test: (m,) outcomes.
        rng: draws the boosting's random state.
        classifiers: names from :data:`CLASSIFIERS`.

    Returns:
        ``{classifier: accuracy in [0, 1]}``.

    Raises:
        ValueError: mismatched shapes, non-finite features or a single training class.
    """
    xa, xb = np.asarray(x_train, np.float64), np.asarray(x_test, np.float64)
    ya, yb = np.asarray(y_train).astype(bool), np.asarray(y_test).astype(bool)
    if xa.ndim != 2 or xb.ndim != 2 or xa.shape[1] != xb.shape[1] or len(xa) != len(ya) \
            or len(xb) != len(yb) or len(xb) == 0:
        raise ValueError(f"features / labels: mismatched shapes {xa.shape}, {ya.shape}, "
                         f"{xb.shape}, {yb.shape}")
    if not (np.isfinite(xa).all() and np.isfinite(xb).all()):
        raise ValueError("features must be finite")
    if ya.all() or not ya.any():
        raise ValueError("the training outcomes must contain both classes")
    gen = as_rng(rng)
    out = {}
    for name in classifiers:
        model = _classifier(name, int(gen.integers(0, 2**31 - 1))).fit(xa, ya)
        out[name] = float(np.mean(model.predict(xb) == yb))
    return out


@dataclass(frozen=True)
class GroupScore:
    """Test accuracies of one feature group.

    Attributes:
        group: the group name.
        features: its column names.
        accuracy: classifier -> test accuracy.
    """

    group: str
    features: tuple[str, ...]
    accuracy: dict[str, float]


def diagnose(table: Mapping[str, np.ndarray], *, test_fraction: float = 1 / 3,
             rng: RngLike = None,
             groups: Sequence[str] = DIAGNOSIS_GROUPS) -> tuple[list[GroupScore], dict[str, Any]]:
    """Fit the classifiers of every group on one split by sample of the table's trials.

    Args:
        table: a :func:`load_trial_table` table.
        test_fraction: share of the trials held out, in (0, 1).
        rng: draws the split, then the classifiers' random states.
        groups: which groups (:data:`DIAGNOSIS_GROUPS`).

    Returns:
        ``(scores, info)``: one :class:`GroupScore` per group, and ``info`` with the trial
        counts, the success rate and the majority-class accuracy of the test side.
    """
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction: expected (0, 1), got {test_fraction!r}")
    gen = as_rng(rng)
    y = np.asarray(table["success"]).astype(bool)
    n = len(y)
    if n < 4:
        raise ValueError(f"need at least 4 trials, got {n}")
    order = gen.permutation(n)
    num_test = max(1, min(n - 1, int(round(test_fraction * n))))
    test, train = order[:num_test], order[num_test:]
    built = feature_groups(table)
    scores = []
    for group in groups:
        x, names = built[group]
        acc = fit_outcome_classifiers(x[train], y[train], x[test], y[test], rng=gen)
        scores.append(GroupScore(group, tuple(names), acc))
    rate = float(y[test].mean())
    info = {"num_trials": n, "num_train": int(len(train)), "num_test": int(num_test),
            "success_rate": float(y.mean()), "majority_test_accuracy": max(rate, 1 - rate)}
    return scores, info


def com_in_grasp_frame(grasp: np.ndarray, com_world: np.ndarray) -> np.ndarray:
    """The centre of mass in each grasp's frame (x approach, y jaw axis, z finger height).

    Args:
        grasp: (N, 17) grasp rows, world frame.
        com_world: (N, 3) centre of mass of the grasped object at rest, world frame (m).

    Returns:
        (N, 3) ``R^T (com - t)`` in metres.

    >>> g = np.zeros((1, 17)); g[0, 4:13] = np.eye(3).ravel()
    >>> com_in_grasp_frame(g, np.array([[0.0, 0.01, 0.0]])).tolist()
    [[0.0, 0.01, 0.0]]
    """
    g = np.asarray(grasp, dtype=np.float64)
    c = np.asarray(com_world, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != 17 or c.shape != (len(g), 3):
        raise ValueError(f"grasp (N, 17) and com_world (N, 3) expected, got {g.shape}, {c.shape}")
    R = g[:, 4:13].reshape(-1, 3, 3)
    return np.einsum("nji,nj->ni", R, c - g[:, 13:16])


def reconstruct_rest_com(root: str | Path, table: Mapping[str, np.ndarray]) -> np.ndarray:
    """(N, 3) world centre of mass of each trial's object at rest, by replaying its placement.

    For datasets that did not record it (version 1): each shard's object is dropped at the yaw
    its shard seed drew and settled, exactly as :func:`grasplab.tactile.trials.object_trials`
    did (same physics, so the same rest pose). About a second per object.
    """
    from grasplab.objects import ObjectLibrary
    from grasplab.scenes import TRAY_FLOOR_Z, World
    from grasplab.tactile.dataset import read_manifest
    from grasplab.tactile.trials import place_object

    manifest = read_manifest(root)
    seed, size = int(manifest["seed"]), int(manifest["shard_size"])
    trial = np.asarray(table["trial"], dtype=np.int64)
    object_id = np.asarray(table["object_id"], dtype=np.int64)
    out = np.zeros((len(trial), 3))
    library = ObjectLibrary()
    for shard in np.unique(trial // size):
        rows = np.flatnonzero(trial // size == shard)
        obj = library.load(int(object_id[rows[0]]))
        object_seed = int(np.random.SeedSequence([seed, 1, int(shard)]).generate_state(1)[0])
        yaw = np.random.default_rng(object_seed).uniform(-np.pi, np.pi)
        with World() as world:
            world.add_table_and_tray()
            T = place_object(world, obj, yaw, TRAY_FLOOR_Z)
        out[rows] = T[:3, :3] @ np.asarray(obj.center_of_mass, dtype=np.float64) + T[:3, 3]
    return out
