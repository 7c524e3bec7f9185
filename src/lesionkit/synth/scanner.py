"""Scanner effects of one cohort's :class:`ScannerProfile`: contrast, slice thickness, bias field, noise, scale."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from lesionkit.synth.fields import upsample
from lesionkit.synth.profile import ScannerProfile

__all__ = ["add_noise", "apply_scanner"]


def _bias_field(rng: np.random.Generator, shape: tuple[int, ...], strength: float) -> np.ndarray:
    """Smooth multiplicative field exp(polynomial-like low-frequency noise), peak-to-peak ≈ ``strength``."""
    field = upsample(rng.standard_normal((4, 4, 4)).astype(np.float32), shape)
    span = float(field.max() - field.min()) or 1.0
    return np.exp(strength * (field - field.mean()) / span).astype(np.float32)


def add_noise(rng: np.random.Generator, image: np.ndarray, sigma: np.float32, rician: bool) -> np.ndarray:
    """Magnitude-image noise of standard deviation ``sigma``: Rician (|image + complex Gaussian|) or a clipped
    Gaussian; float32."""
    if rician:
        real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
        imag = sigma * rng.standard_normal(image.shape, dtype=np.float32)
        return np.sqrt(real * real + imag * imag)
    return np.clip(image + sigma * rng.standard_normal(image.shape, dtype=np.float32), 0, None)


def apply_scanner(
    rng: np.random.Generator, image: np.ndarray, profile: ScannerProfile, resolution: float, wm_level: float
) -> np.ndarray:
    """Return the stored image: gamma contrast, thick-slice blur, bias, noise, then the site's intensity scale."""
    out = np.clip(image / wm_level, 0, None)
    if profile.gamma != 1.0:
        out = np.power(out, np.float32(profile.gamma))
    if profile.slice_thickness > resolution:
        # acquired thick slices resampled to the grid: a Gaussian slice profile with that FWHM
        sigma = np.sqrt(max(profile.slice_thickness**2 - resolution**2, 0.0)) / (2.355 * resolution)
        out = ndi.gaussian_filter1d(out, sigma, axis=profile.slice_axis, mode="nearest")
    out *= _bias_field(rng, out.shape, profile.bias_strength)
    noise = np.float32(profile.noise)
    out = add_noise(rng, out, noise, profile.rician)
    return (out * np.float32(profile.intensity_scale * wm_level)).astype(np.float32)
