"""CPU rendering of a world: pinhole RGB-D + instance masks, and PLGP's parallel depth image.

Pinhole frames (:func:`render_frame`) come from PyBullet's TinyRenderer. The OpenGL projection is
built from ``fx, fy, cx, cy`` exactly, principal point included, and was checked against ray
casting: TinyRenderer samples pixel column ``u`` at window x = u and row ``v`` at window
y = H − 1 − v, so ``P[0, 2] = 1 − 2 cx / W`` and ``P[1, 2] = 2 (cy + 1) / H − 1``; with that, a
tilted plane renders to within 5 µm of its exact depth. The depth buffer ``d`` is converted to
metric depth along the optical axis with ``z = f n / (f − (f − n) d)``; pixels at or beyond the
far plane (no geometry) become 0.

Parallel depth (:func:`render_parallel_depth`, PLGP §III-D1, eq. 11): every pixel ``(c, r)`` is the
ray through camera-frame point ``x = (c − (W − 1)/2) / η``, ``y = (r − (H − 1)/2) / η`` parallel to
the optical axis; its value is ``z_C`` of the first surface hit (0 for none). Rays start on the
camera's x-y plane (z_C = 0), so geometry behind the camera is ignored. We cast them with embree
(trimesh + embreex) against the posed meshes and compute ``z_C`` in float64.

Frames: ``T_world_cam`` in the OpenCV convention (x right, y down, z forward). Depth in metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh
from numpy.typing import ArrayLike

from grasplab._optional import MissingExtraError, require
from grasplab.core.camera import CameraIntrinsics, parallel_unproject
from grasplab.core.validation import check_positive_scalar, check_transform
from grasplab.scenes.world import PosedMesh, World

__all__ = [
    "ParallelDepth",
    "RenderedFrame",
    "opengl_projection",
    "opengl_view",
    "render_frame",
    "render_parallel_depth",
    "table_eta",
]

#: OpenCV camera frame → OpenGL camera frame (y and z flipped).
_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True, eq=False)
class RenderedFrame:
    """One rendered pinhole RGB-D frame.

    Attributes:
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 metres along the optical axis, 0 where nothing was hit.
        mask: (H, W) int32, ``object_id + 1`` on objects, 0 on table, tray and background.
        intrinsics: the camera intrinsics.
        T_world_cam: (4, 4) camera pose (OpenCV convention).
    """

    rgb: np.ndarray
    depth: np.ndarray
    mask: np.ndarray
    intrinsics: CameraIntrinsics
    T_world_cam: np.ndarray


@dataclass(frozen=True, eq=False)
class ParallelDepth:
    """A parallel (orthographic) depth image, PLGP eq. 11.

    Attributes:
        depth: (H, W) float32 ``z_C`` in metres, 0 where no surface lies on the pixel's ray.
        mask: (H, W) int32, ``object_id + 1`` on objects, 0 elsewhere.
        eta: projection ratio η in pixels per metre.
        T_world_cam: (4, 4) pose of the camera whose x-y plane is the image plane.
    """

    depth: np.ndarray
    mask: np.ndarray
    eta: float
    T_world_cam: np.ndarray


def _check_intrinsics(intrinsics: CameraIntrinsics) -> tuple[int, int]:
    if not isinstance(intrinsics, CameraIntrinsics):
        raise ValueError(f"intrinsics must be a CameraIntrinsics, got {type(intrinsics).__name__}")
    width, height = int(intrinsics.width), int(intrinsics.height)
    if width < 1 or height < 1 or intrinsics.fx <= 0 or intrinsics.fy <= 0:
        raise ValueError(f"intrinsics need positive size and focal lengths, got {intrinsics}")
    return width, height


def opengl_projection(intrinsics: CameraIntrinsics, near: float, far: float) -> np.ndarray:
    """The (4, 4) OpenGL projection matrix for TinyRenderer that reproduces ``intrinsics``.

    Row-major (pass ``P.T.ravel()`` to PyBullet). See the module docstring for the pixel rule.
    """
    width, height = _check_intrinsics(intrinsics)
    if not 0 < near < far:
        raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    P = np.zeros((4, 4))
    P[0, 0] = 2.0 * intrinsics.fx / width
    P[0, 2] = 1.0 - 2.0 * intrinsics.cx / width
    P[1, 1] = 2.0 * intrinsics.fy / height
    P[1, 2] = 2.0 * (intrinsics.cy + 1.0) / height - 1.0
    P[2, 2] = -(far + near) / (far - near)
    P[2, 3] = -2.0 * far * near / (far - near)
    P[3, 2] = -1.0
    return P


def opengl_view(T_world_cam: ArrayLike) -> np.ndarray:
    """The (4, 4) OpenGL view matrix (world → OpenGL camera) of an OpenCV camera pose."""
    T = check_transform(T_world_cam, "T_world_cam")
    return np.asarray(np.linalg.inv(T @ _CV_TO_GL))


def render_frame(
    world: World,
    intrinsics: CameraIntrinsics,
    T_world_cam: ArrayLike,
    *,
    near: float = 0.05,
    far: float = 3.0,
    shadow: bool = False,
) -> RenderedFrame:
    """Render RGB, metric depth and the instance mask of ``world`` with TinyRenderer (CPU).

    Args:
        world: the world to draw.
        intrinsics: pinhole intrinsics (image size included).
        T_world_cam: (4, 4) camera pose, OpenCV convention.
        near: near clipping distance (m); nearer surfaces are clipped.
        far: far clipping distance (m); depth 0 at and beyond it.
        shadow: let TinyRenderer draw shadows (slower).

    Returns:
        The :class:`RenderedFrame`.
    """
    width, height = _check_intrinsics(intrinsics)
    T = check_transform(T_world_cam, "T_world_cam")
    P = opengl_projection(intrinsics, near, far)
    p = world.p
    _, _, rgba, depth_buffer, seg = p.getCameraImage(
        width,
        height,
        viewMatrix=opengl_view(T).T.ravel().tolist(),
        projectionMatrix=P.T.ravel().tolist(),
        renderer=p.ER_TINY_RENDERER,
        shadow=int(shadow),
        physicsClientId=world.client,
    )
    d = np.reshape(np.asarray(depth_buffer, dtype=np.float64), (height, width))
    depth = far * near / (far - (far - near) * d)
    depth[(d >= 1.0) | (depth >= far)] = 0.0
    rgb = np.reshape(np.asarray(rgba, dtype=np.uint8), (height, width, 4))[..., :3].copy()
    mask = world.segmentation_to_mask(np.reshape(np.asarray(seg), (height, width)))
    mask[depth == 0] = 0
    return RenderedFrame(rgb, depth.astype(np.float32), mask, intrinsics, T)


def _scene_in_camera(
    meshes: Sequence[PosedMesh], T_cam_world: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate posed meshes in the camera frame: vertices, faces, per-face labels."""
    verts, faces, labels, offset = [], [], [], 0
    for item in meshes:
        T = T_cam_world @ check_transform(item.T_world_mesh, "T_world_mesh")
        v = np.asarray(item.mesh.vertices, dtype=np.float64)
        f = np.asarray(item.mesh.faces, dtype=np.int64)
        verts.append(v @ T[:3, :3].T + T[:3, 3])
        faces.append(f + offset)
        labels.append(np.full(len(f), int(item.label), dtype=np.int32))
        offset += len(v)
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int32)
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(labels)


