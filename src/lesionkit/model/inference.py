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

from lesionkit.core import DEFAULT_THRESHOLD, binarize_probability, remove_small_lesions
from lesionkit.model.checkpoint import SegmentationModel
from lesionkit.model.features import input_channels, pooling_factor, upsample
from lesionkit.model.sampling import round_up_crop

__all__ = ["predict_array", "predict_inputs", "segment", "threshold_probability"]


@torch.no_grad()
def predict_inputs(
    model: SegmentationModel | torch.nn.Module,
    inputs: np.ndarray,
    *,
    tta: bool = False,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Lesion probability on the working grid of prepared ``(C, X, Y, Z)`` network inputs.

    ``tta`` averages with the left-right flipped prediction. ``roi_size`` defaults to the
    checkpoint's window, shrunk to the volume (rounded up to the network's divisor) for small inputs.
    ``device`` (default CPU) is where the model and the windows run; CUDA runs in float16 autocast.
    """
    from monai.inferers import sliding_window_inference

    if inputs.ndim != 4:
        raise ValueError(f"expected (channels, X, Y, Z) inputs, got shape {inputs.shape}")
    divisor = getattr(model, "divisor", 16)
    roi = roi_size or getattr(model, "roi_size", (128, 160, 128))
    roi = round_up_crop([min(int(r), int(s)) for r, s in zip(roi, inputs.shape[1:], strict=True)], divisor)
    shape = inputs.shape[1:]
    pad = [(0, max(0, r - s)) for r, s in zip(roi, shape, strict=True)]
    if any(after for _, after in pad):  # pad each channel with its own background, as training crops are
        inputs = np.stack([np.pad(c, pad, constant_values=float(c.min())) for c in inputs])
    device = torch.device(device or "cpu")
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))[None].to(device)
    was_training = model.training
    model.to(device).eval()

    def run(volume: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda"):
            return sliding_window_inference(volume, roi, sw_batch_size=1, predictor=model, overlap=overlap,
                                            mode="gaussian")

    probability = run(x)
    if tta:
        probability = 0.5 * (probability + torch.flip(run(torch.flip(x, dims=[2])), dims=[2]))
    model.train(was_training)
    return probability[0, 0, : shape[0], : shape[1], : shape[2]].float().clamp_(0, 1).cpu().numpy()


def predict_array(
    model: SegmentationModel,
    image: np.ndarray,
    *,
    image_spacing: Sequence[float] | None = None,
    tta: bool = False,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
) -> np.ndarray:
    """Lesion probability (float32, ``image``'s shape) of a raw 3-D intensity array in the model's space.

    The image is normalised, pooled to the model's working voxel size and given the model's input
    channels (:mod:`lesionkit.model.features`); the probability is up-sampled back trilinearly.
    ``image_spacing`` (mm) defaults to the model's own voxel size (no pooling).
    """
    if image.ndim != 3:
        raise ValueError(f"expected a 3-D array, got shape {image.shape}")
    model_spacing = getattr(model, "spacing", (1.0, 1.0, 1.0))
    factor = pooling_factor(model_spacing, model_spacing if image_spacing is None else image_spacing)
    channels = getattr(model, "channels", ("t1",))
    inputs = input_channels(image, channels, factor, getattr(model, "normalization", None))
    probability = predict_inputs(model, inputs, tta=tta, roi_size=roi_size, overlap=overlap)
    return upsample(probability, factor, image.shape)


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
    spacing = tuple(float(z) for z in image.header.get_zooms()[:3])
    probability = predict_array(model, data, image_spacing=spacing, tta=tta, roi_size=roi_size, overlap=overlap)
    out = nib.Nifti1Image(probability, image.affine)
    out.header.set_data_dtype(np.float32)
    out.header.set_xyzt_units(*image.header.get_xyzt_units())
    return out


def threshold_probability(
    probability: np.ndarray, threshold: float = DEFAULT_THRESHOLD, min_size_mm3: float = 0.0, voxel_mm3: float = 1.0
) -> np.ndarray:
    """uint8 mask of ``probability >= threshold`` (:func:`lesionkit.core.binarize_probability`, the rule
    evaluation applies too), without the 6-connected lesions smaller than ``min_size_mm3``
    (``voxel_mm3``: the volume of one voxel; :func:`lesionkit.core.remove_small_lesions`)."""
    mask = binarize_probability(probability, threshold)
    return remove_small_lesions(mask, min_size_mm3, voxel_mm3).astype(np.uint8)
