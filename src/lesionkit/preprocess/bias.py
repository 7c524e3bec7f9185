"""N4 intensity non-uniformity correction (Tustison et al. 2010) through ANTsPy.

ATLAS corrected non-uniformity before registration (seed 001, "Normalization to a Standard Template",
with MINC's N3). N4 fits a smooth B-spline field on a shrunk copy of the image; ANTs then evaluates
the field at full resolution, so a shrink factor of 4 (about 64× fewer voxels) changes the field very
little and is several times faster than the default schedule (shrink 6 by default: the field is
smooth over ~200 mm, far coarser than 6 mm).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import nibabel as nib
import numpy as np

from lesionkit.preprocess.ants_bridge import nib_to_ants

__all__ = ["N4Settings", "n4_bias_field"]


@dataclass(frozen=True)
class N4Settings:
    """Parameters of :func:`n4_bias_field` (recorded in the JSON sidecar)."""

    shrink_factor: int = 6
    iterations: tuple[int, ...] = (50, 50, 30)
    tolerance: float = 1e-6
    spline_distance_mm: float = 200.0

    def as_dict(self) -> dict:
        return asdict(self)


def _head_mask(data: np.ndarray) -> np.ndarray:
    """Voxels above a fraction of a robust maximum: the head, without the air whose noise N4 should ignore."""
    positive = data[data > 0]
    if positive.size == 0:
        return np.ones(data.shape, dtype=bool)
    return data > 0.1 * float(np.percentile(positive, 99))


def n4_bias_field(
    t1w: nib.Nifti1Image, mask: np.ndarray | None = None, settings: N4Settings | None = None
) -> tuple[nib.Nifti1Image, nib.Nifti1Image]:
    """Return (corrected image, multiplicative bias field), both float32 on ``t1w``'s grid.

    ``mask`` (bool, same grid) restricts the fit; by default a simple intensity threshold of the head.
    """
    import ants

    settings = settings or N4Settings()
    data = np.asarray(t1w.dataobj, dtype=np.float32)
    if mask is None:
        mask = _head_mask(data)
    # N4 works on log intensities: keep the input strictly positive inside the fit.
    floor = max(float(np.percentile(data[mask], 1)), 1e-3) if mask.any() else 1.0
    image = nib_to_ants(t1w, np.maximum(data, floor * 1e-2))
    field = ants.n4_bias_field_correction(
        image,
        mask=nib_to_ants(t1w, mask.astype(np.float32)),
        shrink_factor=settings.shrink_factor,
        convergence={"iters": list(settings.iterations), "tol": settings.tolerance},
        spline_param=settings.spline_distance_mm,
        return_bias_field=True,
    ).numpy().astype(np.float32)
    field = np.where(field > 1e-6, field, 1.0).astype(np.float32)
    # Normalise the field to mean 1 inside the mask so the corrected image keeps its scale.
    field /= float(field[mask].mean()) if mask.any() else 1.0
    corrected = (data / field).astype(np.float32)
    return nib.Nifti1Image(corrected, t1w.affine), nib.Nifti1Image(field, t1w.affine)
