"""Registration accuracy and time of lesionkit's preprocessing against ANTsPy (defaults and tuned), by head pose.

For each native case with a known native → template transform (case names: ``preprocess_cases.py``),
lesionkit (N4 + registration + brain mask) and the peers (``--peers``) run on the same scan:

* ``ants_default``: ``ants.n4_bias_field_correction(img)`` + ``ants.registration(template, img, "Affine")``;
* ``ants_tuned``: lesionkit's N4 parameters, an ``ants.affine_initializer`` whole-sphere start, the template
  brain mask and lesionkit's 8/4/2 mm schedule (``preprocess_cases.run_ants_tuned``): for heads in any pose;
* ``ants_tuned_com``: the same from ANTs' centre-of-mass start: for scans in the usual pose.

Error of a transform = distance between each brain voxel mapped through it and through the truth (mean
and max over the brain). Per case also lesionkit's start pose and the lesion round trip native → MNI
(nearest neighbour) → native (linear, ≥ 0.5) Dice, whole and per lesion ≥ 1,000 mm³.

Prints ONE JSON line: the cases, then per pose class (``ordinary`` ≤ 15°, ``rotated`` > 15°) and over all
cases, for each pipeline the mean of the per-case mean errors, the worst case, the cases within 2 mm and
the mean seconds (all steps, and the registration alone: everything after N4), and the time ratios
peer / lesionkit (above 1: lesionkit is faster) for both.

Case sets: ``--cases held-out`` = the subjects of ``lesionkit synth DIR --subjects 8 --seed 500 --space
native``, a seed no test and no earlier benchmark used and that lesionkit's registration heuristics (the
search grid, the NCC thresholds) were not tuned on; subjects 0–3 as acquired (poses ≤ 10°), subjects 4–7
rotated further by 40° about y, 75° about z, 120° about x and 160° about y (about 25 min on an idle
2-core machine). ``--cases quick`` (the default, a few minutes) is subjects 0 and 6 of it, one per class;
``--cases tuning`` is the 14 cases the heuristics were developed on (template and synth seeds 0–7); or
give names separated by commas.

    OMP_NUM_THREADS=2 python benchmarks/preprocess_accuracy.py [--cases held-out|quick|tuning|NAMES]
        [--peers default,tuned,com|none] [--rows FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from preprocess_cases import (
    brain_points,
    errors,
    make_case,
    run_ants_default,
    run_ants_tuned,
    run_ants_tuned_com,
    run_lesionkit,
)
from scipy import ndimage

CASE_SETS = {
    # ordinary and rotated interleaved, so that a run cut short (see --rows) still has both classes
    "held-out": "cli:500:8:0,cli:500:8:6:120x,cli:500:8:1,cli:500:8:5:75z,"
                "cli:500:8:2,cli:500:8:4:40y,cli:500:8:3,cli:500:8:7:160y",
    "quick": "cli:500:8:0,cli:500:8:6:120x",
    "tuning": "template:0,template:3,template:1:30,template:2:60,template:3:90,template:0:180,"
              "synth:0,synth:3,synth:5:thick,synth:6,synth:7:thick,synth:1:90,synth:2:thick:180,synth:4:-45",
}
PEERS = {"default": ("ants_default", run_ants_default), "tuned": ("ants_tuned", run_ants_tuned),
         "com": ("ants_tuned_com", run_ants_tuned_com)}


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / max(float(a.sum() + b.sum()), 1.0)


def round_trip(mask: nib.Nifti1Image, transform: np.ndarray) -> dict:
    """Dice of the native mask after native → MNI (nearest) → native (linear, ≥ 0.5), whole and per lesion ≥ 1 cm³."""
    from lesionkit.preprocess import to_mni, to_native

    lesion = np.asarray(mask.dataobj) > 0
    back = np.asarray(to_native(to_mni(mask, transform, order=0), transform, mask, order=1).dataobj) >= 0.5
    voxel_mm3 = float(abs(np.linalg.det(mask.affine[:3, :3])))
    labels, _ = ndimage.label(lesion)
    per_lesion = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if (labels[box] == index).sum() * voxel_mm3 < 1000:
            continue
        # the lesion's own neighbourhood: its box grown by a few voxels, other lesions left out
        grown = tuple(slice(max(0, s.start - 3), s.stop + 3) for s in box)
        mine = labels[grown] == index
        near = ndimage.binary_dilation(mine, iterations=3) & ~((labels[grown] > 0) & ~mine)
        per_lesion.append({"volume_mm3": round(float(mine.sum() * voxel_mm3)),
                           "dice": round(_dice(mine, back[grown] & near), 4)})
    return {"dice": round(_dice(lesion, back), 4), "lesions_ge_1000mm3": per_lesion,
            "lesion_mm3": round(float(lesion.sum() * voxel_mm3), 1)}


def _summary(rows: list[dict], pipelines: list[str]) -> dict:
    out: dict = {"n_cases": len(rows)}
    if not rows:
        return out
    for name in pipelines:
        means = np.array([r[name]["error"]["mean_mm"] for r in rows])
        out[name] = {"mean_error_mm": round(float(means.mean()), 3),
                     "median_error_mm": round(float(np.median(means)), 3),
                     "worst_case_mean_error_mm": round(float(means.max()), 3),
                     "cases_within_2mm": int((means <= 2.0).sum()),
                     "mean_seconds": round(float(np.mean([r[name]["seconds"] for r in rows])), 1),
                     "mean_registration_seconds": round(float(np.mean([_registration_seconds(r[name])
                                                                       for r in rows])), 1)}
    total = {name: sum(r[name]["seconds"] for r in rows) for name in pipelines}
    out["time_ratio_over_lesionkit"] = {name: round(total[name] / total["lesionkit"], 2)
                                        for name in pipelines if name != "lesionkit"}
    registration = {name: sum(_registration_seconds(r[name]) for r in rows) for name in pipelines}
    out["registration_time_ratio_over_lesionkit"] = {name: round(registration[name] / registration["lesionkit"], 2)
                                                     for name in pipelines if name != "lesionkit"}
    return out


def _registration_seconds(result: dict) -> float:
    """Seconds of the steps after N4: initialisation and affine registration (lesionkit: and brain mask)."""
    return sum(seconds for step, seconds in result["steps"].items() if step != "n4")


def _lesionkit_row(spec: str, t1w: nib.Nifti1Image, mask: nib.Nifti1Image, truth: np.ndarray,
                   points: np.ndarray) -> dict:
    fit, seconds = run_lesionkit(t1w)
    return {"case": spec, "voxel_mm": [round(float(z), 3) for z in np.linalg.norm(t1w.affine[:3, :3], axis=0)],
            "orientation": "".join(nib.aff2axcodes(t1w.affine)),
            "lesionkit": {"error": errors(fit.transform, truth, points), "seconds": round(sum(seconds.values()), 2),
                          "steps": {k: round(v, 2) for k, v in seconds.items()},
                          "start_error": errors(fit.initial_transform, truth, points),
                          "initialisation": fit.initialisation, "brain_ncc": fit.scores,
                          "round_trip": round_trip(mask, fit.transform)}}


def _finished(path: Path | None) -> dict[str, dict]:
    """Cases of an earlier run, by name (one JSON object a line; other lines skipped; a later line wins)."""
    done = {}
    if path is None or not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "case" in row:
            done[row["case"]] = row
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="quick", help="held-out, quick, tuning or comma-separated case names")
    parser.add_argument("--peers", default="default,tuned,com", help="comma-separated: default, tuned, com; or none")
    parser.add_argument("--rows", type=Path, help="JSON-lines file of finished cases: appended to as cases finish; "
                        "pipelines a case already has there are reused, so a run can resume or add a peer")
    args = parser.parse_args()
    specs = CASE_SETS.get(args.cases, args.cases).split(",")
    peers = [] if args.peers == "none" else [PEERS[p] for p in args.peers.split(",")]
    pipelines = ["lesionkit"] + [name for name, _ in peers]

    done = _finished(args.rows)
    rows = []
    for spec in specs:
        row = dict(done.get(spec, {}))
        missing = [name for name in pipelines if name not in row]
        if missing:
            t1w, mask, truth, extra = make_case(spec)
            points = brain_points(truth, t1w)
            if "lesionkit" in missing:
                row = {**_lesionkit_row(spec, t1w, mask, truth, points), **extra, **row}
            for name, run in peers:
                if name in missing:
                    transform, their_seconds = run(t1w)
                    row[name] = {"error": errors(transform, truth, points),
                                 "seconds": round(sum(their_seconds.values()), 2),
                                 "steps": {k: round(v, 2) for k, v in their_seconds.items()}}
            print(json.dumps(row), file=sys.stderr, flush=True)  # progress; the result is the one line on stdout
            if args.rows:
                with args.rows.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
        rows.append(row)

    lesion_dice = [d["dice"] for r in rows for d in r["lesionkit"]["round_trip"]["lesions_ge_1000mm3"]]
    out = {
        "benchmark": "preprocess_accuracy",
        "case_set": args.cases if args.cases in CASE_SETS else "custom",
        "cases": rows,
        "by_pose": {pose: _summary([r for r in rows if r["pose"] == pose], pipelines)
                    for pose in ("ordinary", "rotated")},
        "all": {**_summary(rows, pipelines), "lesions_ge_1000mm3": len(lesion_dice),
                "min_lesion_round_trip_dice": round(min(lesion_dice), 4) if lesion_dice else None},
        "threads": {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "cpus": os.cpu_count(),
                    "machine": platform.machine(), "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
