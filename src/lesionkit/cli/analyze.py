"""``lesionkit analyze MASKS… -o OUT``: per-lesion and per-subject quantification (the ATLAS metadata)."""

from __future__ import annotations

import argparse

from lesionkit.cli._batch import add_batch_arguments


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
    parser.add_argument("--no-report", action="store_true", help="tables only: no figures, no report.html")
    parser.add_argument("--prefer", choices=("automatic", "corrected"), default="automatic",
                        help="where a case also has a mask corrected by hand (desc-corrected, `lesionkit review`): "
                        "use the automatic one (default) or the corrected one")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_batch_arguments(parser, resumable=False)
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._batch import cluster_spec
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.pipeline.analyze import analyze_masks

    require(args.jobs >= 1 and args.min_size >= 0, "--jobs must be at least 1 and --min-size at least 0")
    require(bool(args.atlas) == bool(args.atlas_labels), "--atlas and --atlas-labels go together")
    require(0 <= args.cst_threshold < 1, "--cst-threshold must be in [0, 1)")
    output_dir("analyze", args.output)
    spec = cluster_spec(args, "analyze")
    if spec is None:
        return 2
    done = analyze_masks(
        args.masks, args.output, t1=args.t1, participant_label=args.participant_label, min_size_mm3=args.min_size,
        atlas=args.atlas, atlas_labels=args.atlas_labels, cst=args.cst, cst_threshold=args.cst_threshold,
        report=not args.no_report, spec=spec, progress=not args.quiet, prefer=args.prefer,
    )
    lesions = done.tables.lesions
    counts = lesions["location"].value_counts().to_dict() if len(lesions) else {}
    by_location = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"
    print(f"{len(done.cases)} subject(s), {len(lesions)} lesion(s) ({by_location}); wrote {', '.join(done.written)} "
          f"to {args.output}")
    return 0
