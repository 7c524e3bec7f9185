"""One synthetic subject: healthy head → subject deformation → (ageing) → lesions → look-alikes → scanner.

The realism of :class:`~lesionkit.synth.options.SynthOptions` draws from its own random stream
(``default_rng([seed, 3])``), and with :data:`~lesionkit.synth.options.CLASSIC` nothing of it runs: classic
subjects keep the original generator's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from lesionkit.core import bounding_box
from lesionkit.synth.aging import age_anatomy, atrophy_of_age
from lesionkit.synth.anatomy import Tissue, grid_shape, head_model
from lesionkit.synth.deform import random_deformation, warp
from lesionkit.synth.lesions import forbid, grow_lesion, paint_lesion, plan_lesions
from lesionkit.synth.lookalikes import add_enlarged_sulci, add_perivascular_spaces, add_periventricular_caps
from lesionkit.synth.options import ATLAS, SynthOptions
from lesionkit.synth.profile import ScannerProfile, draw_profile
from lesionkit.synth.randomize import apply_acquisition, apply_tissue_contrast, brain_extraction, draw_acquisition
from lesionkit.synth.real_shapes import place_real_lesion
from lesionkit.synth.scanner import apply_scanner
from lesionkit.synth.sulci import open_sulci, sulcal_fundi

__all__ = ["SyntheticSubject", "generate_subject"]

#: Supratentorial lesions larger than this (mm³) pull the ipsilateral lateral ventricle (ex-vacuo dilatation).
EX_VACUO_MM3 = 15_000.0
#: With an age range, heads also vary more in size and shape than the template's ±5 % (ATLAS's native scans).
_VARIED_HEAD = {"scale": 0.10, "rotation_deg": 6.0, "displacement_mm": 4.0}


@dataclass
class SyntheticSubject:
    """A generated subject on the MNI grid, with its ground truth."""

    subject_id: str
    t1w: np.ndarray
    """float32 T1w on the MNI grid at ``resolution`` (scanner-scaled intensities, defaced)."""
    mask: np.ndarray
    """uint8 0/1 lesion mask: voxels whose lesion fraction is ≥ 0.5."""
    affine: np.ndarray
    resolution: float
    profile: ScannerProfile
    lesions: list[dict]
    """Per lesion: index, volume_mm3, hemisphere (left/right), location, territory, centroid_mm (x, y, z)."""
    lesion_labels: np.ndarray
    """uint8: lesion index (1..n) per voxel, 0 elsewhere; ``mask == (lesion_labels > 0)``."""
    tissue: np.ndarray
    """uint8 tissue codes of the healthy anatomy in subject space (:class:`lesionkit.synth.anatomy.Tissue`)."""
    lookalikes: np.ndarray
    """uint8 bit map of unlabelled look-alikes: 1 perivascular spaces, 2 periventricular caps, 4 enlarged sulci,
    8 white-matter hypointensity of ageing (with ``age_range``)."""
    native: dict | None = field(default=None)
    """With ``native=True``: ``t1w``, ``mask``, ``affine`` of the native grid, ``to_mni`` (4×4, RAS mm, native world →
    subject MNI world) and ``to_template`` (subject MNI world → template world, the anatomy's affine part)."""
    to_template: np.ndarray | None = field(default=None)
    """4×4 subject MNI world → template world: the inverse of the affine part of the subject's deformation
    (exact up to the residual smooth warp, see :mod:`lesionkit.synth.deform`)."""
    age: float | None = field(default=None)
    """Age in years (with ``age_range``), which set the atrophy."""
    brain_extracted: bool = False
    """Stored skull-stripped (zero outside the brain)."""
    acquisition: dict | None = field(default=None)
    """The randomised contrast and acquisition (with ``randomize_contrast``)."""

    @property
    def brain(self) -> np.ndarray:
        """bool brain mask (CSF, grey and white matter; no skull, scalp or air)."""
        return (self.tissue >= Tissue.CSF) & (self.tissue <= Tissue.INFRA_WM)

    @property
    def n_lesions(self) -> int:
        return len(self.lesions)

    @property
    def hemisphere_class(self) -> str:
        sides = {lesion["hemisphere"] for lesion in self.lesions}
        return "bilateral" if len(sides) > 1 else (sides.pop() if sides else "none")

    @property
    def total_volume_mm3(self) -> float:
        return float(sum(lesion["volume_mm3"] for lesion in self.lesions))


def _ex_vacuo(
    image: np.ndarray, tissue: np.ndarray, lesion_mask: np.ndarray, x_mm: np.ndarray, side: str,
    volume_mm3: float, resolution: float, csf_level: float,
) -> None:
    """Enlarge the lateral ventricle on the lesion's side (unlabelled CSF, never inside a lesion)."""
    ventricle = (tissue == Tissue.VENTRICLE) & (((x_mm < 0) if side == "L" else (x_mm > 0))[:, None, None])
    grow = int(round(np.clip(volume_mm3 / 10_000.0, 1.5, 6.0) / resolution)) or 1
    box = bounding_box(ventricle, pad=grow + 2)
    if box is None:
        return
    bigger = ndi.binary_dilation(ventricle[box], iterations=grow)
    near_lesion = ndi.binary_dilation(lesion_mask[box], iterations=1)
    new = bigger & ~ventricle[box] & ~near_lesion & np.isin(tissue[box], [Tissue.WM, Tissue.DEEP_GM])
    weight = ndi.gaussian_filter(new.astype(np.float32), 0.6) * ~near_lesion
    region = image[box]
    region[...] = (1 - weight) * region + weight * csf_level


def generate_subject(
    seed: int,
    resolution: float = 1.0,
    cohort_profile: ScannerProfile | None = None,
    subject_id: str = "r001s001",
    native: bool = False,
    options: SynthOptions = ATLAS,
) -> SyntheticSubject:
    """Generate one subject; the same ``seed`` (and profile and options) gives byte-identical arrays.

    ``resolution`` 1 is the ATLAS grid (197×233×189); 2 is a test aid with the same field of view
    (99×117×95). Without ``cohort_profile`` a profile is drawn from the seed. ``options``: the opt-in
    realism (real lesion shapes, ageing, domain randomisation, brain extraction, lesion-free subjects).
    """
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 3])  # the options' own stream: defaults keep their bytes
    model = head_model(resolution)
    profile = cohort_profile or draw_profile(np.random.default_rng([seed, 1]), "R000")
    shape = grid_shape(model.resolution)
    deformation = random_deformation(rng, shape, model.affine, **(_VARIED_HEAD if options.age_range else {}),
                                     fine_mm=options.cortex_warp_mm, fine_rng=np.random.default_rng([seed, 5]))
    sulci = [sulcal_fundi(model.resolution)] if options.sulcal_csf > 0 else []
    image, periventricular, *sulci = warp([model.t1, model.periventricular, *sulci], deformation)
    labels = warp(model.labels, deformation, nearest=True)
    if sulci:  # its own stream ([seed, 6]): the rest of the subject keeps its draw
        open_sulci(np.random.default_rng([seed, 6]), image, labels, sulci[0], options.sulcal_csf, model.resolution,
                   model.csf_level)
    age, atrophy, aged_wm = None, 0.0, None
    if options.age_range is not None:
        age = round(float(extra.uniform(*options.age_range)), 1)
        atrophy = atrophy_of_age(age)
        aged_wm = age_anatomy(extra, image, labels, periventricular, atrophy, model.resolution, model.csf_level)
    tissue = labels >> 5
    x_mm = model.affine[0, 0] * np.arange(shape[0]) + model.affine[0, 3]

    # Lesions, largest first, each kept GAP_MM away from the others.
    forbidden = np.zeros(shape, dtype=bool)
    lesion_labels = np.zeros(shape, dtype=np.uint8)
    placed = []
    lesion_free = options.lesion_free_share > 0 and bool(extra.random() < options.lesion_free_share)
    small = options.small_lesion_share > 0 and bool(extra.random() < options.small_lesion_share)
    for plan in [] if lesion_free else plan_lesions(rng, small):
        real = options.lesion_shapes == "real" or (options.lesion_shapes == "mixed" and bool(extra.random() < 0.5))
        place = place_real_lesion if real else grow_lesion
        lesion = place(rng, labels, forbidden, plan, model.resolution, x_mm)
        if lesion is None:
            continue
        placed.append(lesion)
        forbid(forbidden, lesion, model.resolution)
        lesion_labels[lesion.box][lesion.mask] = len(placed)
        paint_lesion(rng, image, lesion, model.resolution, model.csf_level, model.wm_level, rim=options.lesion_rim)
    mask = (lesion_labels > 0).astype(np.uint8)

    lesions = []
    for index, lesion in enumerate(placed, start=1):
        voxels = np.argwhere(lesion.mask) + [b.start for b in lesion.box]
        centroid = model.affine[:3, :3] @ voxels.mean(0) + model.affine[:3, 3]
        volume = float(len(voxels) * model.resolution**3)
        lesions.append({
            "index": index,
            "volume_mm3": volume,
            "hemisphere": "left" if centroid[0] < 0 else "right",
            "location": lesion.plan.location,
            "territory": lesion.territory,
            "centroid_mm": tuple(round(float(c), 1) for c in centroid),
        })
        if volume >= EX_VACUO_MM3 and lesion.plan.location != "other":
            _ex_vacuo(image, tissue, mask.astype(bool), x_mm, lesion.plan.side, volume, model.resolution,
                      model.csf_level)

    # Look-alikes, kept out of lesions and their partial-volume rim.
    keep_out = ndi.binary_dilation(mask.astype(bool), iterations=2)
    lookalikes = np.zeros(shape, dtype=np.uint8)
    pvs = None if options.age_range is None else int(extra.poisson(70 * (1 + 2 * atrophy)))  # more with age
    lookalikes[add_perivascular_spaces(rng, image, tissue, keep_out, model.resolution, model.csf_level, pvs)] |= 1
    lookalikes[add_periventricular_caps(rng, image, periventricular, keep_out)] |= 2
    lookalikes[add_enlarged_sulci(rng, image, tissue, keep_out, model.resolution, model.csf_level)] |= 4
    if aged_wm is not None:
        lookalikes[aged_wm & ~keep_out] |= 8

    acquisition = None
    if options.randomize_contrast:
        acquisition = draw_acquisition(extra, options.acquisition)
        apply_tissue_contrast(extra, image, tissue, mask, acquisition, model.resolution)  # native images share it
        t1w = apply_acquisition(rng, image, acquisition, model.resolution, model.wm_level)
    else:
        t1w = apply_scanner(rng, image, profile, model.resolution, model.wm_level)
    defaced = tissue == Tissue.DEFACED
    stripped = options.skull_strip_share > 0 and bool(extra.random() < options.skull_strip_share)
    if stripped:
        brain = (tissue >= Tissue.CSF) & (tissue <= Tissue.INFRA_WM)
        defaced = ~brain_extraction(extra, brain, mask, model.resolution)
    t1w[defaced] = 0.0
    subject = SyntheticSubject(
        subject_id=subject_id, t1w=t1w, mask=mask, affine=model.affine.copy(), resolution=model.resolution,
        profile=profile, lesions=lesions, lesion_labels=lesion_labels, tissue=tissue.astype(np.uint8),
        lookalikes=lookalikes, to_template=np.linalg.inv(deformation.affine), age=age, brain_extracted=stripped,
        acquisition=None if acquisition is None else acquisition.as_dict(),
    )
    if native:
        from lesionkit.synth.native import to_native

        subject.native = to_native(np.random.default_rng([seed, 2]), image, mask, defaced, subject.affine, profile,
                                   model.wm_level)
        subject.native["to_template"] = subject.to_template
    return subject
