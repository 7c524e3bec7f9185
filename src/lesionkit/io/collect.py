"""The cases a command runs on: collected from its inputs under one rule, and checked before any work.

:func:`collect_cases` reads any number of files and folders with :func:`~lesionkit.io.load_cohort` (its
discovery rules: links followed, unreadable folders and ambiguous files refused, one site per subject,
lesionkit's outputs never read as truth) and adds the rules for several inputs: the same file or folder
given twice, or one case found in two inputs, is an error. :func:`validate_cases` then reads every file
once, one at a time, so a corrupt input is refused before the first subject's work starts instead of
when its turn comes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from lesionkit.io.cohort import Case, Prefer, load_case_mask, load_cohort
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.nifti import check_same_grid, check_scan, load_image, load_mask, load_probability
from lesionkit.typing import PathLike

__all__ = ["collect_cases", "validate_cases"]

Need = Literal["t1w", "mask", "any"]
_NEEDED = {"t1w": "no T1w image", "mask": "no lesion masks", "any": "no cases"}


def _has(case: Case, need: Need) -> bool:
    if need == "t1w":
        return case.t1w is not None
    if need == "mask":
        return case.mask is not None
    return True


def _files(case: Case) -> list[Path]:
    return [p for p in (case.t1w, *case.mask_parts, case.probseg) if p is not None]


def collect_cases(
    inputs: PathLike | Sequence[PathLike],
    *,
    need: Need = "any",
    participant_label: Iterable[str] | None = None,
    space: str | None = "auto",
    truth: bool = False,
    prefer: Prefer = "automatic",
) -> list[Case]:
    """The cases of one or several inputs (NIfTI files and folders of any layout), in input order.

    ``need="t1w"`` or ``"mask"`` keeps only the cases that have one (an input without any is an error);
    with ``"mask"`` a file whose name says nothing (``r001s001.nii.gz``) is a mask, else a T1w
    (``default_role`` of :func:`~lesionkit.io.load_cohort`). ``participant_label`` keeps only these
    subjects of folder inputs (a file given by name is always kept); ``space``, ``truth`` and ``prefer``
    (automatic or hand-corrected masks) are :func:`~lesionkit.io.load_cohort`'s.

    Raises :class:`~lesionkit.io.InvalidInputError` naming the files for a missing input, an input given
    twice (also a file inside a folder that is given too), one case (subject, session, space) found in
    two inputs, and everything :func:`~lesionkit.io.load_cohort` refuses.
    """
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    if not items:
        raise ValueError("collect_cases needs at least one input")
    labels = list(participant_label) if participant_label else None
    given: dict[str, Path] = {}
    owners: dict[str, tuple[Path, Path]] = {}  # resolved case file -> (file, input)
    keys: dict[tuple[str, str | None, str | None], Path] = {}
    cases: list[Case] = []
    for item in map(Path, items):
        if not item.exists():
            raise InvalidInputError(item, "does not exist")
        real = os.path.realpath(item)
        if real in given:
            also = "" if str(given[real]) == str(item) else f" (also as {given[real]})"
            raise InvalidInputError(item, f"is given twice{also}")
        given[real] = item
        found = load_cohort(item, labels if item.is_dir() else None, space=space, truth=truth,
                            default_role="mask" if need == "mask" else "t1w", prefer=prefer)
        found = [case for case in found if _has(case, need)]
        if not found:
            raise InvalidInputError(item, f"holds {_NEEDED[need]}")
        for case in found:
            for file in _files(case):
                other = owners.setdefault(os.path.realpath(file), (file, item))
                if other[1] != item:
                    raise InvalidInputError(file, f"is given twice: as {other[0]} (from {other[1]}) and from {item}")
            key = (case.subject, case.session, case.space)
            if key in keys:
                raise InvalidInputError(item, f"{case.id} is also in {keys[key]}: give each case once")
            keys[key] = item
            cases.append(case)
    return cases


def validate_cases(cases: Iterable[Case], *, masks: bool = False, probsegs: bool = False, scans: bool = False) -> None:
    """Read and check every file of ``cases`` once, one at a time, before a command's work starts.

    T1w images are loaded as :func:`~lesionkit.io.load_image` does; with ``scans`` they must also be head
    scans (:func:`~lesionkit.io.check_scan`); with ``masks`` the lesion masks are loaded and must share
    the T1w's grid; with ``probsegs`` probability maps must hold values in [0, 1]. Nothing is kept in
    memory; the first problem raises :class:`~lesionkit.io.InvalidInputError` naming the file.
    """
    for case in cases:
        image = load_image(case.t1w) if case.t1w is not None else None
        if image is not None and scans:
            check_scan(image, case.t1w)
        if masks and case.mask_parts:
            mask = load_case_mask(case) if len(case.mask_parts) > 1 else load_mask(case.mask_parts[0])
            if image is not None:
                check_same_grid(image, mask)
        if probsegs and case.probseg is not None:
            load_probability(case.probseg)
