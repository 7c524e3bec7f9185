import numpy as np
from scipy import ndimage as ndi

from lesionkit.core.lesions import count_lesions, independent_boxes
from tests.metrics._blobs import random_blobs


def test_independent_boxes_cover_every_component_once(rng):
    mask = random_blobs((30, 26, 22), rng, n=4, level=0.6)
    mask[rng.random(mask.shape) < 0.003] = True
    boxes = independent_boxes(mask)
    covered = np.zeros_like(mask)
    for box in boxes:
        assert not covered[box].any(), "boxes overlap"
        covered[box] = True
    assert not (mask & ~covered).any(), "a lesion voxel lies outside every box"
    labels, n = ndi.label(mask, np.ones((3, 3, 3)))  # not even 26-connected components cross boxes
    for k in range(1, n + 1):
        assert sum(bool((labels[box] == k).any()) for box in boxes) == 1
    assert len(boxes) > 1


def test_counts_equal_scipy_labelling(rng):
    for _ in range(5):
        truth = random_blobs((18, 18, 18), rng, n=3, level=0.8)
        pred = random_blobs((18, 18, 18), rng, n=3, level=0.8)
        counts = count_lesions(pred, truth)
        assert counts.truth == ndi.label(truth)[1]
        assert counts.pred == ndi.label(pred)[1]


def test_two_dimensional_masks_use_four_connectivity():
    truth = np.zeros((5, 5), bool)
    truth[1, 1] = truth[2, 2] = True
    counts = count_lesions(truth, truth)
    assert (counts.truth, counts.detected, counts.f1) == (2, 2, 1.0)


def test_runs_of_nonzero_values():
    from lesionkit.core.lesions import _runs

    assert _runs(np.array([0, 1, 1, 0, 0, 255, 0, 3], np.uint8)) == [(1, 3), (5, 6), (7, 8)]
    assert _runs(np.zeros(5, np.uint8)) == [] and _runs(np.ones(3, np.uint8)) == [(0, 3)]
