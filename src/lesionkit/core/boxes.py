"""Bounding boxes of masks, found without full-volume copies.

Lesions fill a tiny part of a 197×233×189 grid, so labelling, metrics and quantification all work on
the smallest box that holds the mask. Finding it costs one vectorised max-projection; for bool and
unsigned-integer masks (what :func:`lesionkit.io.load_mask` returns) nothing else touches the full
volume. A box is a tuple of slices, one per axis, so ``mask[box]`` is the crop.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Box", "bounding_box", "union_box"]

#: One ``slice(start, stop)`` per axis (step None), usable directly as an index.
Box = tuple[slice, ...]


def _axis0_extent(mask: np.ndarray) -> tuple[int, int] | None:
    """``(first, last + 1)`` index along axis 0 holding a non-zero voxel of an unsigned mask, or None."""
    n = mask.shape[0]
    if mask.itemsize == 1 and mask.flags.c_contiguous and mask.ndim > 1:
        # A bool view's argmax stops at the first non-zero byte: no full pass for the first index.
        flat = mask.view(bool).reshape(-1)
        first = int(flat.argmax())
        if not flat[first]:
            return None
        lo = first // (flat.size // n)
        stop = n
        while stop > lo:  # walk back from the end, a few planes at a time, to the last non-zero plane
            start = max(lo, stop - 8)
            chunk = mask[start:stop]
            if chunk.view(bool).reshape(-1).argmax() or chunk.flat[0]:
                planes = np.flatnonzero(chunk.reshape(stop - start, -1).max(axis=1))
                return lo, start + int(planes[-1]) + 1
            stop = start
        return lo, lo + 1  # unreachable: the first non-zero voxel lies in plane lo
    planes = np.flatnonzero(mask.reshape(n, -1).max(axis=1) if mask.ndim > 1 else mask)
    return (int(planes[0]), int(planes[-1]) + 1) if planes.size else None


def bounding_box(mask: np.ndarray, pad: int = 0) -> Box | None:
    """Box around the non-zero voxels of ``mask`` (any dtype), grown by ``pad`` voxels on every side within the
    array (0: tight), or None if it has none."""
    mask = np.asanyarray(mask)
    box = _tight_box(mask)
    if box is None or not pad:
        return box
    return tuple(slice(max(0, b.start - pad), min(n, b.stop + pad)) for b, n in zip(box, mask.shape, strict=True))


def _tight_box(mask: np.ndarray) -> Box | None:
    if mask.size == 0:
        return None
    if mask.ndim > 1 and mask.flags.f_contiguous and not mask.flags.c_contiguous:
        # nibabel's layout: the transpose is a C-ordered view, where the projections below need no copy
        box = _tight_box(mask.T)
        return None if box is None else box[::-1]
    if mask.dtype == bool or mask.dtype.kind == "i" and mask.itemsize == 1:
        mask = mask.view(np.uint8)  # max() over unsigned bytes is SIMD-fast and sees any non-zero
    elif mask.dtype.kind != "u":
        mask = (mask != 0).view(np.uint8)  # signed or float: max() would miss negative values
    extent = _axis0_extent(mask)
    if extent is None:
        return None
    lo, hi = extent
    box = [slice(lo, hi)]
    if mask.ndim > 1:
        slab = mask[lo:hi].max(axis=0)  # collapse the slab along axis 0 once, then project the rest
        for axis in range(slab.ndim):
            others = tuple(a for a in range(slab.ndim) if a != axis)
            idx = np.flatnonzero(slab.max(axis=others) if others else slab)
            box.append(slice(int(idx[0]), int(idx[-1]) + 1))
    return tuple(box)


def union_box(a: Box | None, b: Box | None) -> Box | None:
    """Smallest box holding both boxes (None stands for an empty mask)."""
    if a is None or b is None:
        return a if b is None else b
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b, strict=True))
