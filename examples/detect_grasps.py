"""Detect grasps in a depth image of your own and save them for graspnetAPI.

Usage: python examples/detect_grasps.py depth.png fx fy cx cy [depth_scale]
The depth PNG is 16-bit in raw units (millimetres for depth_scale 1000).
"""

import sys

import numpy as np
from PIL import Image

from grasplab.core import CameraIntrinsics
from grasplab.detection import AnalyticDetector, Observation, PostProcessConfig, postprocess


def main(path: str, fx: float, fy: float, cx: float, cy: float, depth_scale: float = 1000.0) -> None:
    depth = np.asarray(Image.open(path), dtype=np.float32) / depth_scale  # metres
    height, width = depth.shape
    observation = Observation(depth, CameraIntrinsics(fx, fy, cx, cy, width, height))
    grasps = AnalyticDetector(rng=0).detect(observation)  # camera frame, best first
    grasps = postprocess(grasps, observation, PostProcessConfig())  # collision, centering, NMS
    grasps.save_npy("grasps.npy")  # loads with graspnetAPI.GraspGroup().from_npy
    for score, t in zip(grasps.scores[:5], grasps.translations[:5], strict=True):
        print(f"score {score:.3f} at {np.round(t, 3)} m")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (5, 6):
        sys.exit(__doc__)
    main(args[0], *map(float, args[1:]))
