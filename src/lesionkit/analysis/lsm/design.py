"""The inputs of a lesion–symptom mapping: lesion masks, a behaviour table, and the voxels worth testing.

* :func:`read_behavior` reads a TSV/CSV (or a BIDS ``participants.tsv``) into one row per subject.
* :func:`match_subjects` pairs masks and rows by subject label (``sub-`` optional on either side). A subject
  with a mask and no row, a NaN score or covariate, or a constant score is refused with the subjects named;
  rows without a mask are returned so the caller can list them (never dropped silently).
* :func:`lesion_matrix` stacks the masks (one grid, checked) and keeps the voxels lesioned in at least
  ``min_lesioned`` subjects (a count, or a share of the sample: LESYMAP's default 10 %) and spared in at
  least two; voxels with the same subjects lesioned form one **patch** and are tested once (LESYMAP's
  "unique patches"), so the cost grows with distinct patterns, not voxels.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from lesionkit.analysis.components import voxel_volume
from lesionkit.io import Case, InvalidInputError, check_same_grid, load_case_mask, load_mask
from lesionkit.typing import PathLike

__all__ = [
    "LESION_VOLUME",
    "Behavior",
    "LesionMatrix",
    "lesion_matrix",
    "match_subjects",
    "min_lesioned_count",
    "read_behavior",
    "subject_label",
]

#: The covariate every analysis can name without a table column: total lesion volume (mm³) from the masks.
LESION_VOLUME = "lesion_volume"
_SUBJECT_COLUMNS = ("participant_id", "subject", "subject_id", "id")
_LISTED = 10  # subjects named in one message before "and N more"


def subject_label(value: object) -> str:
    """A subject label without ``sub-`` (``sub-01`` and ``01`` are one subject)."""
    text = str(value).strip()
    return text[4:] if text.startswith("sub-") else text


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def read_behavior(path: PathLike, subject_column: str | None = None) -> pd.DataFrame:
    """The table at ``path`` indexed by subject label (tab- or comma-separated, guessed from the content)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(path, "behaviour table does not exist")
    try:
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as error:
        raise InvalidInputError(path, f"cannot be read as a TSV/CSV table: {error}") from None
    if frame.empty or frame.shape[1] < 2:
        raise InvalidInputError(path, "needs a subject column and at least one score column")
    column = subject_column or next((c for c in _SUBJECT_COLUMNS if c in frame.columns), frame.columns[0])
    if column not in frame.columns:
        raise InvalidInputError(path, f"has no column {column!r} (columns: {', '.join(frame.columns)})")
    labels = frame[column].map(subject_label)
    duplicated = sorted(set(labels[labels.duplicated()]))
    if duplicated:
        raise InvalidInputError(path, f"lists subject(s) more than once: {_names(duplicated)}")
    return frame.drop(columns=[column]).set_index(pd.Index(labels, name="subject"))


@dataclass(frozen=True)
class Behavior:
    """Scores and covariates of the subjects that have both a mask and a table row, in mask order."""

    subjects: list[str]
    score_name: str
    scores: np.ndarray
    covariate_names: list[str] = field(default_factory=list)
    covariates: np.ndarray | None = None
    """(N, c) float, or None without covariates."""
    unmatched_rows: list[str] = field(default_factory=list)
    """Table rows without a mask (listed, not used)."""


def _numeric(frame: pd.DataFrame, column: str, path: PathLike) -> pd.Series:
    values = pd.to_numeric(frame[column].replace({"": "nan", "n/a": "nan", "NA": "nan"}), errors="coerce")
    bad = [s for s, raw, v in zip(frame.index, frame[column], values, strict=True)
           if math.isnan(v) and str(raw).strip().lower() not in ("", "nan", "n/a", "na")]
    if bad:
        raise InvalidInputError(path, f"column {column!r} is not numeric for subject(s): {_names(bad)}")
    return values


def _score_column(frame: pd.DataFrame, score: str | None, path: PathLike) -> str:
    if score is not None:
        if score not in frame.columns:
            raise InvalidInputError(path, f"has no score column {score!r} (columns: {', '.join(frame.columns)})")
        return score
    if "score" in frame.columns:
        return "score"
    numeric = [c for c in frame.columns if pd.to_numeric(frame[c], errors="coerce").notna().any()]
    if len(numeric) != 1:
        raise InvalidInputError(path, f"name the score column (--score): numeric columns are {', '.join(numeric)}")
    return numeric[0]


def match_subjects(
    subjects: Sequence[str],
    table: pd.DataFrame,
    path: PathLike,
    *,
    score: str | None = None,
    covariates: Sequence[str] = (),
    lesion_volume: np.ndarray | None = None,
) -> Behavior:
    """Scores (and covariates) of ``subjects`` from ``table`` (:func:`read_behavior`), checked.

    ``covariates`` are table columns; :data:`LESION_VOLUME` is taken from ``lesion_volume`` (mm³ per subject,
    in ``subjects`` order) unless the table has such a column.
    """
    missing = [s for s in subjects if s not in table.index]
    if missing:
        raise InvalidInputError(path, f"has no row for {len(missing)} subject(s) with a mask: {_names(missing)}")
    rows = table.loc[list(subjects)]
    name = _score_column(table, score, path)
    values = _numeric(rows, name, path).to_numpy(dtype=float)
    _check_finite(values, subjects, name, path)
    if np.ptp(values) == 0:
        raise InvalidInputError(path, f"score {name!r} is constant ({values[0]:g}) over the {len(values)} "
                                "subjects with masks: there is nothing to map")
    columns = []
    for covariate in covariates:
        if covariate == LESION_VOLUME and covariate not in table.columns and lesion_volume is not None:
            columns.append(np.asarray(lesion_volume, dtype=float))
            continue
        if covariate not in table.columns:
            raise InvalidInputError(path, f"has no covariate column {covariate!r} (columns: {', '.join(table.columns)}"
                                    f"; {LESION_VOLUME!r} comes from the masks)")
        column = _numeric(rows, covariate, path).to_numpy(dtype=float)
        _check_finite(column, subjects, covariate, path)
        columns.append(column)
    unmatched = sorted(set(table.index) - set(subjects))
    return Behavior(list(subjects), name, values, list(covariates),
                    np.column_stack(columns) if columns else None, unmatched)


