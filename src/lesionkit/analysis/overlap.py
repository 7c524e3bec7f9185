"""Probabilistic lesion overlap map (ATLAS v2.0 Figure 4): how many subjects have a lesion in each voxel.

The masks are read one at a time and added into a single count volume, so memory stays at two
volumes whatever the cohort size (1,000 ATLAS masks at 1 mm would be 8.7 GB if stacked).
``share = count / N`` is the map the ATLAS papers show; it sums to the mean lesion volume in voxels,
``share.sum() · voxel volume = Σ lesion volumes / N`` (mm³).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import nibabel as nib
import numpy as np

from lesionkit.io import Case, InvalidInputError, binarize_mask, check_same_grid, load_case_mask, load_mask
from lesionkit.typing import PathLike

__all__ = ["overlap_maps"]

MaskSource = nib.Nifti1Image | Case | PathLike


def _load(source: MaskSource) -> nib.Nifti1Image:
    if isinstance(source, Case):
        return load_case_mask(source)  # merges R1.1's one-file-per-lesion masks
    if isinstance(source, nib.spatialimages.SpatialImage):
        name = source.get_filename() or "<in-memory mask>"
        img = nib.Nifti1Image(binarize_mask(np.asanyarray(source.dataobj), name), source.affine)
        img.set_filename(name)  # so a grid mismatch names it
        return img
    return load_mask(source)


def overlap_maps(
    masks: Iterable[MaskSource], progress: Callable[[int], None] | None = None
) -> tuple[nib.Nifti1Image, nib.Nifti1Image]:
    """Count and share maps of binary lesion masks on one grid.

    Parameters
    ----------
    masks:
        Mask files, :class:`~lesionkit.io.Case` objects or in-memory images, each binary (0/1, or 0/255;
        :func:`~lesionkit.io.binarize_mask`). Any iterable; it is consumed once, one mask in memory at a time.
    progress:
        Called with the number of masks read so far after each mask (e.g. to advance a progress bar).

    Returns
    -------
    ``(count, share)`` on the first mask's grid: ``count`` (uint16) is the number of subjects with a lesion
    in each voxel, ``share`` (float32) is ``count / N``.

    Raises :class:`~lesionkit.io.InvalidInputError` naming the file for a mask on another grid, a
    non-binary or unreadable file, and for an empty input.
    """
    count: np.ndarray | None = None
    first: nib.Nifti1Image | None = None
    n = 0
    for source in masks:
        img = _load(source)
        data = np.asanyarray(img.dataobj)
        if first is None:
            first = img
            count = np.zeros(img.shape[:3], dtype=np.uint16)
        else:
            check_same_grid(first, img)
        if n == np.iinfo(np.uint16).max:
            raise InvalidInputError(img.get_filename(), "more than 65,535 masks do not fit a uint16 count map")
        count += data.reshape(count.shape) != 0
        n += 1
        if progress is not None:
            progress(n)
    if first is None or count is None:
        raise InvalidInputError(None, "no lesion masks given to the overlap map")
    header = nib.Nifti1Header()
    header.set_xyzt_units("mm")
    count_img = nib.Nifti1Image(count, first.affine, header.copy())
    count_img.header.set_data_dtype(np.uint16)
    share_img = nib.Nifti1Image((count / np.float32(n)).astype(np.float32), first.affine, header.copy())
    share_img.header.set_data_dtype(np.float32)
    share_img.header["descrip"] = f"lesion share of {n} subjects"[:80].encode()
    count_img.header["descrip"] = f"lesion count of {n} subjects"[:80].encode()
    return count_img, share_img

