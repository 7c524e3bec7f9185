"""Whole-volume inference: sliding windows with Gaussian blending, optional flip TTA, thresholding.

Tomita et al. evaluated a centre crop of 144×172×168 mm and classified everything outside it as
background, which silently misses lesions near the edge of the field of view. Here every voxel is
covered by MONAI's ``sliding_window_inference``; windows overlap and are blended with a Gaussian
weight so window borders leave no seams. The output is on the input's exact grid and affine.
"""

from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np
import torch
from scipy import ndimage as ndi

from lesionkit.model.checkpoint import SegmentationModel
from lesionkit.model.normalize import normalize_intensity
from lesionkit.model.sampling import round_up_crop

__all__ = ["predict_array", "segment", "threshold_probability"]


@torch.no_grad()
def predict_array(
    model: SegmentationModel | torch.nn.Module,
    image: np.ndarray,
    *,
    tta: bool = False,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
    normalize: bool = True,
) -> np.ndarray:
    """Lesion probability (float32, same shape) of a 3-D intensity array in the model's space.

    ``tta`` averages with the left-right flipped prediction. ``roi_size`` defaults to the
    checkpoint's window, shrunk to the volume (rounded up to the network's divisor) for small inputs.
    """
    from monai.inferers import sliding_window_inference

    if image.ndim != 3:
        raise ValueError(f"expected a 3-D array, got shape {image.shape}")
    divisor = getattr(model, "divisor", 16)
    spec = getattr(model, "normalization", None)
    data = normalize_intensity(image, spec) if normalize else np.asarray(image, dtype=np.float32)
    roi = roi_size or getattr(model, "roi_size", (128, 160, 128))
    roi = round_up_crop([min(int(r), int(s)) for r, s in zip(roi, data.shape, strict=True)], divisor)
    x = torch.from_numpy(np.ascontiguousarray(data))[None, None]
    was_training = model.training
    model.eval()

    def run(volume: torch.Tensor) -> torch.Tensor:
        return sliding_window_inference(
            volume, roi, sw_batch_size=1, predictor=model, overlap=overlap, mode="gaussian",
            padding_mode="constant", cval=float(volume.min()),
        )

    probability = run(x)
    if tta:
        probability = 0.5 * (probability + torch.flip(run(torch.flip(x, dims=[2])), dims=[2]))
    model.train(was_training)
    return probability[0, 0].float().clamp_(0, 1).numpy()


def segment(
    model: SegmentationModel,
    image: nib.Nifti1Image,
    tta: bool = False,
    *,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
) -> nib.Nifti1Image:
    """Lesion probability map of ``image`` (which must already be in the model's space, e.g. MNI at 1 mm).

    Returns a float32 image with ``image``'s shape and affine.
    """
    data = np.asarray(image.dataobj, dtype=np.float32)
    probability = predict_array(model, data, tta=tta, roi_size=roi_size, overlap=overlap)
    out = nib.Nifti1Image(probability, image.affine)
    out.header.set_data_dtype(np.float32)
    out.header.set_xyzt_units(*image.header.get_xyzt_units())
    return out


def threshold_probability(probability: np.ndarray, threshold: float = 0.5, min_size: int = 0) -> np.ndarray:
    """uint8 mask of ``probability >= threshold``, without 6-connected components smaller than ``min_size`` voxels.

    6-connectivity (face neighbours) is the component definition of the ATLAS R2.0 evaluation.
    """
    mask = np.asarray(probability) >= threshold
    if min_size > 1 and mask.any():
        labels, count = ndi.label(mask)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        keep = sizes >= min_size
        keep[0] = False
        mask = keep[labels]
    return mask.astype(np.uint8)
