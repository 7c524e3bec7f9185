"""How well the shipped QC score finds failed segmentations, on synthetic subjects it was not fitted on (one JSON line).

Writes the mixed cohort of ``qc_cases.py`` (default 32 subjects at seed 32, 1 mm: ordinary MNI-space subjects of
the default generator, the ``realistic`` preset, degraded small-lesion subjects, lesion-free ones), segments it
with the shipped model through ``lesionkit.pipeline.run_subjects`` with QC on, scores every case against the
truth, and prints:

* the shipped ``check`` flag (score ≥ the weights' ``flag_threshold``): the share of all cases it flags and the
  share of the failures (Dice < 0.5, or > 500 mm³ predicted on a lesion-free subject) among them, against the
  target of :data:`TARGET_CAUGHT` of the failures at most :data:`TARGET_FLAGGED` of the cases flagged; and what
  the oracle (which knows the truth and flags failures first) and random flags catch flagging as many cases;
* the same flag on the lesioned subjects alone, scored as ``--expect-lesions`` scores a stroke cohort (an
  empty mask is always ``check``): ``stroke_cohort``;
* the risk–coverage curve (mean Dice of the kept cases as the flagged share grows from 0 to 100 %), its area
  (AURC, lower is better), the failures caught when 20 % and 40 % of the cases are flagged and the flagged share
  needed to catch 70 % — for the QC score, random flags and the oracle on the same cases. No score can catch more
  than the oracle does, ``min(1, share · n / failures)``.

    python benchmarks/qc_calibration.py [--subjects 32] [--seed 32] [--resolution 1] [--jobs 1] [--cache DIR]

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

import numpy as np  # noqa: E402
from qc_cases import MIX, cohort_rows, parse_mix  # noqa: E402

#: The issue's target for the ``check`` flag: this share of the failures caught ...
TARGET_CAUGHT = 0.7
#: ... with at most this share of all cases flagged.
TARGET_FLAGGED = 0.4


def caught_share(order: np.ndarray, failures: np.ndarray, share: float) -> float:
    """Share of the failures among the first ``round(share · n)`` cases of ``order``."""
    k = int(round(share * len(order)))
    return round(float(failures[order[:k]].sum() / failures.sum()), 4)


def _stroke_cohort(rows, weights) -> dict:
    """The check flag on the lesioned subjects, scored with ``expect_lesion`` (what ``--expect-lesions`` does)."""
    from lesionkit.qc import score_case
    from lesionkit.qc.tables import QC_COLUMNS

    lesioned = rows[~rows["lesion_free"]]
    flags = np.array([score_case({**{c: r[c] for c in QC_COLUMNS if c in r and c != "qc_reasons"},
                                  "expect_lesion": 1.0}, weights).flag == "check" for _, r in lesioned.iterrows()])
    failed = lesioned["failure"].to_numpy(bool)
    return {"subjects": len(lesioned), "failures": int(failed.sum()), "flagged": int(flags.sum()),
            "flagged_share": round(float(flags.mean()), 4) if len(flags) else None,
            "failures_caught": round(float(flags[failed].mean()), 4) if failed.any() else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=32)
    parser.add_argument("--seed", type=int, default=32)
    parser.add_argument("--resolution", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, help="keep the cohort and segmentations here and reuse them")
    parser.add_argument("--model", nargs="+", help="checkpoint(s) (default: the shipped model)")
    parser.add_argument("--weights", type=Path, help="QC weights (default: the shipped ones)")
    parser.add_argument("--mix", help="part shares, e.g. atlas:0.3,realistic:0.25,small_degraded:0.3,lesion_free:0.15")
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
    wide = risk_coverage(rows["qc_score"], rows["dice"], rows["failure"], flag_share=TARGET_FLAGGED)
    # the oracle and random flags with as many cases flagged as the check flag
    y = failures.to_numpy(bool)
    share = float(flagged.mean())
    order = np.lexsort((rows["dice"].to_numpy(float), ~y))
    rng = np.random.default_rng(0)
    random_caught = [caught_share(rng.permutation(len(y)), y, share) for _ in range(1000)]
    caught_flag = float((flagged & failures).sum() / max(int(failures.sum()), 1))
    stroke = _stroke_cohort(rows, weights)
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
        "target_caught_at_20pct": CATCH_TARGET,
        "share_to_catch_target": {name: curves[name]["share_to_catch"] for name in ("qc", "random", "oracle")},
        "aurc": {name: curves[name]["aurc"] for name in ("qc", "random", "oracle")},
        "kept_mean_dice_at_20pct": {name: curves[name]["kept_mean_dice_at_flag_share"]
                                    for name in ("qc", "random", "oracle")},
        "curve_flagged_share_vs_kept_mean_dice": {name: curves[name]["curve"] for name in ("qc", "random", "oracle")},
        "check_flag": {"flag_threshold": weights.flag_threshold, "flagged": int(flagged.sum()),
                       "flagged_share": round(share, 4), "failures_flagged": int((flagged & failures).sum()),
                       "failures_caught": round(caught_flag, 4),
                       "successes_flagged": int((flagged & ~failures).sum()),
                       "oracle_caught_at_same_share": caught_share(order, y, share) if y.any() else None,
                       "random_caught_at_same_share": round(float(np.mean(random_caught)), 4) if y.any() else None,
                       "target": {"caught_at_least": TARGET_CAUGHT, "flagged_at_most": TARGET_FLAGGED},
                       "target_met": bool(caught_flag >= TARGET_CAUGHT and share <= TARGET_FLAGGED)},
        "stroke_cohort": stroke,
        "caught_at_40pct": {name: wide[name]["caught_at_flag_share"] for name in ("qc", "random", "oracle")},
        "by_part": by_part, "segmented": info["segmented"], "seconds": round(time.perf_counter() - start, 1),
    }))


if __name__ == "__main__":
    main()
