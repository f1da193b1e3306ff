"""GelSight pads on the simulated gripper: from the PyBullet state to pressed height maps.

The simulation glue of :mod:`grasplab.tactile`; the optics (height map → image) live in
:mod:`grasplab.tactile.optics`.

Pads: one on each finger's inner face (the face at ``y = ∓q`` of the tip frame, ``q`` the finger
joint value, :mod:`grasplab.execution.sim_gripper`), centred ``config.pad_offset`` behind the
fingertip and at mid-height. The pad frame (:mod:`grasplab.tactile.config`) has +z from the gel
toward the other finger and image columns (x) along the tip frame's x (toward the fingertip); for
the left pad image rows (y) run along the tip frame's -z, for the right pad along +z.

A reading at any moment of an episode:

1. the finger's contacts (``getContactPoints`` of its link with object bodies) give the normal
   force and the friction force; no contact, no imprint;
2. the touching objects' meshes are ray cast (Embree, :class:`grasplab.labels.MeshRayCaster`)
   along the pad normal from just behind the gel face, at their current poses, one ray every
   ``raycast_stride`` pixels where a first pass with one ray per 8 × 8 pixels finds the object
   within the gel thickness of its closest point, giving the object's distance ``d`` to the
   gel face;
3. if the closest point is within ``contact_tolerance`` of the face (else the contact lies
   outside the pad), the gel is pressed by the depth at which its foundation pressure balances
   the normal force (:func:`~grasplab.tactile.optics.pressing_depth`); the shear is the friction
   force over the gel's tangential stiffness.

Metres, newtons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy import ndimage

from grasplab.core import GripperModel, check_transform, make_transform
from grasplab.core.validation import RngLike, as_rng
from grasplab.execution.sim_gripper import SimGripper
from grasplab.labels.raycast import MeshRayCaster
from grasplab.scenes import World
from grasplab.tactile.config import GelSightConfig
from grasplab.tactile.optics import _upsample, press, pressing_depth, render_tactile

__all__ = ["SIDES", "GelSightSensor", "PadReading", "mesh_distance", "pad_caster", "pad_pose"]

#: The two pads, in the order of every pair returned here (finger links 0 and 1).
SIDES = ("left", "right")
#: Pixels per coarse ray of the first ray-casting pass (:meth:`GelSightSensor.read`).
_COARSE_STRIDE = 8
#: Phong tessellation's blend (Boubekeur and Alexa 2008 use 3/4).
_PHONG_ALPHA = 0.75


class _SmoothCaster(MeshRayCaster):
    """A :class:`MeshRayCaster` with per-face data for Phong tessellation (see :func:`pad_caster`)."""

    def __init__(self, mesh: trimesh.Trimesh) -> None:
        super().__init__(mesh)
        corners = np.asarray(mesh.triangles, dtype=np.float64)  # (F, 3, 3)
        normals = np.asarray(mesh.vertex_normals, dtype=np.float64)[mesh.faces]
        face_normals = np.asarray(mesh.face_normals, dtype=np.float64)
        self.curved = ~np.all(np.einsum("fij,fj->fi", normals, face_normals) > 1 - 1e-9, axis=1)
        e0, e1 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
        det = d00 * d11 - d01**2
        inverse = np.divide(1.0, det, out=np.zeros_like(det), where=np.abs(det) > 0)
        # per face: anchor (3), edges (6), d00 d01 d11 / det (3), v_i . n_i (3)
        self._table = np.column_stack([
            corners[:, 0], e0, e1, d00 * inverse, d01 * inverse, d11 * inverse,
            np.einsum("fij,fij->fi", corners, normals)])
        self._corner_normals = normals.reshape(-1, 9)

    def phong_offset(self, faces: np.ndarray, points: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """(N,) Phong tessellation displacement of points on ``faces`` along ``direction``.

        ``p* = p + a sum_i b_i ((v_i - p) . n_i) n_i`` (projections onto the vertex tangent
        planes blended by the barycentric coordinates ``b``); zero on flat faces.
        """
        out = np.zeros(len(faces))
        curved = self.curved[faces]
        f = faces[curved]
        if len(f) == 0:
            return out
        pts = points[curved]
        row = np.take(self._table, f, axis=0)
        normals = np.take(self._corner_normals, f, axis=0).reshape(-1, 3, 3)
        rel = pts - row[:, 0:3]
        d20 = np.einsum("nj,nj->n", rel, row[:, 3:6])
        d21 = np.einsum("nj,nj->n", rel, row[:, 6:9])
        v = row[:, 11] * d20 - row[:, 10] * d21
        w = row[:, 9] * d21 - row[:, 10] * d20
        bary = np.stack([1 - v - w, v, w], axis=1)
        height = row[:, 12:15] - np.einsum("nij,nj->ni", normals, pts)  # (v_i - p) . n_i
        out[curved] = _PHONG_ALPHA * np.einsum("ni,ni->n", bary * height, normals @ direction)
        return out


def pad_caster(mesh: trimesh.Trimesh) -> MeshRayCaster:
    """An Embree ray caster on ``mesh`` split at creases, for :func:`mesh_distance`.

    The mesh's vertices are split where faces meet at more than 20° (``trimesh``'s
    ``smooth_shaded``), so its vertex normals are smooth over curved surfaces and sharp at
    edges; the geometry is unchanged.
    """
    return _SmoothCaster(mesh.smooth_shaded)


def pad_pose(T_world_tip: np.ndarray, finger_position: float, side: str,
             config: GelSightConfig) -> np.ndarray:
    """(4, 4) ``T_world_pad`` of one pad (module docstring for the frame).

    Args:
        T_world_tip: (4, 4) the gripper's tip-frame pose.
        finger_position: the finger's joint value ``q`` (m): its inner face is at ``y = ∓q``.
        side: ``"left"`` or ``"right"``.
        config: the pad (its offset behind the fingertip).

    Returns:
        (4, 4) float64 pose of the pad frame in the world.

    >>> T = pad_pose(np.eye(4), 0.03, "left", GelSightConfig())
    >>> T[:3, 3].round(4).tolist(), T[:3, 2].tolist()
    ([-0.0095, -0.03, 0.0], [0.0, 1.0, 0.0])
    """
    T = check_transform(T_world_tip, "T_world_tip")
    if side not in SIDES:
        raise ValueError(f"side: expected one of {SIDES}, got {side!r}")
    sign = -1.0 if side == "left" else 1.0
    x_axis, z_axis = np.array([1.0, 0.0, 0.0]), np.array([0.0, -sign, 0.0])
    R_tip_pad = np.column_stack([x_axis, np.cross(z_axis, x_axis), z_axis])
    t_tip_pad = np.array([-config.pad_offset, sign * float(finger_position), 0.0])
    return T @ make_transform(R_tip_pad, t_tip_pad)


def mesh_distance(caster: MeshRayCaster, T_mesh_pad: np.ndarray, config: GelSightConfig,
                  stride: int = 1, mask: np.ndarray | None = None) -> np.ndarray:
    """Distance (m) from the gel face to a mesh along the pad normal, per pixel (Embree rays).

    Rays start ``gel_thickness + contact_tolerance`` behind the face (so a surface that already
    passed the face is seen) and reach as far in front of it. With ``config.smooth_surface``
    the hits are moved onto the Phong tessellation of the mesh (Boubekeur and Alexa 2008), a
    smooth surface through its vertices, so a coarse sphere presses a smooth imprint instead of
    flat facets; flat faces and sharp edges (split by :func:`pad_caster`) are unchanged.

    Args:
        caster: the mesh's ray caster (mesh frame), from :func:`pad_caster`.
        T_mesh_pad: (4, 4) pad pose in the mesh frame.
        config: the pad.
        stride: one ray per ``stride`` × ``stride`` block of pixels, at the block's centre
            (the resolution must be divisible by it).
        mask: optional (H / stride, W / stride) bool: cast only these rays (others give inf).

    Returns:
        (H / stride, W / stride) distances (negative behind the face), ``inf`` where the ray
        misses.
    """
    x, y = config.pixel_coordinates()
    if any(r % stride for r in config.resolution):
        raise ValueError(f"stride: {stride} does not divide the resolution {config.resolution}")
    xx, yy = np.meshgrid(x.reshape(-1, stride).mean(axis=1), y.reshape(-1, stride).mean(axis=1))
    back = config.gel_thickness + config.contact_tolerance
    out = np.full(xx.shape, np.inf)
    cast = np.ones(xx.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if cast.shape != xx.shape:
        raise ValueError(f"mask: expected shape {xx.shape}, got {cast.shape}")
    if not cast.any():
        return out
    origins = np.stack([xx[cast], yy[cast], np.full(int(cast.sum()), -back)], axis=1)
    T = check_transform(T_mesh_pad, "T_mesh_pad")
    origins = origins @ T[:3, :3].T + T[:3, 3]
    direction = np.broadcast_to(T[:3, 2], origins.shape)
    hits = caster.first_hits(origins, direction, 2 * back)
    distance = hits.distances - back
    if config.smooth_surface and hits.hit.any():
        smooth = caster if isinstance(caster, _SmoothCaster) else _SmoothCaster(caster.mesh)
        # only where the gel can be pressed: within its thickness of the closest hit
        hit = hits.hit & (distance <= distance[hits.hit].min() + back)
        distance[hit] += smooth.phong_offset(hits.faces[hit], hits.locations[hit], T[:3, 2])
    out[cast] = distance
    return out


@dataclass(frozen=True)
class PadReading:
    """What one pad feels at one moment.

    Attributes:
        side: ``"left"`` or ``"right"``.
        T_world_pad: (4, 4) pad pose.
        normal_force: total normal force of the objects on the finger (N).
        shear: (2,) tangential gel displacement in the pad's x and y (m).
        depth: pressing depth (m), 0 without an imprint.
        height: (H, W) float32 raw indentation (m), zeros without an imprint.
        object_ids: grasplab ids of the objects touching the finger.
    """

    side: str
    T_world_pad: np.ndarray
    normal_force: float
    shear: np.ndarray
    depth: float
    height: np.ndarray
    object_ids: tuple[int, ...]


class GelSightSensor:
    """Two GelSight pads on a :class:`SimGripper` (module docstring).

    Args:
        config: the pads.
        gripper: the gripper geometry; the pad must fit on its fingers.

    Raises:
        ValueError: the pad is longer than the finger or taller than it.
    """

    def __init__(self, config: GelSightConfig | None = None,
                 gripper: GripperModel | None = None) -> None:
        self.config = config or GelSightConfig()
        self.gripper = gripper or GripperModel()
        width, height = self.config.pad_size
        offset = self.config.pad_offset
        if offset - width / 2 < 0 or offset + width / 2 > self.gripper.finger_length:
            raise ValueError(f"GelSightSensor: a pad {width} m long centred {offset} m behind the "
                             f"fingertip does not fit on a {self.gripper.finger_length} m finger")
        if height > self.gripper.height:
            raise ValueError(f"GelSightSensor: a pad {height} m tall does not fit on a "
                             f"{self.gripper.height} m tall finger")
        self._casters: dict[int, tuple[object, MeshRayCaster]] = {}
        cfg = self.config
        stride = cfg.raycast_stride
        if stride & (stride - 1) or any(r % stride for r in cfg.resolution):
            stride = 1
        self._stride = stride
        x, y = cfg.pixel_coordinates()
        self._grid_shape = (cfg.resolution[1] // stride, cfg.resolution[0] // stride)

    def pad_poses(self, hand: SimGripper) -> tuple[np.ndarray, np.ndarray]:
        """(4, 4) ``T_world_pad`` of the left and right pads at the hand's current state."""
        p = hand.world.p
        states = p.getJointStates(hand.body, [0, 1], physicsClientId=hand.world.client)
        T = hand.tip_pose()
        return (pad_pose(T, states[0][0], "left", self.config),
                pad_pose(T, states[1][0], "right", self.config))

    def read(self, world: World, hand: SimGripper) -> tuple[PadReading, PadReading]:
        """Read both pads from the current physics state (module docstring).

        Call after a simulation step: PyBullet reports the forces of the last step.
        """
        if hand.world is not world:
            raise ValueError("hand: the SimGripper belongs to another World")
        poses = self.pad_poses(hand)
        return (self._read_pad(world, hand, 0, poses[0]), self._read_pad(world, hand, 1, poses[1]))

    def render(self, world: World, hand: SimGripper, rng: RngLike = None) -> np.ndarray:
        """(2, H, W, 3) float32 images of the left and right pads now (noise from ``rng``)."""
        gen = as_rng(rng)
        return np.stack([render_tactile(r.height, self.config, shear=r.shear, rng=gen)
                         for r in self.read(world, hand)])

    def _read_pad(self, world: World, hand: SimGripper, link: int,
                  T_world_pad: np.ndarray) -> PadReading:
        cfg = self.config
        bodies = {world.body_id(oid): oid for oid in world.object_ids}
        force, friction, touching = 0.0, np.zeros(3), set()
        for c in world.p.getContactPoints(bodyA=hand.body, linkIndexA=link,
                                          physicsClientId=world.client):
            if int(c[2]) in bodies:
                touching.add(bodies[int(c[2])])
                force += float(c[9])
                friction += float(c[10]) * np.asarray(c[11]) + float(c[12]) * np.asarray(c[13])
        shear_world = T_world_pad[:3, :3].T @ friction
        shear = shear_world[:2] / cfg.shear_stiffness
        norm = float(np.linalg.norm(shear))
        if norm > cfg.max_shear:
            shear *= cfg.max_shear / norm
        empty = np.zeros(cfg.image_shape, dtype=np.float32)
        ids = tuple(sorted(touching))
        if not touching or force <= 0:
            return PadReading(SIDES[link], T_world_pad, force, np.zeros(2), 0.0, empty, ids)
        distance = self._object_distance(world, ids, T_world_pad)
        closest = float(distance.min())
        if not closest <= cfg.contact_tolerance:
            return PadReading(SIDES[link], T_world_pad, force, np.zeros(2), 0.0, empty, ids)
        gap = distance - closest
        depth = pressing_depth(gap, force, (self._stride * cfg.pixel_pitch) ** 2, cfg)
        height = press(_upsample(gap, self._stride), depth, cfg.gel_thickness)
        return PadReading(SIDES[link], T_world_pad, force, shear, depth, height, ids)

    def _object_distance(self, world: World, object_ids: tuple[int, ...],
                         T_world_pad: np.ndarray) -> np.ndarray:
        """(h, w) distance (m) from the gel face to the nearest object along +z, inf if none.

        Coarse to fine: one ray per 8 × 8 pixels first; then rays at the configured stride only
        in the coarse cells (and their neighbours) that come within the gel thickness of the
        closest coarse hit, the only place the gel can be pressed; inf elsewhere.
        """
        best = np.full(self._grid_shape, np.inf)
        meshes = {pm.label - 1: pm for pm in world.posed_meshes(include_static=False)}
        for oid in object_ids:
            posed = meshes[oid]
            T_mesh_pad = np.linalg.inv(posed.T_world_mesh) @ T_world_pad
            best = np.minimum(best, self._mesh_distance(self._caster(oid, posed.mesh), T_mesh_pad))
        return best

    def _mesh_distance(self, caster: MeshRayCaster, T_mesh_pad: np.ndarray) -> np.ndarray:
        cfg, stride = self.config, self._stride
        coarse_stride = _COARSE_STRIDE
        if coarse_stride <= stride or any(r % coarse_stride for r in cfg.resolution):
            return mesh_distance(caster, T_mesh_pad, cfg, stride)
        coarse = mesh_distance(caster, T_mesh_pad, cfg, coarse_stride)
        if not np.isfinite(coarse).any():
            return np.full(self._grid_shape, np.inf)
        near = coarse <= coarse.min() + cfg.gel_thickness + cfg.contact_tolerance
        near = ndimage.binary_dilation(near, structure=np.ones((3, 3), dtype=bool))
        factor = coarse_stride // stride
        mask = np.repeat(np.repeat(near, factor, axis=0), factor, axis=1)
        return mesh_distance(caster, T_mesh_pad, cfg, stride, mask)

    def _caster(self, object_id: int, mesh: object) -> MeshRayCaster:
        cached = self._casters.get(object_id)
        if cached is None or cached[0] is not mesh:
            cached = (mesh, pad_caster(mesh))  # type: ignore[arg-type]
            self._casters[object_id] = cached
        return cached[1]
