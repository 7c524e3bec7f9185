"""``lesionkit reliability A B [C …] -o OUT``: inter-/intra-rater Dice, Hausdorff and volume ICC."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "reliability",
        help="inter/intra-rater agreement of lesion tracings (Dice, Hausdorff, volume ICC(2,1))",
        description="Compare the lesion masks of two or more raters (or two tracing sessions of one rater), each a "
        "folder (ATLAS, BIDS, derivatives, R1.1 or flat masks named by subject). Subjects are matched by BIDS "
        "subject and session; a subject missing for some rater is listed in a warning and excluded. Writes "
        "OUT/pairs.tsv (subject, rater_a, rater_b, dice, hd, hd95, volume_a_mm3, volume_b_mm3) and OUT/summary.tsv "
        "(per rater pair: n, Dice and HD mean and sd, lesion-volume ICC(2,1) — two-way random, absolute "
        "agreement, single rater — with its 95 % CI; n_hd_inf counts subjects where one rater's mask is empty, "
        "which makes HD inf and is kept in the mean; with 3+ raters a row 'all'). Definitions: "
        "lesionkit.metrics.pair (Dice, HD) and lesionkit.analysis.reliability.icc_2_1.",
    )
    parser.add_argument("raters", nargs="+", metavar="RATER", help="one mask folder per rater (at least two)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--names", nargs="+", metavar="NAME",
                        help="rater names, one per folder (default: the folder names)")
    parser.add_argument("--match", choices=("id", "subject"), default="id",
                        help="match cases by subject and session (id, default) or by subject only (e.g. one "
                        "rater's two sessions stored as ses-1 and ses-2)")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL", help="only these subjects")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from lesionkit.analysis.reliability import reliability_report
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.cli._warnings import reported_warnings

    require(len(args.raters) >= 2, "give at least two rater folders")
    require(args.names is None or (len(args.names) == len(args.raters) and len(set(args.names)) == len(args.names)),
            f"--names needs {len(args.raters)} distinct names, one per folder")
    out = output_dir("reliability", args.output)
    quiet = args.quiet or not sys.stdout.isatty()  # no bar in logs and pipes
    with Progress(disable=quiet, transient=True) as bar, reported_warnings("reliability"):
        task = bar.add_task("comparing tracings", total=None)
        report = reliability_report(args.raters, out, names=args.names, by=args.match,
                                    participant_label=args.participant_label,
                                    progress=lambda n, of: bar.update(task, completed=n, total=of))
    for row in report.summary.itertuples():
        print(f"{row.pair}: n={row.n}, Dice {row.dice_mean:.3f} ± {row.dice_sd:.3f}, HD {row.hd_mean:.1f} ± "
              f"{row.hd_sd:.1f} mm, volume ICC(2,1) {row.icc:.3f} [{row.icc_ci_low:.3f}, {row.icc_ci_high:.3f}]")
    print(f"wrote {', '.join(report.paths)} to {out}")
    return 0
