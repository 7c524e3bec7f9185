"""How well the shipped QC score finds failed segmentations, on synthetic subjects it was not fitted on (one JSON line).

Writes the mixed cohort of ``qc_cases.py`` (default 48 subjects at seed 32, 1 mm: the default generator,
domain-shifted acquisitions, the ``realistic`` preset, lesion-free subjects), segments it with the shipped
model through ``lesionkit.pipeline.run_subjects`` with QC on, scores every case against the truth, and prints
the risk–coverage curve (mean Dice of the kept cases as the flagged share grows from 0 to 100 %), its area
(AURC, lower is better) and the share of failures (Dice < 0.5, or > 500 mm³ predicted on a lesion-free subject)
caught when 20 % of the cases are flagged — for the QC score and, on the same cases, random flags and the oracle
(flags by the true Dice). Target: at least 70 % of the failures caught at 20 % flagged; no score can catch more
than the oracle does, ``min(1, 0.2 n / failures)``.

    python benchmarks/qc_calibration.py [--subjects 48] [--seed 32] [--resolution 1] [--jobs 1] [--cache DIR]

Seeds the weights were fitted on (``fit.seeds`` in ``lesionkit/data/qc_weights.json``) are refused. With
``--cache`` the cohort and the segmentations are kept and reused (a rerun with a new model re-segments, since
the model's hash is part of each subject's provenance). After a model change: ``qc_fit.py``, then this.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qc_cases import MIX, cohort_rows, parse_mix  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=48)
    parser.add_argument("--seed", type=int, default=32)
    parser.add_argument("--resolution", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, help="keep the cohort and segmentations here and reuse them")
    parser.add_argument("--model", nargs="+", help="checkpoint(s) (default: the shipped model)")
    parser.add_argument("--weights", type=Path, help="QC weights (default: the shipped ones)")
    parser.add_argument("--mix", help="part shares, e.g. atlas:0.4,shifted:0.2,realistic:0.2,lesion_free:0.2")
    parser.add_argument("--rows", type=Path, help="also write the per-subject table (TSV) here")
    parser.add_argument("--figure", type=Path, help="also draw the risk-coverage curves (PNG) here")
    args = parser.parse_args()
    if args.subjects < 10:
        parser.error("--subjects must be at least 10 (a curve over fewer cases says little)")

    from lesionkit.qc import default_weights, load_weights, risk_coverage
    from lesionkit.qc.curves import CATCH_TARGET

    weights = load_weights(args.weights) if args.weights else default_weights()
    fit_seeds = weights.fit.get("seeds") or []
    if args.seed in fit_seeds:
        parser.error(f"seed {args.seed} is one the weights were fitted on ({fit_seeds}): pick another")
    mix = parse_mix(args.mix) if args.mix else MIX
    start = time.perf_counter()
    rows, info = cohort_rows(args.subjects, args.seed, resolution=args.resolution, jobs=args.jobs, cache=args.cache,
                             model=args.model, weights=weights, mix=mix)
    if args.rows:
        rows.to_csv(args.rows, sep="\t", index=False)
    curves = risk_coverage(rows["qc_score"], rows["dice"], rows["failure"])
    if args.figure:  # every case a point: the figure lesionkit evaluate's report draws
        from lesionkit.report.plots import risk_coverage_curve

        full = risk_coverage(rows["qc_score"], rows["dice"], rows["failure"], points=len(rows))
        risk_coverage_curve(full).savefig(args.figure, dpi=100, bbox_inches="tight")
    flagged = rows["qc_flag"].eq("check")
    failures = rows["failure"]
    by_part = {}
    for part, group in rows.groupby("part", sort=False):
        by_part[part] = {"subjects": len(group), "failures": int(group["failure"].sum()),
                         "mean_dice": round(float(group["dice"].mean()), 4),
                         "flagged": int(group["qc_flag"].eq("check").sum()),
                         "mean_qc_score": round(float(group["qc_score"].mean()), 4)}
    caught = curves["qc"]["caught_at_flag_share"]
    print(json.dumps({
        "benchmark": "qc_calibration", "seed": args.seed, "subjects": len(rows), "resolution_mm": args.resolution,
        "mix": {k: round(v, 4) for k, v in mix.items()}, "model_sha256": info["model_sha256"],
        "weights_id": weights.fit.get("id"), "fit_seeds": fit_seeds,
        "failures": int(failures.sum()), "failure_share": round(float(failures.mean()), 4),
        "mean_dice": round(float(rows["dice"].mean()), 4),
        "flag_share": curves["flag_share"],
        "caught_at_20pct": {"qc": caught, "random": curves["random"]["caught_at_flag_share"],
                            "oracle": curves["oracle"]["caught_at_flag_share"]},
        "target_caught": CATCH_TARGET, "target_met": caught is not None and caught >= CATCH_TARGET,
        "share_to_catch_target": {name: curves[name]["share_to_catch"] for name in ("qc", "random", "oracle")},
        "aurc": {name: curves[name]["aurc"] for name in ("qc", "random", "oracle")},
        "kept_mean_dice_at_20pct": {name: curves[name]["kept_mean_dice_at_flag_share"]
                                    for name in ("qc", "random", "oracle")},
        "curve_flagged_share_vs_kept_mean_dice": {name: curves[name]["curve"] for name in ("qc", "random", "oracle")},
        "check_flag": {"flagged": int(flagged.sum()), "failures_flagged": int((flagged & failures).sum()),
                       "successes_flagged": int((flagged & ~failures).sum())},
        "by_part": by_part, "segmented": info["segmented"], "seconds": round(time.perf_counter() - start, 1),
    }))


if __name__ == "__main__":
    main()
