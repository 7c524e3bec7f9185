"""Maximal Dice (mDSC): the best Dice a probability map reaches over thresholds (Tomita et al., Table 2).

Definition: ``mdsc = max over t in THRESHOLDS of Dice(prob >= t, truth)`` (the threshold rule of
:func:`lesionkit.core.binarize_probability`), thresholds 0.01, 0.02, …, 0.99, per case (the threshold is
reported too). Both empty at the best threshold → 1, as for Dice. Computed in one pass: each voxel's
probability is bucketed by how many thresholds it reaches, so the predicted and overlapping voxel counts at
every threshold are reverse cumulative sums.
"""

from __future__ import annotations

import numpy as np

from lesionkit.core import binarize_probability
from lesionkit.io.errors import InvalidInputError
from lesionkit.metrics.binary import as_mask

__all__ = ["THRESHOLDS", "maximal_dice"]

#: The thresholds searched, 0.01 … 0.99.
THRESHOLDS = np.round(np.arange(1, 100) / 100, 2)


def maximal_dice(prob: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """``(mdsc, best_threshold)`` of a probability map against a binary truth (same shape).

    Ties between thresholds go to the one closest to 0.5, so a flat optimum reports the usual threshold.
    """
    prob = np.asarray(prob, dtype=np.float32)
    truth = as_mask(truth, name="truth") != 0
    if prob.shape != truth.shape:
        raise InvalidInputError(None, f"probability map shape {prob.shape} differs from truth shape {truth.shape}")
    if not np.isfinite(prob).all():
        raise InvalidInputError(None, "probability map contains NaN or infinite values")
    # Bucket k = number of thresholds at or below the value: voxel counts as lesion at t_j iff k > j.
    # Voxels below the lowest threshold (bucket 0) never count, so only the others are bucketed.
    candidates = np.flatnonzero(binarize_probability(prob.ravel(), THRESHOLDS[0]))
    # compared in the map's precision, as binarize_probability compares
    buckets = np.searchsorted(THRESHOLDS.astype(prob.dtype), prob.ravel()[candidates], side="right")
    n = len(THRESHOLDS) + 1
    above = np.cumsum(np.bincount(buckets, minlength=n)[::-1])[::-1]  # above[k] = #voxels with bucket >= k
    hits = np.cumsum(np.bincount(buckets[truth.ravel()[candidates]], minlength=n)[::-1])[::-1]
    pred_counts, overlap = above[1:], hits[1:]  # index j ↔ threshold j (bucket > j)
    n_truth = int(np.count_nonzero(truth))
    denominator = pred_counts + n_truth
    dice = np.where(denominator > 0, 2.0 * overlap / np.maximum(denominator, 1), 1.0)
    best = dice.max()
    candidates = np.flatnonzero(dice == best)
    choice = candidates[np.argmin(np.abs(THRESHOLDS[candidates] - 0.5))]
    return float(best), float(THRESHOLDS[choice])
