"""Time and accuracy of lesionkit's preprocessing against ANTsPy (defaults and tuned) on ONE native scan.

The pipelines and the case names are those of ``preprocess_cases.py``: lesionkit's N4 + whole-sphere
rigid search and affine + brain mask; ANTsPy's default N4 + ``registration(type_of_transform="Affine")``;
and tuned ANTsPy (lesionkit's N4 parameters, the template brain mask, lesionkit's 8/4/2 mm schedule)
from an ``ants.affine_initializer`` whole-sphere start (``ants_tuned``) or from ANTs' centre-of-mass start
(``ants_tuned_com``). Prints ONE JSON line with each pipeline's step times and error
(mean and max distance over brain voxels between the estimated and the true transform), lesionkit's
lesion round-trip Dice, and ``speedup`` = peer seconds / lesionkit seconds. For several cases and per
pose class, see ``preprocess_accuracy.py``.

    OMP_NUM_THREADS=2 python benchmarks/preprocess_speed.py [--case cli:500:8:0] [--peers default,tuned,com|none]
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import nibabel as nib
import numpy as np
from preprocess_accuracy import PEERS, round_trip
from preprocess_cases import brain_points, errors, make_case, run_lesionkit


def _timed(seconds: dict[str, float]) -> dict:
    return {"seconds": round(sum(seconds.values()), 2), "steps": {k: round(v, 2) for k, v in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="cli:500:8:0", help="a case name (see preprocess_cases.py)")
    parser.add_argument("--peers", default="default,tuned,com", help="comma-separated: default, tuned, com; or none")
    args = parser.parse_args()

    t1w, mask, truth, extra = make_case(args.case)
    points = brain_points(truth, t1w)
    zooms = [round(float(z), 3) for z in np.linalg.norm(t1w.affine[:3, :3], axis=0)]
    fit, seconds = run_lesionkit(t1w)
    out = {
        "benchmark": "preprocess_speed",
        "case": {"name": args.case, "shape": list(t1w.shape), "voxel_mm": zooms,
                 "orientation": "".join(nib.aff2axcodes(t1w.affine)), **extra},
        "lesionkit": {**_timed(seconds), "error": errors(fit.transform, truth, points),
                      "lesion_round_trip_dice": round_trip(mask, fit.transform)["dice"]},
    }
    for peer in ([] if args.peers == "none" else args.peers.split(",")):
        name, run = PEERS[peer]
        transform, their_seconds = run(t1w)
        out[name] = {**_timed(their_seconds), "error": errors(transform, truth, points)}
    out["speedup"] = {name: round(out[name]["seconds"] / out["lesionkit"]["seconds"], 2)
                      for name in out if name.startswith("ants_")}
    out["threads"] = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "cpus": os.cpu_count(),
                      "machine": platform.machine(), "load_average_at_end": [round(v, 2) for v in os.getloadavg()]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
