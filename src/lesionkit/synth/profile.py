"""Per-cohort scanner profiles: what makes one ATLAS site's images look different from another's."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ScannerProfile", "draw_profile"]


@dataclass(frozen=True)
class ScannerProfile:
    """Acquisition and reconstruction traits shared by every subject of one cohort (site).

    Intensities are modelled on a [0, 1] scale where white matter is about 0.87 (the template's
    scale) and multiplied by ``intensity_scale`` at the end, so sites store e.g. 0–1000 or 0–4000.
    """

    name: str = "R000"
    intensity_scale: float = 1000.0
    gamma: float = 1.0
    """Contrast exponent applied to the normalised image (<1 flattens, >1 steepens GM/WM contrast)."""
    bias_strength: float = 0.15
    """Peak-to-peak amplitude of the smooth multiplicative bias field (0.15 = ±7.5 %)."""
    noise: float = 0.02
    """Noise standard deviation as a fraction of the white-matter intensity."""
    rician: bool = True
    slice_thickness: float = 1.0
    """Acquired slice thickness in mm (1–2); >1 blurs along ``slice_axis`` before resampling to the grid."""
    slice_axis: int = 2
    native_voxel: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Voxel size of the ``space-orig`` images (the thick axis is the third)."""
    native_lps: bool = False
    """Store native images with LPS-ordered voxel axes (a flipped affine), as some converters do."""

    def as_dict(self) -> dict:
        return asdict(self)


def draw_profile(rng: np.random.Generator, name: str = "R000") -> ScannerProfile:
    """Draw a plausible site profile (1.5 T/3 T, old/new coils, isotropic or thick-slice protocols)."""
    thick = bool(rng.random() < 0.35)
    native_voxel = (0.9, 0.9, float(rng.choice([2.0, 3.0]))) if thick else (1.0, 1.0, float(rng.choice([1.0, 1.2])))
    return ScannerProfile(
        name=name,
        intensity_scale=float(rng.choice([800.0, 1000.0, 2000.0, 4000.0])),
        gamma=float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))),
        bias_strength=float(rng.uniform(0.05, 0.35)),
        noise=float(rng.uniform(0.008, 0.04)),
        rician=bool(rng.random() < 0.7),
        slice_thickness=float(rng.uniform(1.3, 2.0)) if thick else 1.0,
        slice_axis=int(rng.integers(0, 3)),
        native_voxel=native_voxel,
        native_lps=bool(rng.random() < 0.4),
    )
