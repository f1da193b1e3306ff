"""``--method gsnet``: the learned 6-DoF graspness detector as a user runs it (anygrasp.txt §IV).

Depth (+ RGB) in, graspnetAPI grasps in the camera frame out, best first::

    from grasplab.detection import Observation, build_detector
    detector = build_detector("gsnet", weights="runs/gsnet_cpu/checkpoints/best.safetensors")
    grasps = detector.detect(Observation(depth, intrinsics))            # GraspGroup (K, 17)
    found = detector.detect_with_features(Observation(depth, intrinsics))
    found.grasps, found.seed_features, found.grasp_features, found.seed_slot, found.point_index

Pipeline per frame: the valid pixels (inside the observation's mask, if any) are back-projected,
thinned to one point per 5 mm voxel and ``num_points`` drawn with the detector's seed (the same
draw every call: a frame gives the same grasps every time); the network runs stage by stage
(:func:`grasplab.detection.gsnet_detect.run_gsnet_stages`: torch, or the three ONNX graphs of
:mod:`grasplab.detection.gsnet_onnx`); each seed decodes to its best (angle, depth) grasp
(:func:`grasplab.detection.gsnet_decode.decode_gsnet`); then AnyGrasp's post-processing
(:func:`grasplab.detection.postprocess.postprocess`), each step switchable in
:class:`~grasplab.detection.gsnet_options.GSNetOptions`: workspace box and approach angle
(off by default), pose NMS (3 cm, 30°, on), the best ``collision_top_n`` (100) kept, gripper
centring (on), collision check of the gripper boxes against the whole observed cloud (every
second pixel in u and v, 3 mm voxels; on), the best ``num_grasps`` (50) returned.

The same detector runs a checkpoint of the GraspNet-1Billion baseline (family
``graspnet-baseline``, :class:`~grasplab.detection.gsnet_detect.BaselineStages`): one forward
pass, the seeds ApproachNet calls graspable, ranked by score bin then tolerance, then the same
post-processing.

Features for the tracker (no second forward pass): :meth:`GSNetDetector.detect_with_features`
returns, aligned with the grasp rows, the seed's backbone feature (K, F), its grasp feature
(K, C: the pooled cylinder feature the operation head reads), its slot among the M seeds and
its index among the N network points. Rows are followed through post-processing by carrying the
seed slot in the ``object_id`` column, which is reset to −1 in the returned grasps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.core.grasp_group import GraspGroup  # noqa: E402
from grasplab.data.grasp_dataset import frame_inputs  # noqa: E402
from grasplab.detection.gsnet_decode import decode_config_for, decode_gsnet  # noqa: E402
from grasplab.detection.gsnet_detect import (  # noqa: E402
    BaselineStages,
    GSNetStages,
    TorchStages,
    run_gsnet_stages,
)
from grasplab.detection.gsnet_options import GSNET_TRAIN_HINT, GSNetOptions  # noqa: E402
from grasplab.detection.observation import Observation  # noqa: E402
from grasplab.detection.postprocess import PostProcessConfig, postprocess  # noqa: E402
from grasplab.models.graspnet_baseline import GraspNetBaseline  # noqa: E402
from grasplab.models.gsnet import GSNetSpec  # noqa: E402
from grasplab.runtime.checks import check_weights_file  # noqa: E402
from grasplab.training.checkpoints import load_checkpoint, read_checkpoint_header  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = ["GSNetDetections", "GSNetDetector", "load_gsnet_stages", "postprocess_config"]

#: points per frame and image subsampling when a checkpoint carries no training config
DEFAULT_NUM_POINTS, DEFAULT_DOWNSAMPLE = 4096, 2


@dataclass(frozen=True)
class GSNetDetections:
    """Grasps of one frame with their network features, row-aligned.

    Attributes:
        grasps: (K,) grasps in the camera frame, best first (``object_id`` −1).
        seed_features: (K, F) float32 backbone feature of each grasp's seed point.
        grasp_features: (K, C) float32 grasp feature (pooled cylinder) of each grasp.
        seed_slot: (K,) int64 slot of the grasp's seed among the M seeds.
        point_index: (K,) int64 index of the seed among the N points fed to the network.
    """

    grasps: GraspGroup
    seed_features: np.ndarray
    grasp_features: np.ndarray
    seed_slot: np.ndarray
    point_index: np.ndarray


def _no_weights() -> ValueError:
    return ValueError(
        f"detector 'gsnet' needs weights: no GSNet model is shipped with this install; {GSNET_TRAIN_HINT}"
    )


def _check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available to torch here; use 'cpu'")


def load_gsnet_stages(
    weights: Path | str, device: str = "cpu"
) -> tuple[GSNetStages | BaselineStages, dict[str, Any]]:
    """The network stages of a GSNet checkpoint or ONNX export, and its training ``data`` section.

    A checkpoint of the GraspNet-1Billion baseline (family ``graspnet-baseline``) gives
    :class:`~grasplab.detection.gsnet_detect.BaselineStages`: the same detector, decoding and
    post-processing around the older network.

    Raises:
        ValueError: a missing file, a pickle or other non-weights file, weights of another
            family, or ONNX weights with a CUDA device.
    """
    kind = check_weights_file(weights)  # missing, empty, pickle, garbage: one clear ValueError
    if kind == "onnx":
        from grasplab.detection.gsnet_onnx import OnnxStages

        if device != "cpu":
            raise ValueError(f"weights {weights}: ONNX models run on the CPU (onnxruntime); use device 'cpu'")
        onnx = OnnxStages(weights)
        return onnx, onnx.data
    _check_device(device)
    family = read_checkpoint_header(weights)["family"]
    if family not in ("gsnet", "graspnet-baseline"):
        raise ValueError(f"weights {weights} hold a {family!r} network, not a GSNet (family 'gsnet' "
                         f"or 'graspnet-baseline'); {GSNET_TRAIN_HINT}")
    checkpoint = load_checkpoint(weights, device)
    data = dict(checkpoint.config.get("data", {}))
    if family == "graspnet-baseline":
        return BaselineStages(checkpoint.model), data
    return TorchStages(checkpoint.model), data


def postprocess_config(options: GSNetOptions) -> PostProcessConfig:
    """The :class:`PostProcessConfig` of the options' switches."""
    return PostProcessConfig(
        box_min=options.workspace_min, box_max=options.workspace_max,
        max_angle=options.max_approach_angle,
        nms_translation=0.03 if options.nms else None, nms_rotation=float(np.pi / 6),
        top_n=options.collision_top_n, center=options.center, collision=options.collision,
        top_k=options.num_grasps, cloud_pixel_stride=options.cloud_stride,
    )


