"""Loading a native T1w scan and bringing its array into RAS order, losslessly.

Scanner exports differ in storage order (LPS, LAS, sagittal stacks), may carry oblique affines and
thick slices (0.9×0.9×3 mm in two ATLAS R1.1 cohorts) and sometimes a singleton 4th axis. Everything
downstream works in world (mm) coordinates, so only the array order changes here: axes are permuted
and flipped to the closest RAS order and the affine keeps any obliquity. No voxel is interpolated.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from lesionkit.io import InvalidInputError, ensure_3d, load_image, load_mask
from lesionkit.typing import PathLike

__all__ = ["as_image", "as_mask", "reorient_to_ras"]


def _squeeze(img: nib.Nifti1Image, name: str | None) -> nib.Nifti1Image:
    out = ensure_3d(img, name)
    out = nib.Nifti1Image(np.asanyarray(out.dataobj), out.affine)
    if name:
        out.set_filename(name)
    return out


def as_image(img: nib.spatialimages.SpatialImage | PathLike) -> nib.Nifti1Image:
    """A validated float32 3-D image from a path (via :func:`lesionkit.io.load_image`) or an in-memory image."""
    if not isinstance(img, nib.spatialimages.SpatialImage):
        return load_image(img)
    name = img.get_filename()
    img = _squeeze(img, name)
    data = np.asarray(img.dataobj, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        raise InvalidInputError(name or "<in-memory image>", "contains NaN or infinite voxel(s)")
    out = nib.Nifti1Image(data, img.affine)
    if name:
        out.set_filename(name)
    return out


def as_mask(
    mask: nib.spatialimages.SpatialImage | PathLike, reference: nib.Nifti1Image | None = None
) -> nib.Nifti1Image:
    """A validated uint8 0/1 mask on ``reference``'s grid (same shape and affine), from a path or an image."""
    from lesionkit.io import binarize_mask, check_same_grid

    if not isinstance(mask, nib.spatialimages.SpatialImage):
        return load_mask(mask, reference)
    name = mask.get_filename()
    mask = _squeeze(mask, name)
    out = nib.Nifti1Image(binarize_mask(np.asanyarray(mask.dataobj), name), mask.affine)
    if name:
        out.set_filename(name)
    if reference is not None:
        check_same_grid(reference, out)
    return out


def reorient_to_ras(img: nib.Nifti1Image) -> nib.Nifti1Image:
    """Permute and flip the array to the closest RAS+ order (no interpolation; obliquity stays in the affine)."""
    out = nib.as_closest_canonical(img)
    if img.get_filename():
        out.set_filename(img.get_filename())
    return out
