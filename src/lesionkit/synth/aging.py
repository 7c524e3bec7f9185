"""Ageing anatomy: wider sulci, thinner cortex, larger ventricles, white-matter hypointensity (one subject).

Every synthetic subject starts as the MNI152 template, an average of young adults whose sulci are
narrow and ventricles small; a chronic-stroke cohort (ATLAS: mostly 50–80 years) has wider sulcal and
cortical CSF and larger ventricles. A network trained only on the template learns "CSF where the
template has brain = lesion" and traces the sulci of real older brains (issue 13). Here an age-like
``atrophy`` in 0..1 (:func:`atrophy_of_age`: 0 at 30 years, 1 at 85) drives, in subject space:

* cortical atrophy: cortex within ``atrophy × 0–3 mm`` (varying smoothly over the brain) of sulcal
  CSF becomes CSF, which widens the sulci and thins the cortex from outside;
* ventricular enlargement: white and grey matter (caudate, thalamus) within ``atrophy × 2.5–5.5 mm``
  of the ventricles becomes ventricle (the ex-vacuo enlargement beside large lesions is added later, on top);
* white-matter hypointensity (unlabelled): smooth patches of white matter, most around the ventricles,
  darkened by up to ``atrophy × 30 %``.

Tissue labels are changed with the image, so lesions are then placed in the aged anatomy.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from lesionkit.core import bounding_box
from lesionkit.synth.anatomy import Tissue
from lesionkit.synth.fields import smooth_noise

__all__ = ["age_anatomy", "atrophy_of_age"]


def atrophy_of_age(age: float) -> float:
    """0 at 30 years or younger, rising linearly to 1 at 85 and above."""
    return float(np.clip((age - 30.0) / 55.0, 0.0, 1.0))


def _grow_into(
    image: np.ndarray, labels: np.ndarray, source: np.ndarray, into: np.ndarray, reach_mm: np.ndarray,
    resolution: float, csf_level: float, new_tissue: int,
) -> np.ndarray:
    """Turn ``into`` voxels within ``reach_mm`` of ``source`` into CSF (image and labels, in place)."""
    box = bounding_box(source, pad=int(np.ceil(float(reach_mm.max()) / resolution)) + 2)
    if box is None:
        return np.zeros(source.shape, bool)
    dist = ndi.distance_transform_edt(~source[box], sampling=resolution).astype(np.float32)
    # partial volume over one voxel at the new border
    fraction = np.clip((reach_mm[box] - dist) / resolution + 0.5, 0.0, 1.0) * into[box]
    region = image[box]
    region[...] = (1 - fraction) * region + fraction * csf_level
    changed = np.zeros(source.shape, bool)
    changed[box] = fraction >= 0.5
    labels[changed] = new_tissue * 32 + (labels[changed] & 31)
    return changed


def age_anatomy(
    rng: np.random.Generator,
    image: np.ndarray,
    labels: np.ndarray,
    periventricular: np.ndarray,
    atrophy: float,
    resolution: float,
    csf_level: float,
) -> np.ndarray:
    """Age the subject in place (``image`` and ``labels``); returns the bool map of white-matter hypointensity."""
    tissue = labels >> 5
    if atrophy > 0:
        sulci = atrophy * 1.5 * (1.0 + np.clip(smooth_noise(rng, image.shape, 40.0 / resolution), -1.0, 1.0))
        _grow_into(image, labels, tissue == Tissue.CSF, np.isin(tissue, (Tissue.CORTEX, Tissue.INFRA_GM)), sulci,
                   resolution, csf_level, Tissue.CSF)
        ventricles = np.full(image.shape, np.float32(atrophy * rng.uniform(2.5, 5.5)))
        beside = np.isin(tissue, (Tissue.WM, Tissue.DEEP_GM, Tissue.CORTEX))  # caudate/thalamus may be CORTEX-coded
        _grow_into(image, labels, tissue == Tissue.VENTRICLE, beside, ventricles, resolution, csf_level,
                   Tissue.VENTRICLE)
    tissue = labels >> 5
    white = tissue == Tissue.WM
    patches = np.clip(smooth_noise(rng, image.shape, 10.0 / resolution) - 1.0, 0.0, None)
    weight = np.clip(patches * 0.5 + 2.0 * periventricular, 0.0, 1.0) * white
    weight = (weight * np.float32(atrophy * rng.uniform(0.15, 0.3))).astype(np.float32)
    image *= 1.0 - weight
    return weight > 0.02
