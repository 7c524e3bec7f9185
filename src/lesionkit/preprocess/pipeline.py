"""``preprocess_t1w``: native T1w → MNI152NLin2009aSym on the ATLAS grid, as ATLAS made its releases.

Steps (seed 001 "Normalization to a Standard Template"; seed 000 Figure 2): reorient to RAS → N4 bias
correction → affine registration to the template (whole-sphere rigid search, then affine) →
template brain mask mapped back → white-matter-peak intensity standardisation → defacing → resampling
onto the exact 197×233×189 grid, linear for the image and nearest neighbour for the lesion mask.
Each step is a function of its own module and can be called alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.affines import voxel_sizes

from lesionkit.io import InvalidInputError
from lesionkit.preprocess.bias import N4Settings, n4_bias_field
from lesionkit.preprocess.brain_mask import brain_mask_native, template_brain_mask
from lesionkit.preprocess.deface import FacePlane, face_mask_native, template_face_mask
from lesionkit.preprocess.deface import deface as zero_face
from lesionkit.preprocess.intensity import standardize_wm_peak
from lesionkit.preprocess.orient import as_image, as_mask, reorient_to_ras
from lesionkit.preprocess.register import RegistrationSettings, register_affine
from lesionkit.preprocess.resample import to_mni
from lesionkit.typing import PathLike

__all__ = ["STEP_NAMES", "PreprocessResult", "preprocess_t1w"]

#: The steps in order, as reported to ``progress`` and in ``PreprocessResult.steps``.
STEP_NAMES = ("reorient", "bias_correction", "registration", "brain_mask", "intensity", "deface", "resample")

#: ``progress(step_name, index, total)`` is called when a step starts (``index`` from 0).
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class PreprocessResult:
    """Everything :func:`preprocess_t1w` produced; MNI images lie on the exact ATLAS grid."""

    t1w_mni: nib.Nifti1Image
    """Bias-corrected, standardised (white-matter peak = 1), defaced T1w, float32."""
    mask_mni: nib.Nifti1Image | None
    """Lesion mask, uint8 0/1 by nearest neighbour, or None without an input mask."""
    brain_mask_mni: nib.Nifti1Image
    transform: np.ndarray
    """4×4 RAS world point map native → MNI (mm); ``np.linalg.inv`` maps back."""
    steps: list[dict[str, Any]]
    """One dict per step: ``name``, ``parameters``, ``seconds``."""
    t1w_native: nib.Nifti1Image
    """The corrected, standardised, defaced T1w on the (RAS-reordered) native grid."""
    bias_field: nib.Nifti1Image
    brain_mask_native: nib.Nifti1Image
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def inverse_transform(self) -> np.ndarray:
        """4×4 RAS world point map MNI → native."""
        return np.linalg.inv(self.transform)


class _StepLog:
    """Each step's parameters and seconds (the provenance's ``steps``), and ``progress`` told as each begins."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.steps: list[dict[str, Any]] = []
        self._progress = progress
        self._start = time.perf_counter()

    def begin(self, name: str) -> None:
        if self._progress is not None:
            self._progress(name, STEP_NAMES.index(name), len(STEP_NAMES))
        self._start = time.perf_counter()

    def done(self, name: str, **parameters: Any) -> None:
        seconds = round(time.perf_counter() - self._start, 3)
        self.steps.append({"name": name, "parameters": parameters, "seconds": seconds})


def _reorient(
    t1w: nib.spatialimages.SpatialImage | PathLike, mask: nib.spatialimages.SpatialImage | PathLike | None
) -> tuple[nib.spatialimages.SpatialImage, nib.spatialimages.SpatialImage | None, str | None, dict[str, Any]]:
    """The T1w and its mask read, checked and turned to RAS; the input's file name; the step's parameters."""
    image = as_image(t1w)
    source = image.get_filename()
    lesion = as_mask(mask, image) if mask is not None else None
    data = np.asarray(image.dataobj)
    if float(data.max()) <= float(data.min()):
        raise InvalidInputError(source or "<in-memory image>", "the image is constant (no signal)")
    parameters = {"input_voxel_size_mm": [round(float(z), 4) for z in voxel_sizes(image.affine)],
                  "input_shape": list(data.shape), "input_orientation": "".join(nib.aff2axcodes(image.affine)),
                  "output_orientation": "RAS"}
    lesion = reorient_to_ras(lesion) if lesion is not None else None
    return reorient_to_ras(image), lesion, source, parameters


