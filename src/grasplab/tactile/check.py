"""Touch that saves grasps: a tactile pre-lift check for bin-picking episodes.

:class:`TactileCheck` is a :class:`~grasplab.execution.grasp_check.PreLiftCheck`: it reads both
GelSight pads when the jaws are open at the grasp (Ta) and when they have closed (Tb), exactly
as the grasp-outcome dataset does (:mod:`grasplab.tactile.trials`: uint8 images at the
dataset's size), and a supervised tactile network (``grasplab tactile pretrain --method
supervised``: the encoder and its linear classifier) predicts from ``Tb - Ta`` (its config's
pads and centre view) the probability that lifting will hold. Below ``threshold`` the episode
re-opens and tries the next grasp (:func:`grasplab.execution.run_clearance`).

Weights: a tactile checkpoint (safetensors + JSON config, :mod:`grasplab.training.checkpoints`)
with a classifier; :func:`shipped_tactile_weights` finds one shipped in
``grasplab/assets/tactile`` if this install has it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from grasplab.core.validation import RngLike, as_rng
from grasplab.execution.sim_gripper import SimGripper
from grasplab.scenes import World
from grasplab.tactile.config import GelSightConfig
from grasplab.tactile.optics import to_uint8
from grasplab.tactile.pads import GelSightSensor

__all__ = ["TactileCheck", "load_tactile_check", "shipped_tactile_weights"]

#: Pad image size (W, H) of the grasp-outcome datasets (``TrialSettings.image_size``).
DEFAULT_IMAGE_SIZE = (80, 60)


def shipped_tactile_weights() -> Path | None:
    """The tactile outcome classifier shipped with grasplab, or None if this install has none.

    Returns:
        Path of the first ``grasplab/assets/tactile/*.safetensors`` (sorted by name).
    """
    folder = Path(str(resources.files("grasplab"))) / "assets" / "tactile"
    found = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    return found[0] if found else None


class TactileCheck:
    """Predict a grasp's outcome from the pads' ``Tb - Ta`` before lifting (module docstring).

    Args:
        model: a :class:`~grasplab.models.tactile_encoders.TactileNet` with a classifier.
        config: its :class:`~grasplab.training.tactile_config.TactilePretrainConfig` (pads,
            view geometry).
        threshold: lift when the predicted success probability is at least this, in [0, 1].
        sensor: the pads (default: GelSight pads at :data:`DEFAULT_IMAGE_SIZE`).
        rng: the pads' pixel noise.

    Raises:
        ValueError: a model without a classifier, or a threshold outside [0, 1].
    """

    def __init__(self, model: Any, config: Any, threshold: float = 0.5,
                 sensor: GelSightSensor | None = None, rng: RngLike = None) -> None:
        if getattr(model, "classifier", None) is None:
            raise ValueError("the tactile check needs a network with a classifier "
                             "(grasplab tactile pretrain --method supervised)")
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold: expected a probability in [0, 1], got {threshold!r}")
        self.model, self.config, self.threshold = model, config, float(threshold)
        self.sensor = sensor or GelSightSensor(GelSightConfig().with_resolution(*DEFAULT_IMAGE_SIZE))
        self._gen = as_rng(rng)
        self._scene: tuple[World, SimGripper] | None = None
        self._images: dict[str, np.ndarray] = {}

    def begin(self, world: World, hand: SimGripper) -> None:
        """Watch a new trial: forget the previous images."""
        self._scene = (world, hand)
        self._images = {}

    def observe(self, phase: str) -> None:
        """Read both pads (uint8 (2, H, W, 3)) at ``"before_contact"`` (Ta) and ``"closed"`` (Tb)."""
        if phase not in ("before_contact", "closed"):
            return
        if self._scene is None:
            raise RuntimeError("TactileCheck.observe before begin")
        world, hand = self._scene
        images = self.sensor.render(world, hand, self._gen)
        self._images[phase] = np.stack([to_uint8(img) for img in images])

    def predict(self) -> float:
        """Success probability from the last trial's Ta and Tb (sigmoid of the classifier logit).

        Raises:
            RuntimeError: Ta or Tb was not observed.
        """
        if "before_contact" not in self._images or "closed" not in self._images:
            raise RuntimeError("TactileCheck.predict needs Ta and Tb (observe both phases first)")
        return predict_probability(self.model, self.config, self._images["before_contact"],
                                   self._images["closed"])


def predict_probability(model: Any, config: Any, ta: np.ndarray, tb: np.ndarray) -> float:
    """Success probability of one trial from its pad images.

    Args:
        model: a tactile network with a classifier.
        config: its tactile config (``data.pads``, ``augment`` view geometry).
        ta: (2, H, W, 3) uint8 pad images before contact (pad 0 = left).
        tb: (2, H, W, 3) uint8 pad images with the jaws closed.

    Returns:
        ``sigmoid(logit)`` in [0, 1].
    """
    import torch

    from grasplab.data.tactile_augment import center_view
    from grasplab.data.tactile_dataset import difference_image

    a, b = np.asarray(ta), np.asarray(tb)
    if a.shape != b.shape or a.ndim != 4 or a.shape[0] != 2 or a.shape[-1] != 3:
        raise ValueError(f"ta, tb: expected (2, H, W, 3) images of both pads, got {a.shape}, {b.shape}")
    view = center_view(difference_image(a, b, config.data.pads), config.augment)
    param = next(model.parameters())
    was_training = model.training
    model.train(False)
    with torch.no_grad():
        logit = model.classify(view[None].to(param.device))[0, 0]
    model.train(was_training)
    return float(torch.sigmoid(logit))


def load_tactile_check(weights: str | Path, threshold: float = 0.5, device: str = "cpu",
                       image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
                       rng: RngLike = None) -> TactileCheck:
    """A :class:`TactileCheck` from a supervised tactile checkpoint.

    Args:
        weights: a checkpoint of ``grasplab tactile pretrain --method supervised``.
        threshold: lift at a predicted success probability of at least this.
        device: torch device.
        image_size: (W, H) pad images, as in the dataset it was trained on.
        rng: the pads' pixel noise.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a tactile checkpoint, or one without a classifier.
    """
    from grasplab.runtime.config import config_from_dict
    from grasplab.training.checkpoints import load_checkpoint
    from grasplab.training.tactile_config import TactilePretrainConfig

    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such tactile checkpoint")
    checkpoint = load_checkpoint(path, device)
    if checkpoint.family != "tactile":
        raise ValueError(f"{path} holds a {checkpoint.family!r} network, not a tactile one")
    config = config_from_dict(TactilePretrainConfig, checkpoint.config)
    sensor = GelSightSensor(GelSightConfig().with_resolution(*image_size))
    return TactileCheck(checkpoint.model, config, threshold, sensor, rng)
