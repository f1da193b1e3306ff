"""Check that EVERY object of every split is watertight and labellable after a dataset round trip.

For each object id of the ``seen``, ``similar`` and ``novel`` splits (issue 13, item 1):

1. process it with a fresh :class:`~grasplab.objects.ObjectLibrary` (a temporary cache unless
   ``--cache`` is given) and check that the library mesh is watertight with positive volume;
2. write it the way ``grasplab scenes generate`` writes ``models/%03d/textured.obj``
   (:meth:`grasplab.scenes.layout.DatasetWriter.write_model`), read it back the way
   ``grasplab label objects`` does (:func:`grasplab.labels.dataset_labels.load_label_mesh`,
   which merges vertices by position) and check it with
   :func:`grasplab.labels.object_labels.check_labelable_mesh`;
3. label a handful of grasp points with a tiny grid (8 views × 2 angles) so that errors inside
   labelling show up too.

Usage: ``nice -n 10 python benchmarks/check_objects.py [--splits seen similar novel]
[--ids 343 378] [--cache DIR] [--no-label]``; writes ``benchmarks/results/check_objects.json``
(counts, failures with their messages, seconds) and exits 1 when any object fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.labels.dataset_labels import load_label_mesh
from grasplab.labels.object_labels import ObjectLabelConfig, check_labelable_mesh, label_object
from grasplab.objects import SPLITS, SPLITS_VERSION, ObjectLibrary, split_object_ids
from grasplab.objects.grasp_object import PROCESSING_VERSION
from grasplab.objects.processing import union_engine
from grasplab.scenes.layout import DatasetWriter

RESULTS = Path(__file__).parent / "results" / "check_objects.json"
TINY = ObjectLabelConfig(num_views=8, num_angles=2, max_points=5)


def check_object(lib: ObjectLibrary, layout: DatasetWriter, object_id: int, label: bool) -> str:
    """"" when the object passes, else what failed (one line)."""
    try:
        obj = lib.load(object_id)
    except ValueError as exc:
        return f"processing: {exc}"
    if not obj.mesh.is_watertight or not obj.mesh.volume > 0:
        return "processing: library mesh is not a closed volume"
    folder = layout.write_model(object_id, obj.mesh)
    try:
        mesh = load_label_mesh(folder / "textured.obj")
        check_labelable_mesh(mesh)
        if label:
            label_object(mesh, config=TINY, rng=np.random.default_rng(object_id))
    except ValueError as exc:
        return f"textured.obj: {exc}"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run the check and write the results file; exit status 1 when any object fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    parser.add_argument("--ids", nargs="+", type=int, default=None,
                        help="check only these ids (overrides --splits)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="object cache to use (default: a fresh temporary one)")
    parser.add_argument("--no-label", action="store_true", help="skip the tiny label run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    ids = args.ids or [i for s in args.splits for i in split_object_ids(s)]
    failures: dict[str, str] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="check_objects_") as tmp:
        lib = ObjectLibrary(cache_dir=args.cache or Path(tmp) / "cache")
        layout = DatasetWriter(Path(tmp) / "dataset")
        for k, object_id in enumerate(ids):
            problem = check_object(lib, layout, object_id, not args.no_label)
            if problem:
                failures[str(object_id)] = f"{lib.spec(object_id).name}: {problem}"
                print(f"FAIL {object_id} {failures[str(object_id)]}", flush=True)
            if (k + 1) % 100 == 0:
                print(f"{k + 1}/{len(ids)} checked, {len(failures)} failed, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "splits_version": SPLITS_VERSION, "processing_version": PROCESSING_VERSION,
        "union_engine": union_engine(), "num_objects": len(ids), "num_failed": len(failures),
        "failures": failures, "seconds": round(seconds, 1), "labelled": not args.no_label,
        "machine": platform.platform(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(ids)} objects, {len(failures)} failed, {seconds:.0f} s -> {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
