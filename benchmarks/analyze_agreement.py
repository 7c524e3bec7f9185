"""Agreement of ``lesionkit analyze`` with a ``lesionkit synth`` cohort's own truth (one JSON line).

    python benchmarks/analyze_agreement.py COHORT [--jobs J]

The generator writes each lesion's hemisphere, location (its site plan) and centroid to
``R0xx/lesions.tsv``. Lesions are matched within a subject by centroid: each found lesion to the true
lesion with the nearest centroid, accepted within 1 mm (the generator keeps lesions ≥ 3 mm apart, so
its components are the lesions; the truth centroids are rounded to 0.1 mm). Printed: counts, matched
share, hemisphere and location agreement, the location confusion table (truth → found), whether every
volume equals voxel count × voxel volume and the truth volume, and the analysis time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from lesionkit.analysis.cohort import analyze_cohort
from lesionkit.io import load_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cohort")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--tolerance-mm", type=float, default=1.0)
    parser.add_argument("--disagreements", help="write the disagreeing lesions to this TSV")
    args = parser.parse_args()

    root = Path(args.cohort)
    truth = pd.concat([pd.read_csv(p, sep="\t") for p in sorted(root.rglob("lesions.tsv"))], ignore_index=True)
    cases = [c for c in load_cohort(root) if c.mask is not None]
    start = time.perf_counter()
    tables = analyze_cohort(cases, jobs=args.jobs)
    seconds = time.perf_counter() - start
    found = tables.lesions

    rows = []
    for subject, mine in found.groupby("subject"):
        theirs = truth[truth["participant_id"] == subject]
        if theirs.empty:
            continue
        true_xyz = theirs[["centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]].to_numpy(float)
        for _, lesion in mine.iterrows():
            xyz = lesion[["centroid_x", "centroid_y", "centroid_z"]].to_numpy(float)
            distance = np.linalg.norm(true_xyz - xyz, axis=1)
            best = int(distance.argmin())
            if distance[best] <= args.tolerance_mm:
                match = theirs.iloc[best]
                rows.append({**lesion.to_dict(), "true_hemisphere": match["hemisphere"],
                             "true_location": match["location"], "true_volume_mm3": float(match["volume_mm3"]),
                             "true_territory": match["territory"], "distance_mm": float(distance[best])})
    matched = pd.DataFrame(rows)
    hemi = (matched["hemisphere"] == matched["true_hemisphere"]).mean()
    location = (matched["location"] == matched["true_location"]).mean()
    territory = (matched["territory"] == matched["true_territory"]).mean()
    confusion = pd.crosstab(matched["true_location"], matched["location"])
    # Independent volume check: scipy's 6-connected labelling and the header's voxel size.
    voxel_exact = True
    for case in cases:
        img = nib.load(str(case.mask))
        labels, n = ndi.label(np.asanyarray(img.dataobj) > 0)
        sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1] * float(np.prod(img.header.get_zooms()[:3]))
        mine = np.sort(found.loc[found["subject"] == f"sub-{case.subject}", "volume_mm3"].to_numpy(float))[::-1]
        voxel_exact &= bool(np.array_equal(sizes, mine))
    if args.disagreements:
        wrong = matched["location"].ne(matched["true_location"]) | matched["hemisphere"].ne(matched["true_hemisphere"])
        bad = matched[wrong]
        bad.to_csv(args.disagreements, sep="\t", index=False)
    print(json.dumps({
        "subjects": len(cases),
        "true_lesions": len(truth),
        "found_lesions": len(found),
        "matched": len(matched),
        "hemisphere_agreement": round(float(hemi), 4),
        "location_agreement": round(float(location), 4),
        "territory_agreement": round(float(territory), 4),
        "location_confusion": {t: {f: int(n) for f, n in row.items()} for t, row in confusion.iterrows()},
        "volume_equals_truth": bool(np.array_equal(matched["volume_mm3"], matched["true_volume_mm3"])),
        "volume_equals_voxels_times_voxel_volume": voxel_exact,
        "analysis_seconds": round(seconds, 1),
    }))


if __name__ == "__main__":
    main()
