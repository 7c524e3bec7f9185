"""Lesions as connected components of a mask: the toolkit's one labelling.

A lesion is a connected component under **face connectivity**: 6 neighbours in 3-D (4 in 2-D, 2 in 1-D),
the definition of the official ATLAS R2.0 evaluation, so two voxels that touch only at an edge or a
corner are two lesions (and lesions "non-contiguous with any other lesion", as the ATLAS v2.0 metadata
counts them, are separate). It is also the default structure of scipy's labelling, which the tests
check against. Labelling uses ``cc3d`` (connected-components-3d, the labeller of the ISLES'22 evaluation,
about 7× faster than scipy's). Components are numbered in C raster order of their first voxel, as scipy
numbers them, whatever the array's memory layout (nibabel hands out Fortran-ordered arrays).
"""

from __future__ import annotations

import cc3d
import numpy as np

from lesionkit.core.boxes import bounding_box

__all__ = ["label_components", "label_lesions", "largest_component", "remove_small_lesions"]

_FACE_CONNECTIVITY = {2: 4, 3: 6}  # cc3d's names for face neighbours in 2-D and 3-D


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Face-connected components of the non-zero voxels of a 1-, 2- or 3-D ``mask``.

    Returns ``(labels, n)``: unsigned labels of the mask's shape, 0 = background, 1..n in raster order.
    """
    mask = np.asanyarray(mask)
    if mask.ndim not in (1, 2, 3):
        raise ValueError(f"expected a 1-, 2- or 3-D mask, got shape {mask.shape}")
    if mask.size == 0:
        return np.zeros(mask.shape, np.uint32), 0
    data = np.ascontiguousarray(mask, dtype=bool)  # C order: cc3d numbers in memory order
    if data.ndim == 1:  # cc3d wants 2-D or 3-D: a column has the same components
        data = data[:, None]
    labels, count = cc3d.connected_components(data, connectivity=_FACE_CONNECTIVITY[data.ndim], return_N=True)
    return labels.reshape(mask.shape), int(count)


def label_lesions(mask: np.ndarray, voxel_mm3: float = 1.0, min_size_mm3: float = 0.0) -> tuple[np.ndarray, int]:
    """Label the lesions of a binary 3-D mask, numbered 1..n by decreasing size.

    Components smaller than ``min_size_mm3`` (voxel count × ``voxel_mm3``) are removed before
    numbering. Returns ``(labels, n)``; ``labels`` is uint32 of the mask's shape, 0 = background.
    Ties in size keep raster order, so the numbering is deterministic. Only the mask's bounding box is
    labelled: about 12× faster than the whole grid on synthetic ATLAS masks (0.21 → 0.018 s per 1 mm
    mask, ``benchmarks/analyze_speed.py``).
    """
    mask = np.asanyarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"expected a 3-D mask, got shape {mask.shape}")
    out = np.zeros(mask.shape, dtype=np.uint32)
    box = bounding_box(mask)
    if box is None:
        return out, 0
    labels, count = label_components(mask[box])
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    # relative slack: a size limit given as n voxels × voxel_mm3 must keep n-voxel lesions despite rounding
    keep = sizes * voxel_mm3 >= min_size_mm3 * (1 - 1e-9)
    order = np.argsort(-sizes, kind="stable")  # largest first
    order = order[keep[order]]
    lut = np.zeros(count + 1, dtype=np.uint32)
    lut[order + 1] = np.arange(1, order.size + 1, dtype=np.uint32)
    out[box] = lut[labels]
    return out, int(order.size)


def remove_small_lesions(mask: np.ndarray, min_size_mm3: float, voxel_mm3: float = 1.0) -> np.ndarray:
    """Boolean ``mask`` without the lesions smaller than ``min_size_mm3`` (rule of :func:`label_lesions`)."""
    mask = np.asanyarray(mask)
    if min_size_mm3 <= voxel_mm3:  # every lesion has at least one voxel: nothing to remove
        return mask != 0
    return label_lesions(mask, voxel_mm3, min_size_mm3)[0] > 0


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Boolean mask of the largest face-connected component (the first in raster order among equals);
    all False for an empty mask."""
    labels, count = label_components(mask)
    if count <= 1:
        return labels > 0
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return labels == int(np.argmax(sizes)) + 1
