"""``lesionkit overlap MASKS… -o OUT``: probabilistic lesion overlap map (ATLAS v2.0 Figure 4)."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "overlap",
        help="probabilistic lesion overlap map (count and share NIfTI, figure over the MNI template)",
        description="Add up binary lesion masks on one grid and write OUT/overlap_count.nii.gz (subjects with a "
        "lesion per voxel, uint16), OUT/overlap_share.nii.gz (count / N, float32; same affine) and OUT/overlap.png "
        "(the share map in % of subjects over the MNI152NLin2009aSym template, axial slices, neurological "
        "convention: left on the left). MASKS are mask files or folders (ATLAS, BIDS, derivatives, R1.1 or flat "
        "folders of masks named by subject). Masks are read one at a time, so any cohort size fits in memory. "
        "Masks must be in MNI152NLin2009aSym space for the template background to match.",
    )
    parser.add_argument("masks", nargs="+", metavar="MASKS", help="lesion mask files and/or folders")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL",
                        help="only these subjects of folder inputs (labels without 'sub-')")
    parser.add_argument("--slices", type=int, default=8, help="axial slices in the figure (default 8)")
    parser.add_argument("--no-figure", action="store_true", help="write the NIfTI maps only")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from lesionkit.cli._checks import output_dir, require
    from lesionkit.cli._warnings import reported_warnings
    from lesionkit.report.overlap import OVERLAP_FILES, overlap_report

    require(args.slices >= 1, "--slices must be at least 1")
    out = output_dir("overlap", args.output)
    with Progress(disable=args.quiet or not sys.stdout.isatty(), transient=True) as bar, reported_warnings("overlap"):
        task = bar.add_task("adding masks", total=None)
        report = overlap_report(args.masks, out, participant_label=args.participant_label, figure=not args.no_figure,
                                n_slices=args.slices, progress=lambda n, of: bar.update(task, completed=n, total=of))
    written = ", ".join(name for name in OVERLAP_FILES if name in report.paths)
    print(f"overlap of {report.n_masks} masks: at most {report.peak} subject(s) "
          f"({100 * report.peak / report.n_masks:.0f} %) share a voxel; wrote {written} to {out}")
    return 0
