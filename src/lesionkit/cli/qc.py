"""``lesionkit qc PRED… [-o OUT]``: per-case quality estimates of existing segmentation folders.

Collects the QC features each mask's sidecar recorded at segment time, recomputes those it lacks from the
mask and the probability map, scores the cases as one cohort and writes ``qc.tsv``
(``lesionkit.qc.collect_qc``).
"""

from __future__ import annotations

import argparse

from lesionkit.cli._batch import add_expect_lesions


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "qc",
        help="per-case quality estimates (score, ok/check flag, reasons) of existing segmentations",
        description="Score every case of PRED (lesionkit segmentation folders, or any folder of masks with "
        "*_probseg.nii.gz probability maps) as one cohort and write OUT/qc.tsv: case_id, subject, session, "
        "qc_score (0-1, higher = more likely a failure), qc_flag (ok/check), qc_reasons, mask, then the features. "
        "Features lesionkit segment recorded in the mask sidecars are reused; the others are recomputed from the "
        "mask and probability map, except member (flip-TTA/ensemble) agreement, which only segment can record. "
        "With one PRED and no -o the table goes into PRED and each mask sidecar's qc object is updated.",
    )
    parser.add_argument("pred", nargs="+", metavar="PRED", help="segmentation folder(s)")
    parser.add_argument("-o", "--output", metavar="OUT", help="folder for qc.tsv (default: PRED, when only one)")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL",
                        help="only these subjects (labels without 'sub-')")
    parser.add_argument("--weights", metavar="JSON", help="QC weights file (default: the shipped, fitted ones)")
    add_expect_lesions(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.qc import collect_qc, load_weights

    require(args.output is not None or len(args.pred) == 1, "several PRED folders need -o OUT for their qc.tsv")
    out = output_dir("qc", args.output if args.output is not None else args.pred[0])
    weights = None
    if args.weights is not None:
        from lesionkit.io import InvalidInputError

        try:
            weights = load_weights(args.weights)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InvalidInputError(args.weights, f"is not a QC weights file ({error})") from error
    result = collect_qc(args.pred, out, participant_label=args.participant_label, weights=weights,
                        expect_lesions=args.expect_lesions)
    flagged = result.flagged
    print(f"lesionkit qc: {len(result.rows)} case(s), {len(flagged)} flagged 'check'; wrote {result.table}")
    if result.recomputed:
        print(f"lesionkit qc: {result.recomputed} case(s) had no recorded QC features: recomputed from the mask "
              "and probability map")
    if result.without_members:
        print(f"lesionkit qc: {result.without_members} case(s) without member agreement (flip-TTA/ensemble members "
              "are only recorded by 'lesionkit segment' with QC on): scored without it")
    for row in sorted((r for r in result.rows if r["qc_flag"] == "check"), key=lambda r: -r["qc_score"])[:20]:
        print(f"  {row['case_id']}: {row['qc_score']:.2f}  {'; '.join(row['qc_reasons'])}")
    return 0
