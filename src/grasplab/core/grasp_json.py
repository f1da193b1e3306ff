"""Grasps as JSON: a readable hand-off of a :class:`GraspGroup` to a robot or another language.

The document holds the frame and units, any extra metadata, ``num_grasps`` and one object per
grasp, best first: ``rank`` (1-based), ``score``, ``position`` (3,), ``rotation_matrix`` (3×3,
columns = approach x, jaw axis y, finger height z), ``quaternion_wxyz`` (4,), ``width``,
``depth``, ``height`` (metres) and ``object_id`` (-1 = unknown). :func:`grasps_from_json` reads
it back into the graspnetAPI row layout. Frame: the frame the grasps were given in (the camera
frame for detector output, OpenCV: x right, y down, z forward); metres.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core.grasp_group import GraspGroup
from grasplab.core.rotations import matrix_to_quaternion

__all__ = ["CAMERA_FRAME", "grasps_from_json", "grasps_to_json", "write_grasps_json"]

#: The ``frame`` written for detector output.
CAMERA_FRAME = "camera (OpenCV: x right, y down, z forward)"


def grasps_to_json(grasps: GraspGroup, extra: dict[str, Any] | None = None,
                   frame: str = CAMERA_FRAME) -> dict[str, Any]:
    """A JSON-able description of grasps (module docstring), best first.

    Args:
        grasps: (N,) grasps; not modified.
        extra: metadata placed before ``num_grasps`` (e.g. method, latency, intrinsics).
        frame: what the ``frame`` key says.

    Returns:
        A dict of plain Python types.
    """
    group = grasps.sort_by_score()
    quats = matrix_to_quaternion(group.rotations) if len(group) else np.zeros((0, 4))
    rows = [
        {"rank": i + 1, "score": float(s), "position": t.tolist(), "rotation_matrix": R.tolist(),
         "quaternion_wxyz": q.tolist(), "width": float(w), "depth": float(d), "height": float(h),
         "object_id": int(o)}
        for i, (s, t, R, q, w, d, h, o) in enumerate(zip(
            group.scores, group.translations, group.rotations, quats, group.widths, group.depths,
            group.heights, group.object_ids, strict=True))
    ]
    return {
        "frame": frame,
        "units": "metres",
        "rotation_columns": ["approach (x)", "jaw axis (y)", "finger height (z)"],
        **(extra or {}),
        "num_grasps": len(rows),
        "grasps": rows,
    }


def write_grasps_json(path: str | Path, grasps: GraspGroup,
                      extra: dict[str, Any] | None = None) -> Path:
    """Write :func:`grasps_to_json` to ``path`` (parents created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(grasps_to_json(grasps, extra), indent=1) + "\n")
    return out


def grasps_from_json(document: dict[str, Any] | str | Path) -> GraspGroup:
    """Read grasps written by :func:`grasps_to_json` (a dict, or the path of a file).

    Returns:
        (N,) grasps in rank order (graspnetAPI rows; the rotation from ``rotation_matrix``).

    Raises:
        ValueError: a document without ``grasps`` or a grasp missing a field.
    """
    doc = document if isinstance(document, dict) else json.loads(Path(document).read_text())
    if not isinstance(doc, dict) or "grasps" not in doc:
        raise ValueError("grasps JSON: expected an object with a 'grasps' list")
    rows = np.zeros((len(doc["grasps"]), 17))
    for i, g in enumerate(doc["grasps"]):
        try:
            rows[i, :4] = g["score"], g["width"], g["height"], g["depth"]
            rows[i, 4:13] = np.asarray(g["rotation_matrix"], dtype=float).reshape(9)
            rows[i, 13:16] = np.asarray(g["position"], dtype=float).reshape(3)
            rows[i, 16] = g["object_id"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"grasps JSON: grasp {i} is malformed ({exc!r})") from exc
    return GraspGroup(rows)
