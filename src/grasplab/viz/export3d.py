"""3D export of a detection: the observed point cloud plus gripper meshes, as PLY or GLB.

Each grasp becomes the reference gripper's three boxes (left finger, right finger, palm;
:meth:`grasplab.core.GripperModel.box_corners`), flat-shaded in its score colour (red = low,
green = high; the best grasp magenta, as in :mod:`grasplab.viz.overlay`). The cloud keeps the
colours of the RGB image when given.

- PLY (``.ply``): one binary file; the cloud points are vertices that no face uses (MeshLab,
  CloudCompare, Blender and Open3D show them as points), the grippers are coloured faces.
  Coordinates are the grasps' frame as given (the camera frame, OpenCV, metres, for detector
  output).
- GLB (``.glb``): a glTF 2.0 binary scene with a point primitive and a mesh. glTF is y-up, so the
  root node turns the OpenCV camera frame (y down, z forward) into the glTF convention
  (a half turn about x): the scene shows upright in web viewers. Node names say what is what.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh
from numpy.typing import ArrayLike

from grasplab.core import CameraIntrinsics, GraspGroup, GripperModel, depth_to_points
from grasplab.core.validation import as_array
from grasplab.viz.overlay import _BEST_COLOR, score_colors

__all__ = ["EXPORT_FORMATS", "export_grasp_scene", "grasp_colors", "gripper_mesh", "observation_cloud"]

#: File suffixes :func:`export_grasp_scene` writes.
EXPORT_FORMATS = (".ply", ".glb")

#: OpenCV camera frame → glTF (y up, looking down -z): a half turn about x.
_CV_TO_GLTF = np.diag([1.0, -1.0, -1.0, 1.0])


def _box_faces() -> np.ndarray:
    """(12, 3) triangles of a box whose 8 corners follow ``box_corners``' order (outward)."""
    return np.asarray(trimesh.creation.box().faces, dtype=np.int64)


def grasp_colors(grasps: GraspGroup, highlight_best: bool = True) -> np.ndarray:
    """(N, 3) uint8 score colours of grasps, the best one (highest score) in magenta."""
    colors = score_colors(grasps.scores)
    if highlight_best and len(grasps):
        colors[int(np.argmax(grasps.scores))] = _BEST_COLOR
    return colors


def gripper_mesh(
    grasps: GraspGroup, gripper: GripperModel | None = None, colors: ArrayLike | None = None
) -> trimesh.Trimesh:
    """One flat-shaded mesh of all grasps' gripper boxes.

    Args:
        grasps: N grasps (any frame; the mesh is in the same frame).
        gripper: gripper geometry (default: the reference gripper).
        colors: (N, 3) or (N, 4) uint8 colour per grasp (default: :func:`grasp_colors`).

    Returns:
        A mesh of ``36 N`` triangles with unshared vertices (so flat shading survives viewers
        that smooth shared normals) and per-vertex colours.
    """
    if not isinstance(grasps, GraspGroup):
        raise ValueError(f"grasps: expected a GraspGroup, got {type(grasps).__name__}")
    n = len(grasps)
    rgb = grasp_colors(grasps) if colors is None else np.asarray(colors)
    if rgb.shape not in ((n, 3), (n, 4)):
        raise ValueError(f"colors: expected shape ({n}, 3) or ({n}, 4), got {rgb.shape}")
    corners = (gripper or GripperModel()).box_corners(grasps)  # (N, 3, 8, 3)
    faces = _box_faces()
    triangles = corners[:, :, faces]  # (N, 3, 12, 3 vertices, 3 xyz)
    vertices = triangles.reshape(-1, 3)
    return trimesh.Trimesh(vertices=vertices, faces=np.arange(len(vertices)).reshape(-1, 3),
                           vertex_colors=_vertex_colors(rgb), process=False)


def _vertex_colors(colors: np.ndarray) -> np.ndarray:
    """(N, 3|4) colour per grasp → (108 N, 4) uint8 colour per vertex of :func:`gripper_mesh`."""
    rgba = colors if colors.shape[1] == 4 else np.concatenate(
        [colors, np.full((len(colors), 1), 255)], axis=1)
    return np.repeat(rgba.astype(np.uint8), 3 * 12 * 3, axis=0)


