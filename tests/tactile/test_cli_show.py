"""``grasplab tactile show`` end to end on a primitive from the object library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from grasplab.cli.main import app


def test_tactile_show_writes_a_figure(tmp_path: Path) -> None:
    out = tmp_path / "show.png"
    result = CliRunner().invoke(app, ["tactile", "show", "--object", "cube_small", "--out",
                                      str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "cube_small" in result.output and out.is_file()
    image = np.asarray(Image.open(out))
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600


def test_tactile_show_rejects_unknown_object(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tactile", "show", "--object", "no_such_thing", "--out",
                                      str(tmp_path / "x.png")])
    assert result.exit_code != 0
    assert "unknown object" in result.output


def test_tactile_show_exits_1_when_the_grasp_never_touches(tmp_path: Path,
                                                           monkeypatch: object) -> None:
    import grasplab.tactile as tactile
    from grasplab.execution import GraspOutcome

    def collide(*args: object, **kwargs: object) -> tactile.TactileTrial:
        return tactile.TactileTrial(GraspOutcome(False, None, "collision_on_approach"), {}, {})

    monkeypatch.setattr(tactile, "capture_grasp", collide)  # type: ignore[attr-defined]
    out = tmp_path / "x.png"
    result = CliRunner().invoke(app, ["tactile", "show", "--object", "cube_small", "--out",
                                      str(out)])
    assert result.exit_code == 1
    assert "collision_on_approach" in result.output and not out.exists()
