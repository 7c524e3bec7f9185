"""Domain randomisation of one subject (as SynthSeg and SynthStroke do): contrast and acquisition drawn per subject.

A network trained on one fixed contrast learns the contrast, not the anatomy. With
``randomize_contrast`` each subject draws its own :class:`Acquisition`:

* tissue intensities: every tissue class (CSF, cortex, deep grey, white matter, skull, scalp, lesion)
  gets its own gain around the template's intensity (log-normal, σ = 0.15; white matter keeps 1) and
  a smooth within-class texture (±5 %), so the mixture of intensities differs from subject to subject
  while lesions stay T1-hypointense;
* thick-slice acquisition (half the subjects): 2–6 mm slices along a random axis, integrated over a
  Gaussian slice profile and resampled back to the grid by linear interpolation;
* SNR (white matter / noise σ) log-uniform in 5–40, Rician or Gaussian;
* a multiplicative bias field of peak-to-peak 10–60 % and a gamma of 0.6–1.6;
* 8-bit storage (30 %): rescaled so the 99.9th percentile is 255, rounded and clipped.

Brain extraction (``skull_strip_share``, :func:`brain_extraction`) zeroes everything outside the brain
mask grown or shrunk by up to a voxel or two, as BET/HD-BET outputs differ.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi

from lesionkit.synth.anatomy import Tissue
from lesionkit.synth.fields import smooth_noise, upsample
from lesionkit.synth.scanner import add_noise

__all__ = [
    "Acquisition", "AcquisitionProfile", "apply_acquisition", "apply_tissue_contrast", "brain_extraction",
    "draw_acquisition",
]

#: Tissue classes that share one gain (index into ``Acquisition.tissue_gain``).
_CLASS_OF_TISSUE = {
    Tissue.AIR: 0, Tissue.CSF: 1, Tissue.VENTRICLE: 1, Tissue.CORTEX: 2, Tissue.INFRA_GM: 2, Tissue.DEEP_GM: 3,
    Tissue.WM: 4, Tissue.INFRA_WM: 4, Tissue.SKULL: 5, Tissue.SCALP: 6, Tissue.DEFACED: 0,
}


@dataclass(frozen=True)
class Acquisition:
    """One subject's randomised contrast and acquisition."""

    tissue_gain: tuple[float, ...]
    """Gain per class: air, CSF, cortex, deep grey, white matter (1), skull, scalp."""
    lesion_gain: float
    gamma: float
    bias_strength: float
    snr: float
    rician: bool
    slice_thickness: float
    slice_axis: int
    bits8: bool
    intensity_scale: float

    def as_dict(self) -> dict:
        return asdict(self)


AcquisitionProfile = Literal["wide", "calibrated"]

#: The ``calibrated`` profile's scan kinds: (share, slice thickness mm, WM SNR, bias peak-to-peak, gamma, tissue
#: gain σ, 8-bit share). Research 3D T1w at 1.5/3 T (ATLAS: mostly ~1 mm MPRAGE/SPGR), older or faster
#: research scans, and everyday clinical 2D scans (thick slices, lower SNR and contrast, stronger bias).
_SCAN_KINDS = {
    "research": (0.65, (1.0, 1.0), (12.0, 40.0), (0.05, 0.25), (0.85, 1.2), 0.06, 0.05),
    "older": (0.20, (1.0, 2.0), (10.0, 25.0), (0.10, 0.35), (0.8, 1.15), 0.08, 0.2),
    "clinical": (0.15, (3.0, 5.0), (8.0, 15.0), (0.30, 0.50), (0.7, 1.05), 0.10, 0.4),
}


def draw_acquisition(rng: np.random.Generator, profile: AcquisitionProfile = "wide") -> Acquisition:
    """One subject's contrast and acquisition. ``wide``: the broad domain randomisation (2–6 mm slices for half
    the subjects, SNR 5–40, bias 10–60 %, gamma 0.6–1.6, 30 % 8-bit); ``calibrated``: drawn from the scan kinds
    of :data:`_SCAN_KINDS`, which match what real research and clinical T1w scans measure."""
    if profile == "calibrated":
        return _draw_calibrated(rng)
    gains = np.exp(rng.normal(0.0, 0.15, 7))
    gains[0], gains[4] = 1.0, 1.0  # air stays air; white matter is the reference
    thick = bool(rng.random() < 0.5)
    return Acquisition(
        tissue_gain=tuple(round(float(g), 4) for g in gains),
        lesion_gain=float(np.clip(np.exp(rng.normal(0.0, 0.2)), 0.7, 1.4)),
        gamma=float(np.exp(rng.uniform(np.log(0.6), np.log(1.6)))),
        bias_strength=float(rng.uniform(0.1, 0.6)),
        snr=float(np.exp(rng.uniform(np.log(5.0), np.log(40.0)))),
        rician=bool(rng.random() < 0.7),
        slice_thickness=float(rng.uniform(2.0, 6.0)) if thick else 1.0,
        slice_axis=int(rng.integers(0, 3)),
        bits8=bool(rng.random() < 0.3),
        intensity_scale=float(rng.choice([255.0, 1000.0, 4000.0])),
    )


