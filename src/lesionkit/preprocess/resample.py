"""Resampling between a native grid and the ATLAS MNI grid through a world-to-world affine.

``transform`` is always a 4×4 matrix mapping RAS+ world points (mm) of the native scan to RAS+ world
points of MNI152NLin2009aSym; its inverse maps back. Because it lives in world space it does not depend
on the storage order of either image, so a probability map predicted in MNI space lands on whatever
grid the user gave, oblique or not.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE

__all__ = ["resample_world", "to_mni", "to_native"]


def resample_world(
    img: nib.spatialimages.SpatialImage,
    transform: np.ndarray,
    shape: tuple[int, int, int],
    affine: np.ndarray,
    order: int = 1,
) -> nib.Nifti1Image:
    """Resample ``img`` onto the grid (``shape``, ``affine``), where ``transform`` maps img-world → grid-world.

    ``order`` 0 is nearest neighbour (labels keep their dtype), 1 trilinear; outside the source is 0.
    """
    transform = np.asarray(transform, dtype=float)
    # Output voxel → output world → source world → source voxel: the pull-back that ndimage expects.
    pull = np.linalg.inv(img.affine) @ np.linalg.inv(transform) @ np.asarray(affine, dtype=float)
    data = np.asanyarray(img.dataobj)
    is_label = order == 0
    src = data if is_label else data.astype(np.float32, copy=False)
    out = ndimage.affine_transform(
        src, pull[:3, :3], offset=pull[:3, 3], output_shape=tuple(shape), order=order, mode="constant", cval=0.0,
        output=data.dtype if is_label else np.float32,
    )
    return nib.Nifti1Image(out, np.asarray(affine, dtype=float))


def to_mni(img_native: nib.spatialimages.SpatialImage, transform: np.ndarray, order: int = 1) -> nib.Nifti1Image:
    """Resample a native image onto the exact ATLAS grid (197×233×189, 1 mm); ``order=0`` for masks."""
    return resample_world(img_native, transform, ATLAS_SHAPE, ATLAS_AFFINE, order=order)


def to_native(
    img_mni: nib.spatialimages.SpatialImage,
    transform: np.ndarray,
    reference: nib.spatialimages.SpatialImage,
    order: int = 1,
) -> nib.Nifti1Image:
    """Resample an MNI-space image onto ``reference``'s native grid with the inverse of ``transform``.

    For a lesion, map the probability map (``order=1``) and threshold on the native grid rather than
    mapping a binary mask by nearest neighbour: the result is smoother and aligns better with the scan.
    """
    return resample_world(img_mni, np.linalg.inv(transform), tuple(reference.shape[:3]), reference.affine, order=order)
