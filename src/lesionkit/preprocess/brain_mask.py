"""Template-based brain mask: the MNI template's brain, mapped back through the inverse registration.

No skull-stripping model is needed (nothing to download): the brain of MNI152NLin2009aSym is defined
from its own GM and WM probability maps — GM + WM ≥ 0.3, holes filled so ventricles belong to it, a
3 mm closing to take in sulcal CSF — and mapped onto the native grid with the inverse affine. After an
affine registration it misses little brain, and a lesion's CSF-filled cavity is inside it by construction.
"""

from __future__ import annotations

import functools

import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.io import ATLAS_AFFINE, load_template
from lesionkit.preprocess.resample import to_native

__all__ = ["brain_mask_native", "template_brain_mask"]


def _ball(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= radius**2


@functools.lru_cache(maxsize=1)
def _template_brain() -> np.ndarray:
    tissue = np.asarray(load_template("gm").dataobj) + np.asarray(load_template("wm").dataobj)
    brain = tissue >= 0.3
    brain = ndimage.binary_closing(brain, structure=_ball(3), iterations=1)
    brain = ndimage.binary_fill_holes(brain)
    labels, count = ndimage.label(brain)
    if count > 1:  # keep the brain, not stray specks
        sizes = ndimage.sum(brain, labels, range(1, count + 1))
        brain = labels == (int(np.argmax(sizes)) + 1)
    out = brain.astype(np.uint8)
    out.setflags(write=False)
    return out


def template_brain_mask() -> nib.Nifti1Image:
    """uint8 brain mask of MNI152NLin2009aSym on the ATLAS grid (cached, read-only)."""
    return nib.Nifti1Image(_template_brain(), ATLAS_AFFINE)


def brain_mask_native(transform: np.ndarray, reference: nib.spatialimages.SpatialImage) -> nib.Nifti1Image:
    """The template brain mask on ``reference``'s native grid (linear interpolation, then ≥ 0.5)."""
    prob = to_native(template_brain_mask(), transform, reference, order=1)
    mask = (np.asarray(prob.dataobj) >= 0.5).astype(np.uint8)
    return nib.Nifti1Image(mask, reference.affine)
