import numpy as np
import pytest

from lesionkit.core import binarize_probability
from lesionkit.io import InvalidInputError
from lesionkit.metrics import evaluate_pair, maximal_dice
from lesionkit.metrics.maximal_dice import THRESHOLDS
from tests.metrics._blobs import random_blobs


def test_maximal_dice_is_the_best_thresholded_dice(rng):
    truth = random_blobs((16, 16, 16), rng)
    prob = np.clip(truth * 0.6 + rng.normal(0, 0.25, truth.shape), 0, 1).astype(np.float32)
    best, threshold = maximal_dice(prob, truth)
    brute = {t: evaluate_pair(binarize_probability(prob, t), truth)["dice"] for t in THRESHOLDS}
    assert best == pytest.approx(max(brute.values()))
    assert brute[threshold] == pytest.approx(best)
    assert best >= evaluate_pair(prob, truth)["dice"]  # never below Dice at 0.5


def test_probabilities_on_a_threshold_count_as_lesion(rng):
    """Maps quantised to 0.01 (many voxels exactly on a threshold): the one-pass count must apply ``>=``."""
    truth = random_blobs((16, 16, 16), rng)
    prob = np.round(np.clip(truth * 0.5 + rng.normal(0.2, 0.2, truth.shape), 0, 1), 2).astype(np.float32)
    dice = [evaluate_pair(binarize_probability(prob, t), truth)["dice"] for t in THRESHOLDS]
    best, threshold = maximal_dice(prob, truth)
    k = int(np.flatnonzero(THRESHOLDS == threshold)[0])
    assert best == pytest.approx(max(dice)) and dice[k] == pytest.approx(best)
    strict = evaluate_pair(prob > np.float32(threshold), truth)["dice"]
    assert strict != pytest.approx(best)  # ``>`` gives another Dice there: the test tells the rules apart


def test_maximal_dice_edge_cases():
    truth = np.zeros((4, 4, 4), bool)
    assert maximal_dice(np.zeros((4, 4, 4)), truth) == (1.0, 0.5)  # both empty at every threshold
    truth[1, 1, 1] = True
    assert maximal_dice(np.zeros((4, 4, 4)), truth)[0] == 0.0
    with pytest.raises(InvalidInputError, match="shape"):
        maximal_dice(np.zeros((4, 4, 5)), truth)
    with pytest.raises(InvalidInputError, match="NaN"):
        maximal_dice(np.full((4, 4, 4), np.nan), truth)