def table_eta(fx: float, T_world_cam: ArrayLike, T_world_table: ArrayLike) -> float:
    """Parallel projection ratio η (px/m) matching the camera's scale at the table: fx / z_table.

    ``z_table`` is the depth of the table frame's origin in the camera (at least 5 cm).
    """
    T_cam_world = np.linalg.inv(check_transform(T_world_cam, "T_world_cam"))
    centre = check_transform(T_world_table, "T_world_table")[:3, 3]
    z = float((T_cam_world[:3, :3] @ centre + T_cam_world[:3, 3])[2])
    return float(fx) / max(z, 0.05)


def render_parallel_depth(
    world_or_meshes: World | Sequence[PosedMesh],
    T_world_cam: ArrayLike,
    eta: float = 5000.0,
    width: int = 640,
    height: int = 480,
) -> ParallelDepth:
    """Render PLGP's parallel depth image (eq. 11) by casting rays along the optical axis.

    Args:
        world_or_meshes: a :class:`World` (objects, table and tray) or posed meshes.
        T_world_cam: (4, 4) camera pose, OpenCV convention; the image plane is its x-y plane.
        eta: η, pixels per metre (5000 in PLGP).
        width: image width W in pixels.
        height: image height H in pixels.

    Returns:
        The :class:`ParallelDepth` (``depth[r, c]`` is ``z_C`` of the first surface).

    Raises:
        MissingExtraError: embreex is not installed (the default trimesh engine is far too slow).
    """
    T = check_transform(T_world_cam, "T_world_cam")
    eta = check_positive_scalar(eta, "eta")
    if int(width) < 1 or int(height) < 1:
        raise ValueError(f"width and height must be >= 1, got {width}x{height}")
    meshes = world_or_meshes.posed_meshes() if isinstance(world_or_meshes, World) else world_or_meshes
    verts, faces, labels = _scene_in_camera(list(meshes), np.linalg.inv(T))
    depth = np.zeros((int(height), int(width)), dtype=np.float32)
    mask = np.zeros_like(depth, dtype=np.int32)
    if len(faces) == 0:
        return ParallelDepth(depth, mask, eta, T)
    cols, rows = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pixels = np.stack([cols.ravel(), rows.ravel()], axis=1)
    origins = parallel_unproject(pixels, np.zeros(len(pixels)), eta, int(width), int(height))
    tri = _first_hits(verts, faces, origins)
    hit = tri >= 0
    v0 = verts[faces[tri[hit], 0]]
    normals = np.cross(verts[faces[tri[hit], 1]] - v0, verts[faces[tri[hit], 2]] - v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.einsum("ij,ij->i", normals, v0 - origins[hit]) / normals[:, 2]
    z = np.where(np.isfinite(z) & (z > 0), z, 0.0)
    depth.reshape(-1)[hit] = z
    mask.reshape(-1)[hit] = np.where(z > 0, labels[tri[hit]], 0)
    return ParallelDepth(depth, mask, eta, T)


def _first_hits(verts: np.ndarray, faces: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """Index of the first triangle hit by rays from ``origins`` along +z (-1 for none)."""
    try:
        require("embreex")
        from trimesh.ray.ray_pyembree import RayMeshIntersector
    except (ImportError, MissingExtraError) as exc:
        raise MissingExtraError(
            "render_parallel_depth needs embreex (pip install embreex); trimesh's default ray "
            "engine is about 1000x slower and is not used silently"
        ) from exc
    mesh = trimesh.Trimesh(verts, faces, process=False)
    caster = RayMeshIntersector(mesh)
    directions = np.broadcast_to(np.array([0.0, 0.0, 1.0]), origins.shape)
    return np.asarray(caster.intersects_first(origins, directions), dtype=np.int64)
