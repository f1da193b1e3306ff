"""Run a GSNet network on one depth frame and decode its grasps (camera frame, graspnetAPI rows).

The network-side half of the future ``--method gsnet`` detector: inputs built exactly as the
training samples (:func:`grasplab.data.grasp_dataset.frame_inputs`), one forward pass, decoding
by :func:`grasplab.detection.gsnet_decode.decode_gsnet` with the network's grid. Post-processing
(collision check against the cloud, gripper centring, workspace, pose NMS) is not applied here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.core.camera import CameraIntrinsics  # noqa: E402
from grasplab.core.grasp_group import GraspGroup  # noqa: E402
from grasplab.data.grasp_dataset import frame_inputs  # noqa: E402
from grasplab.detection.gsnet_decode import GSNetDecodeConfig, decode_config_for, decode_gsnet  # noqa: E402

__all__ = ["gsnet_grasps"]


def gsnet_grasps(
    model: nn.Module,
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    num_points: int = 4096,
    rng: np.random.Generator | int | None = 0,
    rgb: np.ndarray | None = None,
    downsample: int = 2,
    mask: np.ndarray | None = None,
    **decode_options: Any,
) -> GraspGroup:
    """One grasp per seed of a GSNet on a depth frame.

    Args:
        model: a :class:`grasplab.models.gsnet.GSNet` (e.g. ``load_model(checkpoint)``).
        depth: (H, W) float32 metres.
        intrinsics: the camera.
        num_points: points fed to the network.
        rng: seed or generator of the point draw.
        rgb: (H, W, 3) uint8 when the network takes RGB.
        downsample: the image subsampling the network was trained with.
        mask: optional (H, W) bool region of interest.
        **decode_options: fields of :class:`GSNetDecodeConfig` (``width_scale``, ``min_score``...).

    Returns:
        M grasps in the camera frame, sorted by score (best first).
    """
    spec = getattr(model, "spec", None)
    if spec is None or not hasattr(spec, "num_seeds"):
        raise ValueError(f"expected a GSNet built by grasplab.models.build_model, got {type(model).__name__}")
    if spec.use_rgb and rgb is None:
        raise ValueError("this network takes RGB: pass rgb (H, W, 3) uint8")
    x = frame_inputs(depth, intrinsics, num_points, rng, rgb if spec.use_rgb else None, downsample, mask=mask)
    device = next(model.parameters()).device
    was_training = model.training
    model.train(False)
    with torch.no_grad():
        out = model(*(x[k][None].to(device) for k in ("points", "pixels", "image")))
    model.train(was_training)
    config: GSNetDecodeConfig = decode_config_for(
        spec.depths, spec.num_angles, spec.num_views, **decode_options
    )
    return decode_gsnet(out, config).sort_by_score()
