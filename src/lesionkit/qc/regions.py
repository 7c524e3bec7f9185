"""Template regions QC looks up a predicted lesion in: the brain's edge, outside the brain, the ventricles.

All come from the MNI152 2009a symmetric template that ships in nilearn (``lesionkit.io.load_template``), on
the ATLAS grid or its ``k``-mm subsampling (what ``lesionkit synth --resolution k`` writes):

* brain: the template's non-zero head (the nilearn template is brain-extracted), closed and hole-filled
  (and the template T1w itself, which an input is compared with);
* edge: brain voxels within about :data:`EDGE_MM` of its surface, and everything outside it. A true cortical
  lesion reaches the surface too, so this is a feature for the fitted score, not a verdict;
* outside: farther than about :data:`OUTSIDE_MM` outside the brain (skull, scalp, neck, eyes): a lesion there is
  a false positive whatever the image;
* ventricles: the lateral and third ventricles — deep template CSF (GM + WM < 0.45, more than 14 mm from
  the brain's surface) grown into the CSF connected to it, components of at least 5 cm³ — grown by about
  :data:`VENTRICLE_MM`. A model that mistakes (or an ex-vacuo enlarged) ventricle for lesion predicts there;
* sure white matter (WM probability above :data:`SURE_WM`, eroded by one voxel) and sure grey matter (GM
  probability above :data:`SURE_GM`), where :mod:`lesionkit.qc.image_quality` reads the input's tissue levels
  and noise, and the template's own per-axis curvature ratios that its slice-thickness estimate is relative to.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from lesionkit.core import label_components
from lesionkit.io import atlas_step, load_template

__all__ = ["EDGE_MM", "OUTSIDE_MM", "SURE_GM", "SURE_WM", "VENTRICLE_MM", "Regions", "template_regions"]

EDGE_MM = 3.0
OUTSIDE_MM = 2.0
VENTRICLE_MM = 2.0
SURE_WM = 0.9
SURE_GM = 0.8


@dataclass(frozen=True)
class Regions:
    """Boolean maps on one grid (read-only; see the module docstring)."""

    edge: np.ndarray
    outside: np.ndarray
    ventricles: np.ndarray
    brain: np.ndarray | None = None
    template: np.ndarray | None = None
    """The template T1w itself (float32 in [0, 1]), for the input's similarity to it."""
    wm: np.ndarray | None = None
    """Sure white matter (for the input's white-matter level and noise)."""
    gm: np.ndarray | None = None
    """Sure grey matter."""
    template_curvature: tuple[float, float, float] | None = None
    """The template's per-axis curvature ratios (:func:`lesionkit.qc.image_quality.axis_curvature`) inside the
    brain away from its edge: what an isotropic scan of this anatomy reads."""


@functools.lru_cache(maxsize=1)
def _regions_1mm() -> Regions:
    # Morphology with the 18-connected neighbourhood (steps of 1 to 1.4 mm) instead of Euclidean distance maps
    # of the whole grid: 13× faster, and the bands differ from exact distances on 0.9 % of the grid's voxels
    # (1.1 % of each band's; benchmarks/qc_regions_speed.py, one run on the loaded 2-core machine).
    t1 = np.asarray(load_template("t1").dataobj)
    tissue = np.asarray(load_template("gm").dataobj) + np.asarray(load_template("wm").dataobj)
    step = ndimage.generate_binary_structure(3, 2)
    brain = ndimage.binary_fill_holes(ndimage.binary_closing(t1 > 0.02, iterations=2))
    edge = ~ndimage.binary_erosion(brain, step, iterations=int(EDGE_MM))
    outside = ~ndimage.binary_dilation(brain, step, iterations=int(OUTSIDE_MM))
    # depth below the brain's surface, on a 2 mm copy: it only seeds the ventricles
    coarse = ndimage.distance_transform_edt(brain[::2, ::2, ::2], sampling=2.0)
    depth = coarse.repeat(2, 0).repeat(2, 1).repeat(2, 2)[: brain.shape[0], : brain.shape[1], : brain.shape[2]]
    csf = brain & (tissue < 0.45)
    ventricles = ndimage.binary_propagation(csf & (depth > 14), mask=csf & (depth > 5))
    labels, n = label_components(ventricles)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    ventricles = np.isin(labels, 1 + np.flatnonzero(sizes >= 5000))  # not the sulcal CSF specks deep enough
    near = ndimage.binary_dilation(ventricles, step, iterations=int(VENTRICLE_MM))
    wm = ndimage.binary_erosion(np.asarray(load_template("wm").dataobj) > SURE_WM)
    gm = np.asarray(load_template("gm").dataobj) > SURE_GM
    return _frozen(Regions(edge=edge, outside=outside, ventricles=near, brain=brain, template=t1, wm=wm, gm=gm))


def _frozen(regions: Regions) -> Regions:
    """``regions`` read-only, with the template's curvature ratios."""
    from lesionkit.qc.image_quality import axis_curvature  # it reads Regions: imported here, not at the top

    for array in (regions.edge, regions.outside, regions.ventricles, regions.brain, regions.wm, regions.gm):
        if array is not None:
            array.setflags(write=False)
    curvature = axis_curvature(regions.template, regions.brain & ~regions.edge)
    return replace(regions, template_curvature=tuple(float(c) for c in curvature))


@functools.lru_cache(maxsize=4)
def _regions(step: int) -> Regions:
    base = _regions_1mm()
    if step == 1:
        return base
    s = slice(None, None, step)
    edge, outside, ventricles, brain, template, wm, gm = [
        np.ascontiguousarray(a[s, s, s])
        for a in (base.edge, base.outside, base.ventricles, base.brain, base.template, base.wm, base.gm)]
    return _frozen(Regions(edge, outside, ventricles, brain, template, wm, gm))


def template_regions(affine: np.ndarray, shape: tuple[int, ...]) -> Regions | None:
    """The regions on the ATLAS grid (or its k-mm subsampling) of ``affine``/``shape``; None on any other grid
    (a native or cropped image: those features are then left undefined)."""
    step = atlas_step(np.asarray(affine), tuple(shape))
    return None if step is None else _regions(step)
