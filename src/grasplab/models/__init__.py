"""Models: ``nn.Module`` backbones and heads of grasplab detectors."""

from grasplab.models.affga import AFFGABackbone, HybridAtrousPyramid, TaskAttentionDecoder
from grasplab.models.pixel_backbones import GGCNN2Backbone, GRConvNetBackbone, ResidualBlock
from grasplab.models.pixel_net import (
    PIXEL_BACKBONES,
    PixelGraspNet,
    build_pixel_model,
    count_parameters,
    find_peaks,
    pixel_model_names,
    top_grasp_indices,
)

__all__ = [
    "PIXEL_BACKBONES",
    "AFFGABackbone",
    "GGCNN2Backbone",
    "GRConvNetBackbone",
    "HybridAtrousPyramid",
    "PixelGraspNet",
    "ResidualBlock",
    "TaskAttentionDecoder",
    "build_pixel_model",
    "count_parameters",
    "find_peaks",
    "pixel_model_names",
    "top_grasp_indices",
]
