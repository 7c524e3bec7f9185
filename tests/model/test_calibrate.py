import numpy as np
import pytest

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


def test_the_dice_f1_objective_keeps_a_faint_small_lesion_that_mean_dice_gives_up():
    truth = np.zeros((30, 30, 30), bool)
    truth[5:15, 5:15, 5:15] = True  # a large lesion
    truth[22:24, 22:24, 22:24] = True  # and a lacune of 8 voxels
    probability = np.zeros(truth.shape, np.float32)
    probability[4:16, 4:16, 4:16] = 0.3  # a faint halo around the large one…
    probability[5:15, 5:15, 5:15] = 0.9
    probability[22:24, 22:24, 22:24] = 0.3  # …as faint as the lacune
    by_dice = best_postprocessing([probability], [truth], min_sizes_mm3=[0.0])
    by_both = best_postprocessing([probability], [truth], min_sizes_mm3=[0.0], objective="dice_f1")
    assert by_dice[0] > 0.3 and by_both[0] <= 0.3
    assert by_dice[2] == pytest.approx(2000 / 2008, abs=1e-6)  # the large lesion exactly, the lacune missed
    with pytest.raises(ValueError, match="objective must be"):
        best_postprocessing([probability], [truth], objective="f1")
