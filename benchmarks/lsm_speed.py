"""Speed of ``lesionkit lsm``'s Brunner–Munzel with permutation FWE against a per-voxel SciPy loop.

Prints ONE JSON line. The data are LESYMAP's example (131 real lesion maps on the 1 mm ATLAS grid, its
simulated scores; ``--masks`` and ``--table`` default to ``../shared/data``). lesionkit: read the masks,
select voxels lesioned in ≥ 10 % of subjects, group them into unique patches, test every patch with
Brunner–Munzel and run ``--permutations`` permutations for the FWE threshold
(:func:`lesionkit.analysis.lsm.lesion_matrix` + :func:`~lesionkit.analysis.lsm.run_mapping`, timed
separately). Peer: the plain loop a script would write — ``scipy.stats.brunnermunzel`` per tested *voxel*
for the observed scores and each permutation — timed on ``--sample`` random voxels for ``--peer-runs``
score vectors in the same run, then extrapolated to all voxels × (1 + permutations). The ratio is
peer / lesionkit for the testing + permutation part (mask reading, the same for both, is reported apart).

    python benchmarks/lsm_speed.py [--permutations 1000] [--sample 300] [--peer-runs 3] [--jobs 1]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=Path, default=SHARED / "real-lesion-masks" / "lesymap")
    parser.add_argument("--table", type=Path, default=SHARED / "lesymap-example" / "behavior.tsv")
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=300, help="voxels the SciPy loop is timed on")
    parser.add_argument("--peer-runs", type=int, default=3, help="score vectors the SciPy loop is timed on")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def _peer_seconds(voxels: np.ndarray, scores: np.ndarray, runs: int, rng: np.random.Generator) -> float:
    """Seconds per voxel per score vector of the per-voxel SciPy loop."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(runs):
            y = rng.permutation(scores)
            for column in voxels.T:
                stats.brunnermunzel(y[column], y[~column], alternative="less")
    return (time.perf_counter() - started) / (runs * voxels.shape[1])


def main() -> None:
    from lesionkit.analysis.lsm import LSMSettings, lesion_matrix, match_subjects, read_behavior, run_mapping
    from lesionkit.io import collect_cases

    args = _args()
    cases = collect_cases(args.masks, need="mask")
    started = time.perf_counter()
    matrix = lesion_matrix(cases, 0.1)
    read_s = time.perf_counter() - started
    behavior = match_subjects([c.subject for c in cases], read_behavior(args.table), args.table)
    settings = LSMSettings(test="bm", correction="fwe", permutations=args.permutations, seed=args.seed,
                           jobs=args.jobs)
    started = time.perf_counter()
    result = run_mapping(matrix, behavior, settings)
    ours = time.perf_counter() - started
    rng = np.random.default_rng(args.seed)
    sample = rng.choice(matrix.voxels.size, size=min(args.sample, matrix.voxels.size), replace=False)
    voxel_matrix = matrix.patches[:, matrix.voxel_patch[sample]]
    per = _peer_seconds(voxel_matrix, behavior.scores, args.peer_runs, rng)
    peer = per * matrix.voxels.size * (1 + args.permutations)
    print(json.dumps({
        "benchmark": "lsm_speed", "subjects": len(cases), "tested_voxels": int(matrix.voxels.size),
        "patches": int(matrix.patches.shape[1]), "permutations": args.permutations, "jobs": args.jobs,
        "read_and_patch_s": round(read_s, 1), "lesionkit_test_and_permutations_s": round(ours, 1),
        "scipy_loop_s_extrapolated": round(peer, 0), "scipy_per_voxel_test_ms": round(per * 1e3, 4),
        "ratio_scipy_over_lesionkit": round(peer / ours, 1), "significant_voxels": result.significant_voxels,
        "fwe_threshold": round(result.threshold, 3),
    }))


if __name__ == "__main__":
    main()
