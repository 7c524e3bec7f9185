"""``lesionkit demo [-o DIR]``: synthesise → segment with the shipped model → evaluate, in a few minutes."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole loop on a small synthetic cohort with the shipped model",
        description="Synthesise a small held-out cohort (fixed seed, 1 mm MNI), segment it with the shipped "
        "model, evaluate it against the known truth and print where the report is.",
    )
    parser.add_argument("-o", "--output", default="lesionkit_demo", help="output folder (default ./lesionkit_demo)")
    parser.add_argument("--subjects", type=int, default=4, help="number of synthetic subjects (default 4)")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # default: the library's DEMO_SEED
    parser.add_argument("--model", nargs="+", help="checkpoint(s) instead of the shipped model")
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._batch import exit_code, outcome_printer
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.cli.evaluate import summary_line
    from lesionkit.pipeline.demo import run_demo

    require(args.subjects >= 1, "--subjects must be at least 1")
    result = run_demo(output_dir("demo", args.output), args.subjects, args.seed, args.model, log=print,
                      on_outcome=outcome_printer(args.subjects))
    if result.summary is None:
        return exit_code(result.segmentation, "segment", result.predictions)
    print(summary_line(result.summary, result.evaluation))
    print(f"report: {result.evaluation / 'report.html'}")
    return 0
