"""``lesionkit analyze MASKS… -o OUT``: per-lesion and per-subject quantification (the ATLAS metadata)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "analyze",
        help="per-lesion and per-subject tables: volume, hemisphere, cortical/subcortical/other, territory, ROI load",
        description="Quantify lesion masks in MNI152NLin2009aSym space (the ATLAS grid, 197×233×189 at 1 mm, or a "
        "whole-mm subsampling of it; native-space masks are refused: register them first). Writes OUT/lesions.tsv "
        "(one row per 6-connected lesion: volume, centroid in MNI mm, hemisphere, location by the ATLAS definition, "
        "majority JHU arterial territory and the share in each), OUT/subjects.tsv (lesion count, total volume, "
        "ATLAS hemisphere class, counts by location), OUT/roi_load.tsv (overlap mm³, percent of each ROI and of the "
        "lesion for JHU territories levels 1 and 2 and an optional user atlas), OUT/cst_load.tsv with --cst "
        "(weighted CST lesion load, Zhu et al. 2010), and with T1w images (--t1 or a cohort that has them) one "
        "montage PNG per subject under OUT/figures, OUT/overlap.png and OUT/report.html. Rules: "
        "lesionkit.analysis.location and lesionkit.analysis.quantify.",
    )
    parser.add_argument("masks", nargs="+", metavar="MASKS",
                        help="lesion mask files and/or folders (ATLAS, BIDS, derivatives, R1.1 or flat)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--t1", nargs="+", metavar="T1W",
                        help="T1w files or folders for the montages (matched by subject, else in order)")
    parser.add_argument("--min-size", type=float, default=10.0, metavar="MM3",
                        help="smaller components are specks, not lesions: reported apart in subjects.tsv (n_specks, "
                        "speck_volume_mm3), volumes still count them (mm³; default 10, as ATLAS; 0 counts all)")
    parser.add_argument("--atlas", metavar="NIFTI", help="a label atlas on the masks' grid for roi_load.tsv")
    parser.add_argument("--atlas-labels", metavar="TABLE", help="its label table: 'index name' lines (TSV/CSV/txt)")
    parser.add_argument("--cst", metavar="NIFTI", help="corticospinal-tract map on the masks' grid (binary or 0-1)")
    parser.add_argument("--cst-threshold", type=float, default=0.5,
                        help="CST map values above this are tract (default 0.5)")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL",
                        help="only these subjects of folder inputs (labels without 'sub-')")
    parser.add_argument("--jobs", type=int, default=1, help="cases analysed in parallel processes (default 1)")
    parser.add_argument("--no-report", action="store_true", help="tables only: no figures, no report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _match_t1(cases: list, t1_inputs: list[str] | None) -> list:
    """One T1w path (or None) per case: from --t1 by subject and session (a subject's only T1w also
    matches a mask of another session), else in order when no name matches; else the case's own.
    A --t1 image that matches no mask is an error, never silently left out."""
    from lesionkit.io import InvalidInputError, collect_cases

    if not t1_inputs:
        return [str(case.t1w) if case.t1w else None for case in cases]
    images = collect_cases(t1_inputs, need="t1w")
    by_key = {(c.subject, c.session): c for c in images}
    by_subject: dict[str, list] = {}
    for image in images:
        by_subject.setdefault(image.subject, []).append(image)
    matched = []
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
        raise InvalidInputError(unused[0].t1w, f"this --t1 image ({unused[0].id}) matches no mask's subject "
                                f"(masks: {', '.join(c.id for c in cases[:5])}{', …' if len(cases) > 5 else ''})")
    return [str(m.t1w) if m else (str(case.t1w) if case.t1w else None) for m, case in zip(matched, cases, strict=True)]


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from lesionkit.analysis.cohort import analyze_cohort
    from lesionkit.analysis.roi import load_atlas, read_cst
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.io import collect_cases, load_case_mask, write_text

    require(args.jobs >= 1 and args.min_size >= 0, "--jobs must be at least 1 and --min-size at least 0")
    require(bool(args.atlas) == bool(args.atlas_labels), "--atlas and --atlas-labels go together")
    require(0 <= args.cst_threshold < 1, "--cst-threshold must be in [0, 1)")
    out = output_dir("analyze", args.output)
    cases = collect_cases(args.masks, need="mask", participant_label=args.participant_label)
    t1w = _match_t1(cases, args.t1)
    reference = load_case_mask(cases[0]) if (args.atlas or args.cst) else None
    atlases = [load_atlas(args.atlas, args.atlas_labels, reference)] if args.atlas else []
    tract = read_cst(args.cst, reference, args.cst_threshold) if args.cst else None
    with Progress(disable=args.quiet, transient=True) as bar:
        task = bar.add_task("analysing masks", total=len(cases))
        tables = analyze_cohort(
            cases, t1w=t1w, min_size_mm3=args.min_size, atlases=atlases, tract=tract,
            tract_affine=None if reference is None else reference.affine, jobs=args.jobs,
            progress=lambda n: bar.update(task, completed=n),
        )
    # Every input has been read and checked: only now is anything written (each file atomically).
    out.mkdir(parents=True, exist_ok=True)
    written = ["lesions.tsv", "subjects.tsv", "roi_load.tsv"]
    if not args.no_report:
        written += _figures(cases, t1w, tables, out, args.quiet)
    write_text(out / "lesions.tsv", tables.lesions.to_csv(sep="\t", index=False, lineterminator="\n"))
    write_text(out / "subjects.tsv", tables.subjects.to_csv(sep="\t", index=False, lineterminator="\n"))
    write_text(out / "roi_load.tsv", tables.roi_load.to_csv(sep="\t", index=False, lineterminator="\n"))
    if tables.cst_load is not None:
        write_text(out / "cst_load.tsv", tables.cst_load.to_csv(sep="\t", index=False, lineterminator="\n"))
        written.append("cst_load.tsv")
    counts = tables.lesions["location"].value_counts().to_dict() if len(tables.lesions) else {}
    by_location = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"
    print(f"{len(cases)} subject(s), {len(tables.lesions)} lesion(s) ({by_location}); wrote {', '.join(written)} "
          f"to {out}")
    return 0


def _figures(cases: list, t1w: list, tables, out, quiet: bool) -> list[str]:
    """Per-subject montages (where a T1w is known), the overlap figure and report.html; returns the names."""
    from rich.progress import Progress

    from lesionkit.analysis.overlap import overlap_maps
    from lesionkit.io import load_case_mask
    from lesionkit.report.analysis import cohort_summary_html, plot_overlap_map, subject_montage

    written = []
    with_t1 = [(case, t1) for case, t1 in zip(cases, t1w, strict=True) if t1]
    with Progress(disable=quiet, transient=True) as bar:
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
