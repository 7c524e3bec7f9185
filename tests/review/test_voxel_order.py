"""niivue's voxel order (lesionkit.review.voxel_order): the replica of its rule, and the way back."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lesionkit.review.voxel_order import from_niivue, niivue_order, to_niivue
from tests.review._folders import oblique_affine


def _affine(matrix) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = matrix
    return affine


def test_ras_grid_is_left_alone():
    order = niivue_order(np.diag([2.0, 2.0, 2.0, 1.0]), (5, 6, 7))
    assert order.axes == (0, 1, 2) and order.flips == (False, False, False) and order.perm_ras == [1, 2, 3]
    data = np.arange(5 * 6 * 7).reshape(5, 6, 7)
    assert to_niivue(data, np.eye(4)) is data or np.array_equal(to_niivue(data, np.eye(4)), data)


def test_lps_grid_flips_x_and_y():
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    order = niivue_order(affine, (4, 5, 6))
    assert order.perm_ras == [-1, -2, 3] and order.shape == (4, 5, 6)
    data = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    assert to_niivue(data, affine)[0, 0, 0] == data[3, 4, 0]


def test_permuted_flipped_oblique_grid_matches_what_niivue_reported():
    # niivue 0.69.0 reported permRAS [-3, 1, -2] and dimsRAS [10, 12, 15] for this affine on a 12×15×10 grid
    # (checked again in the browser by tests/review/test_browser.py).
    order = niivue_order(oblique_affine(), (12, 15, 10))
    assert order.perm_ras == [-3, 1, -2] and order.shape == (10, 12, 15)


@pytest.mark.parametrize("seed", range(6))
def test_each_niivue_axis_points_the_positive_world_way_and_round_trips(seed):
    rng = np.random.default_rng(seed)
    rotation = Rotation.random(random_state=seed).as_matrix()
    affine = _affine(rotation @ np.diag(rng.uniform(0.5, 3.0, 3)))
    shape = tuple(int(n) for n in rng.integers(3, 9, 3))
    data = rng.integers(0, 2, shape).astype(np.uint8)
    order = niivue_order(affine, shape)
    # the grid as niivue walks it: columns of affine @ (axes, flips); each must point the positive world way
    walk = affine[:3, :3][:, list(order.axes)] * np.where(order.flips, -1, 1)
    assert (np.diag(walk) > 0).all()
    assert np.array_equal(from_niivue(to_niivue(data, affine), affine, shape), data)
    assert to_niivue(data, affine).shape == order.shape


def test_ties_are_broken_as_niivue_breaks_them():
    s = np.sqrt(0.5)
    # voxel axis 0 points equally along world x and y: niivue keeps x (its first test is a strict '>')
    first = niivue_order(_affine([[s, -s, 0], [s, s, 0], [0, 0, 1]]), (3, 4, 5))
    assert first.axes[0] == 0
    # voxel axis 1 points equally along world y and z (axis 0 took x): niivue's test is '>', so z wins
    second = niivue_order(_affine([[1, 0, 0], [0, s, -s], [0, s, s]]), (3, 4, 5))
    assert second.axes == (0, 2, 1)


def test_from_niivue_refuses_another_shape():
    with pytest.raises(ValueError, match="niivue's order"):
        from_niivue(np.zeros((3, 3, 3)), np.eye(4), (3, 3, 4))
