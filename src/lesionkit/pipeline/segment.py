"""``segment_t1w``: lesion probability map and mask of one T1w, on the input's own grid, MNI or native.

An image already in MNI152NLin2009aSym on the ATLAS grid (or its 2 mm subsampling, the model's working
grid) is segmented directly. Any other (native) T1w goes through :func:`lesionkit.preprocess.preprocess_t1w`
(N4, affine registration to MNI), is segmented in MNI space, and its probability map is mapped back to
the native grid linearly and thresholded there. The composition lives here, above both stages, because
``preprocess`` and ``model`` are parallel stages of the data flow and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from lesionkit.analysis.location import atlas_step
from lesionkit.io import MNI_SPACE, InvalidInputError

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


def segment_t1w(
    image: nib.Nifti1Image,
    model: SegmentationModel,
    *,
    tta: bool = False,
    threshold: float | None = None,
    min_size_mm3: float | None = None,
    preprocessing: PreprocessResult | None = None,
) -> Segmentation:
    """Segment one T1w (MNI or native, see the module docstring); everything is returned, nothing written.

    ``threshold`` and ``min_size_mm3`` default to the checkpoint's (chosen on its validation split).
    ``preprocessing``: a :class:`~lesionkit.preprocess.PreprocessResult` of this native image to reuse
    (otherwise a native image is preprocessed here, without defacing).
    """
    from lesionkit.model import segment

    threshold = model.threshold if threshold is None else float(threshold)
    min_size_mm3 = model.min_size_mm3 if min_size_mm3 is None else float(min_size_mm3)
    if is_mni_grid(image) and preprocessing is None:
        mni = segment(model, image, tta=tta)
        probability = mni = _image(np.asarray(mni.dataobj), image.affine, np.float32)
        mask = mask_mni = _threshold(probability, threshold, min_size_mm3)
        return Segmentation(probability, mask, MNI_SPACE, threshold, min_size_mm3, mni, mask_mni)
    probability, mni, preprocessing = _segment_native(model, image, tta, preprocessing)
    return Segmentation(
        probability, _threshold(probability, threshold, min_size_mm3), NATIVE_SPACE, threshold, min_size_mm3,
        mni, _threshold(mni, threshold, min_size_mm3), preprocessing,
    )


def _segment_native(model: SegmentationModel, image: nib.Nifti1Image, tta: bool,
                    preprocessing: PreprocessResult | None):
    """(probability on the native grid, probability in MNI, the preprocessing) of a native T1w."""
    from lesionkit.model import segment
    from lesionkit.preprocess.resample import to_native

    preprocessing = preprocessing or _preprocess(image)
    mni = segment(model, preprocessing.t1w_mni, tta=tta)
    mni = _image(np.asarray(mni.dataobj), mni.affine, np.float32)
    native = to_native(mni, preprocessing.transform, image, order=1)
    return _image(np.clip(np.asarray(native.dataobj), 0, 1), image.affine, np.float32), mni, preprocessing
