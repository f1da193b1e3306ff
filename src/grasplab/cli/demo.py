"""``grasplab demo``: a short showcase of the numpy core on a built-in object.

It samples the surface of a 4 × 6 × 10 cm box, proposes grasps from the reference's 300 approach
views and 12 in-plane angles at every tenth surface point, rejects those the reference gripper
would collide with or close on nothing, keeps one grasp per pose cluster with the reference pose
NMS, and writes the result as a graspnetAPI ``.npy``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from grasplab.core import GraspGroup, GripperModel, approach_views, rotation_from_view

console = Console()


def _box_surface(extents: np.ndarray, spacing: float) -> np.ndarray:
    """Points on the surface of an axis-aligned box centred at the origin, about ``spacing`` apart."""
    half = extents / 2
    faces = []
    for axis in range(3):
        u, v = [a for a in range(3) if a != axis]
        gu = np.arange(-half[u], half[u] + 1e-9, spacing)
        gv = np.arange(-half[v], half[v] + 1e-9, spacing)
        mu, mv = np.meshgrid(gu, gv, indexing="ij")
        for sign in (-1.0, 1.0):
            face = np.zeros((mu.size, 3))
            face[:, u], face[:, v], face[:, axis] = mu.ravel(), mv.ravel(), sign * half[axis]
            faces.append(face)
    return np.unique(np.concatenate(faces).round(6), axis=0)


def _candidates(points: np.ndarray, rng: np.random.Generator) -> GraspGroup:
    """Grasps at a subset of points over all views × angles at 2 cm depth, widths 9 cm."""
    centres = points[rng.choice(len(points), size=min(len(points), 12), replace=False)]
    views = approach_views(120)
    angles = np.arange(12) * np.pi / 12
    grid = np.meshgrid(np.arange(len(centres)), np.arange(len(views)), np.arange(12), indexing="ij")
    pi, vi, ai = (g.ravel() for g in grid)
    rotations = rotation_from_view(-views[vi], angles[ai])
    n = len(pi)
    return GraspGroup.from_components(
        translations=centres[pi], rotations=rotations, widths=np.full(n, 0.09),
        depths=np.full(n, 0.02), scores=rng.uniform(size=n),
    )


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""

    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo_out"), help="Folder for the demo's outputs."),
        seed: int = typer.Option(0, help="Random seed."),
    ) -> None:
        """Run the grasplab showcase on a built-in object and print what it found."""
        rng = np.random.default_rng(seed)
        gripper = GripperModel()
        cloud = _box_surface(np.array([0.04, 0.06, 0.10]), spacing=0.004)
        t0 = time.perf_counter()
        candidates = _candidates(cloud, rng)
        t1 = time.perf_counter()
        collision, empty = gripper.collision_and_empty(candidates, cloud)
        feasible = candidates[~collision & ~empty]
        t2 = time.perf_counter()
        kept = feasible.nms(0.03, np.pi / 6)
        t3 = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)
        path = out / "box_grasps.npy"
        kept.save_npy(path)
        table = Table(title="grasplab core showcase: a 4 x 6 x 10 cm box")
        table.add_column("step")
        table.add_column("grasps", justify="right")
        table.add_column("time (ms)", justify="right")
        table.add_row("candidates (12 points x 120 views x 12 angles)", str(len(candidates)), f"{(t1 - t0) * 1e3:.0f}")
        table.add_row("collision-free and non-empty", str(len(feasible)), f"{(t2 - t1) * 1e3:.0f}")
        table.add_row("after pose NMS (3 cm, 30 deg)", str(len(kept)), f"{(t3 - t2) * 1e3:.0f}")
        console.print(table)
        console.print(f"wrote {path} (graspnetAPI layout, {len(kept)} x 17)")
