"""Network inputs: the working resolution (block averaging) and the input channels.

A model may work at a coarser grid than the MNI image it segments (``spacing`` 2 mm on the 1 mm ATLAS
grid): the normalised image is averaged over 2×2×2 blocks, which costs nothing in accuracy worth
having (a perfect 2 mm prediction, trilinearly up-sampled and thresholded at 0.5, has a mean Dice of
0.94 against the 1 mm truth on 20 synthetic subjects) and makes training 8× cheaper. Masks are averaged
the same way into *soft* targets (the lesion fraction of each block), so the up-sampled probability
crosses 0.5 close to the true 1 mm boundary.

Channels (the checkpoint lists them):

* ``t1``: the normalised T1w;
* ``mirror``: the same image mirrored about the mid-sagittal plane (x = 0 in MNI space). A chronic
  stroke lesion is nearly always one-sided, so "dark here, bright on the other side" is what separates
  it from the ventricles and sulci, which are symmetric (LINDA uses the same cue);
* ``template``: the normalised MNI152 2009a template on the same grid: where the atlas expects tissue
  and the image shows fluid, a lesion is likely. Only meaningful for images registered to the template,
  which is the space these models are trained in.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from lesionkit.model.normalize import normalize_intensity

__all__ = ["CHANNELS", "block_average", "input_channels", "pooling_factor", "upsample"]

CHANNELS = ("t1", "mirror", "template")


def pooling_factor(model_spacing: Sequence[float], image_spacing: Sequence[float]) -> int:
    """Integer block size that takes ``image_spacing`` to ``model_spacing`` (e.g. 2 for 1 mm → 2 mm).

    When the ratio is not a whole number the image is used on its own grid (factor 1) with a warning:
    a convolutional network still runs there, only less well than on the grid it was trained on.
    """
    ratios = np.asarray(model_spacing, float) / np.asarray(image_spacing, float)
    factor = int(round(float(ratios.mean())))
    if factor < 1 or not np.allclose(ratios, factor, atol=0.02):
        warnings.warn(
            f"the model works at {tuple(float(s) for s in model_spacing)} mm voxels, not an integer multiple of the "
            f"image's {tuple(round(float(s), 3) for s in image_spacing)} mm: segmenting on the image's own grid",
            stacklevel=2,
        )
        return 1
    return factor


def block_average(volume: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor``³ blocks (float32); the volume is edge-padded up to a multiple of ``factor``."""
    data = np.asarray(volume, dtype=np.float32)
    if factor == 1:
        return data
    pad = [(0, (-s) % factor) for s in data.shape]
    if any(after for _, after in pad):
        data = np.pad(data, pad, mode="edge")
    x, y, z = (s // factor for s in data.shape)
    return data.reshape(x, factor, y, factor, z, factor).mean(axis=(1, 3, 5), dtype=np.float32)


def upsample(probability: np.ndarray, factor: int, shape: Sequence[int]) -> np.ndarray:
    """Trilinear up-sampling of a block-averaged map back to ``shape`` (the inverse grid of :func:`block_average`)."""
    if factor == 1:
        return np.asarray(probability, dtype=np.float32)
    x = torch.from_numpy(np.ascontiguousarray(probability, dtype=np.float32))[None, None]
    # align_corners=False puts block centres at (i + 0.5)·factor − 0.5, exactly where block_average put them
    out = F.interpolate(x, scale_factor=factor, mode="trilinear", align_corners=False)[0, 0]
    return out[: shape[0], : shape[1], : shape[2]].numpy()


@lru_cache(maxsize=4)
def _template_channel(image_shape: tuple[int, ...], factor: int, normalization_key: str) -> np.ndarray:
    """The template, normalised like the images, on the grid of an image of ``image_shape`` pooled by ``factor``."""
    from lesionkit.io.templates import ATLAS_SHAPE, load_template

    template = normalize_intensity(np.asarray(load_template("t1").dataobj), json.loads(normalization_key))
    coarse = tuple((n - 1) // 2 + 1 for n in ATLAS_SHAPE)  # the ATLAS field of view sampled every 2 mm
    if image_shape == coarse:
        template = template[::2, ::2, ::2]
    elif image_shape != ATLAS_SHAPE:
        raise ValueError(
            f"the 'template' input channel needs an image on the 1 mm ATLAS grid {ATLAS_SHAPE} "
            f"(MNI152NLin2009aSym) or its 2 mm subsampling {coarse}; got {image_shape}"
        )
    out = block_average(template, factor)
    out.flags.writeable = False
    return out


def input_channels(
    image: np.ndarray, channels: Sequence[str], factor: int = 1, normalization: dict | None = None
) -> np.ndarray:
    """``(C, X, Y, Z)`` float32 network input from a raw 3-D MNI-space image.

    ``image`` is normalised at its own resolution, then block-averaged by ``factor``. ``mirror`` flips
    voxel axis 0 (left-right on the RAS ATLAS grid, which is symmetric about x = 0; after 2× pooling of
    its 197 columns the mirror is off by half a millimetre).
    """
    unknown = set(channels) - set(CHANNELS)
    if unknown or not channels:
        raise ValueError(f"unknown input channels {sorted(unknown)} (known: {', '.join(CHANNELS)})")
    t1 = block_average(normalize_intensity(image, normalization), factor)
    out = []
    for name in channels:
        if name == "t1":
            out.append(t1)
        elif name == "mirror":
            out.append(t1[::-1])
        else:
            key = json.dumps(normalization or {}, sort_keys=True)
            out.append(_template_channel(tuple(image.shape), factor, key))
    return np.ascontiguousarray(np.stack(out), dtype=np.float32)
