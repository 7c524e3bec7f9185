"""Cohort-relative QC: how far a case's predicted volume and lesion count lie from the rest of its batch.

Robust z-scores: ``(x − median) / (1.4826 · MAD)`` of ``log(1 + x)`` over the cohort (the factor makes the
MAD a standard deviation for normal data; the log because lesion volumes span four orders of magnitude,
10 mm³ to 2.8×10⁵ mm³ in ATLAS). Median and MAD resist the outliers they are meant to find, which a mean
and standard deviation would absorb. When more than half the cases share one value (the MAD is 0: most
subjects have one lesion) the scale is ``1.2533 ·`` the mean absolute deviation from the median instead (the
factor again makes it a standard deviation for normal data; Iglewicz and Hoaglin's modified z-score). With
fewer than :data:`MIN_CASES` cases, or all cases equal, the scores are undefined (NaN): no outlier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["COHORT_FEATURES", "MIN_CASES", "cohort_outliers", "robust_z"]

#: The cohort-relative feature names, in the order ``qc.tsv`` lists them.
COHORT_FEATURES = ("volume_z", "count_z")
#: Fewest cases for which a median and MAD mean anything.
MIN_CASES = 5


def robust_z(values: Sequence[float], min_cases: int = MIN_CASES) -> np.ndarray:
    """Robust z-score of every value of ``log(1 + values)`` (NaN values stay NaN and are not counted)."""
    x = np.log1p(np.clip(np.asarray(values, dtype=float), 0, None))
    finite = np.isfinite(x)
    out = np.full(x.shape, np.nan)
    if finite.sum() < min_cases:
        return out
    median = np.median(x[finite])
    deviation = np.abs(x[finite] - median)
    scale = 1.4826 * np.median(deviation)
    if scale <= 0:
        scale = 1.2533 * deviation.mean()
    if scale <= 0:
        return out
    out[finite] = (x[finite] - median) / scale
    return out


def cohort_outliers(volumes_mm3: Sequence[float], counts: Sequence[float], min_cases: int = MIN_CASES
                    ) -> dict[str, np.ndarray]:
    """``volume_z`` and ``count_z`` of every case (see the module docstring)."""
    return {"volume_z": robust_z(volumes_mm3, min_cases), "count_z": robust_z(counts, min_cases)}
