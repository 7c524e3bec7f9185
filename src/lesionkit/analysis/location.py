"""Where a lesion is: hemisphere, and cortical / subcortical / other by the ATLAS definition.

ATLAS (v1.2 and v2.0 metadata): *subcortical* lesions lie entirely within white matter and subcortical
(deep grey) structures; *cortical* lesions reach the cortex; *other* lesions lie in the brainstem or
cerebellum. Tracers judged this by eye on each scan. Here the anatomy comes from what ships offline,
looked up at each lesion voxel (masks are in MNI152NLin2009aSym, see :func:`anatomy`):

* **infratentorial** = the JHU arterial territories of the brainstem and cerebellum (basilar ``B``,
  superior and inferior cerebellar ``SC``/``IC``; ``TERRITORY_CLASSES == "infratentorial"``);
* **deep grey** = grey-matter voxels inside the deep perforator territories (``MLS``, ``LLS``,
  ``ACTP``, ``PCTP``: lenticulostriate, anterior choroidal and thalamoperforating arteries), which hold
  the basal ganglia and thalamus;
* **cortex** = template voxels where grey matter is the likelier tissue (``GM >= WM``) and the voxel
  is not CSF (``GM + WM >= 0.45``), outside the deep perforator and infratentorial territories.

The rule, per lesion (its voxels counted on the mask grid):

1. ``other`` if at least :data:`INFRATENTORIAL_SHARE` (50 %) of the lesion lies in infratentorial
   territories;
2. ``cortical`` if at least :data:`CORTEX_SHARE` (25 %) of the lesion lies in cortex;
3. ``subcortical`` otherwise.

Why a share of the lesion rather than "one voxel in cortex": ATLAS images are registered *linearly*
to the template, so a subject's cortex is a few mm away from the template's, and a white-matter lesion
near a sulcus overlaps template cortex by some percent of its volume. The thresholds were chosen on
350 synthetic lesions (``lesionkit.synth.generate_subject`` seeds 1000–1059 and 2000–2149 at 2 mm; not
the cohort reported in the README): the cortex share of 211 subcortical lesions was at most 0.18 for
95 % of them (max 0.41), that of 89 cortical lesions at least 0.38 for 95 % (min 0.15); infratentorial
shares were ≥ 0.59 for every ``other`` lesion and ≤ 0.08 for all others. The rule misclassified 5 of
350. Real cortical lesions that merely graze the cortex can still come out ``subcortical``: the shares
are reported (``cortex_share``, ``infratentorial_share``) so users can apply their own cut.

Hemisphere: the side of the lesion's centroid x in MNI mm (x < 0 is left, RAS). A lesion whose
centroid is exactly on the midline takes the side holding more of its voxels, ``midline`` on a tie.
Midline-straddling lesions (brainstem) keep their centroid's side; ``left_share`` reports how much of
the lesion lies left of x = 0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lesionkit.io.templates import (
    ATLAS_AFFINE,
    TERRITORY_CLASSES,
    atlas_step,  # re-exported: it lives in io, beside is_atlas_grid
    load_template,
    load_territories,
    territory_names,
)

__all__ = [
    "CORTEX_SHARE",
    "INFRATENTORIAL_SHARE",
    "Anatomy",
    "anatomy",
    "atlas_step",
    "classify_location",
    "hemisphere",
]

INFRATENTORIAL_SHARE = 0.5
CORTEX_SHARE = 0.25
Location = Literal["cortical", "subcortical", "other"]


@dataclass(frozen=True)
class Anatomy:
    """Anatomy on one MNI grid (read-only arrays of the grid's shape)."""

    affine: np.ndarray
    cortex: np.ndarray
    """bool: cortical grey matter (see the module docstring)."""
    infratentorial: np.ndarray
    """bool: brainstem and cerebellum territories."""
    territory: np.ndarray
    """uint8: JHU level-1 territory labels (0 = none)."""


def _labels_of(kind: str) -> list[int]:
    return [label for label, name in territory_names().items() if TERRITORY_CLASSES[name[:-1]] == kind]


@functools.lru_cache(maxsize=1)
def _anatomy_1mm() -> Anatomy:
    gm = np.asarray(load_template("gm").dataobj)
    wm = np.asarray(load_template("wm").dataobj)
    territory = np.asarray(load_territories().dataobj)
    deep = np.isin(territory, _labels_of("deep"))
    infratentorial = np.isin(territory, _labels_of("infratentorial"))
    cortex = (gm >= wm) & (gm + wm >= 0.45) & ~deep & ~infratentorial
    for array in (cortex, infratentorial):
        array.setflags(write=False)
    return Anatomy(ATLAS_AFFINE.copy(), cortex, infratentorial, territory)


@functools.lru_cache(maxsize=4)
def anatomy(step: int = 1) -> Anatomy:
    """The anatomy on the ATLAS grid (``step`` 1) or its ``step``-mm subsampling (see :func:`atlas_step`)."""
    base = _anatomy_1mm()
    if step == 1:
        return base
    s = slice(None, None, step)
    affine = base.affine.copy()
    affine[:3, :3] *= step
    arrays = [np.ascontiguousarray(a[s, s, s]) for a in (base.cortex, base.infratentorial, base.territory)]
    for array in arrays:
        array.setflags(write=False)  # cached: callers share them
    return Anatomy(affine, *arrays)


def hemisphere(centroid_x: float, left_share: float) -> str:
    """``left`` / ``right`` by the centroid's x (MNI mm); exactly on the midline, the larger side."""
    if centroid_x < 0:
        return "left"
    if centroid_x > 0:
        return "right"
    if left_share != 0.5:
        return "left" if left_share > 0.5 else "right"
    return "midline"


def classify_location(cortex_share: float, infratentorial_share: float) -> Location:
    """The ATLAS location class from the lesion's shares in cortex and infratentorial territories."""
    if infratentorial_share >= INFRATENTORIAL_SHARE:
        return "other"
    if cortex_share >= CORTEX_SHARE:
        return "cortical"
    return "subcortical"
