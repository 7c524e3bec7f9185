"""The cases of a derivatives folder as the review app shows them: each automatic mask, the T1w it is
drawn on, its QC flag, and where its correction goes.

Masks are found by :func:`lesionkit.io.collect_cases` (the one discovery of every command) in every space,
automatic masks preferred. The background image must lie on the mask's exact grid (niivue's drawing layer
is the background's voxel grid, and the correction must land on the mask's voxels), found in this order:

1. a T1w of the same case in the derivatives folder itself (``lesionkit run`` writes ``desc-preproc_T1w``);
2. a T1w of the same subject and session under ``--t1`` (a raw dataset: ATLAS, BIDS, any layout), the same
   ``space-`` first;
3. the T1w the mask's JSON sidecar names (``SpatialReference``, ``Sources``; ``lesionkit segment`` writes them);
4. else the case's probability map, else the mask itself, and the page says that no T1w was found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from lesionkit.io import Case, InvalidInputError, collect_cases, corrected_mask_path, is_corrected_mask
from lesionkit.io.nifti import AFFINE_TOLERANCE
from lesionkit.review.qc_table import QcRow, read_qc_table
from lesionkit.typing import PathLike

__all__ = ["ReviewCase", "discover_cases", "sidecar_path"]


@dataclass(frozen=True)
class ReviewCase:
    """One automatic mask to review, and what it is shown on."""

    id: str
    """``sub-X[_ses-Y]``, with ``_space-S`` added when the subject has masks in several spaces."""
    case: Case
    mask: Path
    """The automatic mask (never written to)."""
    corrected: Path
    """Where its hand-corrected version is (or will be) written: beside it, ``desc-corrected``."""
    background: Path
    background_kind: str
    """``T1w``, ``probability map`` or ``mask``."""
    background_note: str
    """Where the T1w came from, or why none was found."""
    shape: tuple[int, int, int]
    affine: np.ndarray = field(compare=False, repr=False)
    qc: QcRow | None = None

    @property
    def voxel_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))


def sidecar_path(mask: Path) -> Path:
    """The JSON sidecar of a NIfTI file (``x_mask.nii.gz`` -> ``x_mask.json``)."""
    name = mask.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return mask.with_name(name[: -len(ext)] + ".json")
    return mask.with_suffix(".json")


def _grid(path: Path) -> tuple[tuple[int, int, int], np.ndarray] | None:
    """Shape and affine from the header only, or None for a file that cannot be read."""
    try:
        img = nib.load(str(path))
    except Exception:  # nibabel raises many types for a file that is not NIfTI
        return None
    if len(img.shape) < 3 or any(int(n) != 1 for n in img.shape[3:]):
        return None
    return tuple(int(n) for n in img.shape[:3]), np.asarray(img.affine, dtype=float)  # type: ignore[return-value]


def _same_grid(a: tuple[tuple[int, ...], np.ndarray], b: tuple[tuple[int, ...], np.ndarray] | None) -> bool:
    return b is not None and a[0] == b[0] and float(np.max(np.abs(a[1] - b[1]))) <= AFFINE_TOLERANCE


def _sidecar_images(mask: Path, root: Path) -> list[Path]:
    """The images a mask's sidecar names as its reference, resolved as absolute, root- or folder-relative."""
    try:
        record = json.loads(sidecar_path(mask).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(record, dict):
        return []
    named = [record.get("SpatialReference"), *(record.get("Sources") or [])]
    found = []
    for value in named:
        if not isinstance(value, str) or not value.endswith((".nii", ".nii.gz")):
            continue
        text = value.split(":", 2)[2] if value.startswith("bids:") and value.count(":") >= 2 else value
        for candidate in (Path(text), root / text, mask.parent / text):
            if candidate.is_file() and candidate not in found:
                found.append(candidate)
                break
    return found


def _t1w_index(inputs: Sequence[PathLike]) -> dict[tuple[str, str | None], list[Case]]:
    index: dict[tuple[str, str | None], list[Case]] = {}
    for case in collect_cases(list(inputs), need="t1w", space=None):
        index.setdefault((case.subject, case.session), []).append(case)
    return index


def _pick_background(case: Case, grid, root: Path, t1_index) -> tuple[Path, str, str]:  # noqa: ANN001
    """(background path, kind, note) for ``case`` (see the module docstring)."""
    off_grid: list[Path] = []
    candidates: list[tuple[Path, str]] = []
    if case.t1w is not None:
        candidates.append((case.t1w, "from the derivatives folder"))
    if t1_index is not None:
        raw = sorted(t1_index.get((case.subject, case.session), []), key=lambda c: c.space != case.space)
        candidates += [(c.t1w, "from --t1") for c in raw]
    candidates += [(p, "named by the mask's sidecar") for p in _sidecar_images(case.mask, root)]
    for path, how in candidates:
        if _same_grid(grid, _grid(path)):
            return path, "T1w", f"{path.name} ({how})"
        off_grid.append(path)
    why = (f"no T1w on the mask's grid ({', '.join(p.name for p in off_grid)} lie on other grids)" if off_grid
           else "no T1w found (give the raw dataset with --t1)")
    if case.probseg is not None and _same_grid(grid, _grid(case.probseg)):
        return case.probseg, "probability map", why
    return case.mask, "mask", why


def discover_cases(
    root: PathLike, t1: PathLike | Sequence[PathLike] | None = None
) -> tuple[list[ReviewCase], list[str]]:
    """The reviewable cases under the derivatives folder ``root`` (sorted by id) and notes on what was skipped.

    ``t1``: raw datasets (any layout) or files to take the T1w images from. A case whose only mask is a
    corrected one, or whose mask is several files (ATLAS R1.1), is skipped with a note. Raises
    :class:`~lesionkit.io.InvalidInputError` for a folder without masks or an unreadable ``qc.tsv``.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidInputError(root, "is not a folder (expected a derivatives folder of lesion masks)")
    found = collect_cases(root, need="mask", space=None, prefer="automatic")
    t1_index = None
    if t1 is not None:
        t1_index = _t1w_index([t1] if isinstance(t1, str | os.PathLike) else list(t1))
    qc = read_qc_table(root) or {}
    ids = [c.id for c in found]
    notes, cases = [], []
    for case in found:
        if len(case.mask_parts) > 1:
            notes.append(f"{case.id}: the mask is {len(case.mask_parts)} files (one per lesion); merge them to review")
            continue
        if is_corrected_mask(case.mask):
            notes.append(f"{case.id}: only a corrected mask ({case.mask.name}), no automatic one to review")
            continue
        grid = _grid(case.mask)
        if grid is None:
            raise InvalidInputError(case.mask, "cannot read this mask's header (not a 3-D NIfTI image)")
        case_id = case.id + (f"_space-{case.space}" if ids.count(case.id) > 1 and case.space else "")
        background, kind, note = _pick_background(case, grid, root, t1_index)
        row = qc.get(case_id) or qc.get(case.id) or qc.get(f"sub-{case.subject}")
        cases.append(ReviewCase(
            id=case_id, case=case, mask=case.mask, corrected=corrected_mask_path(case.mask), background=background,
            background_kind=kind, background_note=note, shape=grid[0], affine=grid[1], qc=row,
        ))
    if not cases:
        raise InvalidInputError(root, "holds no automatic lesion masks to review" + (f" ({notes[0]})" if notes else ""))
    return sorted(cases, key=lambda c: c.id), notes
