"""Intensity normalisation: a robust z-score inside the head.

T1w intensities are in arbitrary scanner units, so every image is mapped to zero mean and unit
variance over its *foreground* (voxels brighter than ``foreground_fraction`` of the 99.5th percentile,
i.e. the head, not the air around it), after clipping to the ``clip_percentiles`` of that foreground so
that a few bright vessels or fat voxels do not set the scale. The parameters are stored in each checkpoint
(:func:`normalization_spec`) and applied identically in training and inference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_NORMALIZATION", "normalize_intensity"]

DEFAULT_NORMALIZATION: dict = {"method": "robust_zscore", "foreground_fraction": 0.1, "clip_percentiles": [0.5, 99.5]}


def normalize_intensity(image: np.ndarray, spec: dict | None = None) -> np.ndarray:
    """Return a float32 robust z-score of ``image`` (see module docstring); a constant image gives zeros."""
    spec = {**DEFAULT_NORMALIZATION, **(spec or {})}
    if spec["method"] != "robust_zscore":
        raise ValueError(f"unknown normalisation {spec['method']!r}")
    data = np.asarray(image, dtype=np.float32)
    top = float(np.percentile(data, 99.5))
    bottom = float(data.min())
    foreground = data > bottom + spec["foreground_fraction"] * (top - bottom)
    if not foreground.any():
        return np.zeros_like(data)
    values = data[foreground]
    low, high = np.percentile(values, spec["clip_percentiles"])
    clipped = np.clip(data, low, high)
    inside = clipped[foreground]
    std = float(inside.std())
    if std == 0.0:
        return np.zeros_like(data)
    return ((clipped - float(inside.mean())) / std).astype(np.float32)
