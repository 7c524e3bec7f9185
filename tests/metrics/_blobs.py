"""Irregular random lesion masks for metric tests (seeded, tiny)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def random_blobs(shape, rng: np.random.Generator, n: int = 2, smooth: float = 1.5, level: float = 0.35) -> np.ndarray:
    """A boolean mask of ``n`` rough blobs: thresholded smoothed noise around random centres."""
    out = np.zeros(shape, dtype=bool)
    grid = np.indices(shape)
    noise = ndi.gaussian_filter(rng.standard_normal(shape), smooth)
    for _ in range(n):
        centre = [rng.uniform(0.2 * s, 0.8 * s) for s in shape]
        radius = rng.uniform(0.08, 0.2) * min(shape)
        dist = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True))) / radius
        out |= (1 - dist + noise / noise.std() * level) > 0
    return out
