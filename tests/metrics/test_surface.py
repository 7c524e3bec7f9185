import warnings

import numpy as np
import pytest
import torch
from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance
from scipy import ndimage as ndi

from lesionkit.metrics.surface import boundary, summarize_distances, surface_distances
from tests.metrics._blobs import random_blobs


def _monai(pred, truth, spacing):
    a, b = torch.as_tensor(pred[None, None].astype(np.float32)), torch.as_tensor(truth[None, None].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hd = compute_hausdorff_distance(a, b, include_background=True, spacing=spacing).item()
        hd95 = compute_hausdorff_distance(a, b, include_background=True, percentile=95, spacing=spacing).item()
        assd = compute_average_surface_distance(a, b, include_background=True, symmetric=True, spacing=spacing).item()
    return {"hd": hd, "hd95": hd95, "assd": assd}


def test_boundary_is_mask_minus_erosion(rng):
    mask = random_blobs((14, 12, 16), rng, n=3)
    mask[0, 3:6, 3:6] = True  # touching the array edge: the edge counts as background
    expected = mask ^ ndi.binary_erosion(mask)
    np.testing.assert_array_equal(boundary(mask), expected)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.9, 1.3, 3.0), (2.0, 0.5, 1.0)])
def test_distances_equal_monai(seed, spacing):
    rng = np.random.default_rng(seed)
    shape = (24, 20, 18)
    truth = random_blobs(shape, rng, n=int(rng.integers(1, 3)))
    pred = random_blobs(shape, rng, n=int(rng.integers(1, 4)))
    if seed % 2:  # a near miss: truth shifted and dilated, plus a far speck (beyond the grid search)
        pred = np.roll(ndi.binary_dilation(truth), 2, axis=0)
        pred[1:3, 1:3, 15:17] = True
    ours = summarize_distances(surface_distances(pred, truth, spacing))
    ref = _monai(pred, truth, spacing)
    for key in ("hd", "hd95", "assd"):
        assert ours[key] == pytest.approx(ref[key], rel=1e-4), key


def test_distances_are_cropped_exactly(rng):
    """Masks deep inside a large grid and at its very edge give the same numbers as MONAI on the full grid."""
    truth = np.zeros((40, 30, 30), bool)
    pred = np.zeros_like(truth)
    truth[0:5, 10:16, 12:15] = True  # touches the array edge
    pred[1:6, 11:17, 12:16] = True
    pred[35:40, 25:30, 26:30] = True  # far corner
    ours = summarize_distances(surface_distances(pred, truth, (1.0, 2.0, 0.7)))
    ref = _monai(pred, truth, (1.0, 2.0, 0.7))
    for key in ("hd", "hd95", "assd"):
        assert ours[key] == pytest.approx(ref[key], rel=1e-4)


def test_one_voxel_lesions_by_hand():
    truth = np.zeros((5, 5, 9), bool)
    pred = np.zeros_like(truth)
    truth[2, 2, 1] = True
    pred[2, 2, 5] = True  # 4 voxels away along an axis of spacing 2 mm
    out = summarize_distances(surface_distances(pred, truth, (1.0, 1.0, 2.0)))
    assert out == {"hd": 8.0, "hd95": 8.0, "assd": 8.0}


def test_empty_conventions():
    empty = np.zeros((6, 6, 6), bool)
    full = empty.copy()
    full[2:4, 2:4, 2:4] = True
    assert summarize_distances(surface_distances(empty, empty)) == {"hd": 0.0, "hd95": 0.0, "assd": 0.0}
    for pred, truth in ((empty, full), (full, empty)):
        assert all(np.isinf(v) for v in summarize_distances(surface_distances(pred, truth)).values())


@pytest.mark.parametrize(
    "spacing", [(1.0, 1.0, 1.0), (2.0, 0.5, 1.0), (0.7, 0.7, 3.3), (0.3, 0.9, 2.1), (1.1, 1.7, 0.35), (0.1, 0.3, 0.7)]
)
def test_grid_search_equals_brute_force(spacing):
    """The ring search on the grid plus the k-d tree fallback give exact nearest distances."""
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(11)
    truth = np.zeros((30, 28, 26), bool)
    truth[rng.random(truth.shape) < 0.01] = True  # scattered voxels: every distance from 0 to far
    pred = np.zeros_like(truth)
    pred[rng.random(pred.shape) < 0.01] = True
    pred_to_truth, truth_to_pred = surface_distances(pred, truth, spacing)
    p, t = np.argwhere(pred) * spacing, np.argwhere(truth) * spacing  # isolated voxels are all boundary
    np.testing.assert_allclose(np.sort(pred_to_truth), np.sort(cdist(p, t).min(axis=1)), rtol=1e-12)
    np.testing.assert_allclose(np.sort(truth_to_pred), np.sort(cdist(t, p).min(axis=1)), rtol=1e-12)


def test_two_dimensional_masks_equal_monai(rng):
    truth = random_blobs((40, 36), rng, n=2)
    pred = np.roll(truth, 3, axis=1)
    pred[1:3, 30:33] = True
    ours = summarize_distances(surface_distances(pred, truth, (0.8, 1.7)))
    ref = _monai(pred, truth, (0.8, 1.7))
    for key in ("hd", "hd95", "assd"):
        assert ours[key] == pytest.approx(ref[key], rel=1e-4)


def test_percentile_equals_numpy(rng):
    from lesionkit.metrics.surface import _percentile

    for n in (1, 2, 7, 100, 1001):
        values = rng.exponential(3.0, n)
        for q in (0.0, 50.0, 95.0, 100.0):
            assert _percentile(values, q) == pytest.approx(np.percentile(values, q), rel=1e-12)


def test_chunked_gathers_give_the_same_distances(rng, monkeypatch):
    from lesionkit.metrics import surface

    truth = random_blobs((20, 20, 20), rng, n=2)
    pred = np.roll(truth, 2, axis=2)
    expected = surface_distances(pred, truth, (1.0, 0.8, 1.3))
    monkeypatch.setattr(surface, "_GATHER_LIMIT", 500)  # many small chunks
    chunked = surface_distances(pred, truth, (1.0, 0.8, 1.3))
    for a, b in zip(expected, chunked, strict=True):
        np.testing.assert_array_equal(a, b)
