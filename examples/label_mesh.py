"""Label dense analytic grasps on a mesh of your own and look at the best ones.

Usage: python examples/label_mesh.py part.obj
The mesh must be in metres and fit the 10 cm gripper. Writes grasp_label/000_labels.npz.
"""

import sys
from pathlib import Path

import numpy as np
import trimesh

from grasplab.labels import ObjectLabelConfig, label_object, labels_to_grasps, save_object_labels


def main(path: str) -> None:
    mesh = trimesh.load(path, force="mesh")
    # a coarse grid for a quick look; the GraspNet grid is spacing 0.005, 300 views, 12 angles
    config = ObjectLabelConfig(spacing=0.008, num_views=120, num_angles=12)
    labels = label_object(mesh, config=config, rng=0)
    save_object_labels(Path("."), 0, labels)
    grasps = labels_to_grasps(labels, np.eye(4), object_id=0, fric_coef_thresh=0.2)
    print(f"{len(labels.points)} grasp points, {len(grasps)} grasps force-closure at mu <= 0.2")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
