"""The group level of ``lesionkit run``: cohort outputs from the participant level's derivatives.

Reads, for every subject of ``DERIVATIVES``, the MNI-space lesionkit mask and the lesion and ROI-load
tables the participant level wrote next to it, and writes ``DERIVATIVES/group/``: ``lesions.tsv``,
``subjects.tsv`` and ``roi_load.tsv`` (the tables of ``lesionkit analyze``), ``overlap_count.nii.gz``
and ``overlap_share.nii.gz`` (the probabilistic overlap map), ``overlap.png`` and ``report.html``.
Nothing is recomputed per subject; the masks are read one at a time for the overlap map.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lesionkit.io import MNI_SPACE, InvalidInputError, write_text
from lesionkit.typing import PathLike

__all__ = ["GROUP_FOLDER", "SubjectOutputs", "find_subject_outputs", "run_group"]

GROUP_FOLDER = "group"
_MASK_NAME = re.compile(
    rf"^sub-(?P<sub>[a-zA-Z0-9]+)(?:_ses-(?P<ses>[a-zA-Z0-9]+))?_space-{MNI_SPACE}_label-L_desc-lesionkit_mask\.nii\.gz$"
)


@dataclass(frozen=True)
class SubjectOutputs:
    """The participant-level files of one subject/session that the group level reads."""

    subject: str
    session: str | None
    mask: Path
    lesions: Path
    roi_load: Path


def find_subject_outputs(root: PathLike, participant_label: Iterable[str] | None = None) -> list[SubjectOutputs]:
    """Every subject's MNI mask and tables under a lesionkit derivatives folder, sorted by subject/session."""
    root = Path(root)
    wanted = {label.removeprefix("sub-") for label in participant_label} if participant_label else None
    found = []
    for mask in sorted(root.glob(f"sub-*/**/anat/*_space-{MNI_SPACE}_label-L_desc-lesionkit_mask.nii.gz")):
        match = _MASK_NAME.match(mask.name)
        if match is None or (wanted is not None and match["sub"] not in wanted):
            continue
        stem = mask.name.replace("_label-L_desc-lesionkit_mask.nii.gz", "_desc-lesionkit")
        found.append(SubjectOutputs(match["sub"], match["ses"], mask, mask.with_name(f"{stem}_lesions.tsv"),
                                    mask.with_name(f"{stem}_roiload.tsv")))
    if not found:
        raise InvalidInputError(root, "holds no participant-level lesionkit outputs (run the participant level first)")
    for outputs in found:
        for table in (outputs.lesions, outputs.roi_load):
            if not table.is_file():
                raise InvalidInputError(table, "is missing: run the participant level with the analyze step")
    return found


def _read_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep="\t", dtype={"subject": str, "session": str})
    except (OSError, ValueError) as exc:
        raise InvalidInputError(path, f"cannot read the table ({exc})") from exc
    table["session"] = table["session"].fillna("")
    return table


def run_group(root: PathLike, participant_label: Iterable[str] | None = None, *, title: str | None = None
              ) -> dict[str, Path]:
    """Write ``root/group/`` (see the module docstring) and return the written paths by name."""
    from lesionkit.analysis.quantify import LESION_COLUMNS, summarize_subjects
    from lesionkit.report.analysis import cohort_summary_html
    from lesionkit.report.overlap import overlap_report

    root = Path(root)
    subjects = find_subject_outputs(root, participant_label)
    lesion_tables = [t for t in (_read_table(s.lesions) for s in subjects) if len(t)]
    lesions = pd.concat(lesion_tables, ignore_index=True) if lesion_tables else pd.DataFrame(columns=LESION_COLUMNS)
    roi_load = pd.concat([_read_table(s.roi_load) for s in subjects], ignore_index=True)
    table = summarize_subjects(lesions, [(f"sub-{s.subject}", s.session or "") for s in subjects])
    # Everything is read before the first write; each file is written atomically.
    out = root / GROUP_FOLDER
    paths = overlap_report([s.mask for s in subjects], out).paths
    paths |= {name: out / name for name in ("lesions.tsv", "subjects.tsv", "roi_load.tsv", "report.html")}
    for name, frame in (("lesions.tsv", lesions), ("subjects.tsv", table), ("roi_load.tsv", roi_load)):
        write_text(paths[name], frame.to_csv(sep="\t", index=False, lineterminator="\n"))
    cohort_summary_html(lesions, table, paths["overlap.png"], paths["report.html"],
                        title=title or f"lesionkit run: {len(subjects)} subject(s)")
    return paths
