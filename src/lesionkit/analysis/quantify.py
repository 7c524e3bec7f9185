"""Per-lesion and per-subject tables: the ATLAS metadata, computed from a mask.

``lesions.tsv`` (one row per 6-connected lesion, largest first; see :data:`LESION_COLUMNS`): volume =
voxel count × voxel volume (|det| of the affine, exact); centroid = mean voxel centre in MNI mm;
``hemisphere`` and ``location`` as in :mod:`lesionkit.analysis.location`; ``territory`` = majority JHU
level-1 territory and one ``territory_<NAME>`` share column per territory (plus ``territory_none``).

``subjects.tsv``: lesion count, total volume, counts by location, and the ATLAS v2.0 hemisphere class
(Table 2 of the v2.0 paper): with one lesion ``left`` / ``right`` / ``other`` (brainstem or cerebellum);
with several ``unilateral`` (all in one hemisphere), ``bilateral`` (in both) or ``other`` (at least one
in the brainstem or cerebellum); ``none`` without lesions.

Specks: ATLAS reports lesions from 10 mm³ up, and real tracings carry 1–2-voxel debris (on the 155 real
tracings in the project's data, 77 % of the 6-connected components are under 10 mm³). Components smaller
than ``min_size_mm3`` (default :data:`MIN_LESION_MM3` = 10 mm³) are therefore not lesions: they get no
row in ``lesions.tsv`` and count toward neither ``n_lesions`` nor the hemisphere and location classes,
but ``subjects.tsv`` reports them apart (``n_specks``, ``speck_volume_mm3``) and ``total_volume_mm3``
still counts every voxel of the mask: the mask itself is never changed.

Masks must be in MNI152NLin2009aSym on the ATLAS grid (197×233×189, 1 mm) or its whole-mm subsampling
(``lesionkit synth --resolution 2``); anything else is refused (native-space masks: register them
first, e.g. with ``lesionkit preprocess``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import nibabel as nib
import numpy as np
import pandas as pd
from nibabel.affines import voxel_sizes
from scipy import ndimage as ndi

from lesionkit.analysis.components import voxel_volume
from lesionkit.analysis.location import anatomy, classify_location, hemisphere
from lesionkit.analysis.territory import majority_territory, territory_shares
from lesionkit.core import bounding_box, label_components, label_lesions
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.templates import atlas_step, territory_names

__all__ = [
    "LESION_COLUMNS",
    "MIN_LESION_MM3",
    "SUBJECT_COLUMNS",
    "grid_step",
    "hemisphere_class",
    "quantify_lesions",
    "speck_summary",
    "summarize_subjects",
]

#: Components smaller than this (mm³) are specks, not lesions (ATLAS reports lesions from 10 mm³).
MIN_LESION_MM3 = 10.0

_BASE_COLUMNS = (
    "subject", "session", "lesion", "volume_mm3", "n_voxels", "centroid_x", "centroid_y", "centroid_z",
    "hemisphere", "left_share", "location", "cortex_share", "infratentorial_share", "territory",
)


def _territory_columns() -> list[str]:
    return [f"territory_{name}" for name in territory_names().values()] + ["territory_none"]


LESION_COLUMNS: tuple[str, ...] = (*_BASE_COLUMNS, *_territory_columns())
SUBJECT_COLUMNS = (
    "subject", "session", "n_lesions", "total_volume_mm3", "hemisphere_class", "n_cortical", "n_subcortical", "n_other",
    "n_specks", "speck_volume_mm3",
)


def grid_step(img: nib.Nifti1Image, path: object = None) -> int:
    """The grid's step in mm if ``img`` is on the ATLAS grid or its subsampling; else InvalidInputError."""
    step = atlas_step(img.affine, img.shape)
    if step is None:
        name = path if path is not None else (img.get_filename() or "<in-memory mask>")
        raise InvalidInputError(
            name,
            f"not on the ATLAS MNI152NLin2009aSym grid (197×233×189, 1 mm, origin -98,-134,-72, or a whole-mm "
            f"subsampling of it); got shape {tuple(img.shape[:3])} and voxel size "
            f"{np.round(voxel_sizes(img.affine), 3).tolist()} mm. Register the mask to "
            "MNI152NLin2009aSym first (lesionkit preprocess)",
        )
    return step


