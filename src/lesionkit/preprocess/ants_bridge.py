"""Conversions between nibabel (RAS+ world) and ANTs/ITK (LPS+ world) images and affine transforms.

ITK stores a grid as origin, spacing and an orthonormal direction matrix in LPS+ physical space;
NIfTI affines are RAS+. Flipping the first two world axes (``LPS = diag(-1, -1, 1) · RAS``) converts
between them. An ITK affine transform used to resample a moving image onto a fixed grid maps fixed
points to moving points, i.e. the *inverse* of the moving→fixed point map; helpers here hide that.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from nibabel.affines import voxel_sizes

__all__ = ["LPS", "ants_to_nib", "matrix_from_ants_transform", "nib_to_ants", "ants_transform_from_matrix"]

#: Flips RAS+ world coordinates to LPS+ (its own inverse).
LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def nib_to_ants(img: nib.spatialimages.SpatialImage, data: np.ndarray | None = None):
    """ANTs image with ``img``'s (or ``data``'s) voxels and geometry; a sheared affine is orthogonalised.

    ``ants.from_nibabel`` refuses shears above a tiny threshold; a scanner affine with a sliver of shear
    is better approximated by its nearest rotation (polar decomposition) than rejected.
    """
    import ants

    affine = LPS @ np.asarray(img.affine, dtype=float)
    linear = affine[:3, :3]
    spacing = voxel_sizes(affine)
    direction = linear / spacing
    u, _, vt = np.linalg.svd(direction)
    direction = u @ vt
    array = np.asarray(img.dataobj if data is None else data, dtype=np.float32)
    return ants.from_numpy(
        array, origin=affine[:3, 3].tolist(), spacing=spacing.tolist(), direction=direction
    )


def ants_to_nib(image) -> nib.Nifti1Image:
    """nibabel image (RAS+ affine) with an ANTs image's voxels and geometry."""
    linear = np.asarray(image.direction, dtype=float) * np.asarray(image.spacing, dtype=float)
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = image.origin
    return nib.Nifti1Image(image.numpy().astype(np.float32), LPS @ affine)


def _lps_matrix(transform) -> np.ndarray:
    """4×4 matrix of an ITK affine transform (LPS, fixed→moving points): y = M (x − c) + t + c."""
    params = np.asarray(transform.parameters, dtype=float)
    center = np.asarray(transform.fixed_parameters, dtype=float)
    linear = params[:9].reshape(3, 3)
    translation = params[9:12]
    out = np.eye(4)
    out[:3, :3] = linear
    out[:3, 3] = translation + center - linear @ center
    return out


def matrix_from_ants_transform(transform) -> np.ndarray:
    """The RAS+ world point map moving → fixed of an ANTs transform fitted with ``ants.registration``.

    ANTs' forward transform resamples the moving image onto the fixed grid, so it maps fixed points to
    moving points; the point map moving → fixed, the one lesionkit stores, is its inverse.
    """
    if isinstance(transform, str):
        import ants

        transform = ants.read_transform(transform)
    return np.linalg.inv(LPS @ _lps_matrix(transform) @ LPS)


def ants_transform_from_matrix(matrix: np.ndarray):
    """ANTs ``AffineTransform`` that resamples moving onto fixed for a RAS+ point map moving → fixed."""
    import ants

    lps = LPS @ np.linalg.inv(np.asarray(matrix, dtype=float)) @ LPS
    return ants.create_ants_transform(
        transform_type="AffineTransform", precision="double", dimension=3,
        matrix=lps[:3, :3], translation=lps[:3, 3].tolist(), center=[0.0, 0.0, 0.0],
    )
