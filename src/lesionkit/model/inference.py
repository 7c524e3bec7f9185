"""Whole-volume inference: sliding windows with Gaussian blending, optional flip TTA, thresholding.

Tomita et al. evaluated a centre crop of 144×172×168 mm and classified everything outside it as
background, which silently misses lesions near the edge of the field of view. Here every voxel is
covered by MONAI's ``sliding_window_inference``; windows overlap and are blended with a Gaussian
weight so window borders leave no seams. The output is on the input's exact grid and affine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import nibabel as nib
import numpy as np
import torch

from lesionkit.core import DEFAULT_THRESHOLD, binarize_probability, remove_small_lesions
from lesionkit.model.checkpoint import DEFAULT_ROI_SIZE, DEFAULT_SPACING, SegmentationModel
from lesionkit.model.features import input_channels, pooling_factor, upsample
from lesionkit.model.sampling import round_up_crop

__all__ = [
    "MemberPrediction",
    "predict_array",
    "predict_inputs",
    "predict_members",
    "segment",
    "segment_members",
    "threshold_probability",
]


@dataclass
class MemberPrediction:
    """The model's output together with the member predictions it is averaged from (QC reads the members)."""

    probability: np.ndarray
    """Exactly what :func:`predict_inputs` (or :func:`predict_array`) returns for the same arguments."""
    members: dict[str, np.ndarray] = field(default_factory=dict)
    """Each member's probability on the same grid: ``net1`` … ``netN`` (the networks of an ensemble, or the
    one network) and ``net1_flipped`` … (the same on the left-right flipped input, flipped back)."""


