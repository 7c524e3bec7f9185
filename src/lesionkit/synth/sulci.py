"""Sulcal CSF to the fundus: what a single scan shows and the template's average hides.

The MNI152 template is the mean of 152 brains: where their sulci disagree the CSF between two banks of cortex
averages into grey partial volume, so the template's sulci are shallow and grey at depth. In one real 1 mm scan
a sulcus is a narrow CSF-dark cleft that runs to its fundus (S1 beside the synthetic heads:
``docs/synthetic_realistic_montage.png``). A network that has only seen the template's folds reads a real deep,
dark sulcus as a cortical infarct (issue 22, session 10: the 1 mm twin's confident false lesions on the real
head S1 all lay at the fundi of deep sulci).

:func:`sulcal_fundi` finds each sulcus's medial sheet in the template once: the ridge of the distance from white
matter, where the unit gradient of that distance converges from the two facing banks (its divergence is strongly
negative; the flux skeleton of Siddiqi et al., 2002). :func:`open_sulci` draws CSF along it in one subject.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage as ndi

from lesionkit.core import bounding_box
from lesionkit.synth.anatomy import Tissue, head_model
from lesionkit.synth.fields import smooth_noise

__all__ = ["medial_sheet", "open_sulci", "sulcal_fundi"]

#: Divergence (per mm) of the unit gradient of the white-matter distance below which a voxel is on a sulcus's
#: medial sheet: two opposing banks give about -1 per mm; a single flat or convex surface about 0 or above.
_RIDGE_DIVERGENCE = -0.6
#: The sheet is drawn from just outside white matter to this depth (mm), where sulci open into surface CSF.
_RIDGE_DISTANCE_MM = (1.0, 8.0)


def medial_sheet(white: np.ndarray, within: np.ndarray) -> np.ndarray:
    """bool: the voxels of ``within`` (1 mm grid) on the medial sheet between facing surfaces of ``white``, the ridge
    of the distance from ``white``, where its unit gradient converges from both sides. A lone surface has none."""
    distance = ndi.distance_transform_edt(~white).astype(np.float32)
    low, high = _RIDGE_DISTANCE_MM
    candidate = within & (distance > low) & (distance < high)
    sheet = np.zeros(white.shape, dtype=bool)
    box = bounding_box(candidate, pad=2)
    if box is None:
        return sheet
    gradient = np.stack(np.gradient(distance[box]))
    gradient /= np.maximum(np.linalg.norm(gradient, axis=0), 1e-3)
    divergence = sum(np.gradient(gradient[axis], axis=axis) for axis in range(3))
    sheet[box] = candidate[box] & (divergence < _RIDGE_DIVERGENCE)
    return sheet


@functools.lru_cache(maxsize=4)
def sulcal_fundi(resolution: float = 1.0) -> np.ndarray:
    """float32 0..1 on the template's grid at ``resolution`` mm: how much of each voxel a real scan's sulcal CSF
    fills (a ~1 mm thick sheet through the supratentorial sulci, from their fundus outwards). Read-only, cached."""
    if resolution != 1.0:  # the 1 mm sheet, pre-blurred and subsampled like the head model
        step = int(round(resolution))
        fundi = ndi.gaussian_filter(sulcal_fundi(1.0), 0.42 * step)[::step, ::step, ::step].copy()
    else:
        tissue = head_model(1.0).labels >> 5
        sheet = medial_sheet(tissue == Tissue.WM, np.isin(tissue, (Tissue.CORTEX, Tissue.CSF)))
        # a one-voxel sheet blurred to ~1 mm of CSF with partial volume on either side (peak 1, flanks ~0.3)
        fundi = np.clip(ndi.gaussian_filter(sheet.astype(np.float32), 0.5) * 1.25, 0.0, 1.0)
    fundi.setflags(write=False)
    return fundi


def open_sulci(
    rng: np.random.Generator,
    image: np.ndarray,
    labels: np.ndarray,
    fundi: np.ndarray,
    amount: float,
    resolution: float,
    csf_level: float,
) -> np.ndarray:
    """Darken the sulcal sheet ``fundi`` (warped to the subject) towards ``csf_level``, in place; voxels at least
    half CSF become CSF in ``labels`` (so contrast randomisation and ageing treat them as CSF). ``amount`` (0..1)
    scales the subject's draw: 60–100 % of it, varying by another 0–40 % between regions (some sulci are more open
    than others). Never brightens. Returns the bool map of voxels darkened by more than 5 % of the way to CSF."""
    strength = np.float32(amount * rng.uniform(0.6, 1.0))
    regional = 0.8 + 0.2 * np.clip(smooth_noise(rng, image.shape, 30.0 / resolution), -1.0, 1.0)
    weight = (fundi * strength * regional).astype(np.float32)
    tissue = labels >> 5
    weight[~np.isin(tissue, (Tissue.CORTEX, Tissue.CSF))] = 0.0
    image[...] = np.minimum(image, (1 - weight) * image + weight * np.float32(csf_level))
    cleft = (weight >= 0.5) & (tissue == Tissue.CORTEX)
    labels[cleft] = Tissue.CSF * 32 + (labels[cleft] & 31)
    return weight > 0.05
