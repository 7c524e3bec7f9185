"""``lesionkit montage COHORT -o PNG``: axial/coronal/sagittal slices through each subject's largest lesion."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "montage",
        help="PNG montage of a few subjects with lesion contours",
        description="Draw axial, coronal and sagittal T1w slices through each subject's largest lesion, with the "
        "lesion contour, for the first N subjects of a cohort (ATLAS, BIDS or a lesionkit synth output).",
    )
    parser.add_argument("cohort", metavar="COHORT", help="cohort folder")
    parser.add_argument("-o", "--output", required=True, help="image file to write (.png, .jpg, .pdf, .svg, …)")
    parser.add_argument("--subjects", type=int, default=4, help="number of subjects (rows), default 4")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL",
                        help="only these subjects (labels without 'sub-'), in cohort order")
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._checks import output_file, require
    from lesionkit.io import IMAGE_SUFFIXES
    from lesionkit.report.montage import cohort_montage

    require(args.subjects >= 1, "--subjects must be at least 1")
    output_file("montage", args.output, IMAGE_SUFFIXES)
    path = cohort_montage(args.cohort, args.output, args.subjects, args.participant_label)
    print(f"wrote {path}")
    return 0
