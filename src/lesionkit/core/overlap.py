"""Dice overlap of two masks, with the ATLAS R2.0 convention for empty masks."""

from __future__ import annotations

import numpy as np

__all__ = ["dice", "dice_from_counts"]


def dice_from_counts(overlap: int, pred: int, truth: int) -> float:
    """2·|P∩T| / (|P| + |T|) from voxel counts; both empty → 1 (official ATLAS R2.0 convention)."""
    total = pred + truth
    return 1.0 if total == 0 else 2.0 * overlap / total


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two masks of one shape (non-zero = lesion); both empty → 1, one empty → 0."""
    p, t = np.asanyarray(pred) != 0, np.asanyarray(truth) != 0
    if p.shape != t.shape:
        raise ValueError(f"masks differ in shape: {p.shape} and {t.shape}")
    return dice_from_counts(int(np.count_nonzero(p & t)), int(np.count_nonzero(p)), int(np.count_nonzero(t)))
