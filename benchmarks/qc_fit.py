"""Fit the shipped QC weights (``src/lesionkit/data/qc_weights.json``) on synthetic cohorts with known truth.

Writes the mixed cohort of ``qc_cases.py`` at the fit seeds (default 31 alone: NOT the evaluation seed of
``qc_calibration.py``, which refuses the seeds recorded here), segments it with the model (default the shipped
one) with QC on, scores it against the truth, fits :func:`lesionkit.qc.fit.fit_weights` on the features and the
failures, and writes the weights with how they were made. Prints one JSON line (the fit's summary).

    python benchmarks/qc_fit.py [--subjects 48] [--seed 31 ...] [--resolution 1] [--jobs 1] [--cache DIR]
                                [--model CKPT] [--out src/lesionkit/data/qc_weights.json]

Rerun it (then ``qc_calibration.py``) whenever the default model changes: the weights are fitted to its errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from qc_cases import MIX, cohort_rows, parse_mix  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "lesionkit" / "data" / "qc_weights.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=48, help="subjects per seed (default 48)")
    parser.add_argument("--seed", type=int, nargs="+", default=[31], help="fit seeds (default 31)")
    parser.add_argument("--resolution", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, help="keep cohorts and segmentations here and reuse them")
    parser.add_argument("--model", nargs="+", help="checkpoint(s) (default: the shipped model)")
    parser.add_argument("--mix", help="part shares, e.g. atlas:0.3,realistic:0.25,small_degraded:0.3,lesion_free:0.15")
    parser.add_argument("--C", type=float, help="inverse L2 strength of the logistic regression (default: chosen "
                        "by 5-fold cross-validation on the fit cases, lesionkit.qc.fit.choose_c)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    from lesionkit import __version__
    from lesionkit.qc.fit import choose_c, fit_weights
    from lesionkit.qc.score import default_weights
    from lesionkit.qc.tables import QC_COLUMNS

    mix = parse_mix(args.mix) if args.mix else MIX
    start = time.perf_counter()
    tables, infos = [], []
    for seed in args.seed:
        rows, info = cohort_rows(args.subjects, seed, resolution=args.resolution, jobs=args.jobs, cache=args.cache,
                                 model=args.model, weights=default_weights(), mix=mix)
        tables.append(rows.assign(seed=seed))
        infos.append(info)
    rows = pd.concat(tables, ignore_index=True)
    features = [{c: r[c] for c in QC_COLUMNS if c in r and c not in ("qc_reasons",)} for _, r in rows.iterrows()]
    cv = None
    if args.C is None:
        args.C, cv = choose_c(features, rows["failure"].tolist(), rows["dice"].tolist())
    # the command that reproduces the weights (where the cohort is cached and the weights go change nothing)
    recorded = [f"--subjects {args.subjects}", "--seed " + " ".join(map(str, args.seed)),
                f"--resolution {args.resolution:g}"]
    recorded += [f"--C {args.C:g}"] if cv is None else []
    recorded += [f"--model {' '.join(args.model)}"] if args.model else []
    recorded += [f"--mix {args.mix}"] if args.mix else []
    command = "python benchmarks/qc_fit.py " + " ".join(recorded)
    weights = fit_weights(features, rows["failure"].tolist(), C=args.C, fit={
        "seeds": args.seed, "subjects_per_seed": args.subjects, "resolution_mm": args.resolution,
        "mix": {k: round(v, 4) for k, v in mix.items()}, "model_sha256": infos[0]["model_sha256"],
        "cross_validation": cv,
        "lesionkit_version": __version__, "command": command,
    })
    args.out.write_text(json.dumps(weights.as_dict(), indent=2) + "\n", encoding="utf-8")
    by_part = rows.groupby("part")["failure"].agg(["sum", "count"])
    print(json.dumps({
        "benchmark": "qc_fit", "seeds": args.seed, "subjects": len(rows), "resolution_mm": args.resolution,
        "failures": int(rows["failure"].sum()),
        "failures_by_part": {p: f"{int(r['sum'])}/{int(r['count'])}" for p, r in by_part.iterrows()},
        "mean_dice": round(float(rows["dice"].mean()), 4), "weights_id": weights.fit["id"],
        "weights": weights.weights, "intercept": weights.intercept, "flag_threshold": weights.flag_threshold,
        "fit_flagged_share": weights.fit["fit_flagged_share"],
        "fit_failures_flagged": weights.fit["fit_failures_flagged"], "C": args.C, "cross_validation": cv,
        "model_sha256": infos[0]["model_sha256"],
        "out": str(args.out), "seconds": round(time.perf_counter() - start, 1),
    }))


if __name__ == "__main__":
    main()
