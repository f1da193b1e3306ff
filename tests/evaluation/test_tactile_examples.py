"""Held / dropped example figures of a tactile dataset: the choice, the difference view, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grasplab.cli.main import app
from grasplab.evaluation.tactile_examples import difference_view, draw_examples, pick_examples
from grasplab.evaluation.tactile_study import write_synthetic_dataset
from grasplab.tactile.dataset import load_tactile_dataset


def test_pick_examples_gives_held_then_dropped_without_repeats() -> None:
    success = np.array([True, False, True, False, False, True, True, True])
    picked = pick_examples(success, 2, np.random.default_rng(0))
    assert len(picked) == 4 and len(set(picked.tolist())) == 4
    assert success[picked[:2]].all() and not success[picked[2:]].any()
    again = pick_examples(success, 2, np.random.default_rng(0))
    assert np.array_equal(picked, again)
    everything = pick_examples(success, 3, np.random.default_rng(1))
    assert sorted(everything[3:].tolist()) == [1, 3, 4]


def test_pick_examples_refuses_too_few_and_zero() -> None:
    success = np.array([True, True, False])
    with pytest.raises(ValueError, match="1 dropped trials; 2 asked"):
        pick_examples(success, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="per_class"):
        pick_examples(success, 0, np.random.default_rng(0))


def test_difference_view_is_mid_grey_when_nothing_changes_and_clips() -> None:
    before = np.full((4, 5, 3), 100, np.uint8)
    assert np.allclose(difference_view(before, before), 0.5)
    after = before.copy()
    after[0, 0] = 100 + 51  # +51 grey levels at gain 2.5 is +0.5: white
    after[1, 1] = 0  # -100 at gain 2.5 clips to black
    view = difference_view(after, before, gain=2.5)
    assert np.allclose(view[0, 0], 1.0) and np.allclose(view[1, 1], 0.0)
    assert view.min() >= 0.0 and view.max() <= 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        difference_view(after, before[:2])


@pytest.fixture
def toy_dataset(tmp_path: Path) -> Path:
    return write_synthetic_dataset(tmp_path / "ds", 20, 16, np.random.default_rng(0), num_objects=4)


def test_draw_examples_writes_one_row_per_trial(toy_dataset: Path, tmp_path: Path) -> None:
    ds = load_tactile_dataset(toy_dataset)
    two = draw_examples(ds, pick_examples(ds.success, 1, np.random.default_rng(0)), tmp_path / "a.png")
    four = draw_examples(ds, pick_examples(ds.success, 2, np.random.default_rng(0)), tmp_path / "b.png")
    h2, h4 = (np.asarray(Image.open(p)).shape[0] for p in (two, four))
    assert h4 > 1.6 * h2  # rows stack
    with pytest.raises(ValueError, match="indices"):
        draw_examples(ds, np.array([len(ds)]), tmp_path / "c.png")


def test_cli_examples_and_its_bad_inputs(toy_dataset: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ex.png"
    ok = runner.invoke(app, ["tactile", "examples", "--data", str(toy_dataset), "--out", str(out),
                             "--per-class", "2"])
    assert ok.exit_code == 0, ok.output
    assert out.is_file() and "20 trials" in ok.output
    cases = [
        (["--data", str(tmp_path / "missing")], "missing"),
        (["--data", str(toy_dataset), "--per-class", "0"], "--per-class"),
        (["--data", str(toy_dataset), "--gain", "0"], "--gain"),
        (["--data", str(toy_dataset), "--per-class", "50"], "asked for"),
        (["--data", str(toy_dataset), "--out", str(tmp_path)], "is a folder"),
    ]
    for args, words in cases:
        result = runner.invoke(app, ["tactile", "examples", *args])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and "Traceback" not in result.output
