"""Turning arrays into binary masks and finding where they are, without full-volume copies.

Lesions fill a tiny part of a 197×233×189 grid, so every metric works on the smallest box that
holds both masks. Finding that box costs one vectorised max-projection per mask; for bool and
unsigned-integer masks (what :func:`lesionkit.io.load_mask` returns) nothing else touches the
full volume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lesionkit.io.errors import InvalidInputError

__all__ = ["Box", "as_mask", "bounding_box", "check_spacing", "union_box"]

#: One ``(start, stop)`` pair per axis, stop exclusive.
Box = tuple[tuple[int, int], ...]


def as_mask(array: np.ndarray, threshold: float = 0.5, name: str = "mask") -> np.ndarray:
    """Return ``array`` in a form where non-zero means lesion, refusing NaN/inf.

    * bool and unsigned integers are returned as they are (non-zero = lesion; no copy);
    * signed integers: non-zero = lesion;
    * floats (probabilities): ``value > threshold`` = lesion, so an exact 0.5 is background, as the
      arg-max of a two-class softmax decides ties; NaN or inf is refused.
    """
    array = np.asanyarray(array)
    if array.ndim == 0:
        raise InvalidInputError(None, f"{name}: expected an array, got a scalar")
    kind = array.dtype.kind
    if kind in "bu":
        return array
    if kind == "i":
        return array != 0
    if kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            raise InvalidInputError(None, f"{name}: contains {bad} NaN or infinite value(s)")
        return array > threshold
    raise InvalidInputError(None, f"{name}: unsupported dtype {array.dtype} (expected bool, integer or float)")


def check_spacing(spacing: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    """Voxel size in mm per axis; a single number means isotropic. Must be positive and finite."""
    values = (float(spacing),) * ndim if np.isscalar(spacing) else tuple(float(s) for s in spacing)  # type: ignore[arg-type]
    if len(values) != ndim:
        raise InvalidInputError(None, f"spacing {values} has {len(values)} values for {ndim}-D masks")
    if not all(np.isfinite(s) and s > 0 for s in values):
        raise InvalidInputError(None, f"spacing {values} must be positive and finite")
    return values


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


def bounding_box(mask: np.ndarray) -> Box | None:
    """Tight box around the non-zero voxels of ``mask`` (any dtype), or None if it has none."""
    mask = np.asanyarray(mask)
    if mask.dtype == bool or mask.dtype.kind == "i" and mask.itemsize == 1:
        mask = mask.view(np.uint8)  # max() over unsigned bytes is SIMD-fast and sees any non-zero
    elif mask.dtype.kind != "u":
        mask = mask != 0  # signed or float: max() would miss negative values
        mask = mask.view(np.uint8)
    extent = _axis0_extent(mask)
    if extent is None:
        return None
    lo, hi = extent
    box = [(lo, hi)]
    if mask.ndim > 1:
        slab = mask[lo:hi].max(axis=0)  # collapse the slab along axis 0 once, then project the rest
        for axis in range(slab.ndim):
            others = tuple(a for a in range(slab.ndim) if a != axis)
            idx = np.flatnonzero(slab.max(axis=others) if others else slab)
            box.append((int(idx[0]), int(idx[-1]) + 1))
    return tuple(box)


def union_box(a: Box | None, b: Box | None) -> Box | None:
    """Smallest box holding both boxes (None stands for an empty mask)."""
    if a is None or b is None:
        return a if b is None else b
    return tuple((min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b, strict=True))