def _draw_calibrated(rng: np.random.Generator) -> Acquisition:
    names = list(_SCAN_KINDS)
    kind = _SCAN_KINDS[names[int(rng.choice(len(names), p=[k[0] for k in _SCAN_KINDS.values()]))]]
    _, slices, snr, bias, gamma, sigma, bits8 = kind
    gains = np.exp(rng.normal(0.0, sigma, 7))
    gains[0], gains[4] = 1.0, 1.0
    thickness = float(rng.uniform(*slices))
    return Acquisition(
        tissue_gain=tuple(round(float(g), 4) for g in gains),
        lesion_gain=float(np.clip(np.exp(rng.normal(0.0, 0.15)), 0.75, 1.3)),
        gamma=float(rng.uniform(*gamma)),
        bias_strength=float(rng.uniform(*bias)),
        snr=float(np.exp(rng.uniform(np.log(snr[0]), np.log(snr[1])))),
        rician=bool(rng.random() < 0.7),
        slice_thickness=round(thickness, 2) if thickness > 1.05 else 1.0,
        slice_axis=int(rng.choice(3, p=[0.2, 0.2, 0.6])),  # clinical 2D T1w: mostly axial
        bits8=bool(rng.random() < bits8),
        intensity_scale=float(rng.choice([255.0, 1000.0, 4000.0])),
    )


def apply_tissue_contrast(
    rng: np.random.Generator, image: np.ndarray, tissue: np.ndarray, mask: np.ndarray, acquisition: Acquisition,
    resolution: float,
) -> None:
    """Scale each tissue class (and the lesions) by its gain, with a smooth texture; in place."""
    lut = np.ones(max(_CLASS_OF_TISSUE) + 1, np.float32)
    for code, index in _CLASS_OF_TISSUE.items():
        lut[code] = acquisition.tissue_gain[index]
    gain = lut[np.minimum(tissue, len(lut) - 1)]
    lesion = mask.astype(np.float32)
    gain = (1 - lesion) * gain + lesion * np.float32(acquisition.lesion_gain)
    gain = ndi.gaussian_filter(gain, 0.7)  # no hard edges between classes
    gain *= 1.0 + 0.05 * np.clip(smooth_noise(rng, image.shape, 8.0 / resolution), -2, 2)
    image *= gain


def _thick_slices(image: np.ndarray, thickness: float, axis: int, resolution: float, offset: float) -> np.ndarray:
    """Acquire ``thickness``-mm slices along ``axis`` (Gaussian profile) and interpolate back to the grid."""
    step = thickness / resolution
    blurred = ndi.gaussian_filter1d(image, thickness / (2.355 * resolution), axis=axis, mode="nearest")
    n = image.shape[axis]
    centres = np.arange(offset * step, n - 1 + 1e-6, step)
    if centres.size < 2:
        return blurred
    samples = np.stack([_linear(blurred, c, axis) for c in centres], axis=axis)
    position = np.clip((np.arange(n) - centres[0]) / step, 0.0, centres.size - 1.0)
    low = np.minimum(np.floor(position).astype(int), centres.size - 2)
    weight = (position - low).astype(np.float32)
    shape = [1, 1, 1]
    shape[axis] = n
    weight = weight.reshape(shape)
    return (np.take(samples, low, axis=axis) * (1 - weight) + np.take(samples, low + 1, axis=axis) * weight)


def _linear(volume: np.ndarray, index: float, axis: int) -> np.ndarray:
    low = int(np.floor(index))
    high = min(low + 1, volume.shape[axis] - 1)
    t = np.float32(index - low)
    return np.take(volume, low, axis=axis) * (1 - t) + np.take(volume, high, axis=axis) * t


def apply_acquisition(
    rng: np.random.Generator, image: np.ndarray, acquisition: Acquisition, resolution: float, wm_level: float
) -> np.ndarray:
    """Return the stored image: gamma, thick slices, bias, noise, scale (and 8-bit storage)."""
    out = np.power(np.clip(image / wm_level, 0, None), np.float32(acquisition.gamma)).astype(np.float32)
    if acquisition.slice_thickness > resolution:
        out = _thick_slices(out, acquisition.slice_thickness, acquisition.slice_axis, resolution, rng.random())
    field = upsample(rng.standard_normal((4, 4, 4)).astype(np.float32), out.shape)
    field = (field - field.mean()) / max(float(field.max() - field.min()), 1e-6)
    out *= np.exp(np.float32(acquisition.bias_strength) * field)
    noise = np.float32(1.0 / acquisition.snr)
    out = add_noise(rng, out, noise, acquisition.rician)
    if acquisition.bits8:
        top = float(np.percentile(out, 99.9)) or 1.0
        return np.clip(np.rint(out * (255.0 / top)), 0, 255).astype(np.float32)
    return (out * np.float32(acquisition.intensity_scale * 0.87)).astype(np.float32)


def brain_extraction(rng: np.random.Generator, brain: np.ndarray, mask: np.ndarray, resolution: float) -> np.ndarray:
    """A brain mask as an extraction tool gives it: the true brain grown or shrunk by up to ~2 mm, holes filled,
    never cutting a lesion."""
    step = int(rng.integers(-1, 3))
    voxels = max(1, int(round(abs(step) / resolution))) if step else 0
    keep = brain
    if step > 0:
        keep = ndi.binary_dilation(brain, iterations=voxels)
    elif step < 0:
        keep = ndi.binary_erosion(brain, iterations=voxels)
    return ndi.binary_fill_holes(keep | mask.astype(bool))
