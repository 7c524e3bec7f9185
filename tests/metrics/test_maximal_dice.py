import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.metrics import evaluate_pair, maximal_dice
from tests.metrics._blobs import random_blobs


def test_maximal_dice_is_the_best_thresholded_dice(rng):
    truth = random_blobs((16, 16, 16), rng)
    prob = np.clip(truth * 0.6 + rng.normal(0, 0.25, truth.shape), 0, 1).astype(np.float32)
    best, threshold = maximal_dice(prob, truth)
    brute = {t: evaluate_pair(prob > t, truth)["dice"] for t in np.round(np.arange(1, 100) / 100, 2)}
    assert best == pytest.approx(max(brute.values()))
    assert brute[threshold] == pytest.approx(best)
    assert best >= evaluate_pair(prob, truth)["dice"]  # never below Dice at 0.5


def test_maximal_dice_edge_cases():
    truth = np.zeros((4, 4, 4), bool)
    assert maximal_dice(np.zeros((4, 4, 4)), truth) == (1.0, 0.5)  # both empty at every threshold
    truth[1, 1, 1] = True
    assert maximal_dice(np.zeros((4, 4, 4)), truth)[0] == 0.0
    with pytest.raises(InvalidInputError, match="shape"):
        maximal_dice(np.zeros((4, 4, 5)), truth)
    with pytest.raises(InvalidInputError, match="NaN"):
        maximal_dice(np.full((4, 4, 4), np.nan), truth)
