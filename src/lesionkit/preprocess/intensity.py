"""Intensity standardisation: white-matter peak = 1.

After bias correction a T1w histogram inside the brain has its highest-intensity peak at white matter,
the largest and brightest tissue. Dividing by that peak puts every scanner's images on one scale
(WM ≈ 1, GM ≈ 0.6–0.8, CSF and chronic lesion cores ≈ 0.1–0.4, air 0), as ATLAS's MINC-based
standardisation did with a fixed range. The peak is the mode of a smoothed histogram of the brain
voxels above their median (which excludes CSF and most GM), robust to lesions and outliers.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.io import InvalidInputError

__all__ = ["standardize_wm_peak", "white_matter_peak"]


def white_matter_peak(data: np.ndarray, brain: np.ndarray, bins: int = 256) -> float:
    """Intensity of the white-matter histogram peak among ``brain`` voxels."""
    values = data[brain]
    values = values[np.isfinite(values)]
    if values.size < 100:
        raise InvalidInputError(None, f"brain mask holds only {values.size} voxels; cannot find the white-matter peak")
    upper = values[values >= np.median(values)]
    hi = float(np.percentile(upper, 99.5))
    lo = float(upper.min())
    if hi <= lo:
        return hi if hi > 0 else 1.0
    counts, edges = np.histogram(upper, bins=bins, range=(lo, hi))
    smooth = ndimage.gaussian_filter1d(counts.astype(float), sigma=bins / 64)
    peak = int(np.argmax(smooth))
    return float((edges[peak] + edges[peak + 1]) / 2)


def standardize_wm_peak(t1w: nib.Nifti1Image, brain: np.ndarray) -> tuple[nib.Nifti1Image, float]:
    """Scale ``t1w`` so its white-matter peak is 1 and clip negatives; returns (image, peak)."""
    data = np.asarray(t1w.dataobj, dtype=np.float32)
    peak = white_matter_peak(data, brain)
    if peak <= 0:
        raise InvalidInputError(t1w.get_filename(), "no positive intensities inside the brain")
    return nib.Nifti1Image(np.clip(data / peak, 0, None).astype(np.float32), t1w.affine), peak
