import numpy as np

from lesionkit.model.calibrate import best_postprocessing, best_threshold


def test_best_threshold_finds_the_separating_value():
    truth = np.zeros((10, 10, 10), bool)
    truth[2:6, 2:6, 2:6] = True
    probability = np.where(truth, 0.3, 0.1).astype(np.float32)  # under-confident but separable
    threshold, dice = best_threshold([probability], [truth])
    assert 0.1 < threshold <= 0.3 and dice == 1.0
    assert best_threshold([probability], [truth], candidates=[0.5])[1] == 0.0


def test_best_postprocessing_drops_specks_only_when_it_helps():
    truth = np.zeros((20, 20, 20), bool)
    truth[2:8, 2:8, 2:8] = True  # 216 mm³
    probability = np.where(truth, 0.9, 0.0).astype(np.float32)
    probability[15:17, 15:17, 15:17] = 0.9  # an 8 mm³ false positive
    threshold, min_size, dice = best_postprocessing([probability], [truth])
    assert min_size == 10.0 and dice == 1.0  # the smallest candidate that removes the speck
    threshold, min_size, dice = best_postprocessing([probability], [truth], voxel_mm3=2.0)
    assert min_size == 30.0  # the speck is 16 mm³ at 2 mm³ per voxel
    clean = np.where(truth, 0.9, 0.0).astype(np.float32)
    assert best_postprocessing([clean], [truth])[1] == 0.0  # nothing to remove: keep everything
