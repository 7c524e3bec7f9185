"""Per-case QC features of one segmentation, from what segmentation produces (no ground truth).

All are computed on the grid the model's output lies on (MNI for lesionkit's pipeline):

* ``volume_mm3``, ``n_lesions``: the mask's volume and its 6-connected lesions (the toolkit's one labelling);
* ``members``, ``member_dice``, ``member_volume_cv``: agreement of the member predictions a probability is
  averaged from — the network on the image and on its left-right mirror (flip TTA), and each network of an
  ensemble. Each member is thresholded like the mask; ``member_dice`` is the mean pairwise Dice (both empty
  count as agreeing, 1), ``member_volume_cv`` the coefficient of variation of their volumes (0 when all are
  empty). A mirror-symmetric anatomy, a network confident for the right reasons, predicts the same lesion on
  the mirrored image; where it guesses, the two disagree;
* ``entropy_lesion``, ``entropy_shell``: mean binary entropy (bits, 0 = certain, 1 = p of 0.5) of the
  probability inside the mask and in a :data:`SHELL_MM` shell around it (its boundary's sharpness);
* ``faint_mm3``: volume farther than the shell from the mask with a probability of at least half the
  threshold — lesion-like signal the threshold dropped (a missed lesion often leaves one);
* ``edge_share``, ``outside_share``, ``ventricle_share``: the share of mask voxels at the brain's edge,
  clearly outside the brain, or at the ventricles (:mod:`lesionkit.qc.regions`; undefined off the MNI grid);
* ``template_ncc``: the correlation of the (MNI-space) T1w with the MNI template inside the template's
  brain — what the network was trained to expect. Other contrasts, heavy noise, thick-slice blur, a bias
  field or a misregistration all lower it (undefined without the image, or off the MNI grid);
* ``snr_wm``, ``gm_wm_contrast``, ``slice_thickness_mm``: the quality of the input itself, from the T1w the model
  segmented (on the MNI grid) and the template's sure white and grey matter — the white-matter SNR (level over
  a robust noise estimate of a high-pass residual), the grey-over-white level ratio and the effective slice
  thickness in mm (from the per-axis curvature of the structure function, calibrated on synthetic thick-slice
  scans; a native scan's recorded voxel size wins). Definitions and accuracy: :mod:`lesionkit.qc.image_quality`;
* ``registration_ncc``: for a native scan, the brain normalised cross-correlation with the template of
  the final affine that ``lesionkit.preprocess`` records (right poses score 0.64–0.95, wrong ones at most
  0.61 on its benchmark); ``registration_fallback`` 1 when every affine fit failed its sanity check.

Undefined values are NaN (an empty mask has no inside; a case without members has no agreement); the
score (:mod:`lesionkit.qc.score`) treats NaN as "no evidence".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from lesionkit.core import (
    DEFAULT_THRESHOLD,
    binarize_probability,
    bounding_box,
    dice,
    label_lesions,
    remove_small_lesions,
)
from lesionkit.qc.image_quality import IMAGE_FEATURES, image_quality, recorded_slice_thickness
from lesionkit.qc.regions import Regions, template_regions

__all__ = [
    "FEATURES",
    "SHELL_MM",
    "binary_entropy",
    "case_features",
    "member_agreement",
    "registration_quality",
    "template_similarity",
]

#: The per-case feature names, in the order ``qc.tsv`` lists them.
FEATURES = (
    "volume_mm3", "n_lesions", "members", "member_dice", "member_volume_cv", "entropy_lesion", "entropy_shell",
    "faint_mm3", "edge_share", "outside_share", "ventricle_share", "template_ncc", *IMAGE_FEATURES,
    "registration_ncc", "registration_fallback",
)
#: Width of the boundary shell around the predicted lesion (mm).
SHELL_MM = 3.0
NAN = float("nan")


def binary_entropy(probability: np.ndarray) -> np.ndarray:
    """Entropy in bits of a Bernoulli variable with probability ``probability`` (float32; 0 at 0 and 1)."""
    p = np.clip(np.asarray(probability, dtype=np.float32), 1e-7, 1 - 1e-7)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def member_agreement(masks: Sequence[np.ndarray], voxel_mm3: float = 1.0) -> dict[str, float]:
    """``members``, ``member_dice`` (mean pairwise Dice) and ``member_volume_cv`` of binary member masks."""
    if len(masks) < 2:
        return {"members": float(len(masks)), "member_dice": NAN, "member_volume_cv": NAN}
    volumes = np.array([np.count_nonzero(m) for m in masks], float) * voxel_mm3
    pairs = [dice(a, b) for a, b in itertools.combinations(masks, 2)]
    mean = float(volumes.mean())
    return {"members": float(len(masks)), "member_dice": float(np.mean(pairs)),
            "member_volume_cv": float(volumes.std() / mean) if mean > 0 else 0.0}


def registration_quality(registration: Mapping | None) -> dict[str, float]:
    """``registration_ncc`` and ``registration_fallback`` from the parameters of the ``registration`` step
    of a preprocessing sidecar (``Steps``); NaN for both without one (an MNI input was not registered)."""
    if not registration:
        return {"registration_ncc": NAN, "registration_fallback": NAN}
    scores = registration.get("brain_ncc") or {}
    final = scores.get("final") if isinstance(scores, Mapping) else None
    fallback = "fallback" in str(registration.get("initialisation_chosen", ""))
    return {"registration_ncc": float(final) if isinstance(final, int | float) else NAN,
            "registration_fallback": float(fallback)}


def template_similarity(image: np.ndarray, regions: Regions | None) -> float:
    """Pearson correlation of ``image`` with the template inside the template's brain (NaN without both)."""
    if regions is None or regions.brain is None or regions.template is None:
        return NAN
    values = np.asarray(image, dtype=np.float32)[regions.brain]
    template = regions.template[regions.brain]
    if values.size < 2 or float(values.std()) == 0.0:
        return NAN
    return float(np.corrcoef(values, template)[0, 1])


