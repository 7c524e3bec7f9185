"""Hypointensities that are NOT stroke lesions and must stay unlabelled (the model must learn to ignore them).

* periventricular white-matter hypointensities: mild, smooth caps around the frontal and occipital horns;
* perivascular spaces: tiny elongated CSF-dark dots, mostly vertical, in the basal ganglia and the
  centrum semiovale;
* enlarged sulci (cortical atrophy): cortical grey matter next to sulcal CSF turned CSF-like in patches.

Each function edits the image in place, stays out of ``keep_out`` (lesions plus a margin), and
returns a boolean map of what it changed, so tests can check look-alikes exist outside the mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from lesionkit.synth.anatomy import Tissue
from lesionkit.synth.fields import smooth_noise

__all__ = ["add_enlarged_sulci", "add_periventricular_caps", "add_perivascular_spaces"]


def _box_around(mask: np.ndarray, margin: int) -> tuple[slice, ...] | None:
    found = ndi.find_objects(mask.astype(np.uint8))
    if not found or found[0] is None:
        return None
    return tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(found[0], mask.shape,
                                                                                             strict=True))


def add_periventricular_caps(
    rng: np.random.Generator, image: np.ndarray, tissue: np.ndarray, keep_out: np.ndarray, resolution: float
) -> np.ndarray:
    """Darken white matter within a few mm of the ventricles, most at the frontal/occipital horn tips."""
    ventricle = tissue == Tissue.VENTRICLE
    box = _box_around(ventricle, int(np.ceil(10 / resolution)))
    changed = np.zeros(image.shape, dtype=bool)
    if box is None:
        return changed
    strength = rng.uniform(0.06, 0.18)
    dist = ndi.distance_transform_edt(~ventricle[box]) * resolution
    y = np.arange(box[1].start, box[1].stop, dtype=np.float32)
    vy = np.nonzero(ventricle[box].any(axis=(0, 2)))[0] + box[1].start
    y0, y1 = float(vy.min()), float(vy.max())
    # caps: strongest within ~12 mm of either end of the ventricles along the anterior-posterior axis
    tips = np.maximum(np.clip(1 - (y - y0) * resolution / 12, 0, 1), np.clip(1 - (y1 - y) * resolution / 12, 0, 1))
    weight = strength * np.exp(-dist / 3.0) * (0.35 + 0.65 * tips[None, :, None])
    weight *= (tissue[box] == Tissue.WM) & ~keep_out[box] & (dist > 0)
    weight = ndi.gaussian_filter(weight.astype(np.float32), 1.0 / resolution)
    image[box] *= 1.0 - weight
    changed[box] = weight > 0.01  # darkened by more than 1 %
    return changed


def add_perivascular_spaces(
    rng: np.random.Generator,
    image: np.ndarray,
    tissue: np.ndarray,
    keep_out: np.ndarray,
    resolution: float,
    csf_level: float,
    count: int | None = None,
) -> np.ndarray:
    """Draw short, thin, mostly vertical CSF-dark segments in deep grey matter and white matter."""
    changed = np.zeros(image.shape, dtype=bool)
    candidates = np.flatnonzero(((tissue == Tissue.DEEP_GM) | (tissue == Tissue.WM)) & ~keep_out)
    if candidates.size == 0:
        return changed
    count = int(rng.poisson(45)) if count is None else count
    fraction = np.zeros(image.shape, dtype=np.float32)
    for start in rng.choice(candidates, size=count):
        centre = np.array(np.unravel_index(int(start), image.shape), dtype=np.float32)
        direction = np.array([rng.normal(0, 0.25), rng.normal(0, 0.25), 1.0], dtype=np.float32)
        direction /= np.linalg.norm(direction)
        length = rng.uniform(3.0, 9.0) / resolution
        # a PVS is ~1 mm wide: at coarser voxels it only darkens part of each voxel
        depth = rng.uniform(0.55, 0.8) / resolution**2
        for t in np.arange(-length / 2, length / 2 + 0.01, 0.5):
            idx = tuple(np.clip(np.rint(centre + t * direction).astype(int), 0, np.array(image.shape) - 1))
            fraction[idx] = max(fraction[idx], depth)
    fraction[keep_out | ~((tissue == Tissue.DEEP_GM) | (tissue == Tissue.WM))] = 0
    hit = fraction > 0
    image[hit] = (1 - fraction[hit]) * image[hit] + fraction[hit] * csf_level
    changed |= hit
    return changed


def add_enlarged_sulci(
    rng: np.random.Generator,
    image: np.ndarray,
    tissue: np.ndarray,
    keep_out: np.ndarray,
    resolution: float,
    csf_level: float,
) -> np.ndarray:
    """Cortical atrophy: in random patches, cortex bordering sulcal CSF becomes CSF-like (widened sulci)."""
    csf = tissue == Tissue.CSF
    border = (tissue == Tissue.CORTEX) & ndi.binary_dilation(csf) & ~keep_out
    patches = smooth_noise(rng, image.shape, 30.0 / resolution)
    atrophy = rng.uniform(0.0, 1.0)
    hit = border & (patches > 1.2 - atrophy)
    amount = np.float32(rng.uniform(0.5, 0.85))
    image[hit] = (1 - amount) * image[hit] + amount * csf_level
    return hit
