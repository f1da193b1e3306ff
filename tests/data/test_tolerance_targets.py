"""GraspNet baseline targets: label neighbourhoods, tolerance and view scores on hand-made labels."""

from __future__ import annotations

import numpy as np
import pytest

from grasplab.data.tolerance_targets import (
    label_neighbors,
    seed_tolerance_targets,
    seed_view_score_targets,
)
from grasplab.labels.graspness import SceneGraspLabels


def _labels() -> SceneGraspLabels:
    """Object 1: four points on a line (0, 1, 2, 4.5 cm); object 2: one point. V 1, A 2, D 1."""
    points = np.array([[0, 0, 0], [0.01, 0, 0], [0.02, 0, 0], [0.045, 0, 0], [0.001, 0, 0]], np.float32)
    mu = np.zeros((5, 1, 2, 1), np.uint8)
    mu[:, 0, :, 0] = [[30, 20], [40, 0], [70, 10], [50, 50], [10, 10]]  # 0: not free; > 50: not robust
    return SceneGraspLabels(
        np.array([1, 2], np.int32), np.array([0, 4, 5]), points, np.zeros(5, np.float32),
        np.zeros((5, 1), np.float16), mu, mu.copy(), None, np.array([0.0, np.pi / 2], np.float32),
        np.array([0.02], np.float32),
    )


def test_neighbours_stay_inside_their_object_nearest_first() -> None:
    near = label_neighbors(_labels(), radius=0.05, neighbors=8)
    assert near.index[0, :3].tolist() == [1, 2, 3] and near.index[0, 3] == -1
    assert near.distance[0, :3] == pytest.approx([0.01, 0.02, 0.045])
    assert (near.index[4] == -1).all()  # alone on its object (the 1 mm point of object 1 is not its)
    assert near.reach.tolist() == pytest.approx([0.05] * 5)
    few = label_neighbors(_labels(), radius=0.05, neighbors=1)
    assert few.reach[0] == pytest.approx(0.01)  # all K inside the radius: the K-th distance
    with pytest.raises(ValueError, match="radius"):
        label_neighbors(_labels(), radius=0.0)


def test_tolerance_known_answers() -> None:
    labels = _labels()
    near = label_neighbors(labels, radius=0.05, neighbors=8)
    rows = np.array([0, 3, 2, 4, -1])
    tol = seed_tolerance_targets(labels, near, rows, np.zeros(5, np.int64), np.tile([0, 1], (5, 1)))
    assert tol.shape == (5, 2, 1)
    # point 0: angle 0 breaks at point 2 (μ 0.7), angle 1 at point 1 (not free)
    assert tol[0, :, 0] == pytest.approx([0.02, 0.01])
    # point 3: angle 0 breaks at point 2 (2.5 cm), angle 1 at point 1 (3.5 cm)
    assert tol[1, :, 0] == pytest.approx([0.025, 0.035])
    assert tol[2, 0, 0] == 0.0  # not robust itself
    assert tol[2, 1, 0] == pytest.approx(0.01)  # robust; point 1 (1 cm away) is not free at angle 1
    assert tol[3, :, 0] == pytest.approx([0.05, 0.05])  # nothing breaks within the reach
    assert (tol[4] == 0).all()  # no label
    swapped = seed_tolerance_targets(labels, near, rows[:1], np.zeros(1, np.int64), np.array([[1, 0]]))
    assert swapped[0, :, 0] == pytest.approx([0.01, 0.02])  # angle axis follows the camera order
    capped = seed_tolerance_targets(labels, label_neighbors(labels, 0.05, 1), rows[:1],
                                    np.zeros(1, np.int64), np.array([[0, 1]]))
    assert capped[0, :, 0] == pytest.approx([0.01, 0.01])  # reach: the one neighbour kept


def test_view_score_is_the_best_grasp_of_the_view() -> None:
    labels = _labels()
    scores = seed_view_score_targets(labels, np.array([0, 2, -1]), np.zeros((3, 1), np.int64))
    expected = np.log(1 / np.array([0.2, 0.1])) / np.log(10)
    assert scores[:2, 0] == pytest.approx(expected, abs=1e-6)
    assert scores[2, 0] == 0.0