def _check_finite(values: np.ndarray, subjects: Sequence[str], name: str, path: PathLike) -> None:
    bad = [s for s, v in zip(subjects, values, strict=True) if not np.isfinite(v)]
    if bad:
        raise InvalidInputError(path, f"{name!r} is missing (NaN) for subject(s): {_names(bad)}; "
                                "give a value or leave the subject out (--participant-label)")


def min_lesioned_count(min_lesioned: float, n_subjects: int) -> int:
    """The count a ``min_lesioned`` of ``k`` (≥ 1, a count) or ``s`` (0 < s < 1, a share) means for N subjects."""
    if min_lesioned <= 0:
        raise ValueError(f"the minimum number of lesioned subjects must be positive, got {min_lesioned:g}")
    if min_lesioned < 1:
        return max(1, math.ceil(min_lesioned * n_subjects - 1e-9))
    if min_lesioned != int(min_lesioned):
        raise ValueError(f"a minimum count of lesioned subjects must be whole, got {min_lesioned:g}")
    return int(min_lesioned)


@dataclass(frozen=True)
class LesionMatrix:
    """The tested voxels of a cohort, grouped into unique patches."""

    shape: tuple[int, int, int]
    affine: np.ndarray
    voxels: np.ndarray
    """Flat (C-order) indices of the tested voxels on the grid."""
    voxel_patch: np.ndarray
    """Patch index of each tested voxel."""
    patches: np.ndarray
    """(N subjects, P patches) bool: lesioned or not."""
    patch_voxels: np.ndarray
    """Voxels in each patch."""
    lesion_volume: np.ndarray
    """Total lesion volume (mm³) of each subject, all voxels counted."""
    min_lesioned: int

    @property
    def voxel_mm3(self) -> float:
        return voxel_volume(self.affine)

    def to_volume(self, patch_values: np.ndarray, fill: float = 0.0, dtype=np.float32) -> np.ndarray:
        """A grid-shaped volume holding each tested voxel's patch value, ``fill`` elsewhere."""
        volume = np.full(int(np.prod(self.shape)), fill, dtype=dtype)
        volume[self.voxels] = np.asarray(patch_values)[self.voxel_patch]
        return volume.reshape(self.shape)


def _read(source: Case | PathLike | nib.Nifti1Image) -> nib.Nifti1Image:
    if isinstance(source, Case):
        return load_case_mask(source)
    if isinstance(source, nib.spatialimages.SpatialImage):
        return source
    return load_mask(source)


def lesion_matrix(
    masks: Sequence[Case | PathLike | nib.Nifti1Image], min_lesioned: float = 0.1, progress=None
) -> LesionMatrix:
    """Read the masks (one at a time, sparse), keep testable voxels and group them into unique patches.

    Raises :class:`~lesionkit.io.InvalidInputError` for masks on different grids (naming the file), for a
    ``min_lesioned`` the sample cannot reach, and when no voxel is lesioned in enough subjects.
    """
    n = len(masks)
    if n < 4:
        raise InvalidInputError(None, f"lesion–symptom mapping needs at least 4 subjects, got {n}")
    need = min_lesioned_count(min_lesioned, n)
    if need > n - 2:
        raise InvalidInputError(None, f"{n} subjects cannot have voxels lesioned in at least {need} subjects and "
                                "spared in at least 2: lower --min-lesioned")
    first, lesioned = None, []
    for i, source in enumerate(masks):
        img = _read(source)
        if first is None:
            first = img
        else:
            check_same_grid(first, img)
        lesioned.append(np.flatnonzero(np.asanyarray(img.dataobj).reshape(-1, order="C")))
        if progress is not None:
            progress(i + 1)
    shape = tuple(int(s) for s in first.shape[:3])
    count = np.zeros(int(np.prod(shape)), np.int32)
    for flat in lesioned:
        count[flat] += 1
    voxels = np.flatnonzero((count >= need) & (count <= n - 2))
    if voxels.size == 0:
        raise InvalidInputError(None, f"no voxel is lesioned in at least {need} of the {n} subjects (and spared in 2): "
                                f"the lesions overlap at most {int(count.max())} deep; lower --min-lesioned")
    position = np.full(count.size, -1, np.int64)
    position[voxels] = np.arange(voxels.size)
    matrix = np.zeros((n, voxels.size), bool)
    for i, flat in enumerate(lesioned):
        hit = position[flat]
        matrix[i, hit[hit >= 0]] = True
    packed = np.packbits(matrix, axis=0)
    _, first_of, inverse = np.unique(packed, axis=1, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    voxel_mm3 = voxel_volume(first.affine)
    volumes = np.array([flat.size * voxel_mm3 for flat in lesioned])
    return LesionMatrix(shape, first.affine.copy(), voxels, inverse, matrix[:, first_of],
                        np.bincount(inverse, minlength=first_of.size), volumes, need)
