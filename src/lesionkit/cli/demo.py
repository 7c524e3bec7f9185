"""``lesionkit demo [-o DIR]``: synthesise → segment with the shipped model → evaluate, in a few minutes."""

from __future__ import annotations

import argparse

#: Held-out demo cohort: seeds disjoint from those the shipped model was trained on (see docs/model_card.md).
DEMO_SEED = 20261122


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole loop on a small synthetic cohort with the shipped model",
        description="Synthesise a small held-out cohort (fixed seed, 1 mm MNI), segment it with the shipped "
        "model, evaluate it against the known truth and print where the report is.",
    )
    parser.add_argument("-o", "--output", default="lesionkit_demo", help="output folder (default ./lesionkit_demo)")
    parser.add_argument("--subjects", type=int, default=4, help="number of synthetic subjects (default 4)")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=argparse.SUPPRESS)
    parser.add_argument("--model", nargs="+", help="checkpoint(s) instead of the shipped model")
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit import cli
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.synth import generate_cohort

    require(args.subjects >= 1, "--subjects must be at least 1")
    out = output_dir("demo", args.output)
    data, predictions, evaluation = out / "data", out / "predictions", out / "evaluation"
    print(f"1/3 synthesising {args.subjects} subjects (seed {args.seed}) → {data}")
    generate_cohort(data, args.subjects, args.seed, resolution=1.0, jobs=min(2, args.subjects))
    print(f"2/3 segmenting with {'the shipped model' if not args.model else ', '.join(args.model)} → {predictions}")
    segment_args = ["segment", str(data), "-o", str(predictions)] + (["--model", *args.model] if args.model else [])
    code = cli.main(segment_args)
    if code:
        return code
    print(f"3/3 evaluating → {evaluation}")
    code = cli.main(["evaluate", str(predictions), str(data), "-o", str(evaluation)])
    if code:
        return code
    print(f"report: {evaluation / 'report.html'}")
    return 0
