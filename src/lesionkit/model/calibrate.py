"""Choose the post-processing that maximises mean Dice on validation cases (never on test data): the
probability threshold, and the smallest predicted lesion kept."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lesionkit.core import dice

__all__ = ["MIN_SIZE_CANDIDATES_MM3", "best_postprocessing", "best_threshold"]

MIN_SIZE_CANDIDATES_MM3 = (0.0, 10.0, 30.0, 100.0)
"""Minimum lesion sizes tried. Capped at 100 mm³: ATLAS holds real lesions of a few tens of mm³, and a
validation split of a dozen subjects cannot justify deleting everything smaller than a large one."""


def _thresholds(candidates: Sequence[float] | None) -> list[float]:
    return list(candidates) if candidates is not None else [round(0.05 * k, 2) for k in range(1, 20)]


def best_threshold(
    probabilities: Sequence[np.ndarray], truths: Sequence[np.ndarray], candidates: Sequence[float] | None = None
) -> tuple[float, float]:
    """(threshold, mean Dice at it) over ``candidates`` (default 0.05 … 0.95 in steps of 0.05)."""
    threshold, _, dice = best_postprocessing(probabilities, truths, candidates, [0.0])
    return threshold, dice


def best_postprocessing(
    probabilities: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    thresholds: Sequence[float] | None = None,
    min_sizes_mm3: Sequence[float] = MIN_SIZE_CANDIDATES_MM3,
    voxel_mm3: float = 1.0,
) -> tuple[float, float, float]:
    """(threshold, minimum lesion size in mm³, mean Dice) that maximise mean Dice over the candidates.

    Ties (equal mean Dice) go to the lower threshold and the smaller minimum size, in that order.
    """
    from lesionkit.model.inference import threshold_probability

    if not probabilities:
        raise ValueError("best_postprocessing needs at least one case")
    best = (-1.0, 0.0, 0.0)
    for threshold in _thresholds(thresholds):
        for min_size in min_sizes_mm3:
            mean_dice = float(np.mean([
                dice(threshold_probability(p, threshold, min_size, voxel_mm3), y)
                for p, y in zip(probabilities, truths, strict=True)
            ]))
            if mean_dice > best[0]:
                best = (mean_dice, float(threshold), float(min_size))
    return best[1], best[2], best[0]
