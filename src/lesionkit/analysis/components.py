"""The volume of one voxel, in which lesion sizes are counted.

Lesions themselves are the toolkit's one labelling, :func:`lesionkit.core.label_lesions` (6-connected
components, ATLAS R2.0), re-exported by :mod:`lesionkit.analysis`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["voxel_volume"]


def voxel_volume(affine: np.ndarray) -> float:
    """Volume of one voxel in mm³: ``|det|`` of the affine's 3×3 part (oblique grids included).

    An axis-aligned grid (the ATLAS grid) takes the product of its diagonal: LU-based ``det`` of
    ``diag(2, 2, 2)`` is 7.999999999999998, which would make volumes miss voxel count × 8 mm³.
    """
    matrix = np.asarray(affine, dtype=float)[:3, :3]
    if np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0:
        return float(abs(np.prod(np.diag(matrix))))
    return float(abs(np.linalg.det(matrix)))