def quantify_lesions(
    mask: np.ndarray, affine: np.ndarray, subject: str, session: str = "", min_size_mm3: float = MIN_LESION_MM3
) -> pd.DataFrame:
    """One row per lesion of at least ``min_size_mm3`` of a binary mask on the ATLAS grid (or its subsampling;
    see :func:`grid_step`); smaller components are specks (:func:`speck_summary`)."""
    step = atlas_step(affine, mask.shape)
    if step is None:
        raise ValueError("mask is not on the ATLAS grid or a whole-mm subsampling of it")
    maps = anatomy(step)
    names = territory_names()
    voxel_mm3 = voxel_volume(affine)
    rows = []
    crop = bounding_box(mask)  # all work inside the lesions' box (a small part of the grid)
    if crop is None:
        return pd.DataFrame(rows, columns=list(LESION_COLUMNS))
    labels, count = label_lesions(mask[crop], voxel_mm3, min_size_mm3)
    for index, local in enumerate(ndi.find_objects(labels, max_label=count), start=1):
        inside = labels[local] == index
        box = tuple(slice(c.start + s.start, c.start + s.stop) for c, s in zip(crop, local, strict=True))
        ijk = np.argwhere(inside) + [s.start for s in box]
        xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
        centroid = xyz.mean(axis=0)
        left_share = float(np.mean(xyz[:, 0] < 0))
        cortex_share = float(maps.cortex[box][inside].mean())
        infra_share = float(maps.infratentorial[box][inside].mean())
        shares = territory_shares(maps.territory[box][inside], names)
        row = {
            "subject": subject,
            "session": session,
            "lesion": index,
            "volume_mm3": len(ijk) * voxel_mm3,
            "n_voxels": len(ijk),
            "centroid_x": round(float(centroid[0]), 2),
            "centroid_y": round(float(centroid[1]), 2),
            "centroid_z": round(float(centroid[2]), 2),
            "hemisphere": hemisphere(float(centroid[0]), left_share),
            "left_share": round(left_share, 4),
            "location": classify_location(cortex_share, infra_share),
            "cortex_share": round(cortex_share, 4),
            "infratentorial_share": round(infra_share, 4),
            "territory": majority_territory(shares),
        }
        row.update({f"territory_{name}": round(share, 4) for name, share in shares.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=list(LESION_COLUMNS))


def hemisphere_class(hemispheres: Iterable[str], locations: Iterable[str]) -> str:
    """ATLAS v2.0 Table 2 class of one subject from its lesions' hemispheres and locations."""
    sides, places = list(hemispheres), list(locations)
    if not sides:
        return "none"
    if "other" in places:
        return "other"
    if len(sides) == 1:
        return sides[0] if sides[0] in ("left", "right") else "other"
    distinct = set(sides) - {"midline"}
    return "bilateral" if len(distinct) > 1 or "midline" in sides else "unilateral"


def speck_summary(mask: np.ndarray, voxel_mm3: float, min_size_mm3: float = MIN_LESION_MM3) -> tuple[int, float]:
    """``(count, mm³)`` of the components smaller than ``min_size_mm3`` (the rule of ``label_lesions``)."""
    crop = bounding_box(mask)
    if crop is None or min_size_mm3 <= voxel_mm3:  # every component has at least one voxel
        return 0, 0.0
    labels, count = label_components(mask[crop])
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:] * voxel_mm3
    small = sizes < min_size_mm3 * (1 - 1e-9)
    return int(small.sum()), float(sizes[small].sum())


def summarize_subjects(
    lesions: pd.DataFrame,
    subjects: Iterable[tuple[str, str]],
    specks: Mapping[tuple[str, str], tuple[int, float]] | None = None,
) -> pd.DataFrame:
    """One row per ``(subject, session)`` in the given order; subjects without lesions get zeros and ``none``.

    ``specks``: ``(count, mm³)`` per subject from :func:`speck_summary`; their volume is part of
    ``total_volume_mm3`` (every voxel of the mask), their count is not part of ``n_lesions``.
    """
    rows = []
    for subject, session in subjects:
        mine = lesions[(lesions["subject"] == subject) & (lesions["session"].astype(str) == session)]
        location = mine["location"].tolist()
        n_specks, speck_mm3 = (specks or {}).get((subject, session), (0, 0.0))
        rows.append({
            "subject": subject,
            "session": session,
            "n_lesions": len(mine),
            "total_volume_mm3": float(mine["volume_mm3"].sum()) + speck_mm3,
            "hemisphere_class": hemisphere_class(mine["hemisphere"].tolist(), location),
            "n_cortical": location.count("cortical"),
            "n_subcortical": location.count("subcortical"),
            "n_other": location.count("other"),
            "n_specks": n_specks,
            "speck_volume_mm3": speck_mm3,
        })
    return pd.DataFrame(rows, columns=list(SUBJECT_COLUMNS))
