"""``lesionkit preprocess IN… OUT``: native T1w → MNI152NLin2009aSym BIDS derivatives, transforms and QC figures."""

from __future__ import annotations

import argparse

from lesionkit.cli._batch import add_batch_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "preprocess",
        help="native T1w → MNI152NLin2009aSym like ATLAS (N4, standardisation, affine, brain mask, defacing)",
        description="Preprocess native T1w scans as the ATLAS releases were made: reorientation, N4 bias correction, "
        "white-matter-peak intensity standardisation, affine registration to MNI152NLin2009aSym, template brain "
        "mask, defacing, resampling onto the ATLAS grid (197x233x189, 1 mm). Writes BIDS derivatives, forward and "
        "inverse transforms (ANTs .mat and 4x4 JSON), a JSON sidecar with steps, run times and provenance, a QC "
        "PNG and OUT/run.tsv; finished scans are skipped when run again.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="T1w NIfTI file(s), or one BIDS/ATLAS folder")
    parser.add_argument("output", metavar="OUT", help="output folder (BIDS derivatives)")
    parser.add_argument("--mask", help="lesion mask of the (single) input T1w file, on its grid")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL", help="subjects to process (without sub-)")
    parser.add_argument("--no-deface", action="store_true", help="keep the face")
    add_batch_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from lesionkit.cli._batch import cluster_spec, exit_code, outcome_printer
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.io import check_same_grid, load_image, load_mask, validate_cases
    from lesionkit.pipeline import collect_cases, run_subjects

    require(args.jobs >= 1, "--jobs must be at least 1")
    spec = cluster_spec(args, "preprocess")
    if spec is None:
        return 2
    output_dir("preprocess", args.output)
    cases = collect_cases(args.inputs, args.participant_label, native_first=True, truth=True)
    require(not args.mask or len(cases) == 1, "--mask needs exactly one input T1w")
    # Every input is read and checked before the first scan starts: a corrupt file in a folder of many
    # fails now, with nothing written, instead of when its turn comes.
    validate_cases(cases, masks=True, scans=True)
    import ants  # noqa: F401  (the 'preprocess' extra: without it main() names the extra, not each subject)
    if args.mask:
        check_same_grid(load_image(cases[0].t1w), load_mask(args.mask))
        cases = [dataclasses.replace(cases[0], mask=Path(args.mask), mask_parts=(Path(args.mask),))]
    report = run_subjects(cases, args.output, ("preprocess",), spec=spec, overwrite=args.overwrite,
                          description="lesionkit preprocess", on_outcome=outcome_printer(len(cases)),
                          deface=not args.no_deface)
    return exit_code(report, "preprocess", args.output)
