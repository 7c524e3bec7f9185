"""The healthy head model in template space: T1 intensities with head layers, and a tissue/territory label map.

The MNI152 2009a template that ships with nilearn is brain-only, while ATLAS images are defaced but
not skull-stripped. This module wraps the brain in layers built from the distance to the brain
surface (modulated by smooth noise so thickness varies): extracerebral CSF, dark inner table, mildly
bright diploë, dark outer table, muscle/galea, bright subcutaneous fat and skin. The face
is marked ``DEFACED`` (set to 0 at the end, like ATLAS's defacing).

Everything here is computed once per resolution and cached (read-only arrays).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from lesionkit.core import bounding_box
from lesionkit.io.templates import ATLAS_AFFINE, ATLAS_SHAPE, TERRITORY_CLASSES, load_template, load_territories
from lesionkit.io.templates import territory_names as _territory_names
from lesionkit.synth.fields import smooth_noise

__all__ = ["HeadModel", "Tissue", "grid_affine", "grid_shape", "head_model", "territory_table"]


class Tissue:
    """Tissue codes of the label map (``label // 32``; ``label % 32`` is the JHU territory)."""

    AIR, CSF, VENTRICLE, CORTEX, DEEP_GM, WM, INFRA_GM, INFRA_WM, SKULL, SCALP, DEFACED = range(11)


def grid_shape(resolution: float) -> tuple[int, int, int]:
    """Shape of the MNI grid at ``resolution`` mm with the ATLAS field of view (99×117×95 at 2 mm)."""
    return tuple(int((n - 1) // resolution) + 1 for n in ATLAS_SHAPE)  # type: ignore[return-value]


def grid_affine(resolution: float) -> np.ndarray:
    """ATLAS affine with ``resolution`` mm voxels and the same origin (first voxel centre)."""
    affine = ATLAS_AFFINE.copy()
    affine[:3, :3] *= resolution
    return affine


@functools.lru_cache(maxsize=1)
def territory_table() -> dict[int, tuple[str, str, str]]:
    """Territory label → (name, class ``cortical``/``deep``/``infratentorial``, side ``L``/``R``)."""
    return {label: (name, TERRITORY_CLASSES[name[:-1]], name[-1]) for label, name in _territory_names().items()}


@dataclass(frozen=True)
class HeadModel:
    resolution: float
    affine: np.ndarray
    t1: np.ndarray
    """Healthy head T1w, float32, white matter ≈ 0.87, air 0."""
    labels: np.ndarray
    """uint16: tissue * 32 + territory."""
    periventricular: np.ndarray
    """float32 0..1: where periventricular white-matter hypointensity may appear (see lookalikes)."""
    csf_level: float
    """Median intensity of ventricular CSF: the target of chronic lesion cores."""
    wm_level: float


# Layer model outside the brain: (outer distance in mm, T1 intensity on the template's scale).
_LAYERS = (
    (2.0, 0.22, Tissue.CSF),  # extracerebral CSF
    (3.5, 0.07, Tissue.SKULL),  # dura + inner table
    (6.0, 0.40, Tissue.SKULL),  # diploë (fatty marrow, intermediate-bright on T1)
    (7.5, 0.06, Tissue.SKULL),  # outer table
    (9.5, 0.38, Tissue.SCALP),  # galea / temporal muscle
    (14.0, 0.95, Tissue.SCALP),  # subcutaneous fat, the brightest tissue on T1
    (15.5, 0.50, Tissue.SCALP),  # skin
)


def _coarse_distance(mask: np.ndarray, outside: bool) -> np.ndarray:
    """Distance (mm) to ``mask`` (``outside``) or to its complement, computed on a 2 mm grid and upsampled.

    Exact 1 mm Euclidean distance transforms of the whole grid cost ~2 s each; the envelope and the
    depth below only need a few-mm precision.
    """
    small = mask[::2, ::2, ::2]
    dist = ndi.distance_transform_edt(~small if outside else small, sampling=2.0).astype(np.float32)
    full = np.repeat(np.repeat(np.repeat(dist, 2, 0), 2, 1), 2, 2)
    return full[: mask.shape[0], : mask.shape[1], : mask.shape[2]]


def _periventricular_weight(ventricle: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How strongly periventricular white matter may be hypointense (0..1): decays over ~3 mm from the
    ventricles, strongest at the frontal and occipital horn tips (caps), weaker along the bodies."""
    box = bounding_box(ventricle, pad=16)
    dist = ndi.distance_transform_edt(~ventricle[box]).astype(np.float32)
    vy = y[ventricle]
    y0, y1 = float(vy.min()), float(vy.max())
    yy = y[box]
    tips = np.maximum(np.clip(1 - (yy - y0) / 12.0, 0, 1), np.clip(1 - (y1 - yy) / 12.0, 0, 1))
    weight = np.zeros(ventricle.shape, dtype=np.float32)
    weight[box] = ndi.gaussian_filter((np.exp(-dist / 3.0) * (0.35 + 0.65 * tips) * (dist > 0)).astype(np.float32),
                                      1.0)
    return weight


@functools.lru_cache(maxsize=1)
def _head_model_1mm() -> HeadModel:
    t1 = np.array(load_template("t1").dataobj, dtype=np.float32)
    gm = np.asarray(load_template("gm").dataobj, dtype=np.float32)
    wm = np.asarray(load_template("wm").dataobj, dtype=np.float32)
    territory = np.asarray(load_territories().dataobj, dtype=np.uint16)
    rng = np.random.default_rng(20260122)  # fixed: the head model is part of the template, not of a subject

    brain = t1 > 0.02
    brain = ndi.binary_fill_holes(ndi.binary_closing(brain, iterations=2))
    i, j, k = np.indices(t1.shape, dtype=np.float32)
    x, y, z = (ATLAS_AFFINE[a, a] * v + ATLAS_AFFINE[a, 3] for a, v in enumerate((i, j, k)))
    # The skull wraps the brain's envelope, not each lobe: close the brain with a 10 mm ball (two
    # distance transforms), so the skull base fills the gaps between temporal lobes and cerebellum.
    envelope = _coarse_distance(_coarse_distance(brain, outside=True) <= 10.0, outside=False) > 10.0
    envelope = ndi.binary_fill_holes(envelope | brain)
    # The neck continues below the skull base: an elliptic column of muscle around the brainstem.
    neck = (((x / 46.0) ** 2 + ((y + 22.0) / 50.0) ** 2) <= 1.0) & (z < -38.0)
    body = envelope | neck
    outside = ndi.distance_transform_edt(~body).astype(np.float32)
    # thickness varies smoothly by about ±10 % (clipped: no lumps)
    outside *= 1.0 + 0.1 * np.clip(smooth_noise(rng, outside.shape, 30.0), -1.5, 1.5)

    # Tissue classes inside the brain.
    tissue = np.full(t1.shape, Tissue.AIR, dtype=np.uint16)
    csf = brain & (gm + wm < 0.45)
    tissue[csf] = Tissue.CSF
    table = territory_table()
    deep_labels = [lab for lab, (_, cls, _) in table.items() if cls == "deep"]
    infra_labels = [lab for lab, (_, cls, _) in table.items() if cls == "infratentorial"]
    in_deep = np.isin(territory, deep_labels)
    in_infra = np.isin(territory, infra_labels)
    grey = brain & ~csf & (gm >= wm)
    white = brain & ~csf & (wm > gm)
    tissue[grey] = Tissue.CORTEX
    tissue[grey & in_deep] = Tissue.DEEP_GM
    tissue[white] = Tissue.WM
    tissue[grey & in_infra] = Tissue.INFRA_GM
    tissue[white & in_infra] = Tissue.INFRA_WM
    # Ventricles: the CSF deep inside the brain (far from its surface), grown back into its connected CSF.
    depth = _coarse_distance(brain, outside=False)
    core = csf & (depth > 14) & ~in_infra
    ventricle = ndi.binary_propagation(core, mask=csf & (depth > 5))
    tissue[ventricle] = Tissue.VENTRICLE

    # Inside the head but outside the brain: skull base / tentorium (dark) and neck muscle (intermediate).
    texture = smooth_noise(rng, t1.shape, 6.0)
    head = np.zeros_like(t1)
    gap = envelope & ~brain
    head[gap] = 0.12 + 0.04 * texture[gap]
    tissue[gap] = Tissue.SKULL
    muscle = neck & ~envelope
    head[muscle] = 0.42 + 0.06 * texture[muscle]
    tissue[muscle] = Tissue.SCALP
    # Head layers outside both.
    inner = 0.0
    for outer, value, code in _LAYERS:
        shell = (outside > inner) & (outside <= outer)
        head[shell] = value
        tissue[shell] = code
        inner = outer
    head = ndi.gaussian_filter(head, 0.6)
    weight = ndi.gaussian_filter(brain.astype(np.float32), 0.6)
    # an average of 152 brains is blurrier than one scan: restore some edge contrast (unsharp mask)
    t1 = np.clip(t1 + 0.6 * (t1 - ndi.gaussian_filter(t1, 1.2)), 0.0, 1.0)
    t1 = weight * t1 + (1.0 - weight) * head

    # Defacing like ATLAS: remove the face below a plane from the brow to the chin.
    face = (y > 35) & (z < -60 + 1.6 * (y - 35))
    protect = ndi.binary_dilation(brain, iterations=4)
    # like pydeface, the removed region is zeroed whole (air noise included), never touching the brain
    tissue[face & ~protect & (tissue != Tissue.CSF)] = Tissue.DEFACED

    labels = tissue * 32 + np.where(brain, territory, 0).astype(np.uint16)
    periventricular = _periventricular_weight(ventricle, y) * (tissue == Tissue.WM)
    csf_level = float(np.median(t1[ventricle]))
    wm_level = float(np.median(t1[tissue == Tissue.WM]))
    for array in (t1, labels, periventricular):
        array.setflags(write=False)
    return HeadModel(1.0, grid_affine(1.0), t1, labels, periventricular, csf_level, wm_level)


@functools.lru_cache(maxsize=4)
def head_model(resolution: float = 1.0) -> HeadModel:
    """The cached head model on the MNI grid at ``resolution`` mm (1 mm is the ATLAS grid itself)."""
    base = _head_model_1mm()
    if resolution == 1.0:
        return base
    step = int(round(resolution))
    if step != resolution or step < 1:
        raise ValueError(f"resolution must be a whole number of mm, got {resolution}")
    # Same field of view: voxel centres every `step` mm from the same origin; pre-blur against aliasing.
    t1 = ndi.gaussian_filter(base.t1, 0.42 * step)[::step, ::step, ::step].copy()
    labels = base.labels[::step, ::step, ::step].copy()
    periventricular = base.periventricular[::step, ::step, ::step].copy()
    for array in (t1, labels, periventricular):
        array.setflags(write=False)
    return HeadModel(float(step), grid_affine(step), t1, labels, periventricular, base.csf_level, base.wm_level)