class GSNetDetector:
    """The GSNet / AnyGrasp detector (a :class:`~grasplab.detection.protocol.Detector`).

    Args:
        source: a checkpoint or ONNX path, a GSNet module or ready network stages (e.g. an
            :class:`~grasplab.detection.gsnet_onnx.OnnxStages` on one thread); None:
            ``options.model``, else ``options.weights``, else the shipped model.
        options: detector options (default :class:`GSNetOptions`).

    Raises:
        ValueError: no weights anywhere, bad weights (see :func:`load_gsnet_stages`) or an
            unavailable device.
    """

    def __init__(
        self,
        source: Path | str | nn.Module | GSNetStages | None = None,
        options: GSNetOptions | None = None,
    ) -> None:
        self.options = options or GSNetOptions()
        if source is None:
            source = self.options.model if self.options.model is not None else self.options.weights
        if source is None:
            from grasplab.detection.shipped import shipped_gsnet_weights

            source = shipped_gsnet_weights()
            if source is None:
                raise _no_weights()
        data: dict[str, Any] = {}
        self.stages: GSNetStages | BaselineStages
        if isinstance(source, GraspNetBaseline):
            _check_device(self.options.device)
            self.stages = BaselineStages(source.to(self.options.device).train(False))
        elif isinstance(source, nn.Module):
            _check_device(self.options.device)
            self.stages = TorchStages(source.to(self.options.device).train(False))
        elif isinstance(source, str | Path):
            self.stages, data = load_gsnet_stages(source, self.options.device)
        elif isinstance(getattr(source, "spec", None), GSNetSpec):
            self.stages, data = source, dict(getattr(source, "data", {}))
        else:
            raise ValueError(f"expected weights, a GSNet or GSNet stages, got {type(source).__name__}")
        self.spec = self.stages.spec
        num = self.options.num_points
        self.num_points = int(num if num is not None else data.get("num_points", DEFAULT_NUM_POINTS))
        self.downsample = int(data.get("downsample", DEFAULT_DOWNSAMPLE))
        self.decode = decode_config_for(self.spec.depths, self.spec.num_angles, self.spec.num_views,
                                        width_scale=self.options.width_scale)
        self.postprocess = postprocess_config(self.options)

    def network_outputs(self, observation: Observation) -> dict[str, torch.Tensor] | None:
        """Raw network outputs of :func:`run_gsnet_stages` for a frame (None: no valid pixel)."""
        if self.spec.use_rgb and observation.rgb is None:
            raise ValueError("this GSNet takes RGB: the observation needs rgb (H, W, 3) uint8")
        roi = observation.roi
        if not roi.any():
            return None
        rgb = observation.rgb if self.spec.use_rgb else None
        x = frame_inputs(observation.depth, observation.intrinsics, self.num_points, self.options.seed,
                         rgb, self.downsample, mask=roi)
        if isinstance(self.stages, BaselineStages):
            return self.stages.run(x["points"][None], x["pixels"][None], x["image"][None])
        return run_gsnet_stages(self.stages, x["points"][None], x["pixels"][None], x["image"][None])

    def raw_grasps(self, outputs: dict[str, torch.Tensor]) -> GraspGroup:
        """One grasp per seed, seed order, ``object_id`` = seed slot; ``min_score`` applied."""
        grasps = decode_gsnet(outputs, self.decode)
        grasps = grasps.with_columns(object_ids=np.arange(len(grasps), dtype=np.float64))
        if self.options.min_score is not None:
            grasps = grasps[grasps.scores > self.options.min_score]
        return grasps

    def detect_with_features(self, observation: Observation) -> GSNetDetections:
        """Grasps of one frame (camera frame, best first) with each row's seed and grasp features."""
        outputs = self.network_outputs(observation)
        if outputs is None:
            dims = (self.spec.feature_dim, self.spec.group_dim)
            empty = np.zeros(0, dtype=np.int64)
            return GSNetDetections(GraspGroup.empty(), np.zeros((0, dims[0]), np.float32),
                                   np.zeros((0, dims[1]), np.float32), empty, empty)
        grasps = postprocess(self.raw_grasps(outputs), observation, self.postprocess)
        slot = np.rint(grasps.object_ids).astype(np.int64)
        return GSNetDetections(
            grasps.with_columns(object_ids=-1),
            outputs["seed_features"][0].numpy()[slot],
            outputs["grasp_features"][0].numpy()[slot],
            slot,
            outputs["seed_index"][0].numpy().astype(np.int64)[slot],
        )

    def detect(self, observation: Observation) -> GraspGroup:
        """Grasps of one frame in its camera frame, sorted by score descending."""
        return self.detect_with_features(observation).grasps
