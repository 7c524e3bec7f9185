import numpy as np

from lesionkit.model.calibrate import best_threshold


def test_best_threshold_finds_the_separating_value():
    truth = np.zeros((10, 10, 10), bool)
    truth[2:6, 2:6, 2:6] = True
    probability = np.where(truth, 0.3, 0.1).astype(np.float32)  # under-confident but separable
    threshold, dice = best_threshold([probability], [truth])
    assert 0.1 < threshold <= 0.3 and dice == 1.0
    assert best_threshold([probability], [truth], candidates=[0.5])[1] == 0.0
