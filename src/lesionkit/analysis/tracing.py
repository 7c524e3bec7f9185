"""Tracing helpers from the ATLAS papers: merge per-lesion masks, smooth a tracing, white-matter correction.

* **Merge**: ATLAS R1.1 traced each lesion in its own file; v2.0 merged them into one mask (logical OR).
* **Smooth** (R1.1): the traced mask is blurred with a Gaussian of FWHM 2 mm and thresholded at 0.5.
  The kernel is in mm, so on anisotropic voxels the per-axis sigma is
  ``FWHM / (2·sqrt(2·ln 2)) / voxel_size_axis``.
* **White-matter intensity correction** (SRQL / PALS): tracers overshoot into normal white matter, whose
  intensity is known. The subject's white-matter intensity is estimated on the T1w in template white
  matter (probability ≥ ``wm_probability``, default 0.9) at least ``margin_mm`` (default 3 mm) from the
  lesion: centre = median, spread = 1.4826 · MAD (a robust sd). Lesion voxels whose intensity lies within
  ``centre ± k·spread`` (default k = 2) look like white matter and are removed. Chronic lesions are
  hypointense on T1w (a CSF-like core, a gliotic rim between CSF and WM), so true lesion voxels lie
  below the band. The band is returned so it can be reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from nibabel.affines import voxel_sizes
from scipy import ndimage as ndi

__all__ = ["SMOOTH_THRESHOLD", "WhiteMatterBand", "merge_masks", "smooth_mask", "white_matter_correction"]

#: R1.1 kept a voxel of the smoothed tracing when at least half of it was lesion.
SMOOTH_THRESHOLD = 0.5

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def merge_masks(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Merge per-lesion masks of one shape into one uint8 0/1 mask (logical OR)."""
    if not masks:
        raise ValueError("no masks to merge")
    merged = np.zeros(np.shape(masks[0]), dtype=bool)
    for index, mask in enumerate(masks):
        if np.shape(mask) != merged.shape:
            raise ValueError(f"mask {index} has shape {np.shape(mask)}, the first has {merged.shape}")
        merged |= np.asarray(mask).astype(bool)
    return merged.astype(np.uint8)


def smooth_mask(mask: np.ndarray, affine: np.ndarray, fwhm_mm: float = 2.0, threshold: float = SMOOTH_THRESHOLD
                ) -> np.ndarray:
    """Smooth a traced mask as ATLAS R1.1 did: Gaussian of ``fwhm_mm`` (in mm), then ``>= threshold``; uint8."""
    sigma = fwhm_mm * _FWHM_TO_SIGMA / voxel_sizes(affine)
    blurred = ndi.gaussian_filter(np.asarray(mask, dtype=np.float32), sigma=sigma, mode="constant")
    return (blurred >= threshold).astype(np.uint8)


@dataclass(frozen=True)
class WhiteMatterBand:
    """The intensity band taken as normal white matter, and what was removed."""

    centre: float
    spread: float
    low: float
    high: float
    n_reference: int
    """Voxels the white-matter estimate used."""
    n_removed: int


def white_matter_correction(
    t1: np.ndarray,
    mask: np.ndarray,
    wm_probability: np.ndarray,
    affine: np.ndarray,
    k: float = 2.0,
    wm_threshold: float = 0.9,
    margin_mm: float = 3.0,
) -> tuple[np.ndarray, WhiteMatterBand]:
    """Remove lesion voxels whose T1w intensity lies in the white-matter band (see the module docstring).

    ``wm_probability`` is the template white-matter map on the same grid. Returns the corrected
    uint8 mask and the band. Raises ``ValueError`` if fewer than 100 reference voxels are left.
    """
    t1 = np.asarray(t1, dtype=np.float32)
    lesion = np.asarray(mask).astype(bool)
    if not (t1.shape == lesion.shape == np.shape(wm_probability)):
        raise ValueError(f"shapes differ: t1 {t1.shape}, mask {lesion.shape}, wm {np.shape(wm_probability)}")
    far = ndi.distance_transform_edt(~lesion, sampling=voxel_sizes(affine)) > margin_mm if lesion.any() else True
    reference = t1[(np.asarray(wm_probability) >= wm_threshold) & far]
    if reference.size < 100:
        raise ValueError(f"only {reference.size} white-matter voxels to estimate the band from")
    centre = float(np.median(reference))
    spread = float(1.4826 * np.median(np.abs(reference - centre)))
    low, high = centre - k * spread, centre + k * spread
    inside = lesion & (t1 >= low) & (t1 <= high)
    corrected = (lesion & ~inside).astype(np.uint8)
    return corrected, WhiteMatterBand(centre, spread, low, high, int(reference.size), int(inside.sum()))
