"""Defacing: the face is defined once in template space and mapped back to each scan.

The face region of MNI152NLin2009aSym is everything anterior-inferior to a plane through the nasion
region — points with ``z < z0 + slope · (y − y0)`` in MNI mm — that lies more than ``margin_mm`` outside
the brain. The plane passes below the orbitofrontal cortex and above the eyes and nose, so eyes, nose,
mouth and chin go, brain, ears and the back of the head stay. The same region is zeroed in MNI space
and, mapped through the inverse registration, in native space.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE
from lesionkit.preprocess.brain_mask import template_brain_mask
from lesionkit.preprocess.resample import to_native

__all__ = ["FacePlane", "deface", "face_mask_native", "template_face_mask"]


@dataclass(frozen=True)
class FacePlane:
    """The defacing plane ``z = z0 + slope · (y − y0)`` (MNI mm) and the brain margin it never crosses."""

    y0: float = 0.0
    z0: float = -62.0
    slope: float = 0.85
    margin_mm: int = 6

    def as_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=2)
def _template_face(plane: FacePlane) -> np.ndarray:
    _, y, z = (np.indices(ATLAS_SHAPE, dtype=np.float32).reshape(3, -1).T @ ATLAS_AFFINE[:3, :3].T
               + ATLAS_AFFINE[:3, 3]).T.reshape(3, *ATLAS_SHAPE)
    below = z < plane.z0 + plane.slope * (y - plane.y0)
    # Distances to the brain are only needed below the plane: crop to that box (plus the margin) for speed.
    box = tuple(slice(max(int(i.min()) - plane.margin_mm - 1, 0), int(i.max()) + plane.margin_mm + 2)
                for i in np.nonzero(below))
    near_brain = np.zeros(ATLAS_SHAPE, dtype=bool)
    outside = ~np.asarray(template_brain_mask().dataobj, dtype=bool)[box]
    near_brain[box] = ndimage.distance_transform_edt(outside) <= plane.margin_mm
    face = (below & ~near_brain).astype(np.uint8)
    face.setflags(write=False)
    return face


def template_face_mask(plane: FacePlane | None = None) -> nib.Nifti1Image:
    """uint8 mask of the face region on the ATLAS grid (cached, read-only)."""
    return nib.Nifti1Image(_template_face(plane or FacePlane()), ATLAS_AFFINE)


def face_mask_native(
    transform: np.ndarray, reference: nib.spatialimages.SpatialImage, plane: FacePlane | None = None
) -> np.ndarray:
    """Bool face mask on ``reference``'s native grid (any voxel the face region touches: ≥ 0.01 after linear)."""
    interpolated = to_native(template_face_mask(plane), transform, reference, order=1)
    return np.asarray(interpolated.dataobj) >= 0.01


def deface(img: nib.spatialimages.SpatialImage, face: np.ndarray) -> nib.Nifti1Image:
    """A copy of ``img`` with the ``face`` voxels set to 0."""
    data = np.array(img.dataobj, copy=True)
    data[face] = 0
    return nib.Nifti1Image(data, img.affine)
