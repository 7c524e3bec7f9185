"""``lesionkit segment IN… -o OUT``: lesion probability maps and masks as BIDS derivatives.

MNI152NLin2009aSym input on the ATLAS grid (or its 2 mm subsampling) is segmented directly. Any other
(native) T1w goes through ``lesionkit.preprocess`` (N4, registration to MNI), is segmented in MNI space,
and its probability map is mapped back to the native grid linearly and thresholded there. That
composition is ``lesionkit.pipeline.segment_t1w``; one subject per task, see ``lesionkit.pipeline.batch``.
"""

from __future__ import annotations

import argparse

from lesionkit.cli._batch import add_batch_arguments, add_model_arguments


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "segment",
        help="segment stroke lesions in T1w images",
        description="Segment chronic-stroke lesions with the 3D ResU-Net (whole-volume sliding window). "
        "Writes OUT/sub-X/[ses-Y/]anat/sub-X_[ses-Y_]space-S_label-L_desc-lesionkit_{mask,probseg}.nii.gz "
        "with JSON sidecars (the mask's holds the provenance) and OUT/run.tsv; finished subjects are skipped "
        "when run again.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="T1w NIfTI file(s) or an ATLAS/BIDS folder")
    parser.add_argument("-o", "--output", required=True, help="output derivatives folder")
    add_model_arguments(parser)
    parser.add_argument("--participant-label", nargs="+", help="subjects to process (without 'sub-')")
    add_batch_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._batch import cluster_spec, exit_code, model_options, outcome_printer
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.io import validate_cases
    from lesionkit.pipeline import collect_cases, run_subjects

    require(args.threads is None or args.threads >= 1, "--threads must be at least 1")
    options, spec = model_options(args, "segment"), cluster_spec(args, "segment")
    if options is None or spec is None:
        return 2
    output_dir("segment", args.output)
    cases = collect_cases(args.inputs, args.participant_label)
    # Every T1w is read and checked before the first subject starts, and before torch is even imported:
    # a bad input fails in a second, small, with nothing written.
    validate_cases(cases, scans=True)
    import torch  # noqa: F401  (the 'model' extra: without it main() names the extra, not each subject)
    report = run_subjects(cases, args.output, ("segment",), spec=spec, overwrite=args.overwrite,
                          description="lesionkit lesion segmentations", on_outcome=outcome_printer(len(cases)),
                          **options)
    return exit_code(report, "segment", args.output)
