"""Training data in memory: network inputs, targets and lesion coordinates for crop sampling.

CPU training reads thousands of crops; decompressing a NIfTI per crop would cost more than the
network, so every case is loaded once, already on the network's working grid (float16 channels and
float16 soft targets: ~26 MB per channel per 1 mm ATLAS case, an eighth of that at 2 mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lesionkit.core import label_components
from lesionkit.io.cohort import Case, load_case_mask
from lesionkit.io.nifti import check_same_grid, load_image
from lesionkit.model.features import block_average, input_channels, pooling_factor

__all__ = ["Sample", "load_samples", "split_cases"]


@dataclass
class Sample:
    case_id: str
    image: np.ndarray
    """``(C, X, Y, Z)`` float16 input channels."""
    mask: np.ndarray
    """float16 target: 0/1, or the lesion fraction of each block when the working grid is coarser."""
    lesion_voxels: np.ndarray
    """``(n, 3)`` int32 coordinates of (a subsample of) the lesion voxels, grouped by connected lesion."""
    lesion_bounds: np.ndarray
    """Offsets ``[0, …, n]``: rows ``lesion_bounds[i]:lesion_bounds[i + 1]`` of ``lesion_voxels`` are lesion i."""
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Voxel size (mm) of the working grid."""


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


def load_samples(
    cases: Sequence[Case],
    normalization: dict | None = None,
    max_voxels: int = 20000,
    *,
    channels: Sequence[str] = ("t1",),
    spacing: float | None = None,
) -> list[Sample]:
    """Load every case onto the working grid (blocks that make ``spacing`` mm voxels; None = the image's own
    grid); raises ``InvalidInputError`` for a bad file."""
    samples = []
    for case in cases:
        image = load_image(case.t1w)
        mask = load_case_mask(case)
        check_same_grid(image, mask)
        zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
        factor = 1 if spacing is None else pooling_factor([spacing] * 3, zooms)
        target = block_average(np.asarray(mask.dataobj, dtype=np.float32), factor)
        lesion, bounds = _lesion_voxels(target, max_voxels)
        data = input_channels(np.asarray(image.dataobj), channels, factor, normalization)
        grid = tuple(z * factor for z in zooms)
        samples.append(Sample(case.id, data.astype(np.float16), target.astype(np.float16), lesion, bounds, grid))
    return samples


def _lesion_voxels(target: np.ndarray, max_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates where the target is ≥ 0.5, grouped by connected lesion (6-connectivity:
    :func:`lesionkit.core.label_components`), and each lesion's offsets. A lesion that covers no block by half
    on a coarse grid keeps its most-covered blocks, so small lesions still get crops. Large lesions are
    subsampled (proportionally, ≥ 1 voxel each) to about ``max_voxels`` in all: enough to centre crops on."""
    labels, _ = label_components(target > 0)
    rng = np.random.default_rng(0)
    groups = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        part = target[box] * (labels[box] == index)
        keep = part >= min(0.5, float(part.max()))
        voxels = np.argwhere(keep) + [s.start for s in box]
        groups.append(voxels)
    total = sum(len(g) for g in groups)
    if total > max_voxels:
        groups = [g[rng.choice(len(g), max(1, len(g) * max_voxels // total), replace=False)] for g in groups]
    bounds = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    voxels = np.concatenate(groups).astype(np.int32) if groups else np.zeros((0, 3), np.int32)
    return voxels, bounds
