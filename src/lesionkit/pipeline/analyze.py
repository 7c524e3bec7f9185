"""``analyze_masks``: what ``lesionkit analyze`` does — lesion tables, figures and a report for a set of masks.

Cases come from :func:`lesionkit.pipeline.collect_cases`; the per-case work is
:func:`lesionkit.analysis.cohort.analyze_cohort` (on a Dask cluster when asked); the figures and the page
come from :mod:`lesionkit.report.analysis`. Every input is read and checked before the first write, and
each file is written atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lesionkit.analysis.cohort import CohortTables
from lesionkit.analysis.roi import CST_THRESHOLD
from lesionkit.io import Case, Prefer
from lesionkit.pipeline.cases import collect_cases
from lesionkit.pipeline.cluster import ClusterSpec, open_executor
from lesionkit.typing import PathLike

__all__ = ["AnalysisOutputs", "analyze_masks", "match_t1w"]


@dataclass
class AnalysisOutputs:
    cases: list[Case]
    tables: CohortTables
    written: list[str] = field(default_factory=list)
    """What was written, by name (``lesions.tsv``, ``3 figures/*_montage.png``, ``report.html`` …)."""


def match_t1w(cases: Sequence[Case], t1_inputs: Sequence[PathLike] | None) -> list[str | None]:
    """One T1w path (or None) per case: from ``t1_inputs`` by subject and session (a subject's only T1w
    also matches a mask of another session), else in order when no name matches; else the case's own.
    A ``t1_inputs`` image that matches no mask is an error, never silently left out."""
    from lesionkit.io import InvalidInputError

    if not t1_inputs:
        return [str(case.t1w) if case.t1w else None for case in cases]
    images = collect_cases(t1_inputs)
    by_key = {(c.subject, c.session): c for c in images}
    by_subject: dict[str, list[Case]] = {}
    for image in images:
        by_subject.setdefault(image.subject, []).append(image)
    matched: list[Case | None] = []
    for case in cases:
        image = by_key.get((case.subject, case.session))
        if image is None and len(by_subject.get(case.subject, [])) == 1:
            image = by_subject[case.subject][0]
        matched.append(image)
    if not any(matched) and len(images) == len(cases):
        return [str(c.t1w) for c in images]  # names share nothing: pair them in the order given
    used = {id(m) for m in matched if m is not None}
    unused = [c for c in images if id(c) not in used]
    if unused:
        listed = ", ".join(c.id for c in cases[:5]) + (", …" if len(cases) > 5 else "")
        raise InvalidInputError(unused[0].t1w, f"this --t1 image ({unused[0].id}) matches no mask's subject "
                                f"(masks: {listed})")
    return [str(m.t1w) if m else (str(case.t1w) if case.t1w else None) for m, case in zip(matched, cases, strict=True)]


def analyze_masks(
    masks: Sequence[PathLike],
    out: PathLike,
    *,
    t1: Sequence[PathLike] | None = None,
    participant_label: Iterable[str] | None = None,
    min_size_mm3: float = 0.0,
    atlas: PathLike | None = None,
    atlas_labels: PathLike | None = None,
    cst: PathLike | None = None,
    cst_threshold: float = CST_THRESHOLD,
    report: bool = True,
    spec: ClusterSpec | None = None,
    progress: bool = True,
    prefer: Prefer = "automatic",
) -> AnalysisOutputs:
    """Write ``out/lesions.tsv``, ``subjects.tsv``, ``roi_load.tsv`` (``cst_load.tsv`` with ``cst``) and, with
    ``report``, per-subject montages (where a T1w is known), ``overlap.png`` and ``report.html``.

    ``atlas`` + ``atlas_labels``: a user label atlas on the masks' grid; ``cst``: a corticospinal-tract map
    (values above ``cst_threshold`` are tract). ``spec``: where the per-case analysis runs. ``prefer``:
    ``"corrected"`` analyses a case's hand-corrected (``desc-corrected``) mask where it has one.
    """
    from rich.progress import Progress

    from lesionkit.analysis.cohort import analyze_cohort
    from lesionkit.analysis.roi import load_atlas, read_cst
    from lesionkit.io import load_case_mask, write_text

    cases = collect_cases(masks, participant_label, require="mask", prefer=prefer)
    t1w = match_t1w(cases, t1)
    reference = load_case_mask(cases[0]) if (atlas or cst) else None
    atlases = [load_atlas(atlas, atlas_labels, reference)] if atlas else []
    tract = read_cst(cst, reference, cst_threshold) if cst else None
    with Progress(disable=not progress, transient=True) as bar, open_executor(spec or ClusterSpec(), len(cases)) as ex:
        task = bar.add_task("analysing masks", total=len(cases))
        tables = analyze_cohort(
            cases, t1w=t1w, min_size_mm3=min_size_mm3, atlases=atlases, tract=tract,
            tract_affine=None if reference is None else reference.affine, executor=ex,
            progress=lambda n: bar.update(task, completed=n),
        )
    # Every input has been read and checked: only now is anything written (each file atomically).
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = ["lesions.tsv", "subjects.tsv", "roi_load.tsv"]
    if report:
        written += _figures(cases, t1w, tables, out, progress)
    write_text(out / "lesions.tsv", tables.lesions.to_csv(sep="\t", index=False, lineterminator="\n"))
    write_text(out / "subjects.tsv", tables.subjects.to_csv(sep="\t", index=False, lineterminator="\n"))
    write_text(out / "roi_load.tsv", tables.roi_load.to_csv(sep="\t", index=False, lineterminator="\n"))
    if tables.cst_load is not None:
        write_text(out / "cst_load.tsv", tables.cst_load.to_csv(sep="\t", index=False, lineterminator="\n"))
        written.append("cst_load.tsv")
    return AnalysisOutputs(cases, tables, written)


def _figures(cases: list, t1w: list, tables: CohortTables, out: Path, progress: bool) -> list[str]:
    """Per-subject montages (where a T1w is known), the overlap figure and report.html; returns the names."""
    from rich.progress import Progress

    from lesionkit.analysis.overlap import overlap_maps
    from lesionkit.io import load_case_mask
    from lesionkit.report.analysis import cohort_summary_html, plot_overlap_map, subject_montage

    written = []
    with_t1 = [(case, t1) for case, t1 in zip(cases, t1w, strict=True) if t1]
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("drawing montages", total=len(with_t1))
        for case, t1 in with_t1:
            subject_montage(t1, load_case_mask(case), out / "figures" / f"{case.id}_montage.png", title=case.id)
            bar.advance(task)
    if with_t1:
        written.append(f"{len(with_t1)} figures/*_montage.png")
    _, share = overlap_maps(cases)
    overlap_png = plot_overlap_map(share, out / "overlap.png", len(cases))
    cohort_summary_html(tables.lesions, tables.subjects, overlap_png, out / "report.html",
                        title="lesionkit analyze")
    return [*written, "overlap.png", "report.html"]
