"""Models: ``nn.Module`` backbones and heads of grasplab detectors, built by family from one registry."""

from grasplab.models.affga import AFFGABackbone, HybridAtrousPyramid, TaskAttentionDecoder
from grasplab.models.grasp_association import AssociationSpec, GraspAssociationNet
from grasplab.models.graspnet_baseline import GraspNetBaseline, GraspNetBaselineSpec
from grasplab.models.gsnet import GSNet, GSNetSpec, build_gsnet
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
from grasplab.models.registry import (
    PixelNetSpec,
    build_model,
    model_families,
    model_family,
    model_spec,
    register_model,
    spec_from_dict,
    spec_to_dict,
)
from grasplab.models.tactile_encoders import TactileNet, TactileNetSpec

__all__ = [
    "PIXEL_BACKBONES",
    "AFFGABackbone",
    "AssociationSpec",
    "GGCNN2Backbone",
    "GSNet",
    "GSNetSpec",
    "GraspAssociationNet",
    "GraspNetBaseline",
    "GraspNetBaselineSpec",
    "GRConvNetBackbone",
    "HybridAtrousPyramid",
    "PixelGraspNet",
    "PixelNetSpec",
    "ResidualBlock",
    "TactileNet",
    "TactileNetSpec",
    "TaskAttentionDecoder",
    "build_gsnet",
    "build_model",
    "build_pixel_model",
    "count_parameters",
    "find_peaks",
    "model_families",
    "model_family",
    "model_spec",
    "pixel_model_names",
    "register_model",
    "spec_from_dict",
    "spec_to_dict",
    "top_grasp_indices",
]
