"""Visualisation: image overlays, 3D export and plots."""