def _network_members(model: SegmentationModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """A predictor giving the ensemble mean (channel 0, the model's own output) and then each network."""

    def predictor(x: torch.Tensor) -> torch.Tensor:
        each = model.network_probabilities(x)
        return torch.cat([model.average(each), *each], dim=1)

    return predictor


@torch.no_grad()
def _predict(model, inputs: np.ndarray, *, tta: bool, members: bool, roi_size, overlap: float, device
             ) -> MemberPrediction:
    from monai.inferers import sliding_window_inference

    if inputs.ndim != 4:
        raise ValueError(f"expected (channels, X, Y, Z) inputs, got shape {inputs.shape}")
    divisor = getattr(model, "divisor", 16)
    roi = roi_size or getattr(model, "roi_size", DEFAULT_ROI_SIZE)
    roi = round_up_crop([min(int(r), int(s)) for r, s in zip(roi, inputs.shape[1:], strict=True)], divisor)
    shape = inputs.shape[1:]
    pad = [(0, max(0, r - s)) for r, s in zip(roi, shape, strict=True)]
    if any(after for _, after in pad):  # pad each channel with its own background, as training crops are
        inputs = np.stack([np.pad(c, pad, constant_values=float(c.min())) for c in inputs])
    device = torch.device(device or "cpu")
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))[None].to(device)
    was_training = model.training
    model.to(device).eval()
    n_networks = len(getattr(model, "networks", ())) if isinstance(model, SegmentationModel) else 1
    # Several networks as members: one pass whose output channels are the mean and each network. Channel 0 is
    # computed exactly as ``model.forward`` computes it, so the output's numbers do not change.
    predictor = _network_members(model) if members and n_networks > 1 else model

    def run(volume: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda"):
            return sliding_window_inference(volume, roi, sw_batch_size=1, predictor=predictor, overlap=overlap,
                                            mode="gaussian")

    def crop(t: torch.Tensor) -> np.ndarray:
        return t[: shape[0], : shape[1], : shape[2]].float().clamp_(0, 1).cpu().numpy()

    output = run(x)
    # QC needs the flipped member even without TTA: one more pass then, which does not touch the output
    flipped = torch.flip(run(torch.flip(x, dims=[2])), dims=[2]) if tta or members else None
    probability = output[:, :1]
    if tta:
        probability = 0.5 * (probability + flipped[:, :1])
    model.train(was_training)
    result = MemberPrediction(crop(probability[0, 0]))
    if members:
        first = 1 if n_networks > 1 else 0
        for i in range(n_networks):
            result.members[f"net{i + 1}"] = crop(output[0, first + i])
        for i in range(n_networks):
            result.members[f"net{i + 1}_flipped"] = crop(flipped[0, first + i])
    return result


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
    return _predict(model, inputs, tta=tta, members=False, roi_size=roi_size, overlap=overlap,
                    device=device).probability


def predict_members(
    model: SegmentationModel | torch.nn.Module,
    inputs: np.ndarray,
    *,
    tta: bool = False,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
    device: torch.device | str | None = None,
) -> MemberPrediction:
    """:func:`predict_inputs`'s probability and the members it averages (see :class:`MemberPrediction`).

    The flipped pass runs whether or not ``tta`` is set (without ``tta`` it costs one more pass and
    leaves the probability as it is); an ensemble's networks run in one pass with one output channel each.
    """
    return _predict(model, inputs, tta=tta, members=True, roi_size=roi_size, overlap=overlap, device=device)


def _predict_array(model: SegmentationModel, image: np.ndarray, image_spacing, members: bool, device=None, **kwargs
                   ) -> MemberPrediction:
    if image.ndim != 3:
        raise ValueError(f"expected a 3-D array, got shape {image.shape}")
    model_spacing = getattr(model, "spacing", DEFAULT_SPACING)
    factor = pooling_factor(model_spacing, model_spacing if image_spacing is None else image_spacing)
    channels = getattr(model, "channels", ("t1",))
    inputs = input_channels(image, channels, factor, getattr(model, "normalization", None))
    result = _predict(model, inputs, members=members, device=device, **kwargs)
    return MemberPrediction(upsample(result.probability, factor, image.shape),
                            {name: upsample(p, factor, image.shape) for name, p in result.members.items()})


def predict_array(
    model: SegmentationModel,
    image: np.ndarray,
    *,
    image_spacing: Sequence[float] | None = None,
    tta: bool = False,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Lesion probability (float32, ``image``'s shape) of a raw 3-D intensity array in the model's space.

    The image is normalised, pooled to the model's working voxel size and given the model's input
    channels (:mod:`lesionkit.model.features`); the probability is up-sampled back trilinearly.
    ``image_spacing`` (mm) defaults to the model's own voxel size (no pooling); ``device`` (default CPU) is
    where the network runs.
    """
    return _predict_array(model, image, image_spacing, False, device, tta=tta, roi_size=roi_size,
                          overlap=overlap).probability


def _as_image(probability: np.ndarray, image: nib.Nifti1Image) -> nib.Nifti1Image:
    out = nib.Nifti1Image(probability, image.affine)
    out.header.set_data_dtype(np.float32)
    out.header.set_xyzt_units(*image.header.get_xyzt_units())
    return out


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
    return _as_image(probability, image)


def segment_members(
    model: SegmentationModel,
    image: nib.Nifti1Image,
    tta: bool = False,
    *,
    roi_size: Sequence[int] | None = None,
    overlap: float = 0.25,
) -> tuple[nib.Nifti1Image, dict[str, np.ndarray]]:
    """:func:`segment`'s probability map (the same numbers) and its members' probabilities on ``image``'s
    grid (see :func:`predict_members`: the flipped member costs one more pass when ``tta`` is off)."""
    data = np.asarray(image.dataobj, dtype=np.float32)
    spacing = tuple(float(z) for z in image.header.get_zooms()[:3])
    result = _predict_array(model, data, spacing, True, tta=tta, roi_size=roi_size, overlap=overlap)
    return _as_image(result.probability, image), result.members


def threshold_probability(
    probability: np.ndarray, threshold: float = DEFAULT_THRESHOLD, min_size_mm3: float = 0.0, voxel_mm3: float = 1.0
) -> np.ndarray:
    """uint8 mask of ``probability >= threshold`` (:func:`lesionkit.core.binarize_probability`, the rule
    evaluation applies too), without the 6-connected lesions smaller than ``min_size_mm3``
    (``voxel_mm3``: the volume of one voxel; :func:`lesionkit.core.remove_small_lesions`)."""
    mask = binarize_probability(probability, threshold)
    return remove_small_lesions(mask, min_size_mm3, voxel_mm3).astype(np.uint8)
