"""``segment_t1w``: lesion probability map and mask of one T1w, on the input's own grid, MNI or native.

An image already in MNI152NLin2009aSym on the ATLAS grid (or its 2 mm subsampling, the model's working
grid) is segmented directly. Any other (native) T1w goes through :func:`lesionkit.preprocess.preprocess_t1w`
(N4, affine registration to MNI), is segmented in MNI space, and its probability map is mapped back to
the native grid linearly and thresholded there. The composition lives here, above both stages, because
``preprocess`` and ``model`` are parallel stages of the data flow and neither imports the other.

With ``qc=True`` the per-case QC features (:func:`lesionkit.qc.case_features`) are computed on the MNI grid
the model saw, from the member predictions (:func:`lesionkit.model.segment_members`: without TTA the
flipped member costs one more forward pass; the output probability is unchanged), the MNI-space T1w (its
input quality) and, for a native scan, the registration's brain NCC and the native voxel size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from lesionkit.io import MNI_SPACE, InvalidInputError, atlas_step

if TYPE_CHECKING:
    from lesionkit.model import SegmentationModel
    from lesionkit.preprocess import PreprocessResult

__all__ = ["Segmentation", "is_mni_grid", "native_space", "segment_t1w"]

#: The BIDS ``space`` label of a T1w that is not on the MNI grid (ATLAS's name for native scans).
NATIVE_SPACE = "orig"


@dataclass
class Segmentation:
    """What :func:`segment_t1w` returns: every image is float32 (probabilities) or uint8 0/1 (masks)."""

    probability: nib.Nifti1Image
    """Lesion probability on the input's grid and affine."""
    mask: nib.Nifti1Image
    """``probability >= threshold`` without lesions under the minimum size, on the input's grid."""
    space: str
    """BIDS ``space`` of the input grid: ``MNI152NLin2009aSym`` or ``orig``."""
    threshold: float
    min_size_mm3: float
    probability_mni: nib.Nifti1Image
    """The probability on the MNI grid the model saw (the same image as ``probability`` for MNI input)."""
    mask_mni: nib.Nifti1Image
    preprocessing: PreprocessResult | None = None
    """The preprocessing of a native input (None for MNI input)."""
    qc: dict | None = None
    """With ``qc=True``: ``features`` (:data:`lesionkit.qc.FEATURES`, on the MNI grid) and ``members`` (names)."""


def is_mni_grid(img: nib.spatialimages.SpatialImage) -> bool:
    """True for the ATLAS MNI152NLin2009aSym grid (197×233×189, 1 mm) or its 2 mm subsampling (99×117×95)."""
    return atlas_step(img.affine, img.shape) in (1, 2)


def native_space(img: nib.spatialimages.SpatialImage, named: str | None = None) -> str:
    """The BIDS ``space`` label outputs on ``img``'s grid carry: the input's own label if it has one."""
    return named or (MNI_SPACE if is_mni_grid(img) else NATIVE_SPACE)


def _threshold(probability: nib.Nifti1Image, threshold: float, min_size_mm3: float) -> nib.Nifti1Image:
    from lesionkit.model import threshold_probability

    data = np.asarray(probability.dataobj, dtype=np.float32)
    voxel_mm3 = float(abs(np.linalg.det(probability.affine[:3, :3])))
    return _image(threshold_probability(data, threshold, min_size_mm3, voxel_mm3), probability.affine, np.uint8)


def _image(data: np.ndarray, affine: np.ndarray, dtype: type) -> nib.Nifti1Image:
    """A NIfTI image with millimetre units (BIDS wants them in every header)."""
    img = nib.Nifti1Image(np.asarray(data, dtype=dtype), affine)
    img.header.set_data_dtype(dtype)
    img.header.set_xyzt_units("mm")
    return img


def _preprocess(image: nib.Nifti1Image) -> PreprocessResult:
    try:
        from lesionkit.preprocess import preprocess_t1w
    except ImportError:
        raise InvalidInputError(
            image.get_filename(), "not on the MNI152NLin2009aSym grid, and preprocessing (ANTsPy) is not installed"
        ) from None
    return preprocess_t1w(image, deface=False)


