"""``lesionkit evaluate PRED TRUTH -o OUT``: score predicted lesion masks against the truth."""

from __future__ import annotations

import argparse


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
    parser.add_argument("--jobs", type=int, default=1, help="cases evaluated in parallel processes (default 1)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="probability >= threshold is lesion, as in segment (default 0.5)")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL", help="evaluate only these subjects")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    import json
    import math
    import warnings

    from lesionkit.cli._checks import output_dir, require
    from lesionkit.io import write_text
    from lesionkit.metrics import evaluate_cohort
    from lesionkit.report.evaluation import render_evaluation_report

    require(args.jobs >= 1 and args.bootstrap >= 1 and 0.0 < args.threshold <= 1.0,
            "--jobs and --bootstrap must be at least 1, --threshold in (0, 1]")
    out = output_dir("evaluate", args.output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows, summary = evaluate_cohort(
            args.pred,
            args.truth,
            jobs=args.jobs,
            progress=not args.quiet,
            participant_label=args.participant_label,
            threshold=args.threshold,
            n_resamples=args.bootstrap,
            seed=args.seed,
        )
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"lesionkit evaluate: warning: {warning.message}")

    def clean(value):  # JSON has no inf/NaN: write them as the strings "inf" and null
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return value

    # Everything is rendered before the first write, and each file is written atomically: a failure
    # leaves no half-written output.
    texts = {
        "metrics.tsv": rows.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g"),
        "summary.json": json.dumps(clean(summary), indent=2) + "\n",
        "report.html": render_evaluation_report(rows, summary),
    }
    for name, text in texts.items():
        write_text(out / name, text)
    stats = summary["metrics"].get("dice", {})
    print(
        f"evaluated {summary['n_cases']} cases: mean Dice {stats.get('mean', float('nan')):.3f} "
        f"[{stats.get('ci_low', float('nan')):.3f}, {stats.get('ci_high', float('nan')):.3f}], "
        f"{len(summary['missing_predictions'])} missing prediction(s); wrote {', '.join(texts)} to {out}"
    )
    return 0
