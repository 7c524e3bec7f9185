"""Training data in memory: normalised images, masks and lesion coordinates for crop sampling.

CPU training reads thousands of crops; decompressing a NIfTI per crop would cost more than the
network, so every case is loaded once (float16 image, uint8 mask: ~26 MB per 1 mm ATLAS case).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lesionkit.io.cohort import Case, load_case_mask
from lesionkit.io.nifti import check_same_grid, load_image
from lesionkit.model.normalize import normalize_intensity

__all__ = ["Sample", "load_samples", "split_cases"]


@dataclass
class Sample:
    case_id: str
    image: np.ndarray
    """float16 normalised intensities."""
    mask: np.ndarray
    """uint8 0/1."""
    lesion_voxels: np.ndarray
    """``(n, 3)`` int32 coordinates of (a subsample of) the lesion voxels."""


def split_cases(cases: Sequence[Case], val_fraction: float, seed: int) -> tuple[list[Case], list[Case]]:
    """Reproducible random split; at least one validation case when ``val_fraction > 0`` and ≥ 2 cases."""
    cases = [c for c in cases if c.t1w is not None and (c.mask is not None or c.mask_parts)]
    order = np.random.default_rng(seed).permutation(len(cases))
    n_val = int(round(val_fraction * len(cases)))
    if val_fraction > 0 and len(cases) >= 2:
        n_val = max(1, n_val)
    n_val = min(n_val, len(cases) - 1)
    val = sorted((cases[i] for i in order[:n_val]), key=lambda c: c.id)
    train = sorted((cases[i] for i in order[n_val:]), key=lambda c: c.id)
    return train, val


def load_samples(cases: Sequence[Case], normalization: dict | None = None, max_voxels: int = 20000) -> list[Sample]:
    """Load and normalise every case (raises ``InvalidInputError`` for a bad file or mismatched grids)."""
    samples = []
    for case in cases:
        image = load_image(case.t1w)
        mask = load_case_mask(case)
        check_same_grid(image, mask)
        lesion = np.argwhere(np.asarray(mask.dataobj) > 0).astype(np.int32)
        if len(lesion) > max_voxels:  # a subsample is enough to centre crops on lesions
            lesion = lesion[np.random.default_rng(0).choice(len(lesion), max_voxels, replace=False)]
        samples.append(
            Sample(
                case.id,
                normalize_intensity(np.asarray(image.dataobj), normalization).astype(np.float16),
                np.asarray(mask.dataobj, dtype=np.uint8),
                lesion,
            )
        )
    return samples
