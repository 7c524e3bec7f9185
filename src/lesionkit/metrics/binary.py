"""Turning metric inputs into binary masks and checking voxel spacings.

Bounding boxes, the probability threshold rule and the lesion labelling are shared with every stage and
live in :mod:`lesionkit.core`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lesionkit.core import DEFAULT_THRESHOLD, binarize_probability
from lesionkit.io.errors import InvalidInputError

__all__ = ["as_mask", "check_spacing"]


def as_mask(array: np.ndarray, threshold: float = DEFAULT_THRESHOLD, name: str = "mask") -> np.ndarray:
    """Return ``array`` in a form where non-zero means lesion, refusing NaN/inf.

    * bool and unsigned integers are returned as they are (non-zero = lesion; no copy);
    * signed integers: non-zero = lesion;
    * floats (probabilities): ``value >= threshold`` = lesion (:func:`lesionkit.core.binarize_probability`,
      the rule segmentation applies), so an exact 0.5 is lesion; NaN or inf is refused.
    """
    array = np.asanyarray(array)
    if array.ndim == 0:
        raise InvalidInputError(None, f"{name}: expected an array, got a scalar")
    kind = array.dtype.kind
    if kind in "bu":
        return array
    if kind == "i":
        return array != 0
    if kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            raise InvalidInputError(None, f"{name}: contains {bad} NaN or infinite value(s)")
        return binarize_probability(array, threshold)
    raise InvalidInputError(None, f"{name}: unsupported dtype {array.dtype} (expected bool, integer or float)")


def check_spacing(spacing: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    """Voxel size in mm per axis; a single number means isotropic. Must be positive and finite."""
    values = (float(spacing),) * ndim if np.isscalar(spacing) else tuple(float(s) for s in spacing)  # type: ignore[arg-type]
    if len(values) != ndim:
        raise InvalidInputError(None, f"spacing {values} has {len(values)} values for {ndim}-D masks")
    if not all(np.isfinite(s) and s > 0 for s in values):
        raise InvalidInputError(None, f"spacing {values} must be positive and finite")
    return values
