"""Probability maps to lesion masks: one rule everywhere.

``probability >= threshold`` is lesion, the convention of MONAI's ``AsDiscrete(threshold=…)``; the model's
calibrated thresholds were chosen with it, and evaluation, analysis and segmentation all apply it, so a
probability map scored by ``lesionkit evaluate`` gives the mask ``lesionkit segment`` writes. Integer and
bool masks are not thresholded: non-zero is lesion.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_THRESHOLD", "binarize_probability"]

DEFAULT_THRESHOLD = 0.5


def binarize_probability(probability: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Boolean lesion mask ``probability >= threshold``, compared in the map's own float precision.

    A float32 map holds 0.7 as 0.699999988; the threshold 0.7 rounded the same way keeps it lesion, whether
    the threshold comes as a Python float (which NumPy already casts) or as a float64 scalar (which it would not).
    """
    probability = np.asanyarray(probability)
    if probability.dtype.kind == "f":
        return probability >= probability.dtype.type(threshold)
    return probability >= threshold
