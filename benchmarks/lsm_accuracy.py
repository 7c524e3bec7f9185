"""Accuracy of lesionkit's lesion–symptom mapping on real lesion tracings: null false positives, power, localisation.

Prints ONE JSON line. Data: LESYMAP's 131 real left-hemisphere tracings at 2 mm (the test fixture
``tests/analysis/lsm/lsm_data/lesymap_2mm.npz``) and its 403-area parcellation.

* **Null**: ``--null-sets`` score vectors drawn independently of the lesions (standard normal); each is
  mapped with Brunner–Munzel + permutation FWE (``--permutations``) at α = 0.05. The family-wise
  false-positive rate is the share of data sets with any significant voxel; its 95 % Clopper–Pearson
  interval is reported.
* **Planted effect**: scores simulated as LESYMAP's ``simulateBehavior`` does (``0.5·uniform noise −
  0.5·lesion load of one region``) from region ``--region`` (default 101, the one LESYMAP's example uses),
  ``--planted-sets`` noise draws, each mapped by Brunner–Munzel + FWE and by SVR-LSM (dTLVC, permutation
  FWE). Power = share of draws whose significant map reaches the region; localisation error = distance
  (mm) from the region's centroid to the significant map's peak (median over the draws that found
  something), and the share of the significant map inside the region.

    python benchmarks/lsm_accuracy.py [--null-sets 200] [--planted-sets 20] [--permutations 200]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import stats

DATA = Path(__file__).resolve().parents[1] / "tests" / "analysis" / "lsm" / "lsm_data" / "lesymap_2mm.npz"


def _load():
    from lesionkit.io import ATLAS_AFFINE

    data = np.load(DATA)
    shape = tuple(int(v) for v in data["shape"])
    affine = ATLAS_AFFINE.copy()
    affine[:3, :3] *= 2
    lesions = np.unpackbits(data["lesions"], axis=1, count=int(data["n_voxels"])).astype(bool)
    masks = []
    for row in lesions:
        volume = np.zeros(int(np.prod(shape)), np.uint8)
        volume[data["voxels"][row]] = 1
        masks.append(nib.Nifti1Image(volume.reshape(shape), affine))
    return masks, data["parcellation"], affine, [str(s) for s in data["subjects"]]


def _peak_error(result, region: np.ndarray, affine: np.ndarray) -> tuple[float, float]:
    m = result.matrix
    stat = np.where(result.significant, result.statistic, -np.inf)
    peak_voxel = m.voxels[np.flatnonzero(m.voxel_patch == int(np.argmax(stat)))[0]]
    ijk = np.array(np.unravel_index(peak_voxel, m.shape), float)
    centroid = np.argwhere(region).mean(axis=0)
    error = float(np.linalg.norm(affine[:3, :3] @ (ijk - centroid)))
    significant = m.voxels[result.significant[m.voxel_patch]]
    return error, float(region.ravel()[significant].mean())


def _null(matrix, subjects, args) -> dict:
    from lesionkit.analysis.lsm import Behavior, LSMSettings, run_mapping

    rng = np.random.default_rng(args.seed)
    hits = 0
    for k in range(args.null_sets):
        behavior = Behavior(subjects, "null", rng.normal(size=len(subjects)))
        result = run_mapping(matrix, behavior, LSMSettings(permutations=args.permutations, seed=k))
        hits += bool(result.significant.any())
    ci = stats.binomtest(hits, args.null_sets).proportion_ci(0.95)
    return {"null_sets": args.null_sets, "fwe_false_positive_rate": hits / args.null_sets,
            "ci95": [round(ci.low, 4), round(ci.high, 4)]}


def _planted(matrix, masks, parcellation, affine, subjects, args) -> dict:
    from lesionkit.analysis.lsm import Behavior, LSMSettings, run_mapping

    region = parcellation == args.region
    load = np.array([np.asanyarray(m.dataobj)[region].mean() for m in masks])
    rng = np.random.default_rng(args.seed + 1)
    out = {}
    for test in ("bm", "svr"):
        found, errors, inside = 0, [], []
        for k in range(args.planted_sets):
            scores = 0.5 * rng.uniform(size=load.size) - 0.5 * load
            settings = LSMSettings(test=test, permutations=args.permutations, seed=k)
            result = run_mapping(matrix, Behavior(subjects, "planted", scores), settings)
            if not result.significant.any():
                continue
            error, share = _peak_error(result, region, affine)
            found += share > 0
            errors.append(error)
            inside.append(share)
        out[test] = {"power": found / args.planted_sets, "median_peak_error_mm": float(np.median(errors)) if errors
                     else None, "median_share_in_region": float(np.median(inside)) if inside else None}
    return {"region": args.region, "planted_sets": args.planted_sets, **out}


def main() -> None:
    from lesionkit.analysis.lsm import lesion_matrix

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null-sets", type=int, default=200)
    parser.add_argument("--planted-sets", type=int, default=20)
    parser.add_argument("--permutations", type=int, default=200)
    parser.add_argument("--region", type=int, default=101)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    masks, parcellation, affine, subjects = _load()
    matrix = lesion_matrix(masks, 0.1)
    line = {"benchmark": "lsm_accuracy", "grid_mm": 2, "subjects": len(masks), "tested_voxels": int(matrix.voxels.size),
            "patches": int(matrix.patches.shape[1]), "permutations": args.permutations,
            **_null(matrix, subjects, args), **_planted(matrix, masks, parcellation, affine, subjects, args)}
    print(json.dumps(line))


if __name__ == "__main__":
    main()
