"""Chronic stroke lesions: how many, where, how big, their shape and their T1 appearance.

Statistics follow the ATLAS papers: about 60 % of subjects have one lesion and the rest 2–4; about
60 % of lesions are subcortical (entirely in white matter / deep grey matter), 25 % cortical (they
reach the cortex) and 15 % elsewhere (brainstem, cerebellum); hemispheres are balanced; volumes run
from 10 mm³ to 2.8×10⁵ mm³ with a per-subject median total near 4,000 mm³ (log-normal, clipped).

Shapes follow the JHU arterial territories: a seed is drawn in a territory of the right class
(deep perforator territories MLS/LLS/ACTP/PCTP for subcortical, MCA/ACA/PCA branches for cortical,
B/SC/IC for other), and the lesion is the set of allowed voxels nearest to it under a distance that is
anisotropic, randomly rotated, perturbed by smooth noise and inflated outside the seed's territory
and arterial tree, so lesions are irregular and spread along territories, never spheres.

Partial volume: every lesion has a fraction map ``f``; the mask is exactly ``f >= 0.5`` (the voxel is
at least half lesion). Mask-edge voxels are blended (0.5 ≤ f < 1), and a rim of voxels just outside
the mask is altered by less than half (f < 0.5), so the mask is the truth of the altered image.
Lesions keep a gap of at least 3 mm between masks, so they never merge into one component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial.transform import Rotation

from lesionkit.core import label_components, largest_component
from lesionkit.synth.anatomy import Tissue, territory_table
from lesionkit.synth.fields import smooth_noise

__all__ = ["LOCATIONS", "LesionPlan", "LesionRim", "PlacedLesion", "forbid", "grow_lesion", "paint_lesion",
           "plan_lesions"]

LesionRim = Literal["fixed", "scaled"]
"""The gliotic rim of a painted lesion: ``fixed`` 1.5–3 mm whatever its size (the earlier generator), ``scaled``
at most a third of its depth (small lesions are CSF-dark cavities)."""

LOCATIONS = ("subcortical", "cortical", "other")
_LOCATION_P = (0.60, 0.25, 0.15)
#: Median volume (mm³) of a subject's first lesion by site, and the cap that the site's anatomy allows.
_MEDIAN_MM3 = {"subcortical": 4500.0, "cortical": 15000.0, "other": 3000.0}
_CAP_MM3 = {"subcortical": 4.0e4, "cortical": 2.8e5, "other": 2.5e4}
_SIGMA = 1.35
_MIN_MM3, _MAX_MM3 = 10.0, 2.8e5
GAP_MM = 3.0

#: Arterial tree of each territory family, for "follow the territory" costs.
_ARTERY = {
    "ACA": "ACA", "MLS": "ACA", "MCAF": "MCA", "MCAP": "MCA", "MCAT": "MCA", "MCAO": "MCA", "MCAI": "MCA",
    "LLS": "MCA", "ACTP": "ACh", "PCAT": "PCA", "PCAO": "PCA", "PCTP": "PCA", "B": "VB", "SC": "VB", "IC": "VB",
}


@dataclass(frozen=True)
class LesionPlan:
    location: str
    side: str
    """``L`` or ``R``: the hemisphere whose territories seed the lesion."""
    volume_mm3: float


@dataclass
class PlacedLesion:
    plan: LesionPlan
    box: tuple[slice, slice, slice]
    mask: np.ndarray
    """bool, inside ``box``."""
    territory: str


#: Small-vessel and small embolic lesions (``plan_lesions(small=True)``): lacunes in deep white matter, basal
#: ganglia and thalamus, small cortical infarcts, cerebellar and pontine lacunes; volumes log-uniform.
_SMALL_LOCATION_P = (0.65, 0.2, 0.15)
_SMALL_MM3 = (15.0, 1500.0)


def plan_lesions(rng: np.random.Generator, small: bool = False) -> list[LesionPlan]:
    """Draw one subject's lesions (largest first, so big lesions find room before small ones).

    ``small``: the subject has only small lesions (15–1,500 mm³, one to four), the lacunes and small infarcts
    that make up most of ATLAS's lesions by count and that ATLAS's lesion-wise F1 weighs like any other.
    """
    if small:
        return _plan_small_lesions(rng)
    n = 1 if rng.random() < 0.6 else int(rng.choice([2, 3, 4], p=[0.5, 0.3, 0.2]))
    side = "L" if rng.random() < 0.5 else "R"
    plans = []
    for i in range(n):
        location = str(rng.choice(LOCATIONS, p=_LOCATION_P))
        lesion_side = side if i == 0 or rng.random() < 0.65 else ("R" if side == "L" else "L")
        median = _MEDIAN_MM3[location] * (1.0 if i == 0 else 0.25)
        volume = float(np.clip(median * np.exp(_SIGMA * rng.standard_normal()), _MIN_MM3, _CAP_MM3[location]))
        plans.append(LesionPlan(location, lesion_side, volume))
    return sorted(plans, key=lambda p: -p.volume_mm3)


def _plan_small_lesions(rng: np.random.Generator) -> list[LesionPlan]:
    n = int(rng.choice([1, 2, 3, 4], p=[0.45, 0.3, 0.15, 0.1]))
    side = "L" if rng.random() < 0.5 else "R"
    low, high = np.log(_SMALL_MM3[0]), np.log(_SMALL_MM3[1])
    plans = []
    for i in range(n):
        location = str(rng.choice(LOCATIONS, p=_SMALL_LOCATION_P))
        lesion_side = side if i == 0 or rng.random() < 0.5 else ("R" if side == "L" else "L")
        plans.append(LesionPlan(location, lesion_side, float(np.exp(rng.uniform(low, high)))))
    return sorted(plans, key=lambda p: -p.volume_mm3)


def _seed_and_allowed(location: str, side: str) -> tuple[set[int], set[int], tuple[int, ...]]:
    """(seed tissues, allowed tissues, seed territory labels) for a site."""
    table = territory_table()
    wanted = {"subcortical": "deep", "cortical": "cortical", "other": "infratentorial"}[location]
    territories = tuple(lab for lab, (_, cls, s) in table.items() if cls == wanted and s == side)
    if location == "subcortical":
        return {Tissue.DEEP_GM, Tissue.WM}, {Tissue.DEEP_GM, Tissue.WM}, territories
    if location == "cortical":
        return {Tissue.CORTEX}, {Tissue.CORTEX, Tissue.WM}, territories
    return {Tissue.INFRA_GM, Tissue.INFRA_WM}, {Tissue.INFRA_GM, Tissue.INFRA_WM}, territories


def grow_lesion(
    rng: np.random.Generator,
    labels: np.ndarray,
    forbidden: np.ndarray,
    plan: LesionPlan,
    resolution: float,
    x_mm: np.ndarray,
    tries: int = 6,
) -> PlacedLesion | None:
    """Grow one lesion in subject space; ``forbidden`` is earlier lesions dilated by ``GAP_MM`` (see :func:`forbid`).

    ``x_mm`` is the world x coordinate of each index along axis 0 (to keep a lesion in its hemisphere).
    Returns None if no room was found (the caller drops the lesion; metadata follow the mask).
    """
    tissue = labels >> 5
    territory = labels & 31
    seed_tissues, allowed_tissues, seed_territories = _seed_and_allowed(plan.location, plan.side)
    seeds = np.flatnonzero(np.isin(tissue, list(seed_tissues)) & np.isin(territory, seed_territories) & ~forbidden)
    if seeds.size == 0:
        return None
    n_vox = max(1, int(round(plan.volume_mm3 / resolution**3)))
    radius = (3 * n_vox / (4 * np.pi)) ** (1 / 3)
    table = territory_table()
    names = {lab: name[:-1] for lab, (name, _, _) in table.items()}
    for _ in range(tries):
        seed = np.unravel_index(int(rng.choice(seeds)), labels.shape)
        half = int(np.ceil(3.0 * radius + 4))
        box = tuple(slice(max(0, c - half), min(n, c + half + 1)) for c, n in zip(seed, labels.shape, strict=True))
        local = tuple(c - b.start for c, b in zip(seed, box, strict=True))
        tis, ter = tissue[box], territory[box]
        allowed = np.isin(tis, list(allowed_tissues))
        side_ok = (x_mm[box[0]] < 0) if plan.side == "L" else (x_mm[box[0]] > 0)
        allowed &= side_ok[:, None, None] | (plan.location == "other")  # brainstem lesions may cross the midline
        allowed &= ~forbidden[box]
        if not allowed[local]:
            continue
        # Anisotropic, rotated, noise-perturbed distance from the seed, inflated outside its territory.
        offsets = np.stack(np.meshgrid(*[np.arange(b.start - c, b.stop - c, dtype=np.float32)
                                         for b, c in zip(box, seed, strict=True)], indexing="ij"), -1)
        rot = Rotation.random(random_state=rng).as_matrix().astype(np.float32)
        axes = np.exp(rng.normal(0.0, 0.3, 3)).astype(np.float32)
        axes /= np.prod(axes) ** (1 / 3)
        dist = np.sqrt((((offsets @ rot.T) / axes) ** 2).sum(-1))
        dist *= np.exp(0.45 * smooth_noise(rng, dist.shape, max(2.0, radius / 1.5)))
        seed_ter = int(ter[local])
        artery = _ARTERY.get(names.get(seed_ter, ""), "")
        same_tree = np.isin(ter, [lab for lab, fam in names.items() if _ARTERY.get(fam) == artery])
        dist *= np.where(ter == seed_ter, 1.0, np.where(same_tree, 1.35, 2.0)).astype(np.float32)
        dist[~allowed] = np.inf
        finite = np.count_nonzero(np.isfinite(dist))
        take = min(n_vox, finite)
        flat = dist.ravel()
        chosen = np.zeros(flat.size, dtype=bool)
        chosen[np.argpartition(flat, take - 1)[:take]] = True
        chosen &= np.isfinite(flat)
        chosen = chosen.reshape(dist.shape)
        if n_vox >= 8:  # round off the voxel-level jaggedness, but keep the territory/tissue limits
            smooth = (ndi.gaussian_filter(chosen.astype(np.float32), 0.8) >= 0.5) & allowed
            if smooth.sum() >= 0.5 * chosen.sum():
                chosen = smooth
        components, _ = label_components(chosen)
        keep = components[local]  # the lesion holding the seed, else the largest piece
        mask = components == keep if keep else largest_component(chosen)
        if not mask.any():
            continue
        # shrink the box to the lesion plus a margin for its partial-volume rim (cheaper painting)
        tight = ndi.find_objects(mask.astype(np.uint8))[0]
        margin = 3
        inner = tuple(slice(max(0, t.start - margin), min(n, t.stop + margin))
                      for t, n in zip(tight, mask.shape, strict=True))
        mask, tis, ter = mask[inner], tis[inner], ter[inner]
        box = tuple(slice(b.start + i.start, b.start + i.stop) for b, i in zip(box, inner, strict=True))
        if plan.location == "cortical" and not (tis[mask] == Tissue.CORTEX).any():
            continue
        if plan.location == "subcortical" and not np.isin(tis[mask], list(allowed_tissues)).all():
            continue
        counts = np.bincount(ter[mask].ravel(), minlength=32)
        counts[0] = 0
        main = int(counts.argmax()) if counts.any() else seed_ter
        return PlacedLesion(plan, box, mask, table[main][0] if main in table else "none")  # type: ignore[arg-type]
    return None


def forbid(forbidden: np.ndarray, lesion: PlacedLesion, resolution: float) -> None:
    """Mark the lesion and a ``GAP_MM`` margin around it as unavailable to later lesions (in place)."""
    gap = int(np.ceil(GAP_MM / resolution))
    big = tuple(slice(max(0, b.start - gap), min(n, b.stop + gap))
                for b, n in zip(lesion.box, forbidden.shape, strict=True))
    local = np.zeros([b.stop - b.start for b in big], dtype=bool)
    inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(lesion.box, big, strict=True))
    local[inner] = lesion.mask
    # a cube structuring element (chessboard distance): the gap holds along diagonals too
    forbidden[big] |= ndi.binary_dilation(local, structure=np.ones((3, 3, 3), bool), iterations=gap)


def paint_lesion(
    rng: np.random.Generator,
    image: np.ndarray,
    lesion: PlacedLesion,
    resolution: float,
    csf_level: float,
    wm_level: float,
    *,
    rim: LesionRim = "fixed",
) -> np.ndarray:
    """Give the lesion its chronic T1 look in place; returns its fraction map inside ``lesion.box``.

    Core: CSF-like (encephalomalacia); rim: intermediate gliosis of width 1.5–3 mm; edge: partial volume.
    ``rim="scaled"`` caps the rim at a third of the lesion's deepest point: a lacune or small infarct is a
    fluid-filled cavity with a signal like CSF on T1 (STRIVE, Wardlaw et al. 2013), not a lump of grey-looking
    gliosis. With the fixed 1.5–3 mm rim a lesion under ~1 cm³ is nearly all rim, grey-matter bright, and in the
    cortex invisible although the mask traces it (session 8 measured lesion/surround ratios of 0.66–1.01).
    """
    mask = lesion.mask
    sigma = 0.7 / resolution ** 0.5
    soft = ndi.gaussian_filter(mask.astype(np.float32), sigma)
    fraction = np.where(mask, 0.5 + 0.5 * soft, np.minimum(soft, 0.49)).astype(np.float32)
    depth = ndi.distance_transform_edt(mask) * resolution
    rim_width = rng.uniform(1.5, 3.0)
    if rim == "scaled":
        rim_width = min(rim_width, max(float(depth.max()) / 3.0, 0.5 * resolution))
    core = csf_level * rng.uniform(0.85, 1.05)
    rim = core + (wm_level - core) * rng.uniform(0.35, 0.5)
    ramp = np.clip((depth - 0.5 * resolution) / rim_width, 0.0, 1.0)
    # strands of surviving tissue and gliosis make the cavity heterogeneous
    texture = 1.0 + 0.7 * ndi.gaussian_filter(rng.standard_normal(mask.shape).astype(np.float32), 1.2)  # ~8 %
    target = (rim + (core - rim) * ramp) * texture
    region = image[lesion.box]
    region[...] = (1.0 - fraction) * region + fraction * target
    return fraction
