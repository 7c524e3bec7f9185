"""The lesions of a mask as the viewer lists them: size, and a point to jump to.

Lesions are :func:`lesionkit.core.label_lesions`'s (6-connected, largest first). The point to jump to is
the lesion voxel nearest its centroid (a crescent's centroid may lie outside it), given in voxels and in
world millimetres (the mask's affine), which niivue can go to whatever voxel order it displays in.
"""

from __future__ import annotations

import numpy as np

from lesionkit.core import label_lesions

__all__ = ["lesion_table"]


def lesion_table(mask: np.ndarray, affine: np.ndarray, limit: int = 200) -> list[dict]:
    """One dict per lesion, largest first (at most ``limit``): ``index``, ``voxels``, ``volume_mm3``,
    ``voxel`` (i, j, k of the jump point) and ``mm`` (its world coordinates)."""
    voxel_mm3 = float(abs(np.linalg.det(affine[:3, :3])))
    labels, count = label_lesions(np.asanyarray(mask) != 0, voxel_mm3)
    if count == 0:
        return []
    coords = np.stack(np.nonzero(labels), axis=1)
    lab = labels[tuple(coords.T)].astype(np.int64)
    sizes = np.bincount(lab, minlength=count + 1)[1:]
    centroids = np.stack([np.bincount(lab, weights=coords[:, a], minlength=count + 1)[1:] for a in range(3)], 1)
    centroids /= sizes[:, None]
    distance = ((coords - centroids[lab - 1]) ** 2).sum(axis=1)
    order = np.lexsort((distance, lab))  # by lesion, nearest voxel first
    first = order[np.unique(lab[order], return_index=True)[1]]
    rows = []
    for index in range(1, min(count, limit) + 1):
        voxel = coords[first[index - 1]]
        mm = affine[:3, :3] @ voxel + affine[:3, 3]
        rows.append({"index": index, "voxels": int(sizes[index - 1]),
                     "volume_mm3": round(float(sizes[index - 1]) * voxel_mm3, 1),
                     "voxel": [int(v) for v in voxel], "mm": [round(float(v), 2) for v in mm]})
    return rows