def _mni_probability(model: SegmentationModel, image: nib.Nifti1Image, tta: bool, qc: bool):
    """(probability on ``image``'s MNI grid, member probabilities or None)."""
    from lesionkit.model import segment, segment_members

    if not qc:
        return segment(model, image, tta=tta), None
    return segment_members(model, image, tta=tta)


def _qc(image: nib.Nifti1Image | None, probability: nib.Nifti1Image, mask: nib.Nifti1Image, members: dict | None,
        threshold: float, min_size_mm3: float, preprocessing: PreprocessResult | None) -> dict:
    from lesionkit.qc import case_features

    steps = {s.get("name"): s.get("parameters") for s in preprocessing.steps} if preprocessing is not None else {}
    features = case_features(np.asarray(probability.dataobj), np.asarray(mask.dataobj), members,
                             affine=probability.affine, threshold=threshold, min_size_mm3=min_size_mm3,
                             registration=steps.get("registration"), reorient=steps.get("reorient"),
                             image=None if image is None else np.asarray(image.dataobj, dtype=np.float32))
    return {"features": features, "members": list(members or [])}


def segment_t1w(
    image: nib.Nifti1Image,
    model: SegmentationModel,
    *,
    tta: bool = False,
    threshold: float | None = None,
    min_size_mm3: float | None = None,
    preprocessing: PreprocessResult | None = None,
    qc: bool = False,
) -> Segmentation:
    """Segment one T1w (MNI or native, see the module docstring); everything is returned, nothing written.

    ``threshold`` and ``min_size_mm3`` default to the checkpoint's (chosen on its validation split).
    ``preprocessing``: a :class:`~lesionkit.preprocess.PreprocessResult` of this native image to reuse
    (otherwise a native image is preprocessed here, without defacing). ``qc``: also compute the per-case
    QC features (:attr:`Segmentation.qc`; see the module docstring).
    """
    threshold = model.threshold if threshold is None else float(threshold)
    min_size_mm3 = model.min_size_mm3 if min_size_mm3 is None else float(min_size_mm3)
    if is_mni_grid(image) and preprocessing is None:
        mni, members = _mni_probability(model, image, tta, qc)
        probability = mni = _image(np.asarray(mni.dataobj), image.affine, np.float32)
        mask = mask_mni = _threshold(probability, threshold, min_size_mm3)
        features = _qc(image, mni, mask_mni, members, threshold, min_size_mm3, None) if qc else None
        return Segmentation(probability, mask, MNI_SPACE, threshold, min_size_mm3, mni, mask_mni, qc=features)
    probability, mni, preprocessing, members = _segment_native(model, image, tta, preprocessing, qc)
    mask_mni = _threshold(mni, threshold, min_size_mm3)
    features = None
    if qc:
        t1w_mni = preprocessing.t1w_mni if preprocessing is not None else None
        features = _qc(t1w_mni, mni, mask_mni, members, threshold, min_size_mm3, preprocessing)
    return Segmentation(
        probability, _threshold(probability, threshold, min_size_mm3), NATIVE_SPACE, threshold, min_size_mm3,
        mni, mask_mni, preprocessing, features,
    )


def _segment_native(model: SegmentationModel, image: nib.Nifti1Image, tta: bool,
                    preprocessing: PreprocessResult | None, qc: bool = False):
    """(probability on the native grid, probability in MNI, the preprocessing, MNI members or None)."""
    from lesionkit.preprocess.resample import to_native

    preprocessing = preprocessing or _preprocess(image)
    mni, members = _mni_probability(model, preprocessing.t1w_mni, tta, qc)
    mni = _image(np.asarray(mni.dataobj), mni.affine, np.float32)
    native = to_native(mni, preprocessing.transform, image, order=1)
    native = _image(np.clip(np.asarray(native.dataobj), 0, 1), image.affine, np.float32)
    return native, mni, preprocessing, members