def observation_cloud(
    depth: ArrayLike, intrinsics: CameraIntrinsics, rgb: ArrayLike | None = None, stride: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Back-project a depth image (every ``stride``-th pixel) to a coloured cloud.

    Args:
        depth: (H, W) metres, 0 = invalid.
        intrinsics: the camera.
        rgb: optional (H, W, 3) uint8 colours; grey when None.
        stride: keep every ``stride``-th row and column.

    Returns:
        ``(points (M, 3) float64 metres camera frame, colors (M, 3) uint8)``.
    """
    if isinstance(stride, bool) or int(stride) < 1:
        raise ValueError(f"stride: expected an integer >= 1, got {stride!r}")
    d = np.asarray(depth)
    keep = np.zeros(d.shape, dtype=bool)
    keep[:: int(stride), :: int(stride)] = True
    points, uv = depth_to_points(d, intrinsics, keep)
    if rgb is None:
        return points, np.full((len(points), 3), 160, dtype=np.uint8)
    image = np.asarray(rgb)
    if image.shape[:2] != d.shape or image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError(f"rgb: expected a uint8 {d.shape + (3,)} image, got {image.dtype} "
                         f"{image.shape}")
    return points, np.ascontiguousarray(image[uv[:, 1], uv[:, 0], :3])


def _ply(points: np.ndarray, colors: np.ndarray, grippers: trimesh.Trimesh,
         gripper_colors: np.ndarray) -> trimesh.Trimesh:
    """Cloud points as unreferenced vertices before the gripper triangles, one mesh."""
    cloud_rgba = np.concatenate([colors, np.full((len(points), 1), 255, np.uint8)], axis=1)
    vertices = np.concatenate([points, np.asarray(grippers.vertices)])
    faces = np.asarray(grippers.faces) + len(points)
    vertex_colors = np.concatenate([cloud_rgba, gripper_colors])
    return trimesh.Trimesh(vertices=vertices, faces=faces, vertex_colors=vertex_colors,
                           process=False)


def export_grasp_scene(
    path: str | Path,
    points: ArrayLike,
    grasps: GraspGroup,
    point_colors: ArrayLike | None = None,
    gripper: GripperModel | None = None,
    max_grasps: int | None = 50,
) -> Path:
    """Write a cloud and the best grasps' gripper meshes as ``.ply`` or ``.glb``.

    Args:
        path: output file; its suffix picks the format (:data:`EXPORT_FORMATS`).
        points: (M, 3) cloud in the grasps' frame, metres.
        grasps: grasps (the best ``max_grasps`` are written; None writes all).
        point_colors: (M, 3) uint8 colours (grey when None).
        gripper: gripper geometry (default: the reference gripper).
        max_grasps: at most this many grasps.

    Returns:
        The written path.

    Raises:
        ValueError: an unknown suffix, or points / colours of the wrong shape.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(f"{out}: unknown 3D format {out.suffix!r}; expected one of {EXPORT_FORMATS}")
    cloud = as_array(points, "points", (None, 3))
    if point_colors is None:
        colors = np.full((len(cloud), 3), 160, dtype=np.uint8)
    else:
        colors = as_array(point_colors, "point_colors", (len(cloud), None), dtype=np.uint8)[:, :3]
    if not isinstance(grasps, GraspGroup):
        raise ValueError(f"grasps: expected a GraspGroup, got {type(grasps).__name__}")
    shown = grasps.sort_by_score()
    shown = shown if max_grasps is None else shown[: int(max_grasps)]
    rgb = grasp_colors(shown)
    grippers = gripper_mesh(shown, gripper, rgb)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".ply":
        out.write_bytes(trimesh.exchange.ply.export_ply(_ply(cloud, colors, grippers, _vertex_colors(rgb)),
                                                        encoding="binary"))
        return out
    scene = trimesh.Scene()
    root = scene.graph.base_frame
    scene.graph.update(frame_to="camera_opencv", frame_from=root, matrix=_CV_TO_GLTF)
    if len(cloud):
        scene.add_geometry(trimesh.PointCloud(cloud, colors=colors), node_name="observed_cloud",
                           geom_name="observed_cloud", parent_node_name="camera_opencv")
    if len(shown):
        scene.add_geometry(grippers, node_name="grasps", geom_name="grasps",
                           parent_node_name="camera_opencv")
    out.write_bytes(trimesh.exchange.gltf.export_glb(scene))
    return out
