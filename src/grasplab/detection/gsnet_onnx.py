"""ONNX export of a GSNet and its onnxruntime runner (extra ``grasplab[onnx]``).

Seed selection (farthest point sampling) and the cylinder query are data-dependent and do not
export as one graph, so a GSNet is exported as three graphs with those steps run between them by
:func:`grasplab.detection.gsnet_detect.run_gsnet_stages` (torch on the CPU), exactly as for the
torch model. ``export_gsnet_onnx(model, "m.onnx")`` writes, side by side:

- ``m.onnx``: backbone + graspable head, ``points`` (1, N, 3), ``pixels`` (1, N, 2), ``image``
  (1, C, h, w) -> ``features`` (1, F, N), ``objectness`` (1, 2, N), ``graspness`` (1, N);
- ``m.view.onnx``: view head, ``seed_features`` (1, F, M) -> ``view_scores`` (1, M, V),
  ``updated`` (1, F, M);
- ``m.operation.onnx``: grouping MLP, max-pool and operation head, ``grouped`` (1, 3 + F, M, K)
  -> ``grasp_features`` (1, C, M), ``score`` and ``width`` (1, M, A, D)[, ``stable`` (1, M, A)];
- ``m.json``: ``{"family": "gsnet", "model": spec, "data": training data section, "graphs": ...}``.

``m.onnx`` is what a user passes (``grasplab detect --method gsnet --weights m.onnx``); the
runner finds the other files beside it. N, M, h and w are dynamic. Only the ``depth2d``
backbone exports (the ``pointnet2`` backbone samples and groups points inside the network).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from grasplab._optional import require

require("torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from grasplab.models.gsnet import GSNet, GSNetSpec  # noqa: E402
from grasplab.models.registry import spec_from_dict, spec_to_dict  # noqa: E402

logger = logging.getLogger(__name__)

__all__ = [
    "GSNET_ONNX_FAMILY",
    "ONNX_EXPORTERS",
    "OnnxStages",
    "export_gsnet_onnx",
    "gsnet_onnx_paths",
    "read_onnx_spec",
]

GSNET_ONNX_FAMILY = "gsnet"


def gsnet_onnx_paths(path: Path | str) -> dict[str, Path]:
    """The files of an export named ``path`` (``m.onnx``): backbone, view, operation, spec."""
    path = Path(path)
    return {
        "backbone": path,
        "view": path.with_suffix(".view.onnx"),
        "operation": path.with_suffix(".operation.onnx"),
        "spec": path.with_suffix(".json"),
    }


class _Backbone(nn.Module):
    def __init__(self, model: GSNet) -> None:
        super().__init__()
        self.backbone, self.graspable = model.backbone, model.graspable

    def forward(
        self, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        features = self.backbone(points, pixels, image)
        objectness, graspness = self.graspable(features)
        return features, objectness, graspness


class _Operation(nn.Module):
    def __init__(self, model: GSNet) -> None:
        super().__init__()
        self.mlp, self.operation = model.grouping.mlp, model.operation

    def forward(self, grouped: torch.Tensor) -> tuple[torch.Tensor, ...]:
        grasp = self.mlp(grouped).max(dim=-1).values
        out = self.operation(grasp)
        heads = (out["score"], out["width"]) + ((out["stable"],) if "stable" in out else ())
        return (grasp, *heads)


#: ``torch.onnx`` exporters: the TorchScript one (fast, deprecated since torch 2.9) or torch.export's
ONNX_EXPORTERS = ("torchscript", "dynamo")


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, inputs: list[str],
            outputs: list[str], dynamic: dict[str, dict[int, str]], exporter: str) -> None:
    module = module.train(False)
    if exporter == "torchscript":
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, dynamo=False)
        return
    dims: dict[str, Any] = {}
    shapes = {name: {axis: dims.setdefault(label, torch.export.Dim(label, min=2))
                     for axis, label in dynamic[name].items()} for name in inputs}
    torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                      dynamic_shapes=shapes, dynamo=True, verbose=False)


def export_gsnet_onnx(
    model: nn.Module, path: Path | str, data: dict[str, Any] | None = None, exporter: str = "torchscript"
) -> Path:
    """Export a GSNet as three ONNX graphs and a JSON spec (see the module docstring).

    Args:
        model: a :class:`~grasplab.models.gsnet.GSNet` with the depth2d backbone.
        path: the backbone graph ``m.onnx``; the others are written beside it.
        data: the training config's ``data`` section (points per frame, image downsampling).
        exporter: "torchscript" (about 1.5 s; deprecated in torch >= 2.9) or "dynamo"
            (``torch.export``, about 40 s here); both give the same graphs' outputs (tested).

    Returns:
        ``path``.

    Raises:
        ValueError: not a depth2d GSNet, or an unknown exporter.
        MissingExtraError: onnx is not installed (extra ``grasplab[onnx]``).
    """
    require("onnx")
    if not isinstance(model, GSNet):
        raise ValueError(f"expected a GSNet, got {type(model).__name__}")
    spec = model.spec
    if exporter not in ONNX_EXPORTERS:
        raise ValueError(f"exporter: expected one of {ONNX_EXPORTERS}, got {exporter!r}")
    if spec.backbone != "depth2d":
        raise ValueError(f"ONNX export supports the depth2d backbone only, not {spec.backbone!r} "
                         "(its point sampling runs inside the network)")
    files = gsnet_onnx_paths(path)
    model = model.cpu().train(False)
    n, m, h, w = 64, 8, 32, 40
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(1, n, 3, generator=gen) + torch.tensor([0.0, 0.0, 0.5])
    pixels = torch.rand(1, n, 2, generator=gen) * torch.tensor([w - 1.0, h - 1.0])
    image = torch.rand(1, spec.in_channels, h, w, generator=gen)
    _export(_Backbone(model), (points, pixels, image), files["backbone"],
            ["points", "pixels", "image"], ["features", "objectness", "graspness"],
            {"points": {1: "N"}, "pixels": {1: "N"}, "image": {2: "h", 3: "w"},
             "features": {2: "N"}, "objectness": {2: "N"}, "graspness": {1: "N"}}, exporter)
    _export(model.view_head, (torch.rand(1, spec.feature_dim, m, generator=gen),), files["view"],
            ["seed_features"], ["view_scores", "updated"],
            {"seed_features": {2: "M"}, "view_scores": {1: "M"}, "updated": {2: "M"}}, exporter)
    heads = ["score", "width"] + (["stable"] if spec.stable else [])
    grouped = torch.rand(1, spec.feature_dim + 3, m, spec.cylinder_samples, generator=gen)
    _export(_Operation(model), (grouped,), files["operation"], ["grouped"], ["grasp_features", *heads],
            {"grouped": {2: "M"}, "grasp_features": {2: "M"}, **{k: {1: "M"} for k in heads}}, exporter)
    stored = {"family": GSNET_ONNX_FAMILY, "model": spec_to_dict(spec), "data": dict(data or {}),
              "graphs": {k: v.name for k, v in files.items() if k != "spec"}}
    files["spec"].write_text(json.dumps(stored, indent=2) + "\n")
    return files["backbone"]


def read_onnx_spec(path: Path | str) -> dict[str, Any]:
    """The JSON spec beside an ONNX export (``m.json`` of ``m.onnx``).

    Raises:
        FileNotFoundError: no spec beside it.
        ValueError: an unreadable spec.
    """
    spec_path = Path(path).with_suffix(".json")
    if not spec_path.is_file():
        raise FileNotFoundError(f"ONNX model spec not found: {spec_path} (written by the export)")
    try:
        stored = json.loads(spec_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{spec_path}: unreadable ONNX spec ({exc})") from exc
    if not isinstance(stored, dict) or "model" not in stored:
        raise ValueError(f"{spec_path}: not an ONNX spec written by grasplab")
    return stored


class OnnxStages:
    """The three GSNet stages run by onnxruntime (a :class:`~grasplab.detection.gsnet_detect.GSNetStages`).

    Args:
        path: the backbone graph ``m.onnx`` of :func:`export_gsnet_onnx`.
        threads: onnxruntime intra-op threads (None: its default).

    Raises:
        ValueError: the export is not a GSNet's, or a graph is missing.
    """

    def __init__(self, path: Path | str, threads: int | None = None) -> None:
        ort = require("onnxruntime")
        files = gsnet_onnx_paths(path)
        stored = read_onnx_spec(path)
        family = stored.get("family", "pixel")
        if family != GSNET_ONNX_FAMILY:
            raise ValueError(f"{path} is an ONNX export of a {family!r} network, not a GSNet")
        for name in ("view", "operation"):
            if not files[name].is_file():
                raise ValueError(f"{path}: the {name} graph {files[name]} is missing (export writes it)")
        self.spec: GSNetSpec = spec_from_dict(GSNET_ONNX_FAMILY, stored["model"])
        self.data: dict[str, Any] = dict(stored.get("data", {}))
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        self.sessions = {
            name: ort.InferenceSession(str(files[name]), options, providers=["CPUExecutionProvider"])
            for name in ("backbone", "view", "operation")
        }

    def _run(self, name: str, feeds: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        arrays = {k: np.ascontiguousarray(v.detach().cpu().numpy(), dtype=np.float32)
                  for k, v in feeds.items()}
        return [torch.from_numpy(np.asarray(o)) for o in self.sessions[name].run(None, arrays)]

    def encode(
        self, points: torch.Tensor, pixels: torch.Tensor, image: torch.Tensor | None
    ) -> tuple[torch.Tensor, ...]:
        """Backbone and graspable head."""
        if image is None:
            raise ValueError("the depth2d backbone needs the organised point image")
        return tuple(self._run("backbone", {"points": points, "pixels": pixels, "image": image}))

    def views(self, seed_features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """View head."""
        return tuple(self._run("view", {"seed_features": seed_features}))

    def operate(self, grouped: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Grouping MLP, max-pool and operation head."""
        grasp, *heads = self._run("operation", {"grouped": grouped})
        names = ["score", "width", "stable"][: len(heads)]
        return grasp, dict(zip(names, heads, strict=True))
