"""ROI lesion load (as PALS reports it) and the weighted corticospinal-tract lesion load.

**ROI load** of one subject for an atlas of integer labels: for each ROI, ``overlap_mm3`` = lesion ∩ ROI
volume, ``roi_percent`` = 100 · overlap / ROI volume (how much of the ROI is damaged), and
``lesion_percent`` = 100 · overlap / lesion volume (how much of the lesion lies in the ROI). The atlas
must be on the mask's grid (same shape and affine); a user atlas comes with a label table.

**Weighted CST lesion load** (Zhu, Lindenberg, Alexander & Schlaug, *Stroke* 2010): the tract narrows
and widens along z, so damage where it is narrow (internal capsule) destroys a larger part of its
fibres than the same volume where it fans out (corona radiata). Per axial slice ``z``::

    wCST-LL = Σ_z  area(lesion ∩ CST)_z · (max_z' area(CST)_z' / area(CST)_z) · thickness

in mm³ (areas in mm², thickness = voxel size along z). Slices where the tract is absent contribute 0.
The unweighted overlap (mm³) and its percent of the tract are reported beside it.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from lesionkit.analysis.components import voxel_volume
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.nifti import check_same_grid, load_nifti
from lesionkit.io.templates import load_territories, territory_names
from lesionkit.typing import PathLike

__all__ = [
    "CST_THRESHOLD",
    "ROI_COLUMNS",
    "Atlas",
    "builtin_atlas",
    "cst_lesion_load",
    "load_atlas",
    "load_label_table",
    "read_cst",
    "roi_load",
]

#: A probabilistic CST map's values above this are tract.
CST_THRESHOLD = 0.5
ROI_COLUMNS = ("atlas", "roi", "overlap_mm3", "roi_percent", "lesion_percent")


@dataclass(frozen=True)
class Atlas:
    """Integer label image and the names of its ROIs."""

    name: str
    labels: np.ndarray
    names: dict[int, str]
    affine: np.ndarray

    @functools.cached_property
    def roi_voxels(self) -> np.ndarray:
        """Voxel count of every label value (index = label); counted once per atlas, not per subject."""
        top = max(max(self.names, default=0), int(self.labels.max(initial=0)))
        return np.bincount(self.labels.ravel(), minlength=top + 1)


def _subsample(data: np.ndarray, step: int) -> np.ndarray:
    return data if step == 1 else np.ascontiguousarray(data[::step, ::step, ::step])


@functools.lru_cache(maxsize=8)
def builtin_atlas(level: int = 1, step: int = 1) -> Atlas:
    """JHU arterial territories, level 1 (30 ROIs) or 2 (8), on the ATLAS grid or its ``step``-mm subsampling."""
    base = load_territories()
    if level == 1:
        data, names = np.asarray(base.dataobj), territory_names()
    elif level == 2:
        folder = resources.files("lesionkit") / "data"
        with resources.as_file(folder / "jhu_arterial_territories_lvl2.nii.gz") as path:
            data = np.asarray(nib.load(str(path)).dataobj, dtype=np.uint8)
        text = (folder / "jhu_arterial_territories_lvl2.txt").read_text()
        names = {i + 1: name.strip() for i, name in enumerate(text.split())}
    else:
        raise ValueError(f"JHU arterial territories have levels 1 and 2, not {level}")
    affine = base.affine.copy()
    affine[:3, :3] *= step
    labels = _subsample(data, step)
    labels.setflags(write=False)  # cached: shared by every caller
    return Atlas(f"jhu_lvl{level}", labels, dict(names), affine)


def load_label_table(path: PathLike) -> dict[int, str]:
    """Read ``index name`` lines (TSV, CSV or whitespace; ``#`` comments and a header line are skipped)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(path, "label table does not exist")
    names: dict[int, str] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    delimiter = "\t" if "\t" in text else ("," if "," in text else None)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if delimiter:
        rows = list(csv.reader(lines, delimiter=delimiter))
    else:
        rows = [re.split(r"\s+", line.strip(), maxsplit=1) for line in lines]
    for number, row in enumerate(rows):
        cells = [cell.strip() for cell in row if cell.strip()]
        if len(cells) < 2 or not re.fullmatch(r"[+-]?\d+", cells[0]):
            if number == 0:
                continue  # a header line (index, name)
            raise InvalidInputError(path, f"line {number + 1} is not 'index name': {row!r}")
        index = int(cells[0])
        if index <= 0:
            continue  # 0 is background by convention
        if index in names:
            raise InvalidInputError(path, f"label {index} is listed twice")
        names[index] = cells[1]
    if not names:
        raise InvalidInputError(path, "no 'index name' lines in the label table")
    return names


def load_atlas(path: PathLike, labels_path: PathLike, reference: nib.Nifti1Image) -> Atlas:
    """A user atlas: integer label NIfTI on ``reference``'s grid and its label table.

    Labels in the image but not in the table are named by their number; a different grid, or
    non-integer, negative or non-finite values, raise :class:`InvalidInputError`.
    """
    img = load_nifti(path)
    check_same_grid(reference, img)
    data = np.asanyarray(img.dataobj)
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)):
            raise InvalidInputError(path, "atlas contains NaN or inf")
        if not np.array_equal(data, np.round(data)):
            raise InvalidInputError(path, "atlas labels must be integers (is this a probability map?)")
    if data.min() < 0:
        raise InvalidInputError(path, "atlas labels must not be negative")
    labels = data.astype(np.int64 if data.max() > 65535 else np.uint16)
    names = load_label_table(labels_path)
    for value in np.unique(labels):
        if value and int(value) not in names:
            names[int(value)] = str(int(value))
    stem = Path(path).name.split(".")[0]
    return Atlas(stem, labels, dict(sorted(names.items())), img.affine.copy())


