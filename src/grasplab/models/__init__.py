"""Models: ``nn.Module`` backbones and heads of grasplab detectors."""
