import numpy as np

from lesionkit.core import DEFAULT_THRESHOLD, binarize_probability


def test_probability_at_the_threshold_is_lesion():
    p = np.array([0.2, 0.4999, 0.5, 0.51, 1.0], np.float32)
    assert DEFAULT_THRESHOLD == 0.5
    assert binarize_probability(p).tolist() == [False, False, True, True, True]
    assert binarize_probability(p, 0.2).tolist() == [True] * 5
    assert binarize_probability(p, 1.0).tolist() == [False, False, False, False, True]


def test_comparison_is_in_the_maps_precision():
    p = np.array([0.7], np.float32)  # stored as 0.699999988
    assert binarize_probability(p, 0.7)[0] and binarize_probability(p, np.float64(0.7))[0]
    assert binarize_probability(np.array([0.7], np.float16), np.float64(0.7))[0]
    assert binarize_probability(np.array([3, 5], np.uint8), 4).tolist() == [False, True]
