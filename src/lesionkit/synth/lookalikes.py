"""Hypointensities that are NOT stroke lesions and must stay unlabelled (the model must learn to ignore them).

* periventricular white-matter hypointensities: mild, smooth caps around the frontal and occipital horns;
* perivascular spaces: tiny elongated CSF-dark dots, mostly vertical, in the basal ganglia and the
  centrum semiovale;
* enlarged sulci (cortical atrophy): cortical grey matter next to sulcal CSF turned CSF-like in patches.

Each function edits the image in place, stays out of ``keep_out`` (lesions plus a margin), and
returns a boolean map of what it changed, so tests can check look-alikes exist outside the mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from lesionkit.synth.anatomy import Tissue
from lesionkit.synth.fields import smooth_noise

__all__ = ["add_enlarged_sulci", "add_periventricular_caps", "add_perivascular_spaces"]


def add_periventricular_caps(
    rng: np.random.Generator, image: np.ndarray, periventricular: np.ndarray, keep_out: np.ndarray
) -> np.ndarray:
    """Darken white matter near the ventricles, most at the frontal/occipital horn tips.

    ``periventricular`` is the head model's 0..1 weight map (warped to the subject); the subject draws
    how strong its caps are (mild: at most an 18 % darkening, far from a lesion's CSF-like core).
    """
    weight = periventricular * np.float32(rng.uniform(0.06, 0.18))
    weight[keep_out] = 0.0
    image *= 1.0 - weight
    return weight > 0.01  # darkened by more than 1 %


def add_perivascular_spaces(
    rng: np.random.Generator,
    image: np.ndarray,
    tissue: np.ndarray,
    keep_out: np.ndarray,
    resolution: float,
    csf_level: float,
    count: int | None = None,
) -> np.ndarray:
    """Draw short, thin, mostly vertical CSF-dark segments in deep grey matter and white matter."""
    changed = np.zeros(image.shape, dtype=bool)
    deep = np.flatnonzero((tissue == Tissue.DEEP_GM) & ~keep_out)
    white = np.flatnonzero((tissue == Tissue.WM) & ~keep_out)
    if deep.size == 0 or white.size == 0:
        return changed
    count = int(rng.poisson(70)) if count is None else count
    # half in the basal ganglia (where they cluster), half in the centrum semiovale
    starts = np.concatenate([rng.choice(deep, size=count // 2), rng.choice(white, size=count - count // 2)])
    fraction = np.zeros(image.shape, dtype=np.float32)
    for start in starts:
        centre = np.array(np.unravel_index(int(start), image.shape), dtype=np.float32)
        direction = np.array([rng.normal(0, 0.25), rng.normal(0, 0.25), 1.0], dtype=np.float32)
        direction /= np.linalg.norm(direction)
        length = rng.uniform(3.0, 9.0) / resolution
        # a PVS is ~1 mm wide: at coarser voxels it only darkens part of each voxel
        depth = rng.uniform(0.55, 0.8) / resolution**2
        for t in np.arange(-length / 2, length / 2 + 0.01, 0.5):
            idx = tuple(np.clip(np.rint(centre + t * direction).astype(int), 0, np.array(image.shape) - 1))
            fraction[idx] = max(fraction[idx], depth)
    fraction[keep_out | ~((tissue == Tissue.DEEP_GM) | (tissue == Tissue.WM))] = 0
    hit = fraction > 0
    image[hit] = (1 - fraction[hit]) * image[hit] + fraction[hit] * csf_level
    changed |= hit
    return changed


def add_enlarged_sulci(
    rng: np.random.Generator,
    image: np.ndarray,
    tissue: np.ndarray,
    keep_out: np.ndarray,
    resolution: float,
    csf_level: float,
) -> np.ndarray:
    """Cortical atrophy: in random patches, cortex bordering sulcal CSF becomes CSF-like (widened sulci)."""
    csf = tissue == Tissue.CSF
    border = (tissue == Tissue.CORTEX) & ndi.binary_dilation(csf) & ~keep_out
    patches = smooth_noise(rng, image.shape, 30.0 / resolution)
    atrophy = rng.uniform(0.0, 1.0)
    hit = border & (patches > 1.2 - atrophy)
    amount = np.float32(rng.uniform(0.5, 0.85))
    image[hit] = (1 - amount) * image[hit] + amount * csf_level
    return hit
