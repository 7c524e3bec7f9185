"""Quantify a cohort: every case's mask → lesion, subject, ROI-load and CST-load tables.

Cases are read one at a time (in ``jobs`` processes if asked); every input is checked while reading,
so a caller writes nothing until the whole cohort has passed (no half-written output).

Components under ``min_size_mm3`` (default 10 mm³, :data:`~lesionkit.analysis.quantify.MIN_LESION_MM3`)
are specks: left out of the lesion table, counts and classes, reported per subject (``n_specks``,
``speck_volume_mm3``). Volumes, ROI loads and CST loads use the whole mask, specks included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lesionkit.analysis.components import voxel_volume
from lesionkit.analysis.quantify import (
    LESION_COLUMNS,
    MIN_LESION_MM3,
    grid_step,
    quantify_lesions,
    speck_summary,
    summarize_subjects,
)
from lesionkit.analysis.roi import ROI_COLUMNS, Atlas, builtin_atlas, cst_lesion_load, roi_load
from lesionkit.io.cohort import Case, load_case_mask
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.nifti import check_same_grid, load_image

__all__ = ["CST_COLUMNS", "CohortTables", "analyze_case", "analyze_cohort"]

CST_COLUMNS = ("subject", "session", "weighted_cst_load_mm3", "cst_overlap_mm3", "cst_percent")


@dataclass
class CohortTables:
    lesions: pd.DataFrame
    subjects: pd.DataFrame
    roi_load: pd.DataFrame
    cst_load: pd.DataFrame | None = None


@dataclass(frozen=True)
class _Options:
    min_size_mm3: float
    atlases: tuple[Atlas, ...]
    tract: np.ndarray | None
    tract_affine: np.ndarray | None


def analyze_case(
    case: Case, options: _Options, t1w: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict, tuple[int, float]]:
    """(lesion rows, ROI rows, CST row, specks) of one case; refuses a mask off the ATLAS grid or a T1w off the
    mask's grid."""
    img = load_case_mask(case)
    step = grid_step(img, case.mask)
    if t1w is not None:
        check_same_grid(img, load_image(t1w))
    mask = np.asanyarray(img.dataobj).astype(bool)
    voxel_mm3 = voxel_volume(img.affine)
    subject, session = f"sub-{case.subject}", case.session or ""
    # specks are not lesions, but the mask is never edited: loads below count every voxel
    lesions = quantify_lesions(mask, img.affine, subject, session, options.min_size_mm3)
    specks = speck_summary(mask, voxel_mm3, options.min_size_mm3)
    atlases = (builtin_atlas(1, step), builtin_atlas(2, step), *options.atlases)
    rois = []
    for atlas in atlases:
        if atlas.labels.shape != mask.shape or not np.allclose(atlas.affine, img.affine, atol=1e-3):
            raise InvalidInputError(case.mask, f"mask grid differs from that of atlas {atlas.name}")
        rois.append(roi_load(mask, atlas, voxel_mm3))
    roi = pd.concat(rois, ignore_index=True)
    roi.insert(0, "subject", subject)
    roi.insert(1, "session", session)
    cst: dict = {}
    if options.tract is not None:
        if options.tract.shape != mask.shape or not np.allclose(options.tract_affine, img.affine, atol=1e-3):
            raise InvalidInputError(case.mask, "mask grid differs from that of the CST map")
        cst = {"subject": subject, "session": session, **cst_lesion_load(mask, options.tract, img.affine)}
    return lesions, roi, cst, specks


def _run(task: tuple[Case, _Options, str | None]) -> tuple[pd.DataFrame, pd.DataFrame, dict, tuple[int, float]]:
    return analyze_case(*task)


def analyze_cohort(
    cases: Sequence[Case],
    *,
    t1w: Sequence[str | None] | None = None,
    min_size_mm3: float = MIN_LESION_MM3,
    atlases: Sequence[Atlas] = (),
    tract: np.ndarray | None = None,
    tract_affine: np.ndarray | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> CohortTables:
    """Analyze every case (masks on the ATLAS grid or its subsampling); returns the four tables.

    ``min_size_mm3``: smaller components are specks, reported apart (see the module docstring).
    ``t1w``: one T1w path (or None) per case, checked to share the mask's grid. ``atlases``: user atlases
    on the masks' grid (JHU levels 1 and 2 are always added). ``tract``: a boolean CST map on that grid.
    ``executor``: where the cases run (e.g. a Dask ``Client.get_executor()``) instead of ``jobs`` processes.
    """
    if not cases:
        raise InvalidInputError(None, "no lesion masks to analyze")
    ids = [case.id for case in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InvalidInputError(None, f"subject(s) given more than once: {', '.join(duplicates)}")
    options = _Options(min_size_mm3, tuple(atlases), tract, tract_affine)
    tasks = [(case, options, None if t1w is None else t1w[i]) for i, case in enumerate(cases)]
    results = []
    with contextlib.ExitStack() as stack:
        if executor is None and jobs > 1:
            executor = stack.enter_context(ProcessPoolExecutor(max_workers=jobs))
        for done, result in enumerate((executor.map if executor else map)(_run, tasks), start=1):
            results.append(result)
            if progress is not None:
                progress(done)
    lesion_frames = [r[0] for r in results if len(r[0])]
    lesions = pd.concat(lesion_frames, ignore_index=True) if lesion_frames else pd.DataFrame(columns=LESION_COLUMNS)
    roi = pd.concat([r[1] for r in results], ignore_index=True)
    roi = roi[["subject", "session", *ROI_COLUMNS]]
    cst = pd.DataFrame([r[2] for r in results], columns=list(CST_COLUMNS)) if tract is not None else None
    keys = [(f"sub-{case.subject}", case.session or "") for case in cases]
    specks = {key: r[3] for key, r in zip(keys, results, strict=True)}
    return CohortTables(lesions, summarize_subjects(lesions, keys, specks), roi, cst)
