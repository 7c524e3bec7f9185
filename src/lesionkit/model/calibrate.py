"""Choose the probability threshold that maximises mean Dice on validation cases (never on test data)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["best_threshold"]


def best_threshold(
    probabilities: Sequence[np.ndarray], truths: Sequence[np.ndarray], candidates: Sequence[float] | None = None
) -> tuple[float, float]:
    """(threshold, mean Dice at it) over ``candidates`` (default 0.05 … 0.95 in steps of 0.05)."""
    from lesionkit.model.train import dice_score

    if not probabilities:
        raise ValueError("best_threshold needs at least one case")
    candidates = list(candidates) if candidates is not None else [round(0.05 * k, 2) for k in range(1, 20)]
    scores = [float(np.mean([dice_score(p >= t, y) for p, y in zip(probabilities, truths, strict=True)]))
              for t in candidates]
    best = int(np.argmax(scores))
    return float(candidates[best]), scores[best]
