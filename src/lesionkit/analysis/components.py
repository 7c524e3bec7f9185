"""Lesions as connected components of a mask.

One definition for the whole toolkit (ATLAS R2.0, see :mod:`lesionkit.metrics.lesions`): a lesion is a
6-connected component (face neighbours only), so lesions "non-contiguous with any other lesion" (ATLAS
v2.0 metadata) are separate. Labelling uses ``cc3d`` like the metrics; the tests check it against
``scipy.ndimage.label``. A minimum size (mm³) drops specks below it, as tracers ignore them.
"""

from __future__ import annotations

import cc3d
import numpy as np

__all__ = ["bounding_box", "label_lesions", "voxel_volume"]


def voxel_volume(affine: np.ndarray) -> float:
    """Volume of one voxel in mm³: ``|det|`` of the affine's 3×3 part (oblique grids included).

    An axis-aligned grid (the ATLAS grid) takes the product of its diagonal: LU-based ``det`` of
    ``diag(2, 2, 2)`` is 7.999999999999998, which would make volumes miss voxel count × 8 mm³.
    """
    matrix = np.asarray(affine, dtype=float)[:3, :3]
    if np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0:
        return float(abs(np.prod(np.diag(matrix))))
    return float(abs(np.linalg.det(matrix)))


def bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding every non-zero voxel of ``mask`` (None if there is none).

    Lesions fill a small part of a 1 mm grid: labelling, counting and relabelling only inside this
    box made :func:`label_lesions` about 12× faster on synthetic ATLAS masks (0.21 → 0.018 s per
    1 mm mask, ``benchmarks/analyze_speed.py``).
    """
    box = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hits.size == 0:
            return None
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def label_lesions(mask: np.ndarray, voxel_mm3: float = 1.0, min_size_mm3: float = 0.0) -> tuple[np.ndarray, int]:
    """Label the 6-connected lesions of a binary 3-D mask, numbered 1..n by decreasing size.

    Components smaller than ``min_size_mm3`` (voxel count × ``voxel_mm3``) are removed before
    numbering. Returns ``(labels, n)``; ``labels`` is uint32 of the mask's shape, 0 = background.
    Ties in size keep cc3d's raster order, so the numbering is deterministic.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"expected a 3-D mask, got shape {mask.shape}")
    out = np.zeros(mask.shape, dtype=np.uint32)
    box = bounding_box(mask)
    if box is None:
        return out, 0
    labels, count = cc3d.connected_components(mask[box].astype(bool, copy=False), connectivity=6, return_N=True)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    keep = sizes * voxel_mm3 >= min_size_mm3
    order = np.argsort(-sizes, kind="stable")  # largest first
    order = order[keep[order]]
    lut = np.zeros(count + 1, dtype=np.uint32)
    lut[order + 1] = np.arange(1, order.size + 1, dtype=np.uint32)
    out[box] = lut[labels]
    return out, int(order.size)
