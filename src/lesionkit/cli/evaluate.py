"""``lesionkit evaluate PRED TRUTH -o OUT``: score predicted lesion masks against the truth."""

from __future__ import annotations

import argparse

from lesionkit.cli._batch import add_batch_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="score predicted masks against true masks (per-case TSV, summary JSON, HTML report)",
        description="Match PRED and TRUTH cases by subject (and session) and write OUT/metrics.tsv (one row per "
        "case), OUT/summary.json (means, medians, bootstrap 95 % CIs, micro Dice, strata) and OUT/report.html. "
        "PRED and TRUTH may be BIDS, ATLAS, BIDS-derivative or flat folders of files named by subject. A missing "
        "prediction is scored as an empty mask; masks on different grids are refused (exit 3). Metric "
        "definitions: lesionkit.metrics.pair.",
    )
    parser.add_argument("pred", metavar="PRED", help="predicted masks (*_mask.nii.gz, optional *_probseg.nii.gz)")
    parser.add_argument("truth", metavar="TRUTH", help="true lesion masks (e.g. an ATLAS or `lesionkit synth` folder)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="probability >= threshold is lesion, as in segment (default 0.5)")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL", help="evaluate only these subjects")
    parser.add_argument("--prefer", choices=("automatic", "corrected"), default="automatic",
                        help="where a case also has a mask corrected by hand (desc-corrected, `lesionkit review`): "
                        "use the automatic one (default) or the corrected one")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_batch_arguments(parser, resumable=False)
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._batch import cluster_spec
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.cli._warnings import reported_warnings
    from lesionkit.pipeline.evaluate import evaluate_predictions

    require(args.jobs >= 1 and args.bootstrap >= 1 and 0.0 < args.threshold <= 1.0,
            "--jobs and --bootstrap must be at least 1, --threshold in (0, 1]")
    output_dir("evaluate", args.output)
    spec = cluster_spec(args, "evaluate")
    if spec is None:
        return 2
    with reported_warnings("evaluate"):
        _, summary = evaluate_predictions(
            args.pred, args.truth, args.output, participant_label=args.participant_label, threshold=args.threshold,
            n_resamples=args.bootstrap, seed=args.seed, spec=spec, progress=not args.quiet, prefer=args.prefer,
        )
    print(summary_line(summary, args.output))
    return 0


def summary_line(summary: dict, out) -> str:
    """The line ``evaluate`` (and ``demo``) prints: cases, mean Dice and its CI, missing predictions, files."""
    from lesionkit.pipeline.evaluate import EVALUATION_FILES

    stats = summary["metrics"].get("dice", {})
    return (
        f"evaluated {summary['n_cases']} cases: mean Dice {stats.get('mean', float('nan')):.3f} "
        f"[{stats.get('ci_low', float('nan')):.3f}, {stats.get('ci_high', float('nan')):.3f}], "
        f"{len(summary['missing_predictions'])} missing prediction(s); wrote {', '.join(EVALUATION_FILES)} "
        f"to {out}"
    )
