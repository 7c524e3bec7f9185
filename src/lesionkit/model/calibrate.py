"""Choose the post-processing that maximises mean Dice on validation cases (never on test data): the
probability threshold, and the smallest predicted lesion kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from lesionkit.core import dice

__all__ = ["MIN_SIZE_CANDIDATES_MM3", "Objective", "best_postprocessing", "best_threshold"]

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


Objective = Literal["dice", "dice_f1"]
"""What calibration maximises: mean Dice, or the mean of (Dice + lesion-wise F1) / 2, the two per-case figures ATLAS
ranks by (F1 counts every lesion alike, so small lesions weigh as much as large ones)."""


def _case_score(pred: np.ndarray, truth: np.ndarray, objective: Objective) -> float:
    if objective == "dice":
        return dice(pred, truth)
    from lesionkit.core import count_lesions

    return (dice(pred, truth) + count_lesions(pred, truth).f1) / 2


def best_postprocessing(
    probabilities: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    thresholds: Sequence[float] | None = None,
    min_sizes_mm3: Sequence[float] = MIN_SIZE_CANDIDATES_MM3,
    voxel_mm3: float = 1.0,
    objective: Objective = "dice",
) -> tuple[float, float, float]:
    """(threshold, minimum lesion size in mm³, mean score) that maximise the mean ``objective`` over the candidates.

    Ties (equal mean score) go to the lower threshold and the smaller minimum size, in that order.
    """
    from lesionkit.model.inference import threshold_probability

    if not probabilities:
        raise ValueError("best_postprocessing needs at least one case")
    if objective not in ("dice", "dice_f1"):
        raise ValueError(f"objective must be 'dice' or 'dice_f1', got {objective!r}")
    best = (-1.0, 0.0, 0.0)
    for threshold in _thresholds(thresholds):
        for min_size in min_sizes_mm3:
            score = float(np.mean([
                _case_score(threshold_probability(p, threshold, min_size, voxel_mm3) > 0, y > 0, objective)
                for p, y in zip(probabilities, truths, strict=True)
            ]))
            if score > best[0]:
                best = (score, float(threshold), float(min_size))
    return best[1], best[2], best[0]
