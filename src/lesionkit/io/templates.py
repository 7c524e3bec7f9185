"""The MNI152 2009a symmetric template and atlases that ship with lesionkit's dependencies.

Nothing is downloaded: the template and its GM/WM probability maps are inside the nilearn wheel, on
exactly the ATLAS grid (197×233×189, 1 mm). The JHU arterial-territory atlas (Liu et al. 2023, level 1,
30 territories) is vendored in ``lesionkit/data``: it was taken from the rapidtide wheel
(``JHU-ArterialTerritoriesNoVent-LVL1_space-MNI152NLin2009cAsym_2mm``) and resampled by nearest
neighbour onto the ATLAS grid (see ``lesionkit/data/NOTICE.md``).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

import nibabel as nib
import numpy as np

__all__ = [
    "ATLAS_AFFINE",
    "ATLAS_SHAPE",
    "TERRITORY_CLASSES",
    "atlas_step",
    "is_atlas_grid",
    "load_template",
    "load_territories",
    "territory_names",
]

ATLAS_SHAPE = (197, 233, 189)
ATLAS_AFFINE = np.array(
    [[1.0, 0, 0, -98.0], [0, 1.0, 0, -134.0], [0, 0, 1.0, -72.0], [0, 0, 0, 1.0]]
)
TemplateKind = Literal["t1", "gm", "wm"]


def is_atlas_grid(img: nib.spatialimages.SpatialImage, atol: float = 1e-3) -> bool:
    """True if ``img`` lies on the ATLAS MNI152NLin2009aSym grid (197×233×189, 1 mm) and needs no registration."""
    return tuple(img.shape[:3]) == ATLAS_SHAPE and bool(np.allclose(img.affine, ATLAS_AFFINE, atol=atol))


def atlas_step(affine: np.ndarray, shape: tuple[int, ...]) -> int | None:
    """``k`` if the grid is the ATLAS field of view at ``k`` mm (k = 1, 2, 3, …, same origin), else None.

    At ``k`` mm, voxel ``i`` has its centre on ATLAS voxel ``k·i``: the anatomy is looked up there
    (nearest neighbour), which is how ``lesionkit synth --resolution 2`` builds its grid.
    """
    scale = float(affine[0, 0])
    step = int(round(scale))
    if step < 1 or abs(scale - step) > 1e-3:
        return None
    expected = ATLAS_AFFINE.copy()
    expected[:3, :3] *= step
    want = tuple(int((n - 1) // step) + 1 for n in ATLAS_SHAPE)
    if tuple(shape[:3]) != want or not np.allclose(affine, expected, atol=1e-3):
        return None
    return step

#: Territory families of the JHU level-1 labels (names without the final L/R).
TERRITORY_CLASSES = {
    "ACA": "cortical", "MCAF": "cortical", "MCAP": "cortical", "MCAT": "cortical", "MCAO": "cortical",
    "MCAI": "cortical", "PCAT": "cortical", "PCAO": "cortical",
    "MLS": "deep", "LLS": "deep", "PCTP": "deep", "ACTP": "deep",
    "B": "infratentorial", "SC": "infratentorial", "IC": "infratentorial",
}


_LOADERS = {"t1": "load_mni152_template", "gm": "load_mni152_gm_template", "wm": "load_mni152_wm_template"}


@functools.lru_cache(maxsize=4)
def _template_cached(kind: TemplateKind) -> nib.Nifti1Image:
    # nilearn's public loaders at resolution=1 return the files of its wheel unresampled, on exactly the ATLAS
    # grid, divided by their maximum (255): bit-identical to reading the files and dividing by 255 (checked
    # with nilearn 0.14.1). Importing nilearn.datasets costs about 1 s (it pulls scikit-learn), once per process.
    from nilearn import datasets

    if kind not in _LOADERS:
        raise ValueError(f"unknown template {kind!r}; expected one of {sorted(_LOADERS)}")
    img = getattr(datasets, _LOADERS[kind])(resolution=1)
    data = np.asarray(img.dataobj, dtype=np.float32)
    data.setflags(write=False)
    return nib.Nifti1Image(data, img.affine)


def load_template(kind: TemplateKind = "t1") -> nib.Nifti1Image:
    """The template as float32 in [0, 1] on the ATLAS grid (a cached, read-only array)."""
    return _template_cached(kind)


@functools.lru_cache(maxsize=1)
def load_territories() -> nib.Nifti1Image:
    """JHU arterial territories (level 1) as uint8 labels on the ATLAS grid; 0 is outside every territory."""
    ref = resources.files("lesionkit") / "data" / "jhu_arterial_territories_lvl1.nii.gz"
    with resources.as_file(ref) as path:
        img = nib.load(str(path))
        data = np.asarray(img.dataobj, dtype=np.uint8)
    data.setflags(write=False)
    return nib.Nifti1Image(data, img.affine)


@functools.lru_cache(maxsize=1)
def territory_names() -> dict[int, str]:
    """Label value → territory name (``MCAFL`` = MCA frontal, left); see ``TERRITORY_CLASSES``."""
    text = (resources.files("lesionkit") / "data" / "jhu_arterial_territories_lvl1.txt").read_text()
    return {i + 1: name.strip() for i, name in enumerate(text.split()) if name.strip()}