def roi_load(mask: np.ndarray, atlas: Atlas, voxel_mm3: float) -> pd.DataFrame:
    """One row per ROI of ``atlas`` (columns :data:`ROI_COLUMNS`); percentages are 0 for empty denominators."""
    if mask.shape != atlas.labels.shape:
        raise ValueError(f"mask shape {mask.shape} differs from atlas {atlas.name} shape {atlas.labels.shape}")
    roi_voxels = atlas.roi_voxels
    hit = np.bincount(atlas.labels[mask.astype(bool)], minlength=roi_voxels.size)
    lesion_voxels = int(np.count_nonzero(mask))
    rows = []
    for label, name in atlas.names.items():
        overlap, size = int(hit[label]), int(roi_voxels[label])
        rows.append({
            "atlas": atlas.name,
            "roi": name,
            "overlap_mm3": overlap * voxel_mm3,
            "roi_percent": 100.0 * overlap / size if size else 0.0,
            "lesion_percent": 100.0 * overlap / lesion_voxels if lesion_voxels else 0.0,
        })
    return pd.DataFrame(rows, columns=list(ROI_COLUMNS))


def read_cst(path: PathLike, reference: nib.Nifti1Image, threshold: float = CST_THRESHOLD) -> np.ndarray:
    """A CST map on ``reference``'s grid as bool: binary, or probabilistic (0–1) kept above ``threshold``."""
    img = load_nifti(path)
    check_same_grid(reference, img)
    data = np.asanyarray(img.dataobj)
    if not np.all(np.isfinite(data)):
        raise InvalidInputError(path, "CST map contains NaN or inf")
    tract = data > threshold
    if not tract.any():
        raise InvalidInputError(path, f"CST map has no voxel above {threshold}")
    return tract


def cst_lesion_load(mask: np.ndarray, tract: np.ndarray, affine: np.ndarray) -> dict[str, float]:
    """Weighted CST lesion load (Zhu et al. 2010, formula in the module docstring), axial = grid axis 2.

    Returns ``weighted_cst_load_mm3``, ``cst_overlap_mm3`` and ``cst_percent`` (overlap / tract volume).
    """
    mask = mask.astype(bool, copy=False)
    tract = tract.astype(bool, copy=False)
    voxel_mm3 = voxel_volume(affine)
    thickness = float(np.linalg.norm(np.asarray(affine)[:3, 2]))
    area_mm2 = voxel_mm3 / thickness
    tract_area = tract.sum(axis=(0, 1)) * area_mm2
    hit_area = (mask & tract).sum(axis=(0, 1)) * area_mm2
    present = tract_area > 0
    weights = np.zeros_like(tract_area, dtype=float)
    weights[present] = tract_area.max() / tract_area[present]
    overlap = float(hit_area.sum() * thickness)
    tract_volume = float(tract_area.sum() * thickness)
    return {
        "weighted_cst_load_mm3": float((hit_area * weights).sum() * thickness),
        "cst_overlap_mm3": overlap,
        "cst_percent": 100.0 * overlap / tract_volume if tract_volume else 0.0,
    }