def _shell(mask: np.ndarray, spacing: Sequence[float], width_mm: float) -> tuple[tuple[slice, ...], np.ndarray]:
    """(box around the mask grown by the shell, the shell's voxels in that box): no full-volume distance map."""
    box = bounding_box(mask)
    assert box is not None
    pad = [int(math.ceil(width_mm / s)) + 1 for s in spacing]
    slices = tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, mask.shape, strict=True))
    inside = mask[slices]
    distance = ndimage.distance_transform_edt(~inside, sampling=spacing)
    return slices, (distance > 0) & (distance <= width_mm)


def case_features(
    probability: np.ndarray | None,
    mask: np.ndarray,
    members: Mapping[str, np.ndarray] | Sequence[np.ndarray] | None = None,
    *,
    affine: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    min_size_mm3: float = 0.0,
    regions: Regions | None = None,
    registration: Mapping | None = None,
    image: np.ndarray | None = None,
    reorient: Mapping | None = None,
) -> dict[str, float]:
    """The features of :data:`FEATURES` (see the module docstring) of one case.

    ``probability`` and ``mask`` lie on one grid (``affine``, default identity: 1 mm voxels); the members'
    probabilities too. A member is thresholded at ``threshold`` without lesions under ``min_size_mm3``, as
    the mask was. ``regions`` default to the template's on the MNI grid
    (:func:`~lesionkit.qc.regions.template_regions`);
    ``registration``: the preprocessing's ``registration`` step parameters (native scans only); ``image``: the
    T1w the model segmented, on the same grid (for ``template_ncc`` and the input-quality features);
    ``reorient``: the preprocessing's ``reorient`` step parameters (the native voxel size: the slice thickness).
    """
    mask = np.asarray(mask) > 0
    affine = np.eye(4) if affine is None else np.asarray(affine, float)
    spacing = tuple(float(s) for s in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))
    voxel_mm3 = float(abs(np.linalg.det(affine[:3, :3])))
    _, n_lesions = label_lesions(mask, voxel_mm3)
    volume = float(np.count_nonzero(mask)) * voxel_mm3
    out: dict[str, float] = {"volume_mm3": volume, "n_lesions": float(n_lesions)}

    arrays = list(members.values()) if isinstance(members, Mapping) else list(members or [])
    member_masks = [remove_small_lesions(binarize_probability(np.asarray(m), threshold), min_size_mm3, voxel_mm3)
                    for m in arrays]
    out.update(member_agreement(member_masks, voxel_mm3))

    out.update(entropy_lesion=NAN, entropy_shell=NAN, faint_mm3=NAN)
    if probability is not None:
        probability = np.asarray(probability, dtype=np.float32)
        candidates = binarize_probability(probability, 0.5 * threshold)
        if volume > 0:
            slices, shell = _shell(mask, spacing, SHELL_MM)
            out["entropy_lesion"] = float(binary_entropy(probability[mask]).mean())
            out["entropy_shell"] = float(binary_entropy(probability[slices][shell]).mean()) if shell.any() else NAN
            near = np.zeros_like(mask)
            near[slices] = shell | mask[slices]
            candidates &= ~near
        out["faint_mm3"] = float(np.count_nonzero(candidates)) * voxel_mm3

    regions = regions if regions is not None else template_regions(affine, mask.shape)
    for name, region in (("edge_share", "edge"), ("outside_share", "outside"), ("ventricle_share", "ventricles")):
        if regions is None or volume == 0:
            out[name] = NAN
        else:
            out[name] = float(np.count_nonzero(getattr(regions, region) & mask)) * voxel_mm3 / volume
    out["template_ncc"] = template_similarity(image, regions) if image is not None else NAN
    out.update(image_quality(image, regions, exclude=mask, spacing=spacing,
                             recorded_thickness_mm=recorded_slice_thickness(reorient)))
    out.update(registration_quality(registration))
    # six decimals: enough for any decision, and volumes of 8 mm³ voxels read 53920, not 53919.999999999985
    return {name: round(out[name], 6) if math.isfinite(out[name]) else NAN for name in FEATURES}
