"""The AP report draws its plot without touching matplotlib's global backend or pyplot."""

import sys

import matplotlib
import numpy as np
import pytest
from ap_synthetic import antipodal, save_dump
from PIL import Image

from grasplab.evaluation import APEvaluator
from grasplab.evaluation.report import write_markdown


@pytest.fixture(scope="module")
def result(synthetic_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dump")
    save_dump(folder, 0, 0, antipodal(0.0, 0.9))
    return APEvaluator(synthetic_root, "realsense").evaluate(folder, [0])


def test_markdown_plot_leaves_the_backend_alone(result, tmp_path, monkeypatch) -> None:
    def no_switch(*args: object, **kwargs: object) -> None:
        raise AssertionError("library code switched the matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", no_switch)
    backend = matplotlib.rcParams["backend"]
    pyplot = sys.modules.get("matplotlib.pyplot")  # loaded only if another test used it
    figures_before = pyplot.get_fignums() if pyplot is not None else None
    plot = write_markdown(result, tmp_path / "res.md")
    assert matplotlib.rcParams["backend"] == backend
    if pyplot is not None:
        assert pyplot.get_fignums() == figures_before  # nothing left open in pyplot
    with Image.open(plot) as image:
        assert image.size == (600, 400)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # lines and text were drawn
    assert plot.name in (tmp_path / "res.md").read_text()