def _resample(standardized: nib.Nifti1Image, lesion: nib.spatialimages.SpatialImage | None, transform: np.ndarray,
              face: FacePlane | None) -> tuple[nib.Nifti1Image, nib.Nifti1Image | None]:
    """The T1w (linear, clipped at 0, face zeroed in template space when ``face``) and mask (nearest) in MNI."""
    t1w_mni = to_mni(standardized, transform, order=1)
    mni = np.clip(np.asarray(t1w_mni.dataobj), 0, None).astype(np.float32)
    if face is not None:
        mni[np.asarray(template_face_mask(face).dataobj, dtype=bool)] = 0
    mask_mni = None
    if lesion is not None:
        mask_mni = to_mni(lesion, transform, order=0)
        mask_mni = nib.Nifti1Image(np.asarray(mask_mni.dataobj, dtype=np.uint8), mask_mni.affine)
    return nib.Nifti1Image(mni, t1w_mni.affine), mask_mni


def preprocess_t1w(
    t1w: nib.spatialimages.SpatialImage | PathLike,
    mask: nib.spatialimages.SpatialImage | PathLike | None = None,
    *,
    deface: bool = True,
    progress: ProgressCallback | None = None,
    n4: N4Settings | None = None,
    registration: RegistrationSettings | None = None,
    face_plane: FacePlane | None = None,
) -> PreprocessResult:
    """Preprocess one native T1w (and its lesion mask) like the ATLAS releases; see the module docstring.

    Raises :class:`lesionkit.io.InvalidInputError` for unreadable or invalid input, a mask that is not
    binary or not on the T1w's grid, or an image without signal.
    """
    log = _StepLog(progress)
    log.begin("reorient")
    image, lesion, source, reoriented = _reorient(t1w, mask)
    log.done("reorient", **reoriented)

    log.begin("bias_correction")
    n4 = n4 or N4Settings()
    corrected, bias = n4_bias_field(image, settings=n4)
    log.done("bias_correction", method="N4 (ANTsPy)", **n4.as_dict())

    log.begin("registration")
    registration = registration or RegistrationSettings()
    fit = register_affine(corrected, registration)
    log.done("registration", method="rigid grid search (brain NCC), ants.registration Affine, sanity checks",
             template="MNI152NLin2009aSym (nilearn, 1 mm)", initialisation_chosen=fit.initialisation,
             brain_ncc=fit.scores,
             seconds_by_stage=fit.seconds, **registration.as_dict())
    transform = fit.transform

    log.begin("brain_mask")
    brain_native = brain_mask_native(transform, image)
    log.done("brain_mask", method="template GM+WM>=0.3, closed, holes filled; mapped back by the inverse affine",
             voxels=int(np.count_nonzero(np.asarray(brain_native.dataobj))))

    log.begin("intensity")
    standardized, peak = standardize_wm_peak(corrected, np.asarray(brain_native.dataobj, dtype=bool))
    log.done("intensity", method="white-matter peak = 1 (mode of the brain histogram above its median)",
             white_matter_peak=round(peak, 4))

    log.begin("deface")
    plane = face_plane or FacePlane()
    if deface:
        face = face_mask_native(transform, image, plane)
        standardized = zero_face(standardized, face)
        log.done("deface", method="face region below a plane in template space, mapped back", **plane.as_dict(),
                 voxels=int(np.count_nonzero(face)))
    else:
        log.done("deface", skipped=True)

    log.begin("resample")
    t1w_mni, mask_mni = _resample(standardized, lesion, transform, plane if deface else None)
    brain_mni = template_brain_mask()
    log.done("resample", grid="ATLAS 197x233x189, 1 mm", image_interpolation="linear",
             mask_interpolation="nearest neighbour")

    return PreprocessResult(
        t1w_mni=t1w_mni, mask_mni=mask_mni,
        brain_mask_mni=nib.Nifti1Image(np.array(brain_mni.dataobj), brain_mni.affine),
        transform=transform, steps=log.steps, t1w_native=standardized, bias_field=bias,
        brain_mask_native=brain_native, source=source,
        extra={"initial_transform": fit.initial_transform, "white_matter_peak": peak},
    )
