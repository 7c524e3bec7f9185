"""``lesionkit run BIDS_DIR OUTPUT_DIR participant|group``: the BIDS-App entry point.

``participant``: per subject preprocess (native scans) → segment → analyze, as BIDS derivatives in
OUTPUT_DIR (``lesionkit.pipeline.run_subjects``). ``group``: the cohort outputs in OUTPUT_DIR/group
from what the participant level wrote (``lesionkit.pipeline.group.run_group``).
"""

from __future__ import annotations

import argparse

from lesionkit.cli._batch import add_batch_arguments, add_model_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        help="BIDS App: per subject preprocess → segment → analyze; group: overlap maps, tables, report",
        description="BIDS-App entry point. participant: for every subject of BIDS_DIR (BIDS or ATLAS layout) "
        "preprocess native T1w scans to MNI152NLin2009aSym (MNI inputs are used as they are), segment lesions, "
        "analyse the MNI mask, and write BIDS derivatives to OUTPUT_DIR (masks and probabilities in the input's "
        "space and in MNI, per-subject lesion and ROI tables, figures, a provenance sidecar, run.tsv). Finished "
        "subjects are skipped when run again. group: write OUTPUT_DIR/group/ (lesions.tsv, subjects.tsv, "
        "roi_load.tsv, overlap maps, overlap.png, report.html) from the participant-level outputs.",
    )
    parser.add_argument("bids_dir", metavar="BIDS_DIR", help="the input dataset (BIDS or ATLAS layout)")
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="the derivatives folder, e.g. BIDS_DIR/derivatives/"
                        "lesionkit")
    parser.add_argument("analysis_level", choices=("participant", "group"), help="participant or group")
    parser.add_argument("--participant-label", "--participant_label", nargs="+", metavar="LABEL",
                        help="subjects to process (labels without 'sub-'; default: all)")
    parser.add_argument("--steps", nargs="+", choices=("preprocess", "segment", "analyze"),
                        default=["preprocess", "segment", "analyze"], help="participant steps (default: all)")
    parser.add_argument("--no-deface", action="store_true", help="keep the face in the preprocessed T1w")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_model_arguments(parser)
    add_batch_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from lesionkit.cli._batch import cluster_spec, exit_code, model_options, outcome_printer
    from lesionkit.io import InvalidInputError

    if not Path(args.bids_dir).is_dir():
        raise InvalidInputError(args.bids_dir, "is not a folder (BIDS_DIR must be the input dataset)")
    if args.analysis_level == "group":
        from lesionkit.pipeline.group import run_group

        paths = run_group(args.output_dir, args.participant_label)
        print(f"lesionkit run group: wrote {', '.join(sorted(paths))} to {Path(args.output_dir) / 'group'}")
        return 0
    from lesionkit.pipeline import collect_cases, run_subjects

    options, spec = model_options(args, "run"), cluster_spec(args, "run")
    if options is None or spec is None:
        return 2
    if "analyze" in args.steps and "segment" not in args.steps:
        print("lesionkit run: --steps analyze needs segment", file=sys.stderr)
        return 2
    cases = collect_cases([args.bids_dir], args.participant_label)
    report = run_subjects(cases, args.output_dir, args.steps, spec=spec, overwrite=args.overwrite,
                          progress=not args.quiet, description="lesionkit", on_outcome=outcome_printer(len(cases)),
                          deface=not args.no_deface, **options)
    return exit_code(report, "run", args.output_dir)
