"""Cohort-level statistics of ``lesionkit synth`` next to the ATLAS papers' figures (one JSON line).

Writes the cohort of ``tests/synth/test_distribution.py`` (``lesionkit synth OUT --subjects 40 --seed 0
--resolution 2``, in a temporary folder unless ``--out`` is given) and prints from its
``participants.tsv`` and ``lesions.tsv``: the share of subjects with one lesion (ATLAS ≈ 60 %), the
lesion sites (ATLAS ≈ 60 % subcortical, 25 % cortical, 15 % other), the share of left-hemisphere
lesions (ATLAS: both alike), and the total lesion volume per subject (ATLAS median ≈ 4,000 mm³).

    python benchmarks/synth_distribution.py [--subjects 40] [--seed 0] [--resolution 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def _table(root: Path, name: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, sep="\t") for p in sorted(root.glob(f"Training/R*/{name}"))], ignore_index=True)


def statistics(root: Path) -> dict:
    subjects, lesions = _table(root, "participants.tsv"), _table(root, "lesions.tsv")
    totals = subjects["total_volume_mm3"].astype(float)
    sites = lesions["location"].value_counts(normalize=True)
    return {
        "subjects": len(subjects), "lesions": len(lesions),
        "single_lesion_share": round(float((subjects["n_lesions"] == 1).mean()), 4),
        "location_shares": {k: round(float(sites.get(k, 0.0)), 4) for k in ("subcortical", "cortical", "other")},
        "left_lesion_share": round(float((lesions["hemisphere"] == "left").mean()), 4),
        "total_volume_mm3": {"median": float(np.median(totals)), "min": float(totals.min()),
                             "max": float(totals.max())},
        "atlas_papers": {"single_lesion_share": 0.6, "location_shares": {"subcortical": 0.6, "cortical": 0.25,
                                                                         "other": 0.15},
                         "total_volume_median_mm3": 4000},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolution", type=float, default=2.0)
    parser.add_argument("--out", type=Path, help="keep the cohort here (default: a temporary folder)")
    args = parser.parse_args()

    from lesionkit.synth import generate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        generate_cohort(root, args.subjects, seed=args.seed, resolution=args.resolution, progress=False)
        out = {"benchmark": "synth_distribution", "seed": args.seed, "resolution_mm": args.resolution,
               **statistics(root)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
